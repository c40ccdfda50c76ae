using AccelSim.Workloads.Models;

namespace AccelSim.Plugins.Rdu.Tests;

public class RduBundledRunTests
{
    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var hw in RduTestSupport.BundledRdus)
            foreach (var model in RduTestSupport.BundledModels)
                foreach (var phase in new[] { "prefill", "decode" })
                    data.Add(hw, model, phase);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryBundledConfigRunsEveryBundledModelUnderEverySchedule(string hardware, string model, string phase)
    {
        var device = RduTestSupport.Model(hardware);
        var graph = RduTestSupport.Llama(model, Phases.Parse(phase), 2, phase == "prefill" ? 1024 : 2048);
        var latencies = new Dictionary<string, double>();
        foreach (var schedule in new[] { "sequential", "dataflow", "auto" })
        {
            var (_, m) = RduTestSupport.Run(graph, device, schedule);
            Assert.True(double.IsFinite(m.LatencyS) && m.LatencyS > 0, $"{schedule}: latency {m.LatencyS}");
            Assert.InRange(m.ComputeUtilisation, 0, 1);
            Assert.InRange(m.MemoryBandwidthUtilisation, 0, 1);
            Assert.True(m.Energy.TotalJ > 0);
            Assert.Equal(graph.TotalFlops, m.TotalFlops);
            latencies[schedule] = m.LatencyS;
        }
        // A decoder layer fused into one kernel beats it run op by op, and auto never loses to either.
        Assert.True(latencies["dataflow"] < latencies["sequential"]);
        Assert.True(latencies["auto"] <= Math.Min(latencies["dataflow"], latencies["sequential"]) * (1 + 1e-9));
    }
}
