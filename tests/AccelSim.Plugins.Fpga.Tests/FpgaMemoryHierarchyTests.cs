using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Metrics;
using AccelSim.Workloads;
using AccelSim.Workloads.Models;
using FsCheck;
using FsCheck.Fluent;

namespace AccelSim.Plugins.Fpga.Tests;

/// <summary>The board's DDR below HBM: weights and KV caches that do not fit in HBM kept in DDR and
/// staged per layer by the data mover, expert models switched in from DDR.</summary>
public class FpgaMemoryHierarchyTests
{
    private static Op Copy(int id, long bytes, string from, string to) =>
        new(id, $"copy{id}", OpKind.Copy, -1, [new Tensor(2 * id, $"src{id}", [bytes], DType.Int8, TensorRole.Weight)],
            [new Tensor(2 * id + 1, $"dst{id}", [bytes], DType.Int8, TensorRole.Activation)], 0, DType.Int8)
        { Transfer = new TierTransfer(from, to) };

    [Fact]
    public void A_staging_buffer_is_known_by_its_mark_not_by_its_name()
    {
        // Weights in DDR, activations spilled through HBM: a staging buffer lives in the weight tier.
        var device = FpgaTestSupport.Model(FpgaTestSupport.Load("vhk158").WithText("placement.weights", "ddr"));
        var ddr = device.Topology.TierIndex("ddr");
        var hbm = device.Topology.TierIndex("hbm");
        var marked = new Tensor(0, "layer3.weights.stream", [64], DType.Int8, TensorRole.Activation) { IsStagingBuffer = true };
        var namedOnly = new Tensor(1, "layer3.weights.stream.staged", [64], DType.Int8, TensorRole.Activation);
        Assert.Equal(ddr, device.PlaceTensor(marked));
        Assert.Equal(hbm, device.PlaceTensor(namedOnly));
    }

    [Fact]
    public void Offload_marks_the_buffers_it_stages()
    {
        var device = FpgaTestSupport.Model("u280");
        var graph = FpgaTestSupport.Llama("llama2-7b", Phase.Decode, 1, 2048);
        var (placed, _) = Placement.Apply(graph, device, PlacementPolicy.Offload);
        var staged = placed.Tensors.Where(t => t.IsStagingBuffer).ToArray();
        Assert.NotEmpty(staged);
        Assert.All(staged, t => Assert.Equal(TensorRole.Activation, t.Role));
        Assert.All(placed.Ops.Where(o => o.Transfer is not null), o => Assert.True(Assert.Single(o.Outputs).IsStagingBuffer));
        Assert.DoesNotContain(graph.Tensors, t => t.IsStagingBuffer);
    }

    private static WorkloadGraph Graph(params Op[] ops) => new(new WorkloadInfo("copies", "op", 1, 0, 0, 0), ops);

    /// <summary>llama2-13b, one decode step at 2,048 tokens of context (the CLI's default).</summary>
    private static WorkloadGraph Llama13bDecode() => FpgaTestSupport.Llama("llama2-13b", Phase.Decode, 1, 2048);

    [Theory]
    [InlineData("u280")]
    [InlineData("vhk158")]
    public void PlacementTiersAreTheWeightTierThenDdrAndCopiesHaveTheirOwnEngine(string name)
    {
        var d = FpgaTestSupport.Model(name);
        Assert.Equal(["hbm", "ddr"], d.PlacementTiers);
        Assert.True(d.Topology.Tiers[d.Topology.TierIndex("ddr")].CapacityBytes > 0);
        Assert.NotEqual(d.Topology.EngineIndex("dsp"), d.Topology.EngineIndex(FpgaDeviceModel.DmaEngine));
        // A design that reads its weights from DDR has nothing slower to offload to.
        var fromDdr = FpgaTestSupport.Model(FpgaTestSupport.Load(name).WithText("placement.weights", "ddr"));
        Assert.Equal(["ddr"], fromDdr.PlacementTiers);
        var e = Assert.Throws<InputException>(() => ExpertSwitching.Compose(Llama13bDecode(), 1, fromDdr));
        Assert.Contains("no memory tier below ddr", e.Message);
    }

