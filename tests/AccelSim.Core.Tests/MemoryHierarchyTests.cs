using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Core.Tests;

/// <summary>A test device with three tiers: hbm (compute reads it), host (over a link) and ssd (over a
/// slower link). Ops with <see cref="Op.Transfer"/> run on a copy engine and move their bytes over the
/// lower tier's link at its bandwidth; other ops compute on engine 0 and read their bytes from hbm.</summary>
internal sealed class TieredDevice(long hbmBytes, long hostBytes = 1L << 50, double linkBps = 1e9, double ssdBps = 2e8, long ssdBytes = 1L << 50) : IDeviceModel, IMemoryHierarchy
{
    public string Name => "tiered";
    public string Kind => "fake";

    public DeviceTopology Topology { get; } = new(
        [new EngineSpec("pe", 1), new EngineSpec("copy", 1)],
        [
            new ChannelSpec("hbm", 1e11, 0, "hbm", OffChip: true),
            new ChannelSpec("link", linkBps, 0, "host", OffChip: true),
            new ChannelSpec("ssd_link", ssdBps, 0, "ssd", OffChip: true),
        ],
        [new TierSpec("hbm", hbmBytes, OffChip: true), new TierSpec("host", hostBytes, OffChip: true), new TierSpec("ssd", ssdBytes, OffChip: true)]);

    public IReadOnlyList<string> PlacementTiers => ["hbm", "host", "ssd"];
    public DeviceCapabilities Capabilities => new() { MemoryHierarchy = this };
    public int MainMemoryChannel => 0;
    public double StaticPowerW => 1;
    public double PeakFlops(DType dtype) => 1e12;
    public int PlaceTensor(Tensor tensor) => 0;

    public OpCost Cost(Op op)
    {
        if (op.Transfer is { } t)
        {
            var far = t.From == "hbm" ? t.To : t.From;
            var channel = far == "ssd" ? 2 : 1;
            var bytes = op.BytesRead;
            return new OpCost(1, 0, 0, [new TransferDemand(channel, bytes, double.MaxValue, 0), new TransferDemand(0, bytes, Topology.Channels[channel].Bandwidth_Bps, 0)], 0);
        }
        var compute = (long)Math.Ceiling(op.Flops / 1e12 * Ps.PerSecond);
        return new OpCost(0, 0, compute, op.Bytes > 0 ? [new TransferDemand(0, op.Bytes, double.MaxValue, 0)] : [], 0);
    }
}

internal static class LayeredGraphs
{
    /// <summary>An embedding, then one op per layer reading its weights (and its KV cache when
    /// <paramref name="kvBytes"/> is given), chained by activations.</summary>
    public static WorkloadGraph Build(IReadOnlyList<long> weightBytes, long flopsPerLayer = 1_000_000_000, long kvBytes = 0)
    {
        var id = 0;
        var x = new Tensor(id++, "x", [1024], DType.Int8, TensorRole.Activation);
        var ops = new List<Op>();
        var h = new Tensor(id++, "h0", [1024], DType.Int8, TensorRole.Activation);
        ops.Add(new Op(0, "embed", OpKind.Embedding, -1, [x], [h], 0, DType.Bf16));
        for (var l = 0; l < weightBytes.Count; l++)
        {
            var w = new Tensor(id++, $"layer{l}.w", [weightBytes[l]], DType.Int8, TensorRole.Weight);
            var next = new Tensor(id++, $"h{l + 1}", [1024], DType.Int8, TensorRole.Activation);
            IReadOnlyList<Tensor> inputs = [h, w];
            if (kvBytes > 0) inputs = [.. inputs, new Tensor(id++, $"layer{l}.kv", [1, kvBytes], DType.Int8, TensorRole.KvCache)];
            ops.Add(new Op(ops.Count, $"layer{l}.mm", OpKind.MatMul, l, inputs, [next], flopsPerLayer, DType.Bf16));
            h = next;
        }
        return new WorkloadGraph(new WorkloadInfo("layered", "decode", 1, 1, 0, 1), ops);
    }

    public static (double Seconds, RunMetrics Metrics) Run(WorkloadGraph graph, IDeviceModel device)
    {
        var result = new Simulator(new SequentialSchedule().Map(graph, device), device).Run();
        return (Ps.ToSeconds(result.MakespanPs), MetricsCalculator.Compute(result, device));
    }
}

public class MemoryHierarchyTests
{
    private static readonly long[] EightLayers = [100_000_000, 100_000_000, 100_000_000, 100_000_000, 100_000_000, 100_000_000, 100_000_000, 100_000_000];

