using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using AccelSim.Workloads;
using AccelSim.Workloads.Models;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Plugins.Gpu.Tests;

/// <summary>The GPU's tiers below HBM: host memory over PCIe and an NVMe drive, copies on their own
/// engines, offloaded weights streamed while kernels run.</summary>
public class GpuMemoryHierarchyTests
{
    private static (double Seconds, RunMetrics Metrics) Run(WorkloadGraph graph, GpuDeviceModel device)
    {
        var result = new Simulator(new SequentialSchedule().Map(graph, device), device).Run();
        return (Ps.ToSeconds(result.MakespanPs), MetricsCalculator.Compute(result, device));
    }

    private static Op Copy(int id, long bytes, string from, string to) =>
        new(id, $"copy{id}", OpKind.Copy, -1, [new Tensor(2 * id, $"src{id}", [bytes], DType.Int8, TensorRole.Weight)],
            [new Tensor(2 * id + 1, $"dst{id}", [bytes], DType.Int8, TensorRole.Activation)], 0, DType.Int8)
        { Transfer = new TierTransfer(from, to) };

    [Theory]
    [InlineData("h100")]
    [InlineData("a100-80g")]
    [InlineData("rtx4090")]
    public void PlacementTiersAreHbmHostAndSsd(string gpu)
    {
        var d = GpuTestSupport.Model(gpu);
        Assert.Equal(["hbm", "host", "ssd"], d.PlacementTiers);
        Assert.True(d.Topology.Tiers[d.Topology.TierIndex("host")].CapacityBytes > d.Spec.HbmCapacityBytes);
        Assert.NotEqual(d.Topology.EngineIndex("sm"), d.Topology.EngineIndex(GpuDeviceModel.CopyEngine));
    }

    [Fact]
    public void AHostCopyIsItsBytesOverThePinnedLinkOnTheCopyEngine()
    {
        var d = GpuTestSupport.Model("h100");
        const long bytes = 4L << 30;
        var cost = d.Cost(Copy(0, bytes, "host", "hbm"));
        Assert.Equal(d.Topology.EngineIndex("copy"), cost.Engine);
        Assert.Contains(cost.Transfers, t => t.Channel == d.Topology.ChannelIndex("pcie") && t.Bytes == bytes);
        Assert.Contains(cost.Transfers, t => t.Channel == d.Topology.ChannelIndex("hbm") && t.Bytes == bytes);
        var g = new WorkloadGraph(new WorkloadInfo("copy", "op", 1, 0, 0, 0), [Copy(0, bytes, "host", "hbm")]);
        var (seconds, metrics) = Run(g, d);
        var expected = bytes / (d.Spec.PcieBandwidthBps * d.Spec.PciePinnedEfficiency) + d.Spec.PcieLatencyS;
        Assert.Equal(expected, seconds, expected * 1e-6);
        Assert.Equal(bytes, metrics.Memory.BytesMovedByChannel["pcie"]);

        // Device to host runs on its own engine and link direction; the drive path crosses the NVMe link too.
        var back = d.Cost(Copy(0, bytes, "hbm", "host"));
        Assert.Equal(d.Topology.EngineIndex("copy_d2h"), back.Engine);
        Assert.Contains(back.Transfers, t => t.Channel == d.Topology.ChannelIndex("pcie_d2h"));
        var ssd = d.Cost(Copy(0, bytes, "ssd", "hbm"));
        Assert.Contains(ssd.Transfers, t => t.Channel == d.Topology.ChannelIndex("nvme"));
        Assert.Contains(ssd.Transfers, t => t.Channel == d.Topology.ChannelIndex("pcie"));
        Assert.All(ssd.Transfers, t => Assert.Equal(d.NvmeRate, t.RateCap_Bps));
    }

    [Fact]
    public void CopiesOverlapKernelsAndOppositeDirectionsOverlapEachOther()
    {
        var d = GpuTestSupport.Model("h100");
        const long bytes = 1L << 30;
        var gemm = SingleOps.MatMul(8192, 8192, 8192, DType.Bf16).Ops[0];
        var gemmAlone = GpuTestSupport.Seconds(SingleOps.MatMul(8192, 8192, 8192, DType.Bf16), d);
        var copyAlone = Run(new WorkloadGraph(new WorkloadInfo("c", "op", 1, 0, 0, 0), [Copy(0, bytes, "host", "hbm")]), d).Seconds;
        var shifted = Placement.Clone(gemm, 1,
            gemm.Inputs.Select(t => new Tensor(t.Id + 10, t.Name, t.Shape, t.DType, t.Role)).ToArray(),
            gemm.Outputs.Select(t => new Tensor(t.Id + 10, t.Name, t.Shape, t.DType, t.Role)).ToArray());
        var both = new WorkloadGraph(new WorkloadInfo("both", "op", 1, 0, 0, 0), [Copy(0, bytes, "host", "hbm"), shifted]);
        var (together, _) = Run(both, d);
        // The GEMM hides under the copy: together is the longer of the two, not their sum.
        Assert.True(together <= Math.Max(gemmAlone, copyAlone) * 1.02, $"copy {copyAlone} s and GEMM {gemmAlone} s took {together} s together");
        Assert.True(together >= Math.Max(gemmAlone, copyAlone) * (1 - 1e-9));

        var swap = new WorkloadGraph(new WorkloadInfo("swap", "op", 1, 0, 0, 0), [Copy(0, bytes, "host", "hbm"), Copy(1, bytes, "hbm", "host")]);
        Assert.Equal(copyAlone, Run(swap, d).Seconds, copyAlone * 0.02);
    }

