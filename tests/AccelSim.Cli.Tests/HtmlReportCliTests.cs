using System.Globalization;
using System.Text.RegularExpressions;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary><c>--html</c> on run (one device or a system), compare and serve (docs/html-report.md): the file appears, is the same bytes for
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

    /// <summary>A decode step of Llama-2-7B over tp2 pp2 on a DGX A100.</summary>
    internal static readonly string[] SystemDecode = ["--system", "dgx-a100", "--model", "llama2-7b", "--phase", "decode", "--batch", "8", "--context", "512",
        "--tp", "2", "--pp", "2"];

    [Fact]
    public void Run_on_a_system_writes_the_same_page_twice_with_the_json_reports_figures()
    {
        using var dir = new CliHarness.TempDir();
        var a = CliHarness.Run(["run", .. SystemDecode, "--format", "json", "--html", dir.File("a.html")]);
        Assert.True(a.ExitCode == 0, a.Error);
        var b = CliHarness.Run(["run", .. SystemDecode, "--html", dir.File("b.html")]);
        Assert.Equal(0, b.ExitCode);
        var html = File.ReadAllText(dir.File("a.html"));
        Assert.Equal(html, File.ReadAllText(dir.File("b.html")));

        var json = JObject.Parse(a.Out);
        var cells = FigureRegex().Matches(html);
        foreach (Match f in cells)
        {
            var token = json.SelectToken("$" + string.Concat(f.Groups[1].Value.Split('/', StringSplitOptions.RemoveEmptyEntries)
                .Select(p => int.TryParse(p, CultureInfo.InvariantCulture, out var i) ? $"[{i}]" : $"['{p}']")));
            Assert.True(token is not null, f.Groups[1].Value);
            Assert.Equal(token!.Value<double>(), double.Parse(f.Groups[2].Value, CultureInfo.InvariantCulture));
        }
        var pointers = cells.Select(m => m.Groups[1].Value).ToHashSet();
        foreach (var p in new[] { "/throughput/iteration_s", "/throughput/tokens_per_s", "/throughput/model_flops_per_s_per_device", "/throughput/model_flops_utilisation",
                     "/network/communication/exposed_s", "/network/communication/overlapped_s", "/devices/3/utilisation/compute", "/devices/3/energy_j" })
            Assert.Contains(p, pointers);
        // One device row and one timeline lane per simulated device; a row per link that carried bytes, and no other.
        var devices = (JArray)json["devices"]!;
        Assert.Equal(4, devices.Count);
        Assert.Equal(4, Regex.Matches(html, "<tr data-rank=").Count);
        for (var i = 0; i < 4; i++) Assert.Contains($">rank {i}</text>", html);
        var links = (JArray)json["network"]!["links"]!;
        Assert.NotEmpty(links);
        Assert.Equal(links.Count, Regex.Matches(html, "data-json=\"/network/links/\\d+/bytes\"").Count);
        Assert.Equal(((JArray)json["network"]!["collectives"]!).Count, Regex.Matches(html, "<rect class=\"op b-power\"").Count);
        Assert.Contains($"data-fits=\"{((bool)json["fits"]!).ToString().ToLowerInvariant()}\"", html);
        foreach (var f in (JArray)json["provenance"]!["files"]!) Assert.Contains((string)f["sha256"]!, html);
    }

    [Fact]
    public void Html_on_a_system_comparison_is_refused_and_writes_nothing()
    {
        using var dir = new CliHarness.TempDir();
        var o = CliHarness.Run(["compare", .. SystemDecode, "--html", dir.File("x.html")]);
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("--html", o.Error);
        Assert.False(File.Exists(dir.File("x.html")));
    }

    [GeneratedRegex("data-json=\"([^\"]+)\" data-value=\"([^\"]+)\"")]
    private static partial Regex FigureRegex();

    [GeneratedRegex("<line class=\"roof roof-memory\"[^>]*data-members=\"([^\"]+)\"")]
    private static partial Regex MemoryRoofRegex();
}
