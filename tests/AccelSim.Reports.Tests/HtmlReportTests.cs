using System.Globalization;
using System.Text.RegularExpressions;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Reports.Html;
using Newtonsoft.Json.Linq;

namespace AccelSim.Reports.Tests;

public partial class HtmlReportTests
{
    private static RooflineData Roofline(Run run) => Core.Metrics.Roofline.Build(run.Metrics, run.Device);

    [Fact]
    public void Same_report_gives_byte_identical_html_whatever_the_current_culture()
    {
        var first = HtmlReport.Run(TestRuns.Small().Metrics, Roofline(TestRuns.Small()));
        var previous = CultureInfo.CurrentCulture;
        try
        {
            var odd = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            odd.NumberFormat.NumberDecimalSeparator = ",";
            odd.NumberFormat.NumberGroupSeparator = ".";
            CultureInfo.CurrentCulture = odd;
            var run = TestRuns.Small();
            Assert.Equal(first, HtmlReport.Run(run.Metrics, Roofline(run)));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
        Assert.DoesNotContain("\r", first);
        Assert.StartsWith("<!DOCTYPE html>\n", first);
        Assert.EndsWith("</html>\n", first);
    }

    [Fact]
    public void Names_from_the_inputs_are_escaped_everywhere()
    {
        var g = TestRuns.SmallGraph();
        var evil = "<script>alert('x')</script>";
        var ops = g.Ops.Select(o => o.Id == 2 ? new Op(o.Id, evil + "\"&", o.Kind, o.Layer, o.Inputs, o.Outputs, o.Flops, o.ComputeDType, gemm: o.Gemm) : o).ToArray();
        var graph = new WorkloadGraph(g.Info with { Name = evil, Phase = "<b>prefill</b>" }, ops);
        var run = TestRuns.Simulate(graph);
        var html = HtmlReport.Run(run.Metrics, Roofline(run));
        // The page's own script is its only script element.
        Assert.Single(Regex.Matches(html, "<script", RegexOptions.IgnoreCase));
        Assert.DoesNotContain("<b>", html);
        Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;", html);

        var serve = HtmlReport.Serve(new ServeHtml(evil, "gpu", evil, evil, evil, [], [new HtmlFigure("/x", evil, 1, HtmlUnit.Number, evil)],
            [new HtmlSeries(evil, "u", [0.0, 1.0], [1.0, 2.0], evil)], [new(evil, evil)], 1, null));
        Assert.Single(Regex.Matches(serve, "<script", RegexOptions.IgnoreCase));
        var compare = HtmlReport.Compare([new ComparedHtmlRun(run.Metrics, Roofline(run))]);
        Assert.Single(Regex.Matches(compare, "<script", RegexOptions.IgnoreCase));
    }

    [Fact]
    public void The_page_fetches_nothing()
    {
        var run = TestRuns.Small();
        var html = HtmlReport.Run(run.Metrics, Roofline(run));
        Assert.Contains("default-src 'none'", html);
        Assert.DoesNotMatch(@"\s(src|href)\s*=", html);
        // The one URL is the SVG namespace the script creates tick marks in, an identifier, not a fetch.
        foreach (Match m in Regex.Matches(html, @"https?://[^'""\s)]*"))
            Assert.Equal("http://www.w3.org/2000/svg", m.Value);
    }

    [Fact]
    public void Key_figures_carry_the_json_reports_values()
    {
        var run = TestRuns.Small();
        var html = HtmlReport.Run(run.Metrics, Roofline(run));
        var json = JsonReport.ToJson(run.Metrics, includeOps: false);
        var figures = Regex.Matches(html, "data-json=\"([^\"]+)\" data-value=\"([^\"]*)\"");
        Assert.True(figures.Count >= 10, $"only {figures.Count} figures");
        foreach (Match f in figures)
        {
            var token = json.SelectToken(Pointer(f.Groups[1].Value));
            Assert.True(token is not null, $"{f.Groups[1].Value} is not in the JSON report");
            if (token!.Type == JTokenType.Null) Assert.Equal("", f.Groups[2].Value);
            else Assert.Equal(token.Value<double>(), double.Parse(f.Groups[2].Value, CultureInfo.InvariantCulture));
        }
        foreach (var key in new[] { "/latency_s", "/tokens_per_s", "/energy_j", "/utilisation/compute", "/utilisation/memory_bandwidth",
                     "/memory_wall/memory_bound_time_fraction", "/memory_wall/stall_s" })
            Assert.Contains($"data-json=\"{key}\"", html);
        Assert.Contains("data-fits=\"true\"", html);
    }

    [Fact]
    public void Roofline_draws_only_the_roofs_the_run_used_and_marks_the_ridge()
    {
        var run = TestRuns.Small();
        var built = Roofline(run);
        Assert.All(built.Roofs, r => Assert.True(r.Used, r.Name));
        // A device with more roofs than the run touched: the unused ones are not drawn.
        var data = built with
        {
            Roofs =
            [
                .. built.Roofs,
                new RooflineRoof("ssd (ssd)", false, 7e9) { Used = false, Members = ["ssd"] },
                new RooflineRoof("fp8 peak", true, 40e12) { Used = false, Members = ["fp8"] },
            ],
        };
        var html = HtmlReport.Run(run.Metrics, data);
        var roofs = Regex.Matches(html, "<line class=\"roof [^>]*data-roof=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(built.Roofs.Select(r => r.Name).Order(), roofs.Order());
        Assert.Contains("class=\"ridge\"", html);
        Assert.Equal(run.Metrics.Ops.Count(o => o.Flops > 0), Regex.Matches(html, "<circle class=\"dot\"").Count);
        Assert.Equal(2, data.Roofs.Count - data.UsedRoofs.Count);
        Assert.Single(Plots.RooflinePlot.ComputeRoofs(data));
    }

    [Fact]
    public void Timeline_has_one_bar_per_op_and_a_sortable_op_table()
    {
        var run = TestRuns.Small();
        var html = HtmlReport.Run(run.Metrics, Roofline(run));
        Assert.Equal(run.Metrics.Ops.Count, Regex.Matches(html, "<rect class=\"op ").Count);
        Assert.Equal(run.Metrics.Ops.Count, Regex.Matches(html, "<tr data-op=").Count);
        Assert.Contains("<table class=\"sortable ops\"", html);
    }

    [Fact]
    public void Compare_marks_the_best_value_of_each_row_among_the_runs_that_fit()
    {
        var fast = TestRuns.Small();
        var slow = TestRuns.Simulate(TestRuns.Chain(12));
        var html = HtmlReport.Compare([new ComparedHtmlRun(slow.Metrics, Roofline(slow)), new ComparedHtmlRun(fast.Metrics, Roofline(fast))]);
        var faster = fast.Metrics.LatencyS < slow.Metrics.LatencyS ? 1 : 0;
        Assert.Matches($"<td class=\"num best\" data-run=\"{faster}\" data-json=\"/latency_s\"", html);
        Assert.Equal(2, Regex.Matches(html, "<section class=\"run-detail\"").Count);
        Assert.Contains("<select id=\"run-select\">", html);
    }

    [Fact]
    public void Serve_page_draws_long_series_from_buckets_and_is_deterministic()
    {
        var t = Enumerable.Range(0, 5000).Select(i => i * 1e-3).ToArray();
        var v = t.Select((_, i) => (double)(i % 97)).ToArray();
        ServeHtml Data() => new("h100", "gpu", "m", "vllm", "poisson 1/s", [new HtmlDistribution("/ttft_s", "TTFT", 1, 0.5, 2, 3, 4, "x")],
            [new HtmlFigure("/requests", "Requests", 10, HtmlUnit.Count, "x")], [new HtmlSeries("Queue length", "requests", t, v, "x")], [], 5, null);
        var html = HtmlReport.Serve(Data());
        Assert.Equal(html, HtmlReport.Serve(Data()));
        Assert.Contains("data-samples=\"5000\" data-max=\"96\"", html);
        Assert.Contains("data-json=\"/ttft_s/p99\" data-value=\"3\"", html);
        var points = Regex.Match(html, "<polyline[^>]*points=\"([^\"]+)\"").Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(points.Length <= 2 * 480 + 1, $"{points.Length} points");
    }

    [Theory]
    [InlineData(7.0889e-5, "$0.00007089")]
    [InlineData(0.55384, "$0.5538")]
    [InlineData(13.41, "$13.41")]
    [InlineData(1234.5678, "$1234.57")]
    [InlineData(0.0, "$0")]
    public void Dollars_keep_four_significant_digits_without_an_exponent(double usd, string shown)
    {
        Assert.Equal(shown, HtmlReport.Usd(usd));
    }

    /// <summary>A JSON pointer (/a/b) as a JSONPath with bracketed names.</summary>
    private static string Pointer(string pointer) =>
        "$" + string.Concat(pointer.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(p => "['" + p + "']"));
}
