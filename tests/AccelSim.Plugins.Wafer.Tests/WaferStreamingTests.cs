using AccelSim.Core.Config;
using AccelSim.Core.Memory;
using AccelSim.Workloads.Models;

namespace AccelSim.Plugins.Wafer.Tests;

/// <summary>The wafer streams what does not fit in SRAM from its external store by itself; the
/// placement policies and expert switches work with that instead of against it.</summary>
public class WaferStreamingTests
{
    [Fact]
    public void OffloadIsWhatTheWaferAlreadyDoesAndFitFailsWithTheReason()
    {
        var graph = WaferTestSupport.Llama("llama2-70b", Phase.Decode, 1, 1024);
        var resident = WaferTestSupport.Seconds(Placement.Apply(graph, WaferTestSupport.Model("wse2"), PlacementPolicy.Resident).Graph, WaferTestSupport.Model("wse2"));

        var device = WaferTestSupport.Model("wse2");
        var (placed, report) = Placement.Apply(graph, device, PlacementPolicy.Offload);
        // Offload places exactly as resident does: the same ops, the same tensors named in memoryx.
        var asResident = Placement.Apply(graph, device, PlacementPolicy.Resident).Graph;
        Assert.Equal(graph.Ops, placed.Ops);
        Assert.Equal(asResident.TierOf.OrderBy(kv => kv.Key), placed.TierOf.OrderBy(kv => kv.Key));
        var streamed = report.OffloadedBytes["memoryx"];
        Assert.Equal(streamed, placed.Tensors.Where(t => placed.TierOf.GetValueOrDefault(t.Id) == "memoryx").Sum(t => t.Bytes));
        // 138 GB of bf16 weights; SRAM keeps its resident budget (30 GB of 40 GB), the rest streams.
        Assert.InRange(streamed, 100e9, 115e9);
        Assert.Equal(device.StreamedBytes(graph), streamed);
        Assert.Equal(resident, WaferTestSupport.Seconds(placed, device));
        Assert.True(resident >= streamed / WaferTestSupport.Load("wse2").Number("memory.memoryx.bandwidth_Bps"));

        var e = Assert.Throws<InputException>(() => Placement.Apply(graph, WaferTestSupport.Model("wse2"), PlacementPolicy.Fit));
        Assert.Contains("memoryx", e.Message);
        Assert.Contains("by itself", e.Message);

        // A model that fits streams nothing, and fit accepts it.
        var small = WaferTestSupport.Llama("llama2-7b", Phase.Decode, 1, 1024);
        var (_, fits) = Placement.Apply(small, WaferTestSupport.Model("wse2"), PlacementPolicy.Fit);
        Assert.Empty(fits.OffloadedBytes);
    }

    [Fact]
    public void ExpertsRestInTheExternalStoreAndStreamInOverIt()
    {
        var device = WaferTestSupport.Model("wse2");
        var step = WaferTestSupport.Llama("llama2-7b", Phase.Decode, 1, 512);
        var expert = ExpertSwitching.WeightBytes(step);
        Assert.Equal(new Core.Graph.TierTransfer("memoryx", "sram"), ExpertSwitching.SwitchPath(device));
        var composed = ExpertSwitching.Compose(step, 2, device);
        var (_, m) = WaferTestSupport.Run(composed, device);
        var (_, alone) = WaferTestSupport.Run(step, WaferTestSupport.Model("wse2"));
        var bandwidth = WaferTestSupport.Load("wse2").Number("memory.memoryx.bandwidth_Bps");

        Assert.Equal(2 * expert, m.Memory.BytesMovedByChannel["memoryx"]);
        Assert.True(m.LatencyS >= alone.LatencyS + 2 * expert / bandwidth, $"{m.LatencyS} s");
        Assert.True(m.LatencyS <= alone.LatencyS + 2 * expert / bandwidth * 1.01 + 1e-3, $"{m.LatencyS} s");
        Assert.Equal(2 * expert, m.Memory.SpilledBytes["memoryx"]); // the experts at rest
    }
}
