using System.Globalization;
using DuckDB.NET.Data;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary><c>accelsim sweep</c>: rows equal the runs they stand for, shards merge into the unsharded
/// table, resume neither loses nor repeats a point, bad specs are refused with their JSON path.</summary>
public sealed class SweepCliTests
{
    private const string Grid = """
        {
          "base": { "model": "gpt2-medium" },
          "axes": { "hardware": ["h100", "a100-80g"], "phase": ["prefill", "decode"], "batch": [1, 4, 16] }
        }
        """;

    private static string Spec(CliHarness.TempDir dir, string json, string name = "spec.json")
    {
        var path = dir.File(name);
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>Every row of the table, ordered by point id, each value in invariant text.</summary>
    private static List<string> Rows(string db)
    {
        using var c = new DuckDBConnection($"Data Source={db};ACCESS_MODE=READ_ONLY");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT * FROM points ORDER BY point_id";
        using var r = cmd.ExecuteReader();
        var rows = new List<string>();
        while (r.Read())
        {
            var cells = new string[r.FieldCount];
            for (var i = 0; i < r.FieldCount; i++)
                cells[i] = r.IsDBNull(i) ? "null" : Convert.ToString(r.GetValue(i), CultureInfo.InvariantCulture)!;
            rows.Add(string.Join('|', cells));
        }
        return rows;
    }

    private static List<Dictionary<string, object?>> Records(string db)
    {
        using var c = new DuckDBConnection($"Data Source={db};ACCESS_MODE=READ_ONLY");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT * FROM points ORDER BY point_id";
        using var r = cmd.ExecuteReader();
        var rows = new List<Dictionary<string, object?>>();
        while (r.Read())
        {
            var row = new Dictionary<string, object?>();
            for (var i = 0; i < r.FieldCount; i++) row[r.GetName(i)] = r.IsDBNull(i) ? null : r.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    [Fact]
    public void Grid_rows_equal_the_runs_they_stand_for()
    {
        using var dir = new CliHarness.TempDir();
        var db = dir.File("results.duckdb");
        var o = CliHarness.Run("sweep", Spec(dir, Grid), "--db", db, "--jobs", "2");
        Assert.True(o.ExitCode == 0, o.Error);
        Assert.Contains("ran 12", o.Out, StringComparison.Ordinal);

        var rows = Records(db);
        Assert.Equal(12, rows.Count);
        Assert.Equal(Enumerable.Range(0, 12), rows.Select(r => Convert.ToInt32(r["point_id"], CultureInfo.InvariantCulture)));
        // The grid is row-major, the last axis fastest.
        Assert.Equal(["h100", "prefill", 1L], new object?[] { rows[0]["hardware"], rows[0]["phase"], rows[0]["batch"] });
        Assert.Equal(["a100-80g", "decode", 16L], new object?[] { rows[11]["hardware"], rows[11]["phase"], rows[11]["batch"] });
        foreach (var row in rows)
        {
            Assert.Equal("ok", row["status"]);
            var run = CliHarness.Run("run", "--model", "gpt2-medium", "--hardware", (string)row["hardware"]!, "--phase", (string)row["phase"]!,
                "--batch", Convert.ToString(row["batch"], CultureInfo.InvariantCulture)!, "--format", "json");
            Assert.Equal(0, run.ExitCode);
            var expected = JObject.Parse(run.Out);
            Assert.True(JToken.DeepEquals(expected, JObject.Parse((string)row["report"]!)), $"point {row["point_id"]}: the stored report differs from run's");
            Assert.Equal((double)expected["latency_s"]!, (double)row["latency_s"]!);
            Assert.Equal((double)expected["energy_j"]!, (double)row["energy_j"]!);
            Assert.Equal((double)expected["tokens_per_s"]!, (double)row["tokens_per_s"]!);
            Assert.Equal((long)expected["flops"]!, (long)row["flops"]!);
            Assert.Equal((string)expected.SelectToken("memory_wall.verdict")!, row["verdict"]);
            Assert.Equal(true, row["fits"]);
        }
    }

    [Fact]
    public void Shards_merge_into_the_unsharded_table_row_for_row_and_resume_loses_and_repeats_nothing()
    {
        using var dir = new CliHarness.TempDir();
        var spec = Spec(dir, Grid);
        var whole = dir.File("whole.duckdb");
        Assert.Equal(0, CliHarness.Run("sweep", spec, "--db", whole).ExitCode);

        var parts = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var part = dir.File($"part-{i}.duckdb");
            var o = CliHarness.Run("sweep", spec, "--db", part, "--shard", $"{i}/3", "--jobs", "1");
            Assert.True(o.ExitCode == 0, o.Error);
            Assert.Contains("4 in shard", o.Out, StringComparison.Ordinal);
            Assert.Equal(4, Rows(part).Count);
            parts.Add(part);
        }
        var all = dir.File("all.duckdb");
        var merge = CliHarness.Run(["sweep", "merge", .. parts, "--db", all]);
        Assert.True(merge.ExitCode == 0, merge.Error);
        Assert.Equal(Rows(whole), Rows(all));
        // Merging a part again adds nothing.
        Assert.Contains("0 row(s) added", CliHarness.Run("sweep", "merge", parts[0], "--db", all).Out, StringComparison.Ordinal);
        Assert.Equal(Rows(whole), Rows(all));

        // Resume: a database holding one shard is completed by the whole sweep, with no point twice.
        var resumed = dir.File("resumed.duckdb");
        Assert.Equal(0, CliHarness.Run("sweep", spec, "--db", resumed, "--shard", "1/3").ExitCode);
        var rest = CliHarness.Run("sweep", spec, "--db", resumed);
        Assert.Contains("ran 8, 4 already", rest.Out, StringComparison.Ordinal);
        Assert.Equal(Rows(whole), Rows(resumed));
        Assert.Contains("ran 0, 12 already", CliHarness.Run("sweep", spec, "--db", resumed).Out, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_point_records_its_error_and_the_sweep_goes_on()
    {
        using var dir = new CliHarness.TempDir();
        var db = dir.File("r.duckdb");
        var o = CliHarness.Run("sweep", Spec(dir, """{ "base": { "model": "gpt2-medium", "hardware": "h100", "phase": "decode" }, "axes": { "batch": [2, 0, 3] } }"""), "--db", db);
        Assert.Equal(0, o.ExitCode);
        Assert.Contains("1 point(s) failed", o.Error, StringComparison.Ordinal);
        var rows = Records(db);
        Assert.Equal(["ok", "error", "ok"], rows.Select(r => (string)r["status"]!));
        Assert.Contains("--batch", (string)rows[1]["error"]!, StringComparison.Ordinal);
        Assert.Null(rows[1]["latency_s"]);
        Assert.NotNull(rows[2]["latency_s"]);
    }

    [Fact]
    public void Points_that_do_not_fit_are_recorded_as_skipped_under_the_fits_constraint()
    {
        using var dir = new CliHarness.TempDir();
        var db = dir.File("r.duckdb");
        var spec = Spec(dir, """
            { "base": { "hardware": "h100", "phase": "decode" }, "axes": { "model": ["gpt2-medium", "llama2-70b"] }, "constraints": { "fits": true } }
            """);
        Assert.Equal(0, CliHarness.Run("sweep", spec, "--db", db).ExitCode);
        var rows = Records(db);
        Assert.Equal(["ok", "skipped"], rows.Select(r => (string)r["status"]!));
        Assert.Equal(false, rows[1]["fits"]);
        Assert.True((long)rows[1]["over_capacity_bytes"]! > 0);
    }

    [Fact]
    public void Sampled_sweeps_are_deterministic_and_draw_from_the_axes()
    {
        using var dir = new CliHarness.TempDir();
        foreach (var sampler in new[] { "random", "latin-hypercube" })
        {
            var spec = Spec(dir, $$"""
                { "base": { "model": "gpt2-medium", "phase": "decode" }, "axes": { "hardware": ["h100", "a100-80g"], "batch": [1, 2, 4, 8], "set:memory.hbm.bandwidth_Bps": [2e12, 3e12] },
                  "sampler": "{{sampler}}", "seed": 7, "points": 5 }
                """, sampler + ".json");
            var a = dir.File(sampler + "-a.duckdb");
            var b = dir.File(sampler + "-b.duckdb");
            var o = CliHarness.Run("sweep", spec, "--db", a);
            Assert.True(o.ExitCode == 0, o.Error);
            Assert.Equal(0, CliHarness.Run("sweep", spec, "--db", b, "--jobs", "1").ExitCode);
            Assert.Equal(Rows(a), Rows(b));
            var rows = Records(a);
            Assert.Equal(5, rows.Count);
            Assert.All(rows, r => Assert.Equal("ok", r["status"]));
            Assert.All(rows, r => Assert.Contains((long)r["batch"]!, new long[] { 1, 2, 4, 8 }));
            Assert.All(rows, r => Assert.Contains("--set memory.hbm.bandwidth_Bps=", (string)r["run_args"]!, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("""{ "axes": { "bogus": [1] } }""", "$.axes['bogus']", "unknown run option")]
    [InlineData("""{ "axes": { "batch": 4 } }""", "$.axes['batch']", "non-empty list")]
    [InlineData("""{ "axes": { "batch": [1, {}] } }""", "$.axes['batch'][1]", "expected a string, a number or a boolean")]
    [InlineData("""{ "base": { "format": "table" }, "axes": { "batch": [1] } }""", "$.base['format']", "decided by the sweep")]
    [InlineData("""{ "axes": { "batch": [1] }, "sampler": "sobol" }""", "$.sampler", "grid, random or latin-hypercube")]
    [InlineData("""{ "axes": { "batch": [1] }, "sampler": "random" }""", "$.points", "needs points")]
    [InlineData("""{ "axes": { "batch": [1] }, "constraints": { "fits": "yes" } }""", "$.constraints.fits", "true or false")]
    [InlineData("""{ "axes": { "batch": [1] }, "extra": 1 }""", "$.extra", "unknown key")]
    [InlineData("""{ "axes": { "latency_s": [1] } }""", "$.axes['latency_s']", "unknown run option")]
    public void Bad_specs_exit_2_naming_the_file_and_the_json_path(string json, string path, string expected)
    {
        using var dir = new CliHarness.TempDir();
        var db = dir.File("r.duckdb");
        var o = CliHarness.Run("sweep", Spec(dir, json, "bad.json"), "--db", db);
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("bad.json", o.Error, StringComparison.Ordinal);
        Assert.Contains(path, o.Error, StringComparison.Ordinal);
        Assert.Contains(expected, o.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", o.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(db));
    }

    [Fact]
    public void Bad_shards_and_another_sweeps_database_are_refused()
    {
        using var dir = new CliHarness.TempDir();
        var db = dir.File("r.duckdb");
        var spec = Spec(dir, """{ "base": { "model": "gpt2-medium", "hardware": "h100", "phase": "decode" }, "axes": { "batch": [1, 2] } }""");
        foreach (var shard in new[] { "3/3", "1", "a/2", "-1/2" })
        {
            var o = CliHarness.Run("sweep", spec, "--db", db, "--shard", shard);
            Assert.Equal(2, o.ExitCode);
            Assert.Contains("--shard", o.Error, StringComparison.Ordinal);
        }
        Assert.Equal(0, CliHarness.Run("sweep", spec, "--db", db).ExitCode);
        var other = Spec(dir, """{ "base": { "model": "gpt2-medium", "hardware": "h100", "phase": "decode" }, "axes": { "batch": [4, 8] } }""", "other.json");
        var o2 = CliHarness.Run("sweep", other, "--db", db);
        Assert.Equal(2, o2.ExitCode);
        Assert.Contains("another sweep", o2.Error, StringComparison.Ordinal);

        // Parts of different sweeps do not merge.
        var otherDb = dir.File("other.duckdb");
        Assert.Equal(0, CliHarness.Run("sweep", other, "--db", otherDb).ExitCode);
        var merged = dir.File("merged.duckdb");
        var m = CliHarness.Run("sweep", "merge", db, otherDb, "--db", merged);
        Assert.Equal(2, m.ExitCode);
        Assert.Contains("different sweeps", m.Error, StringComparison.Ordinal);
        using (var c = new DuckDBConnection($"Data Source={merged}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'points'";
            Assert.Equal(0L, Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture)); // nothing half-merged
        }
        Assert.Equal(2, CliHarness.Run("sweep", "merge", dir.File("missing.duckdb"), "--db", merged).ExitCode);
    }

    [Fact]
    public void Export_writes_csv_and_parquet_ordered_by_point_id()
    {
        using var dir = new CliHarness.TempDir();
        var db = dir.File("r.duckdb");
        var spec = Spec(dir, """{ "base": { "model": "gpt2-medium", "hardware": "h100", "phase": "decode" }, "axes": { "batch": [8, 1, 2] } }""");
        var csvDuring = dir.File("during.csv");
        Assert.Equal(0, CliHarness.Run("sweep", spec, "--db", db, "--csv", csvDuring).ExitCode);
        var csv = dir.File("out.csv");
        var parquet = dir.File("out.parquet");
        var o = CliHarness.Run("sweep", "export", "--db", db, "--csv", csv, "--parquet", parquet);
        Assert.True(o.ExitCode == 0, o.Error);
        var lines = File.ReadAllLines(csv);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("point_id,point_hash,batch,status,error,", lines[0], StringComparison.Ordinal);
        Assert.Equal(["0", "1", "2"], lines.Skip(1).Select(l => l.Split(',')[0]));
        Assert.Equal(File.ReadAllText(csv), File.ReadAllText(csvDuring));
        Assert.True(new FileInfo(parquet).Length > 0);
        Assert.Equal(2, CliHarness.Run("sweep", "export", "--db", dir.File("missing.duckdb"), "--csv", dir.File("x.csv")).ExitCode);
    }

    [Fact]
    public void The_docs_example_spec_runs_and_its_queries_read_the_table()
    {
        var doc = File.ReadAllText(CliHarness.RepoFile("docs/sweeps.md"));
        string Block(string fence, int from)
        {
            var start = doc.IndexOf(fence, from, StringComparison.Ordinal) + fence.Length;
            return doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];
        }
        using var dir = new CliHarness.TempDir();
        var db = dir.File("results.duckdb");
        var o = CliHarness.Run("sweep", Spec(dir, Block("```json", 0)), "--db", db);
        Assert.True(o.ExitCode == 0, o.Error);
        Assert.Contains("12 points", o.Out, StringComparison.Ordinal);
        var rows = Records(db);
        Assert.Equal(12, rows.Count);
        Assert.All(rows, r => Assert.Contains((string)r["status"]!, new[] { "ok", "skipped" }));

        using var c = new DuckDBConnection($"Data Source={db};ACCESS_MODE=READ_ONLY");
        c.Open();
        var queries = Block("```sql", 0).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(q => string.Join('\n', q.Split('\n').Where(l => !l.TrimStart().StartsWith("--", StringComparison.Ordinal))).Trim())
            .Where(q => q.Length > 0).ToList();
        Assert.Equal(4, queries.Count);
        var counts = new List<int>();
        foreach (var q in queries)
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = q;
            using var r = cmd.ExecuteReader();
            var n = 0;
            while (r.Read()) n++;
            counts.Add(n);
        }
        Assert.Equal(2, counts[0]);   // the fastest per device
        Assert.Equal(12, counts[2]);  // a field of every report
    }
}