    [Fact]
    public void OffloadStreamsWhatDoesNotFitAndIsBoundByTheLink()
    {
        var graph = LayeredGraphs.Build(EightLayers);
        var device = new TieredDevice(hbmBytes: 500_010_000);
        var (placed, report) = Placement.Apply(graph, device, PlacementPolicy.Offload);
        // Budget: 500 MB - 200 MB staging (- a few kB of activations) = 300 MB: three layers stay, five stream from host.
        Assert.Equal(5, report.OffloadedLayers);
        Assert.Equal(500_000_000, report.OffloadedBytes["host"]);
        var copies = placed.Ops.Where(o => o.Transfer is not null).ToArray();
        Assert.Equal(5, copies.Length);
        Assert.All(copies, c => Assert.Equal(new TierTransfer("host", "hbm"), c.Transfer));

        var (seconds, metrics) = LayeredGraphs.Run(placed, device);
        Assert.Equal(500_000_000, metrics.Memory.SpilledBytes["host"]);
        Assert.Equal(500_000_000, metrics.Memory.BytesMovedByChannel["link"]);
        // No faster than streaming the spilled bytes over the link; and the compute overlaps the
        // copies (the copy engine is separate), so not much slower either.
        Assert.True(seconds >= 0.5, $"{seconds} s is faster than the link allows");
        Assert.True(seconds < 0.5 + 8 * 1e-3 + 0.01, $"{seconds} s: copies did not overlap compute");
        Assert.True(metrics.Memory.StallSByChannel["link"] > 0.3, "the compute engine waits on the link");
        Assert.True(metrics.Memory.PeakBytes["hbm"] <= 500_000_000 + 1_000_000, $"peak {metrics.Memory.PeakBytes["hbm"]}");
    }

    [Fact]
    public void FitRefusesWithAClearMessageAndResidentReportsOverCapacity()
    {
        var graph = LayeredGraphs.Build(EightLayers);
        var device = new TieredDevice(hbmBytes: 500_010_000);
        var e = Assert.Throws<InputException>(() => Placement.Apply(graph, device, PlacementPolicy.Fit));
        Assert.Contains("do not fit", e.Message);
        Assert.Contains("placement=offload", e.Message);
        var (same, _) = Placement.Apply(graph, device, PlacementPolicy.Resident);
        var (_, metrics) = LayeredGraphs.Run(same, device);
        Assert.True(metrics.Memory.OverCapacityBytes["hbm"] > 0);
    }

    [Fact]
    public void StreamedLayersGoToTheNextTierThenTheOneBelow()
    {
        var graph = LayeredGraphs.Build(EightLayers);
        var device = new TieredDevice(hbmBytes: 500_010_000, hostBytes: 250_000_000);
        var (placed, report) = Placement.Apply(graph, device, PlacementPolicy.Offload);
        Assert.Equal(200_000_000, report.OffloadedBytes["host"]);
        Assert.Equal(300_000_000, report.OffloadedBytes["ssd"]);
        var (seconds, metrics) = LayeredGraphs.Run(placed, device);
        Assert.True(seconds >= 200_000_000 / 1e9 + 300_000_000 / 2e8);
        Assert.Equal(300_000_000, metrics.Memory.BytesMovedByChannel["ssd_link"]);
    }

    [Fact]
    public void KvSwapStreamsTheCacheAndLeavesTheWeights()
    {
        var graph = LayeredGraphs.Build([50_000_000, 50_000_000, 50_000_000, 50_000_000], kvBytes: 100_000_000);
        var device = new TieredDevice(hbmBytes: 500_010_000);
        var e = Assert.Throws<InputException>(() => Placement.Apply(graph, device, PlacementPolicy.Fit));
        Assert.Contains("kv_policy=swap", e.Message);
        var (placed, report) = Placement.Apply(graph, device, PlacementPolicy.Fit, KvPolicy.Swap);
        Assert.Equal("fit+kv-swap", report.Policy);
        var copies = placed.Ops.Where(o => o.Transfer is not null).ToArray();
        Assert.NotEmpty(copies);
        Assert.All(copies, c => Assert.EndsWith("kv.swap_in", c.Name));
        foreach (var c in copies)
            Assert.All(c.Inputs.Where(t => t.Bytes > 0), t => Assert.Equal(TensorRole.KvCache, t.Role));
        Assert.All(placed.TierOf.Keys, id => Assert.Equal(TensorRole.KvCache, placed.Tensors.First(t => t.Id == id).Role));
        var (seconds, _) = LayeredGraphs.Run(placed, device);
        Assert.True(seconds >= report.OffloadedBytes["host"] / 1e9);
    }