    [Fact]
    public void ACopyIsItsBytesOverBothChannelsOnTheDataMoverAtTheSlowerRate()
    {
        var d = FpgaTestSupport.Model("u280");
        const long bytes = 2L << 30;
        var cost = d.Cost(Copy(0, bytes, "ddr", "hbm"));
        Assert.Equal(d.Topology.EngineIndex("dma"), cost.Engine);
        var rate = d.Spec.DmaEfficiency * Math.Min(d.DdrRate, d.HbmRate);
        Assert.Equal(rate, d.CopyRate("ddr", "hbm"));
        Assert.Contains(cost.Transfers, t => t.Channel == d.Topology.ChannelIndex("ddr") && t.Bytes == bytes && t.RateCap_Bps == rate);
        Assert.Contains(cost.Transfers, t => t.Channel == d.Topology.ChannelIndex("hbm") && t.Bytes == bytes && t.RateCap_Bps == rate);
        Assert.Equal(2, cost.Transfers.Count);

        // Alone: setup plus bytes at the copy rate (closed form), both channels carrying the bytes.
        var m = FpgaTestSupport.Run(Graph(Copy(0, bytes, "ddr", "hbm")), d);
        var expected = d.Spec.DmaSetupS + bytes / rate;
        Assert.Equal(expected, m.LatencyS, expected * 1e-6);
        Assert.Equal(bytes, m.Memory.BytesMovedByChannel["ddr"]);
        Assert.Equal(bytes, m.Memory.BytesMovedByChannel["hbm"]);
        Assert.True(m.LatencyS >= bytes / d.Spec.DdrBandwidthBps);

        // The other direction takes the same path backwards; a tier the data mover cannot reach is refused.
        Assert.Equal(cost.Transfers.Select(t => t.Bytes), d.Cost(Copy(0, bytes, "hbm", "ddr")).Transfers.Select(t => t.Bytes));
        Assert.Throws<ArgumentException>(() => d.Cost(Copy(0, bytes, "ddr", "ddr")));
        Assert.Throws<ArgumentException>(() => d.Cost(Copy(0, bytes, "host", "hbm")));
    }

    [Fact]
    public void ACopyOverlapsTheDspArraysCompute()
    {
        var d = FpgaTestSupport.Model("u280");
        const long bytes = 1L << 30;
        var gemm = SingleOps.MatMul(4096, 4096, 4096, DType.Int8);
        var gemmAlone = FpgaTestSupport.Seconds(gemm, d);
        var copyAlone = FpgaTestSupport.Seconds(Graph(Copy(0, bytes, "ddr", "hbm")), d);
        var op = gemm.Ops[0];
        var shifted = Placement.Clone(op, 1,
            op.Inputs.Select(t => new Tensor(t.Id + 10, t.Name, t.Shape, t.DType, t.Role)).ToArray(),
            op.Outputs.Select(t => new Tensor(t.Id + 10, t.Name, t.Shape, t.DType, t.Role)).ToArray());
        var together = FpgaTestSupport.Seconds(Graph(Copy(0, bytes, "ddr", "hbm"), shifted), d);
        Assert.True(gemmAlone > 0.2 * copyAlone, $"the GEMM ({gemmAlone} s) should be comparable to the copy ({copyAlone} s)");
        Assert.True(together <= Math.Max(gemmAlone, copyAlone) * 1.02, $"copy {copyAlone} s and GEMM {gemmAlone} s took {together} s together");
    }

