using System.Globalization;
using System.Text.RegularExpressions;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary><c>--html</c> on run, compare and serve (docs/html-report.md): the file appears, is the same bytes for
/// the same inputs, carries the JSON report's figures, and its roofline has the roofs the run used. The browser
/// checks (AccelSim.Browser.Tests) open the same pages in Chromium.</summary>
public partial class HtmlReportCliTests
{
    private static readonly string[] Decode = ["--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--batch", "1", "--context", "512"];

    [Fact]
    public void Run_writes_the_same_page_twice_with_the_json_reports_figures_and_only_the_used_roofs()
    {
        using var dir = new CliHarness.TempDir();
        var a = CliHarness.Run(["run", .. Decode, "--format", "json", "--html", dir.File("a.html")]);
        Assert.Equal(0, a.ExitCode);
        var b = CliHarness.Run(["run", .. Decode, "--html", dir.File("b.html")]);
        Assert.Equal(0, b.ExitCode);
        var html = File.ReadAllText(dir.File("a.html"));
        Assert.Equal(html, File.ReadAllText(dir.File("b.html")));

        var json = JObject.Parse(a.Out);
        var figures = FigureRegex().Matches(html);
        Assert.True(figures.Count >= 10);
        foreach (Match f in figures)
        {
            var token = json.SelectToken("$" + string.Concat(f.Groups[1].Value.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(p => $"['{p}']")));
            Assert.True(token is not null, f.Groups[1].Value);
            if (token!.Type != JTokenType.Null) Assert.Equal(token.Value<double>(), double.Parse(f.Groups[2].Value, CultureInfo.InvariantCulture));
        }

        // The h100 has six channels; a decode moves bytes over hbm and l2 only, and only those are drawn.
        var channels = (JObject)json["memory"]!["bytes_moved_by_channel"]!;
        var used = channels.Properties().Where(p => p.Value.Value<long>() > 0).Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.True(channels.Count > used.Length);
        var drawn = MemoryRoofRegex().Matches(html).SelectMany(m => m.Groups[1].Value.Split('|')).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(used, drawn);
    }

    [Fact]
    public void Compare_and_serve_write_their_pages()
    {
        using var dir = new CliHarness.TempDir();
        var c = CliHarness.Run("compare", "--hardware", "h100,a100-80g", "--model", "llama2-7b", "--phase", "decode", "--batch", "1", "--context", "512",
            "--format", "json", "--html", dir.File("c.html"));
        Assert.Equal(0, c.ExitCode);
        var compare = File.ReadAllText(dir.File("c.html"));
        Assert.Equal(2, Regex.Matches(compare, "<section class=\"run-detail\"").Count);
        Assert.Matches("<td class=\"num best\" data-run=\"0\" data-json=\"/latency_s\"", compare);

        var s = CliHarness.Run("serve", "--hardware", "h100", "--model", "llama2-7b", "--rate", "4", "--num-requests", "40", "--format", "json", "--html", dir.File("s.html"));
        Assert.Equal(0, s.ExitCode);
        var serve = File.ReadAllText(dir.File("s.html"));
        var json = JObject.Parse(s.Out);
        Assert.Contains($"data-json=\"/ttft_s/p99\" data-value=\"{json["ttft_s"]!.Value<double>("p99").ToString("R", CultureInfo.InvariantCulture)}\"", serve);
        Assert.Equal(3, Regex.Matches(serve, "<svg class=\"line-chart\"").Count);
    }

    [Fact]
    public void Html_on_a_system_is_refused_and_writes_nothing()
    {
        using var dir = new CliHarness.TempDir();
        var o = CliHarness.Run("run", "--system", "dgx-h100", "--model", "llama2-7b", "--phase", "decode", "--batch", "8", "--context", "512", "--tp", "8",
            "--html", dir.File("x.html"));
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("--html", o.Error);
        Assert.False(File.Exists(dir.File("x.html")));
    }

    [GeneratedRegex("data-json=\"([^\"]+)\" data-value=\"([^\"]+)\"")]
    private static partial Regex FigureRegex();

    [GeneratedRegex("<line class=\"roof roof-memory\"[^>]*data-members=\"([^\"]+)\"")]
    private static partial Regex MemoryRoofRegex();
}