    [Fact]
    public void DataflowRunsCopiesOnTheirOwnEngineBesideTheLayers()
    {
        // Streamed weights: each layer's copy runs on the copy engine while earlier layers compute, under
        // the dataflow schedules as under the sequential one (not queued behind every earlier region).
        var graph = LayeredGraphs.Build([10_000_000, 10_000_000, 10_000_000, 10_000_000, 10_000_000, 10_000_000], flopsPerLayer: 20_000_000_000);
        var device = new TieredDevice(hbmBytes: 35_000_000);
        var (placed, _) = Placement.Apply(graph, device, PlacementPolicy.Offload);
        Assert.Contains(placed.Ops, o => o.Transfer is not null);
        var sequential = new Simulator(new SequentialSchedule().Map(placed, device), device).Run().MakespanPs;
        foreach (var schedule in new[] { new DataflowSchedule(), new DataflowSchedule(auto: true) })
        {
            var program = schedule.Map(placed, device);
            var copyTasks = program.Tasks.Where(t => t.Ops.Any(o => o.Transfer is not null)).ToArray();
            Assert.All(copyTasks, t => Assert.Single(t.Ops));
            Assert.All(copyTasks, t => Assert.Equal(1, t.Cost.Engine));
            Assert.Equal(sequential, new Simulator(program, device).Run().MakespanPs);
        }
    }

    [Fact]
    public void OffloadFailsWhenEvenTheSlowestTierCannotHoldTheRest()
    {
        // Six 10 MB layers; 35 MB of HBM (two staged layers and what stays resident), 15 MB of host memory.
        var graph = LayeredGraphs.Build([10_000_000, 10_000_000, 10_000_000, 10_000_000, 10_000_000, 10_000_000]);
        var roomy = new TieredDevice(hbmBytes: 35_000_000, hostBytes: 15_000_000, ssdBytes: 100_000_000);
        var (_, report) = Placement.Apply(graph, roomy, PlacementPolicy.Offload);
        Assert.InRange(report.OffloadedBytes["host"], 1, 15_000_000);
        Assert.True(report.OffloadedBytes["ssd"] > 0);
        var streamed = report.OffloadedBytes.Values.Sum();

        // Drives with less room than the rest needs: nowhere to keep it.
        var tight = new TieredDevice(hbmBytes: 35_000_000, hostBytes: 15_000_000, ssdBytes: report.OffloadedBytes["ssd"] - 1);
        var e = Assert.Throws<InputException>(() => Placement.Apply(graph, tight, PlacementPolicy.Offload));
        Assert.Contains("do not fit in any tier", e.Message);
        Assert.Contains("ssd", e.Message);
        Assert.True(streamed > 0);
    }

    [Fact]
    public void ExpertSwitchesCostTheirCopiesOnTheDevicesPathThenTheStep()
    {
        var step = LayeredGraphs.Build([10_000_000, 10_000_000]);
        var device = new TieredDevice(hbmBytes: 1L << 40);
        var composed = ExpertSwitching.Compose(step, 3, device);
        Assert.Equal(step.Ops.Count + 3, composed.Ops.Count);
        var switches = composed.Ops.Take(3).ToArray();
        Assert.All(switches, s => Assert.Equal(new TierTransfer("host", "hbm"), s.Transfer));
        Assert.All(switches, s => Assert.Equal("host", composed.TierOf[s.Inputs[0].Id]));
        var (stepS, _) = LayeredGraphs.Run(step, device);
        var (seconds, metrics) = LayeredGraphs.Run(composed, device);
        var expected = 3 * 20_000_000 / 1e9 + stepS;
        Assert.Equal(expected, seconds, expected * 1e-6);
        Assert.Equal(60_000_000, metrics.Memory.BytesMovedByChannel["link"]);
        // Plenty of room: every switched-in expert stays, and main memory holds them all at the end.
        Assert.InRange(metrics.Memory.PeakBytes["hbm"] - (20_000_000 + 3 * 20_000_000), 0, 8192); // + activations
        // A device without a lower tier cannot keep experts.
        var flat = new Support.FakeDevice(Support.FakeDevice.Simple());
        Assert.Throws<InputException>(() => ExpertSwitching.Compose(step, 1, flat));
        Assert.Throws<InputException>(() => ExpertSwitching.Compose(step, -1, device));
    }

