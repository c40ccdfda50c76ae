using System.Globalization;

namespace AccelSim.Cli.Tests;

/// <summary>The example sweep of docs/sweeps.md, run once into a database the analysis tests read.</summary>
public sealed class ExampleSweep : IDisposable
{
    public ExampleSweep()
    {
        Spec = Dir.File("decode.json");
        File.WriteAllText(Spec, SpecText());
        Db = Dir.File("decode.duckdb");
        var o = CliHarness.Run("sweep", Spec, "--db", Db);
        if (o.ExitCode != 0) throw new InvalidOperationException(o.Error);
    }

    public CliHarness.TempDir Dir { get; } = new();
    public string Spec { get; }
    public string Db { get; }

    /// <summary>The spec in the "## Analysis" section of docs/sweeps.md (its first JSON block).</summary>
    public static string SpecText()
    {
        var doc = File.ReadAllText(CliHarness.RepoFile("docs/sweeps.md"));
        var section = doc[doc.IndexOf("## Analysis", StringComparison.Ordinal)..];
        var start = section.IndexOf("```json\n", StringComparison.Ordinal) + "```json\n".Length;
        return section[start..section.IndexOf("```", start, StringComparison.Ordinal)];
    }

    public void Dispose() => Dir.Dispose();
}

/// <summary><c>sweep plot</c>, <c>sweep pareto</c> and <c>sweep query</c> on a real sweep: images are
/// written (SVG byte for byte the same every time), the front is the brute-force non-dominated set,
/// queries only read, and bad requests exit with code 2 writing nothing.</summary>
public sealed class SweepAnalysisCliTests(ExampleSweep sweep) : IClassFixture<ExampleSweep>
{
    private CliHarness.Outcome Run(params string[] args) => CliHarness.Run(args);

    private static List<string[]> Csv(string path) =>
        [.. File.ReadAllLines(path).Skip(1).Select(l => l.Split(','))];

    [Fact]
    public void Svg_plot_is_the_same_byte_for_byte_for_the_same_rows()
    {
        using var dir = new CliHarness.TempDir();
        string[] args = ["sweep", "plot", "--db", sweep.Db, "--x", "batch", "--y", "tokens_per_s", "--color", "hardware",
            "--where", "status = 'ok' AND set_memory_hbm_bandwidth_Bps = 3.35e12", "--log-x", "--log-y"];
        var a = Run([.. args, "--out", dir.File("a.svg")]);
        Assert.True(a.ExitCode == 0, a.Error);
        Assert.Contains("8 points, 2 series", a.Out, StringComparison.Ordinal);
        var b = Run([.. args, "--out", dir.File("b.svg")]);
        Assert.Equal(0, b.ExitCode);
        // Another database from the same spec: the same rows, the same image.
        var again = dir.File("again.duckdb");
        Assert.Equal(0, Run("sweep", sweep.Spec, "--db", again, "--jobs", "1").ExitCode);
        var c = Run([.. args.Select(x => x == sweep.Db ? again : x), "--out", dir.File("c.svg")]);
        Assert.Equal(0, c.ExitCode);

        var svg = File.ReadAllBytes(dir.File("a.svg"));
        Assert.Equal(svg, File.ReadAllBytes(dir.File("b.svg")));
        Assert.Equal(svg, File.ReadAllBytes(dir.File("c.svg")));
        var text = File.ReadAllText(dir.File("a.svg"));
        Assert.Contains("<svg", text, StringComparison.Ordinal);
        Assert.Contains("width=\"1000\" height=\"700\"", text, StringComparison.Ordinal);
        // One marker per point (8) and one per series in the legend (2).
        Assert.Equal(8 + 2, text.Split("<ellipse").Length - 1);
    }

    [Fact]
    public void Png_plot_decodes_at_its_size_and_draws_the_pareto_front()
    {
        using var dir = new CliHarness.TempDir();
        var png = dir.File("front.png");
        var o = Run("sweep", "plot", "--db", sweep.Db, "--x", "latency_s", "--y", "tokens_per_s", "--color", "hardware",
            "--pareto", "latency_s,max:tokens_per_s", "--log-x", "--log-y", "--title", "decode", "--out", png);
        Assert.True(o.ExitCode == 0, o.Error);
        var front = Run("sweep", "pareto", "--db", sweep.Db, "--objectives", "latency_s,max:tokens_per_s");
        Assert.Contains($"16 points, 2 series, {FrontSize(front.Out)} on the Pareto front", o.Out, StringComparison.Ordinal);
        using var bitmap = SkiaSharp.SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        Assert.Equal((1000, 700), (bitmap.Width, bitmap.Height));
    }

    private static int FrontSize(string paretoOut)
    {
        var first = paretoOut.Split('\n')[0];
        var of = first.LastIndexOf(" of ", StringComparison.Ordinal);
        var colon = first.LastIndexOf(": ", of, StringComparison.Ordinal);
        return int.Parse(first[(colon + 2)..of], CultureInfo.InvariantCulture);
    }