    [Fact]
    public void OffloadKeepsWhatDoesNotFitInDdrAndStreamsItOverTheDdrChannelEachStep()
    {
        var d = FpgaTestSupport.Model("u280");
        var step = Llama13bDecode();
        var (placed, report) = Placement.Apply(step, d, PlacementPolicy.Offload);
        var weights = ExpertSwitching.WeightBytes(step);
        Assert.True(weights > d.Spec.HbmCapacityBytes, "llama2-13b must not fit in the U280's HBM for this test");

        // What stays in DDR is weights (and only weights), and what is resident plus staging fits in HBM.
        var inDdr = placed.Tensors.Where(t => placed.TierOf.TryGetValue(t.Id, out var tier) && tier == "ddr").ToArray();
        Assert.NotEmpty(inDdr);
        Assert.All(inDdr, t => Assert.Equal(TensorRole.Weight, t.Role));
        var streamed = inDdr.Sum(t => t.Bytes);
        Assert.Equal(report.OffloadedBytes["ddr"], streamed);
        Assert.True(streamed < weights);
        Assert.True(weights - streamed <= d.Spec.HbmCapacityBytes);
        var copies = placed.Ops.Where(o => o.Transfer is not null).ToArray();
        Assert.Equal(report.OffloadedLayers, copies.Length);
        Assert.All(copies, c => Assert.Equal(new TierTransfer("ddr", "hbm"), c.Transfer));

        var m = FpgaTestSupport.Run(placed, d);
        // Every streamed byte crosses the DDR channel once per step, on the data mover; nothing else touches DDR.
        Assert.Equal(streamed, m.Memory.BytesMovedByChannel["ddr"]);
        Assert.All(m.Ops.Where(o => o.Name.EndsWith(".weights.stream", StringComparison.Ordinal)), o => Assert.Equal("dma", o.Engine));
        Assert.True(m.LatencyS >= streamed / d.Spec.DdrBandwidthBps, $"{m.LatencyS} s for {streamed} B over DDR");
        Assert.True(m.LatencyS >= streamed / d.CopyRate("ddr", "hbm"));
        Assert.True(m.Memory.PeakBytes["hbm"] <= m.Memory.CapacityBytes["hbm"], $"hbm peak {m.Memory.PeakBytes["hbm"]} B");
        Assert.Equal(0, m.Memory.OverCapacityBytes["hbm"]);
        Assert.Equal(step.TotalFlops, m.TotalFlops);

        // The copies overlap the layers' compute: less than the copies and the resident step one after the other.
        var resident = FpgaTestSupport.Run(step, d);
        var copiesAlone = copies.Sum(c => d.CopySeconds(c.BytesRead, c.Transfer!.Value));
        Assert.True(m.LatencyS < copiesAlone + resident.LatencyS * 0.5, $"offload {m.LatencyS} s, copies {copiesAlone} s, step {resident.LatencyS} s");

        // Fused layers (dataflow, auto) run the copies beside the pipeline and move the same DDR bytes.
        foreach (var schedule in new[] { "dataflow", "auto" })
        {
            var f = FpgaTestSupport.Run(placed, d, schedule);
            Assert.Equal(streamed, f.Memory.BytesMovedByChannel["ddr"]);
            Assert.True(f.LatencyS >= streamed / d.CopyRate("ddr", "hbm"), schedule);
            Assert.True(f.Memory.PeakBytes["hbm"] <= f.Memory.CapacityBytes["hbm"], schedule);
        }
    }

    [Fact]
    public void StreamedWeightsAreReadFromTheirHbmStagingBufferWhateverTheSpillTier()
    {
        // Activations spilled through DDR: offload adds exactly the streamed bytes to DDR's traffic (the
        // layers read their staged weights from HBM, not from DDR or through the spill tier).
        var d = FpgaTestSupport.Model(FpgaTestSupport.Load("u280").WithText("placement.activation_spill", "ddr"));
        var step = Llama13bDecode();
        var (placed, report) = Placement.Apply(step, d, PlacementPolicy.Offload);
        var resident = FpgaTestSupport.Run(step, d);
        var offloaded = FpgaTestSupport.Run(placed, d);
        Assert.True(resident.Memory.BytesMovedByChannel["ddr"] > 0);
        Assert.Equal(resident.Memory.BytesMovedByChannel["ddr"] + report.OffloadedBytes["ddr"], offloaded.Memory.BytesMovedByChannel["ddr"]);
        Assert.True(offloaded.Memory.PeakBytes["hbm"] <= offloaded.Memory.CapacityBytes["hbm"]);
    }

    [Fact]
    public void FitRefusesWhatDoesNotFitAndNamesDdr()
    {
        var d = FpgaTestSupport.Model("u280");
        var e = Assert.Throws<InputException>(() => Placement.Apply(Llama13bDecode(), d, PlacementPolicy.Fit));
        Assert.Contains("placement=offload", e.Message);
        Assert.Contains("ddr", e.Message);
    }