    [Theory]
    [InlineData(12, 4)]
    [InlineData(5, 2)]
    [InlineData(3, 1)]
    [InlineData(3, 0)]
    public void SwitchedInExpertsAreEvictedSoMainMemoryNeverHoldsMoreThanFits(int switches, int fit)
    {
        // The step: 20 MB of weights (the expert that serves it). Main memory: the step, its working set
        // and room for `fit` more experts (half an expert more, to show the rounding down).
        var step = LayeredGraphs.Build([10_000_000, 10_000_000]);
        const long expert = 20_000_000;
        var capacity = expert + Placement.WorkingSet(step) + fit * expert + expert / 2;
        var device = new TieredDevice(hbmBytes: capacity);
        var slots = Math.Max(0, fit - 1);
        Assert.Equal(slots, ExpertSwitching.CacheSlots(step, device, "hbm", expert));

        var composed = ExpertSwitching.Compose(step, switches, device);
        var (seconds, metrics) = LayeredGraphs.Run(composed, device);
        var (unbounded, unboundedMetrics) = LayeredGraphs.Run(ExpertSwitching.Compose(step, switches, new TieredDevice(hbmBytes: 1L << 40)), device);

        // Eviction changes where the copies live, not how long they take.
        Assert.Equal(unbounded, seconds, 12);
        Assert.Equal(unboundedMetrics.Memory.BytesMovedByChannel["link"], metrics.Memory.BytesMovedByChannel["link"]);
        // At most slots + 1 copies at once (the cache and the copy in flight), beside the step; none
        // when nothing is cached (a switch overwrites the serving expert).
        var copiesAtPeak = slots == 0 ? 0 : Math.Min(switches, slots + 1);
        Assert.InRange(metrics.Memory.PeakBytes["hbm"] - (expert + copiesAtPeak * expert), 0, 8192); // + activations
        Assert.True(metrics.Memory.PeakBytes["hbm"] <= capacity);
        Assert.InRange(unboundedMetrics.Memory.PeakBytes["hbm"] - (expert + switches * expert), 0, 8192);
        // The evicting switch lists the evicted copy among its inputs but moves only its own expert.
        var evicting = composed.Ops.Take(switches).Where(o => o.Inputs.Count == 2).ToArray();
        Assert.Equal(slots == 0 ? 0 : Math.Max(0, switches - slots), evicting.Length);
        Assert.All(evicting, o => Assert.Equal(expert, o.BytesRead));
    }

    [Fact]
    public void KvBytesPerTokenComesFromTheCacheTensors()
    {
        var graph = LayeredGraphs.Build([1000, 1000, 1000], kvBytes: 4096);
        // Each layer's cache is [batch 1, 4096 tokens] of int8: one byte per token per layer; three layers.
        Assert.Equal(3.0, KvCache.BytesPerToken(graph));
        Assert.Equal(3 * 4096L, KvCache.ResidentBytes(graph));
        Assert.Equal(2, KvCache.SequencesThatFit(100, 70, 12));
        Assert.Equal(0, KvCache.SequencesThatFit(100, 95, 12));
    }

    /// <summary>Law: more capacity in any tier never makes a run slower (offload on the tiered device).</summary>
    [Property(MaxTest = 60)]
    public Property MoreCapacityInAnyTierNeverMakesARunSlower() =>
        Prop.ForAll(
            Gen.Choose(3, 12).SelectMany(n => Gen.ArrayOf(Gen.Choose(1, 20), n)).ToArbitrary(),
            Gen.Choose(0, 100).ToArbitrary(),
            Gen.Choose(0, 100).ToArbitrary(),
            (sizes, a, b) =>
            {
                var layers = sizes.Select(s => s * 10_000_000L).ToArray();
                var total = layers.Sum();
                var staging = 2 * layers.Max();
                long Hbm(int pct) => staging + 8192 + total * pct / 100;
                long Host(int pct) => total * pct / 100 + 1;
                var graph = LayeredGraphs.Build(layers);
                double Time(long hbm, long host) =>
                    LayeredGraphs.Run(Placement.Apply(graph, new TieredDevice(hbm, host), PlacementPolicy.Offload).Graph, new TieredDevice(hbm, host)).Seconds;
                var (lo, hi) = (Math.Min(a, b), Math.Max(a, b));
                var hbmSmall = Time(Hbm(lo), Host(50));
                var hbmLarge = Time(Hbm(hi), Host(50));
                var hostSmall = Time(Hbm(lo), Host(lo));
                var hostLarge = Time(Hbm(lo), Host(hi));
                return (hbmLarge <= hbmSmall * (1 + 1e-9)).Label($"hbm {lo}% -> {hi}%: {hbmSmall} s -> {hbmLarge} s")
                    .And((hostLarge <= hostSmall * (1 + 1e-9)).Label($"host {lo}% -> {hi}%: {hostSmall} s -> {hostLarge} s"));
            });
}
