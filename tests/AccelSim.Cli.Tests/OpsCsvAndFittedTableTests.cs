using System.Text.RegularExpressions;
using AccelSim.Cli.Commands;
using AccelSim.Reports;
using Spectre.Console;

namespace AccelSim.Cli.Tests;

/// <summary><c>--ops-csv</c> writes the per-op CSV of docs/report-schema.md; compare's tables fit the console.</summary>
public class OpsCsvAndFittedTableTests
{
    /// <summary>The columns the doc's "Per-op CSV" table lists, in order.</summary>
    private static string[] DocumentedColumns()
    {
        var doc = File.ReadAllText(CliHarness.RepoFile("docs/report-schema.md")).Replace("\r\n", "\n");
        var section = doc[doc.IndexOf("## Per-op CSV", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 4, StringComparison.Ordinal)];
        return [.. section.Split('\n').Select(l => Regex.Match(l, @"^\| `([a-z_]+)` \|")).Where(m => m.Success).Select(m => m.Groups[1].Value)];
    }

    [Fact]
    public void RunWritesEveryOpWithTheDocumentedColumns()
    {
        using var dir = new CliHarness.TempDir();
        var csv = dir.File("ops.csv");
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--batch", "1", "--context", "128", "--ops-csv", csv, "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var lines = File.ReadAllText(csv).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(DocumentedColumns(), lines[0].Split(','));
        Assert.Equal(OpsCsv.Columns, lines[0].Split(','));
        var report = Newtonsoft.Json.Linq.JObject.Parse(o.Out);
        Assert.Equal((int)report["workload"]!["ops"]!, lines.Length - 1);
        // FLOPs of the ops add up to the run's.
        Assert.Equal((long)report["flops"]!, lines.Skip(1).Sum(l => long.Parse(l.Split(',')[6], System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void CompareAndSystemRunsLeadEachLineWithTheirKeys()
    {
        using var dir = new CliHarness.TempDir();
        var csv = dir.File("compare.csv");
        var o = CliHarness.Run("compare", "--hardware", "h100,u280", "--model", "llama2-7b", "--phase", "decode", "--batch", "1", "--context", "128", "--ops-csv", csv);
        Assert.True(o.ExitCode == 0, o.Error);
        var lines = File.ReadAllText(csv).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["hardware", "schedule", .. DocumentedColumns()], lines[0].Split(','));
        Assert.Equal(["h100", "u280"], lines.Skip(1).Select(l => l.Split(',')[0]).Distinct());

        var sys = dir.File("system.csv");
        o = CliHarness.Run("run", "--system", "dgx-h100", "--model", "llama2-7b", "--phase", "decode", "--batch", "8", "--context", "128", "--tp", "2", "--ops-csv", sys);
        Assert.True(o.ExitCode == 0, o.Error);
        lines = File.ReadAllText(sys).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["rank", .. DocumentedColumns()], lines[0].Split(','));
        Assert.Equal(["0", "1"], lines.Skip(1).Select(l => l.Split(',')[0]).Distinct());
    }

    [Fact]
    public void AnOpsCsvPathThatIsAFolderIsRefusedBeforeAnyWork()
    {
        using var dir = new CliHarness.TempDir();
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--ops-csv", dir.Path);
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("--ops-csv", o.Error);
    }

    private static readonly string[] Headers = ["latency", "tokens/s", "compute util", "memory-bw util", "off-chip bytes",
        "memory-bound time", "energy", "tokens/J", "spilled", "over capacity", "on estimates"];

    private static string Render(int width, IReadOnlyList<string> hardware)
    {
        var table = new FittedTable(["hardware", "schedule"], [.. Headers.Select(h => (h, true))]);
        foreach (var hw in hardware)
            foreach (var s in new[] { "sequential", "dataflow" })
                table.AddRow([hw, s], [.. Headers.Select((_, i) => "[bold]" + (12.34 * (i + 1)).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) + " ms[/]")]);
        using var sw = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(sw), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
        });
        console.Profile.Width = width;
        table.Write(console);
        return sw.ToString();
    }

    [Theory]
    [InlineData(80, false)]
    [InlineData(120, false)]
    [InlineData(80, true)]
    [InlineData(120, true)]
    public void HeadersAreNeverCutAndTablesFitTheWidth(int width, bool longNames)
    {
        string[] hardware = longNames
            ? [.. Enumerable.Range(0, 8).Select(i => $"configs/hardware/experimental-accelerator-with-a-long-name-{i}.json")]
            : [.. Enumerable.Range(0, 8).Select(i => $"gpu-{i}")];
        var text = Render(width, hardware);
        var lines = text.Split('\n');
        Assert.All(lines, l => Assert.True(l.TrimEnd().Length <= width, $"line wider than {width}: {l}"));
        Assert.DoesNotContain("…", text);
        Assert.DoesNotContain("...", text);
        // Every word of every header appears whole in a header cell.
        var words = lines.SelectMany(l => l.Split('│', '┌', '┐', '┬').Select(c => c.Trim())).SelectMany(c => c.Split(' ')).ToHashSet();
        foreach (var h in Headers)
            foreach (var w in h.Split(' '))
                Assert.Contains(w, words);
        // Every figure is printed whole, once per table it belongs to.
        foreach (var (_, i) in Headers.Select((h, i) => (h, i)))
            Assert.Equal(hardware.Length * 2, Regex.Matches(text, Regex.Escape((12.34 * (i + 1)).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) + " ms")).Count);
        if (text.Contains("│ run", StringComparison.Ordinal))
        {
            // The names do not fit beside a figure: runs are numbered, and the legend names each in full
            // (a legend line longer than the console wraps, so compare without white space).
            Assert.True(longNames && width == 80, "only long names at 80 columns need numbering");
            var flat = Regex.Replace(text, @"\s", "");
            foreach (var hw in hardware) Assert.Contains($":{hw}(sequential)", flat);
            Assert.Contains("#16:", flat);
        }
        else
        {
            foreach (var hw in hardware) Assert.Contains("│ " + hw + " ", text);
        }
    }
}
