using AccelSim.Core.Devices;
using AccelSim.Reports.Explain;

namespace AccelSim.Reports.Tests;

public class ExplainTests
{
    [Fact]
    public void Each_entry_compares_its_intensity_with_the_ridge_of_the_tier_it_waited_on()
    {
        var run = TestRuns.Small();
        var e = RunExplainer.Explain(run.Metrics, ExplainDevice.From(run.Device), top: 10);

        // Four distinct ops, none alike: four entries, ranked by time.
        Assert.Equal(4, e.Ops.Count);
        Assert.Equal([1, 2, 3, 4], e.Ops.Select(o => o.Rank));
        for (var i = 1; i < e.Ops.Count; i++) Assert.True(e.Ops[i - 1].TotalTimeS >= e.Ops[i].TotalTimeS);
        foreach (var o in e.Ops)
        {
            // The fake device: 10 TFLOP/s over 100 GB/s is a ridge of 100 FLOP/B from hbm.
            Assert.Equal("hbm", o.Tier);
            Assert.Equal(FakeDevice.Bandwidth, o.TierBandwidth_Bps);
            Assert.Equal(100.0, o.RidgeFlopPerByte, 9);
            var op = run.Metrics.Ops.Single(x => x.Id == o.OpIds[0]);
            Assert.Equal(op.ArithmeticIntensity, o.IntensityFlopPerByte);
            Assert.Equal(op.Bound, o.Bound);
            Assert.Contains(o.Bound.Name() + "-bound", o.Text);
            Assert.Contains("ridge of 100 FLOP/byte from hbm", o.Text);
        }
        var up = e.Ops.Single(o => o.Name == "layer0.mlp.up");
        Assert.Equal(Bound.Compute, up.Bound);
        Assert.Contains("146 FLOP/byte, above", up.Text);
        Assert.Contains("Device model: tile 128x128.", up.Text);
        // A compute-bound op: doubling FLOP/s helps, doubling bandwidth does not.
        Assert.True(up.Levers.Single(l => l.Change == "double bf16 FLOP/s").TimeFactor < 0.8);
        Assert.Equal(1.0, up.Levers.Single(l => l.Change == "double hbm bandwidth").TimeFactor, 9);
    }

    [Fact]
    public void Levers_follow_latency_plus_the_longer_of_math_and_bytes()
    {
        var run = TestRuns.Small();
        var e = RunExplainer.Explain(run.Metrics, ExplainDevice.From(run.Device), top: 10);
        foreach (var o in e.Ops)
        {
            var op = run.Metrics.Ops.Single(x => x.Id == o.OpIds[0]);
            var (c, m, l) = (op.ComputeTimeS, op.MemoryTimeS, op.LatencyS);
            var t0 = l + Math.Max(c, m);
            Assert.Equal((l + Math.Max(c, m / 2)) / t0, o.Levers.Single(x => x.Change == "double hbm bandwidth").TimeFactor, 12);
            Assert.Equal((l + Math.Max(c / 2, m)) / t0, o.Levers.Single(x => x.Change == "double bf16 FLOP/s").TimeFactor, 12);
            Assert.Equal((l / 2 + Math.Max(c, m)) / t0, o.Levers.Single(x => x.Change == "halve start-up latency").TimeFactor, 12);
            Assert.InRange(o.WaitFraction, 0, 1);
        }
    }

    [Fact]
    public void The_summary_splits_busy_time_by_bound_and_energy_by_part()
    {
        var run = TestRuns.Small();
        var e = RunExplainer.Explain(run.Metrics, ExplainDevice.From(run.Device));
        Assert.Equal(1.0, e.MemoryBoundShare + e.ComputeBoundShare + e.LatencyBoundShare + e.PowerBoundShare, 9);
        Assert.Equal(1.0, e.EnergyComputeShare + e.EnergyMemoryShare + e.EnergyStaticShare, 9);
        Assert.Contains("fake ran tiny-mlp (prefill, batch 1, 256 tokens)", e.Summary);
        Assert.Contains("static power", e.Summary);
        // Default: the top five entries; this run has four.
        Assert.Equal(4, e.Ops.Count);
        Assert.Single(RunExplainer.Explain(run.Metrics, ExplainDevice.From(run.Device), top: 1).Ops);
        Assert.Empty(RunExplainer.Explain(run.Metrics, ExplainDevice.From(run.Device), top: 0).Ops);
    }

    [Fact]
    public void The_explanation_is_deterministic_and_its_json_carries_every_entry()
    {
        var a = RunExplainer.Explain(TestRuns.Small().Metrics, ExplainDevice.From(new FakeDevice()));
        var b = RunExplainer.Explain(TestRuns.Small().Metrics, ExplainDevice.From(new FakeDevice()));
        var ja = JsonReport.Format(ExplainReport.ToJson(a));
        Assert.Equal(ja, JsonReport.Format(ExplainReport.ToJson(b)));
        var arr = ExplainReport.ToJson(a);
        Assert.Equal(1 + a.Ops.Count, arr.Count);
        Assert.Equal("run", (string?)arr[0]["scope"]);
        Assert.Equal("op", (string?)arr[1]["scope"]);
        Assert.Equal(a.Ops[0].Text, (string?)arr[1]["text"]);
        Assert.Equal(3, ((Newtonsoft.Json.Linq.JArray)arr[1]["levers"]!).Count);
    }
}