    [Theory]
    [InlineData("energy_j,max:tokens_per_s")]
    [InlineData("latency_s,max:tokens_per_s")]
    [InlineData("energy_j,memory_peak_bytes,max:tokens_per_s")]
    public void Pareto_lists_exactly_the_points_no_other_point_beats(string objectives)
    {
        using var dir = new CliHarness.TempDir();
        var all = dir.File("all.csv");
        var goals = objectives.Split(',').Select(g => (Column: g.Replace("max:", "", StringComparison.Ordinal), Sign: g.StartsWith("max:", StringComparison.Ordinal) ? -1.0 : 1.0)).ToArray();
        Assert.Equal(0, Run("sweep", "query", "--db", sweep.Db, "--csv", all,
            $"SELECT point_id, {string.Join(", ", goals.Select(g => g.Column))} FROM points WHERE status = 'ok' ORDER BY point_id").ExitCode);
        var rows = Csv(all).Select(r => (Id: r[0], V: goals.Select((g, k) => g.Sign * double.Parse(r[k + 1], CultureInfo.InvariantCulture)).ToArray())).ToList();
        static bool Beats(double[] a, double[] b) => a.Zip(b).All(t => t.First <= t.Second) && a.Zip(b).Any(t => t.First < t.Second);
        var expected = rows.Where(r => !rows.Any(q => Beats(q.V, r.V))).Select(r => r.Id).Order(StringComparer.Ordinal).ToList();

        var csv = dir.File("front.csv");
        var o = Run("sweep", "pareto", "--db", sweep.Db, "--objectives", objectives, "--where", "status = 'ok'", "--csv", csv);
        Assert.True(o.ExitCode == 0, o.Error);
        var header = File.ReadLines(csv).First().Split(',');
        Assert.Equal(["point_id", "hardware", "batch", "set_memory_hbm_bandwidth_Bps", .. goals.Select(g => g.Column)], header);
        Assert.Equal(expected, Csv(csv).Select(r => r[0]).Order(StringComparer.Ordinal));
        Assert.True(expected.Count > 1 && expected.Count < rows.Count, "a front that is all or one point tests little");

        var table = Run("sweep", "pareto", "--db", sweep.Db, "--objectives", objectives);
        Assert.Equal(0, table.ExitCode);
        Assert.StartsWith($"Pareto front of {string.Join(", ", objectives.Split(','))}: {expected.Count} of 16 points\n", table.Out, StringComparison.Ordinal);
        Assert.Contains("│ point_id │ hardware │", table.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Query_prints_a_table_or_writes_csv()
    {
        var o = Run("sweep", "query", "--db", sweep.Db, "SELECT hardware, count(*) AS n, max(batch) AS b FROM points GROUP BY ALL ORDER BY ALL");
        Assert.True(o.ExitCode == 0, o.Error);
        Assert.Contains("│ a100-80g │ 8 │ 128 │", o.Out, StringComparison.Ordinal);
        Assert.Contains("│ h100     │ 8 │ 128 │", o.Out, StringComparison.Ordinal);
        Assert.EndsWith("2 row(s)\n", o.Out, StringComparison.Ordinal);

        using var dir = new CliHarness.TempDir();
        var csv = dir.File("q.csv");
        var c = Run("sweep", "query", "--db", sweep.Db, "--csv", csv, "-- a comment first\nSELECT point_id, run_args FROM points WHERE point_id < 2 ORDER BY point_id");
        Assert.True(c.ExitCode == 0, c.Error);
        var lines = File.ReadAllLines(csv);
        Assert.Equal("point_id,run_args", lines[0]);
        Assert.StartsWith("0,run --model llama2-7b --phase decode", lines[1], StringComparison.Ordinal);
        Assert.Equal(3, lines.Length);
    }

    [Theory]
    [InlineData("DELETE FROM points", "only reads")]
    [InlineData("UPDATE points SET batch = 0", "only reads")]
    [InlineData("DROP TABLE points", "only reads")]
    [InlineData("COPY points TO 'out.csv'", "only reads")]
    [InlineData("ATTACH 'other.duckdb'", "only reads")]
    [InlineData("SELECT 1; DELETE FROM points", "one statement at a time")]
    [InlineData("WITH x AS (SELECT 1) INSERT INTO points SELECT * FROM points", "read-only")]
    [InlineData("SELECT * FROM read_csv('decode.json')", "disabled")]
    [InlineData("SELECT nope FROM points", "nope")]
    [InlineData("   ", "empty query")]
    public void Query_refuses_what_does_not_only_read(string sql, string message)
    {
        var before = Run("sweep", "query", "--db", sweep.Db, "SELECT count(*), sum(batch) FROM points").Out;
        var o = Run("sweep", "query", "--db", sweep.Db, sql);
        Assert.Equal(2, o.ExitCode);
        Assert.Contains(message, o.Error, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", o.Error, StringComparison.Ordinal);
        Assert.Equal(before, Run("sweep", "query", "--db", sweep.Db, "SELECT count(*), sum(batch) FROM points").Out);
    }

    public static TheoryData<string[], string> BadPlots => new()
    {
        { ["--x", "bogus", "--y", "tokens_per_s"], "--x: unknown column 'bogus'; table points has point_id, point_hash, hardware, batch, set_memory_hbm_bandwidth_Bps, status" },
        { ["--x", "batch", "--y", "hardware"], "--y: column 'hardware' is VARCHAR, not numeric; numeric columns: point_id, batch" },
        { ["--x", "batch", "--y", "tokens_per_s", "--color", "colour"], "--color: unknown column 'colour'" },
        { ["--x", "batch", "--y", "tokens_per_s", "--where", "batch > 1000"], "no rows to plot: --where \"batch > 1000\"" },
        { ["--x", "batch", "--y", "tokens_per_s", "--where", "batch >"], "--where: Parser Error" },
        { ["--x", "batch", "--y", "tokens_per_s", "--pareto", "latency_s"], "--pareto: expected two or more objectives" },
        { ["--x", "batch", "--y", "tokens_per_s", "--pareto", "latency_s,verdict"], "--pareto: column 'verdict' is VARCHAR, not numeric" },
        { ["--x", "over_capacity_bytes", "--y", "tokens_per_s", "--log-x"], "--log-x: column 'over_capacity_bytes' has 16 value(s) <= 0" },
    };

    [Theory]
    [MemberData(nameof(BadPlots))]
    public void Bad_plot_requests_exit_2_and_write_nothing(string[] options, string message)
    {
        using var dir = new CliHarness.TempDir();
        var out_ = dir.File("plot.svg");
        var o = Run(["sweep", "plot", "--db", sweep.Db, .. options, "--out", out_]);
        Assert.Equal(2, o.ExitCode);
        Assert.Contains(message, o.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", o.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Unknown_image_format_missing_database_and_bad_objectives_are_refused()
    {
        using var dir = new CliHarness.TempDir();
        var gif = Run("sweep", "plot", "--db", sweep.Db, "--x", "batch", "--y", "tokens_per_s", "--out", dir.File("plot.gif"));
        Assert.Equal(2, gif.ExitCode);
        Assert.Contains("unknown image format '.gif'; expected a file ending in .png or .svg", gif.Error, StringComparison.Ordinal);
        var missing = Run("sweep", "plot", "--db", dir.File("none.duckdb"), "--x", "batch", "--y", "tokens_per_s", "--out", dir.File("p.png"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no such database", missing.Error, StringComparison.Ordinal);
        File.WriteAllText(dir.File("empty.duckdb"), "not a database");
        var notDb = Run("sweep", "query", "--db", dir.File("empty.duckdb"), "SELECT 1");
        Assert.Equal(2, notDb.ExitCode);
        var pareto = Run("sweep", "pareto", "--db", sweep.Db, "--objectives", "latency_s,latency_s");
        Assert.Equal(2, pareto.ExitCode);
        Assert.Contains("named twice", pareto.Error, StringComparison.Ordinal);
        var unknown = Run("sweep", "pareto", "--db", sweep.Db, "--objectives", "latency_s,joules", "--csv", dir.File("f.csv"));
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("--objectives: unknown column 'joules'", unknown.Error, StringComparison.Ordinal);
        Assert.Equal([dir.File("empty.duckdb")], Directory.GetFiles(dir.Path));
    }
}

/// <summary>The SQL examples of docs/sweeps.md print what the doc shows, on the doc's own sweep.</summary>
public sealed class SweepDocsTests(ExampleSweep sweep) : IClassFixture<ExampleSweep>
{
    [Fact]
    public void Every_sql_example_prints_the_output_the_doc_shows()
    {
        var doc = File.ReadAllText(CliHarness.RepoFile("docs/sweeps.md"));
        var section = doc[doc.IndexOf("## Analysis", StringComparison.Ordinal)..];
        var examples = 0;
        for (var at = section.IndexOf("```sql\n", StringComparison.Ordinal); at >= 0; at = section.IndexOf("```sql\n", at + 1, StringComparison.Ordinal))
        {
            var sqlStart = at + "```sql\n".Length;
            var sqlEnd = section.IndexOf("```\n", sqlStart, StringComparison.Ordinal);
            var sql = section[sqlStart..sqlEnd];
            var next = sqlEnd + "```\n".Length;
            Assert.True(section.AsSpan(next).StartsWith("```text\n"), $"the example '{sql.Trim()}' needs its output in a ```text block right after it");
            var outStart = next + "```text\n".Length;
            var expected = section[outStart..section.IndexOf("```\n", outStart, StringComparison.Ordinal)];
            var o = CliHarness.Run("sweep", "query", "--db", sweep.Db, sql);
            Assert.True(o.ExitCode == 0, $"{sql}: {o.Error}");
            Assert.Equal(expected, o.Out);
            examples++;
        }
        Assert.InRange(examples, 4, 8);
    }
}