    /// <summary>Llama-2-70B decode on one 80 GB H100: what does not fit streams from host memory over
    /// PCIe, and the step is no faster than streaming those bytes allows.</summary>
    [Fact]
    public void Llama70BDecodeOffloadIsBoundByPcieStreaming()
    {
        var d = GpuTestSupport.Model("h100");
        var graph = ModelBuilderRegistry.Default.Build(ModelConfigLoader.LoadNamed("llama2-70b"), WorkloadRequest.Decode(1, 2048));
        Assert.Throws<AccelSim.Core.Config.InputException>(() => Placement.Apply(graph, d, PlacementPolicy.Fit));
        var (placed, report) = Placement.Apply(graph, d, PlacementPolicy.Offload);
        var spilled = report.OffloadedBytes["host"];
        Assert.InRange(spilled / 1e9, 50, 62);
        var (seconds, metrics) = Run(placed, d);
        Assert.Equal(spilled, metrics.Memory.SpilledBytes["host"]);
        Assert.True(seconds >= spilled / d.Spec.PcieBandwidthBps, $"{seconds} s beats the PCIe bound");
        Assert.True(seconds >= spilled / d.PinnedPcieRate);
        // Compute overlaps the streaming: little more than the copies themselves.
        Assert.True(seconds <= 1.1 * spilled / d.PinnedPcieRate, $"{seconds} s: streaming did not overlap compute");
        Assert.True(metrics.Memory.PeakBytes["hbm"] <= d.Spec.HbmCapacityBytes);
        Assert.True(metrics.Memory.StallSByChannel["pcie"] > 0.5 * seconds);
    }

    /// <summary>Law: more HBM or host capacity never makes an offloaded run slower (random layer
    /// counts and widths, random capacities).</summary>
    [Property(MaxTest = 25)]
    public Property MoreCapacityNeverMakesAnOffloadedRunSlower() =>
        Prop.ForAll(
            Gen.Choose(4, 16).SelectMany(l => Gen.Choose(1, 8).Select(w => (l, w))).ToArbitrary(),
            Gen.Choose(0, 100).ToArbitrary(),
            Gen.Choose(0, 100).ToArbitrary(),
            (shape, a, b) =>
            {
                var (layers, width) = shape;
                var graph = Layers(layers, 1024 * width);
                var weights = graph.Tensors.Where(t => t.Role == TensorRole.Weight).Sum(t => t.Bytes);
                var layer = weights / layers;
                var (lo, hi) = (Math.Min(a, b), Math.Max(a, b));
                double Time(int hbmPct, int hostPct)
                {
                    var hbm = 3 * layer + 64L * 1024 * 1024 + weights * hbmPct / 100;
                    var host = weights * hostPct / 100 + 1;
                    var device = GpuTestSupport.Model(GpuTestSupport.Load("h100").With(("memory.hbm.capacity_bytes", hbm), ("host.memory_bytes", host)));
                    return Run(Placement.Apply(graph, device, PlacementPolicy.Offload).Graph, device).Seconds;
                }
                var h1 = Time(lo, 100);
                var h2 = Time(hi, 100);
                var s1 = Time(lo, lo);
                var s2 = Time(lo, hi);
                return (h2 <= h1 * (1 + 1e-9)).Label($"hbm {lo}% -> {hi}%: {h1} -> {h2} s")
                    .And((s2 <= s1 * (1 + 1e-9)).Label($"host {lo}% -> {hi}%: {s1} -> {s2} s"));
            });

    /// <summary>A stack of square bf16 GEMV layers (decode-like), each with its own weight.</summary>
    private static WorkloadGraph Layers(int count, int width)
    {
        var id = 0;
        var ops = new List<Op>();
        var x = new Tensor(id++, "x", [1, width], DType.Bf16, TensorRole.Activation);
        for (var l = 0; l < count; l++)
        {
            var w = new Tensor(id++, $"layer{l}.w", [width, width], DType.Bf16, TensorRole.Weight);
            var y = new Tensor(id++, $"h{l}", [1, width], DType.Bf16, TensorRole.Activation);
            ops.Add(new Op(l, $"layer{l}.mm", OpKind.MatMul, l, [x, w], [y], 2L * width * width, DType.Bf16, new GemmShape(1, 1, width, width)));
            x = y;
        }
        return new WorkloadGraph(new WorkloadInfo("layers", "decode", 1, 1, 0, 1), ops);
    }
}
