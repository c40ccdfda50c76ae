using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Workloads.Models;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Plugins.Gpu.Tests;

/// <summary>Dataflow on a GPU is kernel fusion: fewer launches and intermediates kept on chip, never
/// more off-chip bytes than kernel by kernel.</summary>
public class GpuFusionTests
{
    private static RunMetrics Run(string gpu, string model, WorkloadRequest request, ISchedule schedule)
    {
        var device = GpuTestSupport.Model(gpu);
        var graph = ModelBuilderRegistry.Default.Build(ModelConfigLoader.LoadNamed(model), request);
        return MetricsCalculator.Compute(new Simulator(schedule.Map(graph, device), device).Run(), device);
    }

    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var gpu in GpuTestSupport.BundledGpus)
        foreach (var model in new[] { "llama2-7b", "mistral-7b", "llama3-8b" })
        foreach (var phase in new[] { "prefill", "decode" })
            data.Add(gpu, model, phase);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FusionIsFasterAndMovesNoMoreOffChipBytes(string gpu, string model, string phase)
    {
        var request = phase == "prefill" ? WorkloadRequest.Prefill(1, 1024) : WorkloadRequest.Decode(4, 1024);
        var sequential = Run(gpu, model, request, new SequentialSchedule());
        var fused = Run(gpu, model, request, new DataflowSchedule());
        var auto = Run(gpu, model, request, new DataflowSchedule(auto: true));
        Assert.True(fused.OffChipBytes <= sequential.OffChipBytes, $"{fused.OffChipBytes} > {sequential.OffChipBytes}");
        Assert.True(fused.LatencyS < sequential.LatencyS, $"fused {fused.LatencyS} vs sequential {sequential.LatencyS}");
        Assert.True(auto.LatencyS <= sequential.LatencyS * (1 + 1e-9));
        Assert.Equal(sequential.TotalFlops, fused.TotalFlops);
        Assert.InRange(fused.ComputeUtilisation, 0, 1);
        Assert.InRange(fused.MemoryBandwidthUtilisation, 0, 1);
    }

    [Theory]
    [InlineData("h100")]
    [InlineData("a100-80g")]
    public void FusionKeepsTheBoundOfTheWorkNotOfItsSlowestPhase(string gpu)
    {
        // A fused layer's kernels each take the longer of their math and their bytes; the layer is
        // compute-bound when the math dominates (prefill of 4 x 1024 tokens) and memory-bound when the
        // weights do (batch-1 decode), as kernel by kernel.
        var prefill = WorkloadRequest.Prefill(4, 1024);
        var decode = WorkloadRequest.Decode(1, 1024);
        foreach (var schedule in new ISchedule[] { new SequentialSchedule(), new DataflowSchedule() })
        {
            var p = Run(gpu, "llama2-7b", prefill, schedule);
            Assert.True(p.MemoryWall.MemoryBoundTimeFraction < 0.2, $"{schedule.GetType().Name} prefill memory-bound {p.MemoryWall.MemoryBoundTimeFraction}");
            var d = Run(gpu, "llama2-7b", decode, schedule);
            Assert.True(d.MemoryWall.MemoryBoundTimeFraction > 0.8, $"{schedule.GetType().Name} decode memory-bound {d.MemoryWall.MemoryBoundTimeFraction}");
        }
        var fused = Run(gpu, "llama2-7b", decode, new DataflowSchedule());
        Assert.True(fused.MemoryWall.StallS > 0.05 * fused.LatencyS, $"decode waits for bytes: stall {fused.MemoryWall.StallS} of {fused.LatencyS}");
    }

    [Fact]
    public void FusedLayersStreamOffloadedWeightsOnTheCopyEngineAsKernelByKernelDoes()
    {
        // llama2-70b decode on one H100 with --placement offload: PCIe-bound either way; the copies
        // overlap the fused layers exactly as they overlap the kernels (auto used to pick fusion and
        // queue every copy behind the previous layer: 1.095 s against 1.048 s).
        var device = GpuTestSupport.Model("h100");
        var graph = ModelBuilderRegistry.Default.Build(ModelConfigLoader.LoadNamed("llama2-70b"), WorkloadRequest.Decode(1, 2048));
        var (placed, _) = Core.Memory.Placement.Apply(graph, device, Core.Memory.PlacementPolicy.Offload);
        double Seconds(ISchedule s) => Core.Time.Ps.ToSeconds(new Simulator(s.Map(placed, device), device).Run().MakespanPs);
        var sequential = Seconds(new SequentialSchedule());
        Assert.True(Seconds(new DataflowSchedule(auto: true)) <= sequential * (1 + 1e-9));
        Assert.True(Seconds(new DataflowSchedule()) <= sequential * (1 + 1e-9));
    }

    [Fact]
    public void FusedLayersHoldTheirIntermediatesOnlyWhileTheyRun()
    {
        // 4 x 4096 tokens of llama2-7b: a layer's intermediates are GBs; kept for the whole run they
        // would put HBM 30 GB over the H100's capacity.
        var request = WorkloadRequest.Prefill(4, 4096);
        var sequential = Run("h100", "llama2-7b", request, new SequentialSchedule());
        var fused = Run("h100", "llama2-7b", request, new DataflowSchedule());
        Assert.Equal(0, fused.Memory.OverCapacityBytes["hbm"]);
        Assert.InRange(fused.Memory.PeakBytes["hbm"], sequential.Memory.PeakBytes["hbm"] * 0.9, sequential.Memory.PeakBytes["hbm"] * 1.2);
    }

    [Fact]
    public void FusedDecodeLayerRunsOneKernelPerMatmulOrAttention()
    {
        var device = GpuTestSupport.Model("h100");
        var graph = ModelBuilderRegistry.Default.Build(ModelConfigLoader.LoadNamed("llama2-7b"), WorkloadRequest.Decode(1, 512));
        var program = new DataflowSchedule().Map(graph, device);
        var layer = program.Tasks.First(t => t.Ops.Count > 1 && t.Ops[0].Layer == 0);
        var anchors = layer.Ops.Count(o => o.Kind is Core.Graph.OpKind.MatMul or Core.Graph.OpKind.Attention);
        Assert.Contains($"in {anchors} kernels", layer.Cost.Note);
        // One start latency per fused kernel, not per op.
        var perKernel = device.Cost(layer.Ops.First(o => o.Kind == Core.Graph.OpKind.MatMul)).LatencyPs;
        Assert.Equal(anchors * perKernel, layer.Cost.LatencyPs);
    }

    [Property(MaxTest = 30)]
    public Property FusionNeverMovesMoreOffChipBytesAtAnyShape()
    {
        var gen = from batch in Gen.Choose(1, 16)
                  from seq in Gen.Choose(1, 4096)
                  from decode in Gen.Elements(true, false)
                  from gpu in Gen.Elements(GpuTestSupport.BundledGpus)
                  select (batch, seq, decode, gpu);
        return Prop.ForAll(gen.ToArbitrary(), c =>
        {
            var request = c.decode ? WorkloadRequest.Decode(c.batch, c.seq) : WorkloadRequest.Prefill(c.batch, c.seq);
            var s = Run(c.gpu, "llama2-7b", request, new SequentialSchedule());
            var d = Run(c.gpu, "llama2-7b", request, new DataflowSchedule());
            return d.OffChipBytes <= s.OffChipBytes && d.LatencyS <= s.LatencyS * (1 + 1e-9);
        });
    }
}
