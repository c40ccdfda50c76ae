using AccelSim.Core.Config;
using AccelSim.Core.Memory;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using AccelSim.Workloads.Capacity;
using AccelSim.Workloads.Models;

namespace AccelSim.Plugins.Wafer.Tests;

/// <summary><see cref="CapacityAnalysis"/> on a wafer: each workload is placed as a run places it, so the
/// KV cache that does not fit in the SRAM's resident budget streams from memoryx.</summary>
public class WaferCapacityTests
{
    [Fact]
    public void TheDecodeStepIsTheRunOfThePlacedStep()
    {
        var device = WaferTestSupport.Model("wse3");
        var model = ModelConfigLoader.LoadNamed("llama2-7b");
        var report = CapacityAnalysis.Run(device, model, 4096, 32);
        // 32 sequences of 4096 tokens hold 69 GB of KV cache, beyond the resident budget: part streams.
        Assert.True(report.WeightBytes + report.KvBytes > device.ResidentBudgetBytes);
        var step = ModelBuilderRegistry.Default.Build(model, WorkloadRequest.Decode(32, 4095));
        var placed = Placement.Apply(step, device, PlacementPolicy.Resident).Graph;
        Assert.Contains(placed.TierOf.Values, t => t == "memoryx");
        var seconds = Ps.ToSeconds(new Simulator(new SequentialSchedule().Map(placed, device), device).Run().MakespanPs);
        Assert.Equal(seconds, report.DecodeStepS);
        // Unplaced, the same step would be costed with everything in SRAM: much faster than the truth.
        var unplaced = Ps.ToSeconds(new Simulator(new SequentialSchedule().Map(step, device), device).Run().MakespanPs);
        Assert.True(unplaced < seconds / 10, $"{unplaced} s unplaced vs {seconds} s placed");
        Assert.Equal("memoryx", report.SwapTier);
    }

    [Fact]
    public void BadRequestsNameTheParameterNotAFlag()
    {
        var device = WaferTestSupport.Model("wse3");
        var model = ModelConfigLoader.LoadNamed("llama2-7b");
        Assert.Equal(RequestParameter.Context, Assert.Throws<InputException>(() => CapacityAnalysis.Run(device, model, 0, 1)).Problems[0].Path);
        Assert.Equal(RequestParameter.Batch, Assert.Throws<InputException>(() => CapacityAnalysis.Run(device, model, 1024, 0)).Problems[0].Path);
        Assert.Equal(RequestParameter.Context, Assert.Throws<InputException>(() => CapacityAnalysis.Run(device, model, ModelLimits.MaxTokens + 1, 1)).Problems[0].Path);
    }
}