    [Fact]
    public void KvSwapKeepsTheCacheThatDoesNotFitInDdrAndSwapsItIn()
    {
        // int4 llama2-7b (3.4 GB of weights) with 8 sequences of 4,000 tokens (16.8 GB of KV cache).
        var d = FpgaTestSupport.Model("u280");
        var step = WeightFormat.Apply(FpgaTestSupport.Llama("llama2-7b", Phase.Decode, 8, 4000), DType.Int4, null);
        var kv = step.Tensors.Where(t => t.Role == TensorRole.KvCache).Sum(t => t.Bytes);
        Assert.True(kv > d.Spec.HbmCapacityBytes, $"KV cache {kv} B must not fit in HBM for this test");
        var (placed, report) = Placement.Apply(step, d, PlacementPolicy.Resident, KvPolicy.Swap);
        var swapped = report.OffloadedBytes["ddr"];
        Assert.InRange(swapped, 1, kv);
        Assert.All(placed.TierOf, kvp => Assert.Equal(TensorRole.KvCache, placed.Tensors.First(t => t.Id == kvp.Key).Role));
        Assert.Contains(placed.Ops, o => o.Name.EndsWith(".kv.swap_in", StringComparison.Ordinal) && o.Transfer == new TierTransfer("ddr", "hbm"));

        var m = FpgaTestSupport.Run(placed, d);
        Assert.Equal(swapped, m.Memory.BytesMovedByChannel["ddr"]);
        Assert.True(m.LatencyS >= swapped / d.Spec.DdrBandwidthBps);
        Assert.True(m.Memory.PeakBytes["hbm"] <= m.Memory.CapacityBytes["hbm"], $"hbm peak {m.Memory.PeakBytes["hbm"]} B");
        Assert.Equal(swapped, m.Memory.SpilledBytes["ddr"]);
    }

    [Fact]
    public void ExpertSwitchesCopyEachExpertFromDdrIntoHbm()
    {
        var d = FpgaTestSupport.Model("u280");
        var step = Llama13bDecode();
        var weights = ExpertSwitching.WeightBytes(step);
        var composed = ExpertSwitching.Compose(step, 2, d);
        var switches = composed.Ops.Where(o => o.Transfer is not null).ToArray();
        Assert.Equal(2, switches.Length);
        Assert.All(switches, s => Assert.Equal(new TierTransfer("ddr", "hbm"), s.Transfer));

        var m = FpgaTestSupport.Run(composed, d);
        Assert.Equal(2 * weights, m.Memory.BytesMovedByChannel["ddr"]);
        var resident = FpgaTestSupport.Run(step, d);
        Assert.Equal(resident.Memory.BytesMovedByChannel["hbm"] + 2 * weights, m.Memory.BytesMovedByChannel["hbm"]);
        Assert.True(m.LatencyS >= 2 * weights / d.Spec.DdrBandwidthBps, $"{m.LatencyS} s for {2 * weights} B over DDR");
        // The switches run one after another on the data mover, then the step.
        var expected = 2 * d.CopySeconds(weights, new TierTransfer("ddr", "hbm")) + resident.LatencyS;
        Assert.Equal(expected, m.LatencyS, expected * 1e-3);
        Assert.All(m.Ops.Where(o => o.Name.StartsWith("switch expert", StringComparison.Ordinal)), o => Assert.Equal("dma", o.Engine));
    }

    [Fact]
    public void MoreDdrBandwidthNeverMakesAnOffloadedRunSlower()
    {
        var baseConfig = FpgaTestSupport.Load("u280");
        var step = Llama13bDecode();
        // Placement depends on capacities only, so every device of the property streams the same layers.
        var (placed, _) = Placement.Apply(step, FpgaTestSupport.Model(baseConfig), PlacementPolicy.Offload);
        // DDR well below HBM (the U280's 38 GB/s against 460 GB/s): the copies' HBM writes cannot take a
        // material share from the kernels reading HBM. With DDR near HBM's rate, max-min sharing of HBM
        // between a faster copy and the kernels can delay the kernels more than the copy gains (a
        // scheduling anomaly of shared channels, docs/devices/fpga.md, Limits).
        var gen = from slow in Gen.Choose(5, 90)
                  from faster in Gen.Choose(0, 90)
                  from dma in Gen.Choose(10, 100)
                  from schedule in Gen.Elements("sequential", "dataflow", "auto")
                  select (Slow: slow * 1e9, Fast: (slow + faster) * 1e9, Dma: dma / 100.0, Schedule: schedule);
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var cfg = baseConfig.With(("dma.efficiency", x.Dma));
            var slow = FpgaTestSupport.Model(cfg.With(("memory.ddr.bandwidth_Bps", x.Slow)));
            var fast = FpgaTestSupport.Model(cfg.With(("memory.ddr.bandwidth_Bps", x.Fast)));
            var tSlow = FpgaTestSupport.Seconds(placed, slow, x.Schedule);
            var tFast = FpgaTestSupport.Seconds(placed, fast, x.Schedule);
            return (tFast <= tSlow * (1 + 1e-9)).ToProperty().Label($"{x.Schedule}: {x.Slow:R} B/s took {tSlow} s, {x.Fast:R} B/s took {tFast} s");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(150));
    }
}
