using AccelSim.Core.Config;
using AccelSim.Core.Metrics;
using Newtonsoft.Json.Linq;

namespace AccelSim.Reports.Tests;

public class ProvenanceReportTests
{
    private static RunMetrics Annotated(bool withOverride, PredictionInterval interval)
    {
        var m = TestRuns.Small().Metrics;
        var provenance = new RunProvenance(
            [new ConfigFileInfo("hardware", "configs/hardware/fake.json", new string('a', 64))],
            withOverride ? [new("memory.hbm.bandwidth_Bps", "2e11")] : [],
            "fused", "graph")
        {
            ParameterCounts = new Dictionary<string, int> { ["datasheet"] = 3, ["estimate"] = 1 },
            EstimateTimeShare = 0.25,
            EstimateLatencyChange = 0.05,
            EstimatePerturbation = 1.1,
        };
        return m with { Provenance = provenance, Interval = interval };
    }

    [Fact]
    public void TheTableNamesTheInputsAndMarksAModifiedDevice()
    {
        var iv = new PredictionInterval(0.9, 1e-3, 2e-3, 1, 2, "configs/error-models/test.json", null);
        var m = Annotated(true, iv with { LatencyLowS = 0.9 * TestRuns.Small().Metrics.LatencyS, LatencyHighS = 1.1 * TestRuns.Small().Metrics.LatencyS });
        var text = TableReport.RenderToString(m, width: 160);
        Assert.Contains("fake* (test)", text);
        Assert.Contains("Inputs: configs/hardware/fake.json (sha256 aaaaaaaa) | stack fused, launch graph", text);
        Assert.Contains("Overrides: memory.hbm.bandwidth_Bps=2e11", text);
        Assert.Contains("3 datasheet, 1 estimate; 25.0 % of busy time depends on estimates (latency +5.0 %", text);
        Assert.Contains("(90% interval ", text);
    }

    [Fact]
    public void TheJsonCarriesProvenanceAndTheIntervalOrItsAbsence()
    {
        var none = new PredictionInterval(0.9, null, null, null, null, "", "no measurements for the test family: no interval");
        var j = JsonReport.ToJson(Annotated(false, none), includeOps: false);
        Assert.False((bool)j["hardware"]!["modified"]!);
        Assert.Equal(new string('a', 64), (string?)j["provenance"]!["files"]![0]!["sha256"]);
        Assert.Equal("fused", (string?)j["provenance"]!["stack"]);
        Assert.Equal(0.25, (double)j["provenance"]!["estimate_time_share"]!);
        Assert.Equal(JTokenType.Null, j["interval"]!["latency_s"]!["low"]!.Type);
        Assert.Equal("no measurements for the test family: no interval", (string?)j["interval"]!["note"]);
        var text = TableReport.RenderToString(Annotated(false, none), width: 160);
        Assert.Contains("Interval: no measurements for the test family: no interval", text);
        Assert.DoesNotContain("fake*", text);
    }

    [Fact]
    public void WithoutProvenanceTheReportIsUnchanged()
    {
        var m = TestRuns.Small().Metrics;
        Assert.Null(JsonReport.ToJson(m, false)["provenance"]);
        Assert.DoesNotContain("Inputs:", TableReport.RenderToString(m));
    }
}
