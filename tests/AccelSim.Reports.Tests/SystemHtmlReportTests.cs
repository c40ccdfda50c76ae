using System.Globalization;
using System.Text.RegularExpressions;
using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Core.Time;
using AccelSim.Reports.Html;
using Newtonsoft.Json.Linq;

namespace AccelSim.Reports.Tests;

/// <summary>The HTML page of a system run (<see cref="SystemHtmlReport"/>): the two-device pipeline of
/// <see cref="SystemReportTests"/>, its names optionally replaced by markup.</summary>
public partial class SystemHtmlReportTests
{
    private static SystemResult Pipeline(string name = "tiny pipeline", string label = "stage 0 fwd", string key = "act")
    {
        var link = new LinkSpec(100e9, 0.8, 1e-6, 8);
        var spec = new SystemSpec("test-node", new NodeSpec("fake", 2, IntraNodeFabricKind.NVSwitch, link, false), null, null, 1);
        var fabric = SystemFabric.Build(spec);
        var device = new FakeDevice();
        var mlp = TestRuns.SmallGraph();
        var tail = TestRuns.Chain(6);
        var send = CommCall.Send(0, 1, 256 * 512 * 2);
        var grads = new CommCall(CollectiveKind.AllReduce, 4L << 20, [0, 1], CollectiveAlgorithm.Ring);
        var program = new SystemProgram(name, [
            new RankProgram(0, [
                RankSegment.Run(label, mlp),
                RankSegment.Collective("send act", key, send, [0]),
                RankSegment.Collective("grad all-reduce", "grads", grads, [0]),
            ], [new RankMemory("weights", 1 << 20)]),
            new RankProgram(1, [
                RankSegment.Collective("recv act", key, send),
                RankSegment.Run("stage 1 fwd", mlp, [0]),
                RankSegment.Collective("grad all-reduce", "grads", grads, [1]),
                RankSegment.Run("stage 1 tail", tail, [1]),
            ], []),
        ]);
        return SystemSimulator.Run(program, fabric, _ => device, new SequentialSchedule());
    }

    /// <summary>The page's figures, pointing into <see cref="SystemReport"/>'s JSON.</summary>
    private static SystemHtml Html(SystemResult r, string text = "tiny") => new(
        text + " on test-node", [text + " | 2 devices"],
        [
            new HtmlFigure("/latency_s", "Iteration time", r.MakespanS, HtmlUnit.Seconds, text),
            new HtmlFigure("/energy_j", "Energy", r.EnergyJ, HtmlUnit.Joules, text),
            new HtmlFigure("/network/communication/exposed_s", "Communication exposed", Ps.ToSeconds(r.Ranks.Sum(x => x.ExposedCommPs)), HtmlUnit.Seconds, text),
            new HtmlFigure("/network/communication/overlapped_s", "Communication hidden", Ps.ToSeconds(r.Ranks.Sum(x => x.HiddenCommPs)), HtmlUnit.Seconds, text),
            new HtmlFigure("/network/bytes", "Network bytes", r.Links.Sum(l => (double)l.Bytes), HtmlUnit.Bytes, text),
        ], true, text, r, [new(text, text)], null);

    [Fact]
    public void The_page_is_byte_identical_whatever_the_culture_and_every_number_equals_the_json_report()
    {
        var first = SystemHtmlReport.Write(Html(Pipeline()));
        var previous = CultureInfo.CurrentCulture;
        try
        {
            var odd = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            odd.NumberFormat.NumberDecimalSeparator = ",";
            odd.NumberFormat.NumberGroupSeparator = ".";
            CultureInfo.CurrentCulture = odd;
            Assert.Equal(first, SystemHtmlReport.Write(Html(Pipeline())));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
        Assert.StartsWith("<!DOCTYPE html>\n", first);
        Assert.EndsWith("</html>\n", first);
        Assert.DoesNotContain("\r", first);

        var result = Pipeline();
        var json = SystemReport.ToJson(result);
        var cells = FigureRegex().Matches(first);
        // 5 figures; per device at least 7 numbers (rank, busy, 2 utilisations, 2 communication, energy) and its
        // fullest tier's peak and capacity; 5 per link that carried bytes.
        var usedLinks = result.Links.Count(l => l.Bytes > 0);
        Assert.True(usedLinks > 0);
        Assert.Equal(5 + result.Ranks.Sum(x => x.Memory.Count > 0 ? 9 : 7) + 5 * usedLinks, cells.Count);
        Assert.Contains($"data-json=\"/network/links/{usedLinks - 1}/bytes\"", first);
        foreach (Match c in cells)
        {
            var token = json.SelectToken("$" + string.Concat(c.Groups[1].Value.Split('/', StringSplitOptions.RemoveEmptyEntries)
                .Select(p => int.TryParse(p, CultureInfo.InvariantCulture, out var i) ? $"[{i}]" : $"['{p}']")));
            Assert.True(token is not null, c.Groups[1].Value);
            Assert.Equal(token!.Value<double>(), double.Parse(c.Groups[2].Value, CultureInfo.InvariantCulture));
        }

        // A lane per device and one for the collectives; a bar per compute segment and per collective, each with a tooltip.
        Assert.Contains(">rank 0</text>", first);
        Assert.Contains(">rank 1</text>", first);
        Assert.Contains(">collectives</text>", first);
        Assert.Equal(result.Ranks.Sum(x => x.Segments.Count(s => !s.IsComm && s.EndPs > s.StartPs)), Regex.Matches(first, "<rect class=\"op b-compute\"").Count);
        Assert.Equal(result.Collectives.Count, Regex.Matches(first, "<rect class=\"op b-power\"[^>]*data-tip=").Count);
        Assert.Contains("<tr data-kind=\"all-reduce\"><td>all-reduce</td><td>ring</td><td class=\"num\" data-v=\"1\">1</td>", first);
        Assert.Contains("data-fits=\"true\"", first);
    }

    [Fact]
    public void Names_from_the_inputs_are_escaped_and_nothing_is_fetched()
    {
        const string evil = "<script>alert('x')</script>\"&";
        var html = SystemHtmlReport.Write(Html(Pipeline(evil, evil, evil), evil));
        Assert.Single(Regex.Matches(html, "<script", RegexOptions.IgnoreCase));
        Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;", html);
        Assert.DoesNotMatch(@"\s(src|href)\s*=", html);
        foreach (Match m in Regex.Matches(html, @"https?://[^'""\s)]*"))
            Assert.Equal("http://www.w3.org/2000/svg", m.Value);
        Assert.Contains("default-src 'none'", html);
    }

    [GeneratedRegex("data-json=\"([^\"]+)\" data-value=\"([^\"]+)\"")]
    private static partial Regex FigureRegex();
}
