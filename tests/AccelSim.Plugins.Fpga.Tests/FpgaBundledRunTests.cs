using AccelSim.Core.Simulation;
using AccelSim.Workloads.Models;

namespace AccelSim.Plugins.Fpga.Tests;

public class FpgaBundledRunTests
{
    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var hw in FpgaTestSupport.BundledFpgas)
            foreach (var model in FpgaTestSupport.BundledModels)
                foreach (var phase in new[] { "prefill", "decode" })
                    data.Add(hw, model, phase);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryConfigRunsEveryModelUnderEverySchedule(string hardware, string model, string phase)
    {
        var device = FpgaTestSupport.Model(hardware);
        var graph = phase == "decode"
            ? FpgaTestSupport.Llama(model, Phase.Decode, 1, 1024)
            : FpgaTestSupport.Llama(model, Phase.Prefill, 1, 256);
        var latencies = new Dictionary<string, double>();
        foreach (var schedule in new[] { "sequential", "dataflow", "auto" })
        {
            var m = FpgaTestSupport.Run(graph, device, schedule);
            Assert.True(double.IsFinite(m.LatencyS) && m.LatencyS > 0, $"{schedule}: latency {m.LatencyS}");
            Assert.InRange(m.ComputeUtilisation, 0, 1);
            Assert.InRange(m.MemoryBandwidthUtilisation, 0, 1);
            Assert.True(m.Energy.TotalJ > 0 && double.IsFinite(m.Energy.TotalJ));
            Assert.Equal(graph.TotalFlops, m.TotalFlops);
            latencies[schedule] = m.LatencyS;
        }
        // Auto picks per region whichever is faster alone, so it is never slower than both.
        Assert.True(latencies["auto"] <= Math.Max(latencies["sequential"], latencies["dataflow"]) * (1 + 1e-9));
    }

    [Fact]
    public void BatchOneDecodeIsMemoryBoundWhicheverWayItsLayersRun()
    {
        // GEMVs stream every weight once per token: whether a layer runs op by op or as a reconfigured
        // sequence (auto's choice here), the time goes to the HBM, and the report must say so although
        // the reconfigured task folds its phases into one busy time.
        var device = FpgaTestSupport.Model("u280");
        var graph = FpgaTestSupport.Llama("llama2-7b", Phase.Decode, 1, 512);
        foreach (var schedule in new[] { "sequential", "auto" })
        {
            var m = FpgaTestSupport.Run(graph, device, schedule);
            Assert.True(m.MemoryWall.MemoryBoundTimeFraction > 0.9, $"{schedule}: memory-bound {m.MemoryWall.MemoryBoundTimeFraction}");
            Assert.True(m.MemoryWall.StallS > 0.5 * m.LatencyS, $"{schedule}: stall {m.MemoryWall.StallS} of {m.LatencyS}");
        }
        var auto = FpgaTestSupport.Run(graph, device, "auto");
        Assert.Contains(auto.Ops, o => o.Note?.StartsWith("reconfigured:", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void DecodeActivationsStayOnChipInsideFusedLayersAndGoOffChipOpByOp()
    {
        var device = FpgaTestSupport.Model("u280");
        var graph = FpgaTestSupport.Llama("llama2-7b", Phase.Decode, 1, 512);
        // Op by op every byte an op reads or writes crosses the HBM interface.
        var seq = FpgaTestSupport.Run(graph, device, "sequential");
        Assert.Equal(graph.Ops.Sum(o => o.BytesRead + o.BytesWritten), seq.OffChipBytes);
        Assert.Equal(0, seq.Memory.BytesMoved["sram"]);
        Assert.Equal(0, seq.Memory.BytesMoved["ddr"]);
        // Fused layers keep their intermediates on chip: only weights, KV and the layer boundaries go off chip.
        var df = FpgaTestSupport.Run(graph, device, "dataflow");
        var internalBytes = Regions.ByLayer(graph).Where(g => g.Count > 1).Sum(g =>
        {
            var r = new Region(g, graph);
            var ids = r.Internal.Where(t => t.Role == AccelSim.Core.Graph.TensorRole.Activation).Select(t => t.Id).ToHashSet();
            return g.Sum(o => o.Inputs.Where(t => ids.Contains(t.Id)).Sum(t => t.Bytes) + o.Outputs.Where(t => ids.Contains(t.Id)).Sum(t => t.Bytes));
        });
        Assert.True(internalBytes > 0);
        Assert.Equal(seq.OffChipBytes - internalBytes, df.OffChipBytes);
        Assert.Equal(internalBytes, df.Memory.BytesMoved["sram"]);
    }
}
