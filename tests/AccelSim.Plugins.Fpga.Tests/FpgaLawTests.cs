using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Workloads;
using FsCheck;
using FsCheck.Fluent;

namespace AccelSim.Plugins.Fpga.Tests;

public class FpgaLawTests
{
    /// <summary>A random chain of matmul and vector ops over activations of random sizes (a few bytes
    /// to tens of MB), grouped into random layers, all int8 or bf16.</summary>
    private static Gen<WorkloadGraph> Graphs() =>
        from n in Gen.Choose(1, 8)
        from rows in Gen.Choose(1, 4096)
        from widths in Gen.ArrayOf(Gen.Choose(1, 8192), n + 1)
        from kinds in Gen.ArrayOf(Gen.Choose(0, 2), n)
        from layers in Gen.ArrayOf(Gen.Choose(0, 2), n)
        from bf16 in Gen.Elements(false, true)
        select Chain(rows, widths, kinds, layers, bf16 ? DType.Bf16 : DType.Int8);

    private static WorkloadGraph Chain(int rows, int[] widths, int[] kinds, int[] layers, DType dt)
    {
        var ops = new List<Op>();
        var id = 0;
        var x = new Tensor(id++, "x", [rows, widths[0]], dt, TensorRole.Activation);
        var layer = 0;
        for (var i = 0; i < kinds.Length; i++)
        {
            layer += layers[i] == 0 ? 1 : 0;
            if (kinds[i] == 0)
            {
                var w = new Tensor(id++, $"w{i}", [widths[i], widths[i + 1]], dt, TensorRole.Weight);
                var y = new Tensor(id++, $"y{i}", [rows, widths[i + 1]], dt, TensorRole.Activation);
                var g = new GemmShape(1, rows, widths[i + 1], widths[i]);
                ops.Add(new Op(ops.Count, $"mm{i}", OpKind.MatMul, layer, [x, w], [y], g.Flops, dt, gemm: g));
                x = y;
            }
            else
            {
                var y = new Tensor(id++, $"v{i}", x.Shape, dt, TensorRole.Activation);
                ops.Add(new Op(ops.Count, $"vec{i}", kinds[i] == 1 ? OpKind.Elementwise : OpKind.Softmax, layer, [x], [y], 4 * x.Elements, dt));
                x = y;
            }
        }
        return new WorkloadGraph(new WorkloadInfo("random chain", "kernel", 1, rows, 0, rows), ops);
    }

    /// <summary>Random device parameters around the U280: DSPs, clock, chain length, on-chip memory and
    /// its shares, HBM bandwidth, spill tier.</summary>
    private static Gen<FpgaDeviceModel> Devices() => DeviceConfigs().Select(FpgaTestSupport.Model);

    private static Gen<HardwareConfig> DeviceConfigs() =>
        from dsps in Gen.Choose(64, 20000)
        from clock in Gen.Choose(100, 700)
        from chain in Gen.Elements(1, 4, 8, 16, 32)
        from sramMb in Gen.Choose(1, 200)
        from act in Gen.Choose(1, 100)
        from buf in Gen.Choose(1, 100)
        from hbm in Gen.Choose(50, 2000)
        from spill in Gen.Elements("hbm", "ddr")
        select FpgaTestSupport.Load("u280")
            .With(("compute.dsp_count", dsps), ("compute.clock_Hz", clock * 1e6), ("compute.dsp_chain_length", chain),
                ("memory.sram.capacity_bytes", sramMb * 1_000_000.0), ("memory.sram.activation_fraction", act / 100.0),
                ("dataflow.buffer_fraction", buf / 100.0), ("memory.hbm.bandwidth_Bps", hbm * 1e9))
            .WithText("placement.activation_spill", spill);

    private static long OffChip(OpCost cost, DeviceTopology topology) =>
        cost.Transfers.Where(t => topology.Channels[t.Channel].OffChip).Sum(t => t.Bytes);

    [Fact]
    public void DataflowNeverMovesMoreOffChipBytesThanOpByOp()
    {
        Prop.ForAll((from g in Graphs() from d in Devices() select (g, d)).ToArbitrary(), x =>
        {
            var (graph, device) = x;
            foreach (var group in Regions.ByLayer(graph))
            {
                var region = new Region(group, graph);
                var fused = OffChip(device.CostRegion(region), device.Topology);
                var alone = group.Sum(op => OffChip(device.Cost(op), device.Topology));
                if (fused > alone) return false;
            }
            var df = FpgaTestSupport.Run(graph, device, "dataflow").OffChipBytes;
            var seq = FpgaTestSupport.Run(graph, device, "sequential").OffChipBytes;
            return df <= seq;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void ReconfiguredRegionNeverMovesMoreOffChipBytesThanOpByOpAndAutoIsNeverSlower()
    {
        Prop.ForAll((from g in Graphs() from d in Devices() select (g, d)).ToArbitrary(), x =>
        {
            var (graph, device) = x;
            foreach (var group in Regions.ByLayer(graph))
            {
                var cost = device.CostRegionReconfigured(new Region(group, graph));
                var alone = group.Sum(op => OffChip(device.Cost(op), device.Topology));
                if (OffChip(cost, device.Topology) > alone || cost.Note?.StartsWith("reconfigured:", StringComparison.Ordinal) != true) return false;
            }
            var auto = FpgaTestSupport.Seconds(graph, device, "auto");
            var seq = FpgaTestSupport.Seconds(graph, device, "sequential");
            var df = FpgaTestSupport.Seconds(graph, device, "dataflow");
            return auto <= Math.Min(seq, df) * (1 + 1e-9);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void ReconfiguredRegionKeepsIntermediatesOnChipOnlyWhileTheyFit()
    {
        // Self-attention's five intermediates (3 x 256 KiB, 2 x 64 KiB) all fit the U280's buffers;
        // with no activation buffer every one goes through the spill tier, exactly as op by op.
        var graph = HdvKernels.Attention();
        var region = new Region(graph.TopologicalOrder(), graph);
        var fits = FpgaTestSupport.Model("u280");
        var none = FpgaTestSupport.Model(FpgaTestSupport.Load("u280").With(("memory.sram.activation_fraction", 0.0)));
        var alone = graph.Ops.Sum(op => OffChip(fits.Cost(op), fits.Topology));
        var kept = OffChip(fits.CostRegionReconfigured(region), fits.Topology);
        var spilled = OffChip(none.CostRegionReconfigured(region), none.Topology);
        var intermediates = region.Internal.Sum(t => t.Bytes);
        Assert.Equal(alone - 2 * intermediates, kept);
        Assert.Equal(alone, spilled);
        Assert.Contains("5 of 5 intermediates", fits.CostRegionReconfigured(region).Note);
    }

    [Fact]
    public void StreamingIntermediatesOnChipSavesOffChipBytesWhenActivationsDoNotFitOpByOp()
    {
        // Activations too big to stay on chip op by op: the pipeline streams them in tiles instead.
        var device = FpgaTestSupport.Model("u280");
        var graph = HdvKernels.TransformerFfn(l: 8192);
        var df = FpgaTestSupport.Run(graph, device, "dataflow").OffChipBytes;
        var seq = FpgaTestSupport.Run(graph, device, "sequential").OffChipBytes;
        var wide = 8192L * 4096;
        Assert.True(seq - df >= 3 * wide, $"sequential {seq} B, dataflow {df} B");
    }

    [Fact]
    public void MoreBandwidthOrComputeIsNeverSlower()
    {
        var baseConfig = FpgaTestSupport.Load("u280");
        var gen = from g in Graphs()
                  from f in Gen.Choose(101, 400)
                  from what in Gen.Elements("memory.hbm.bandwidth_Bps", "compute.dsp_count", "compute.clock_Hz", "memory.ddr.bandwidth_Bps")
                  from schedule in Gen.Elements("sequential", "dataflow", "auto")
                  select (g, f, what, schedule);
        var slow = FpgaTestSupport.Model(baseConfig);
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var (g, f, what, schedule) = x;
            var value = baseConfig.Number(what) * f / 100.0;
            if (what == "compute.dsp_count") value = Math.Round(value);
            var cfg = baseConfig.With((what, value));
            if (what == "compute.clock_Hz") cfg = cfg.With(("compute.max_clock_Hz", Math.Max(value, baseConfig.Number("compute.max_clock_Hz"))));
            var fast = FpgaTestSupport.Model(cfg);
            return FpgaTestSupport.Seconds(g, fast, schedule) <= FpgaTestSupport.Seconds(g, slow, schedule) * (1 + 1e-9);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void NoMatMulBeatsItsRooflineFloor()
    {
        foreach (var name in FpgaTestSupport.BundledFpgas)
        {
            var device = FpgaTestSupport.Model(name);
            var gen = from m in Gen.Choose(1, 8192) from n in Gen.Choose(1, 8192) from k in Gen.Choose(1, 8192)
                      from d in Gen.Elements(DType.Int4, DType.Int8, DType.Bf16, DType.Fp16, DType.Fp32)
                      select SingleOps.MatMul(m, n, k, d);
            Prop.ForAll(gen.ToArbitrary(), g =>
            {
                var op = g.Ops[0];
                var floor = Math.Max(op.Flops / device.PeakFlops(device.ComputeDType(op)), op.Bytes / device.Spec.SramBandwidthBps);
                return FpgaTestSupport.Seconds(g, device) >= floor * (1 - 1e-9);
            }).QuickCheckThrowOnFailure();
        }
    }

    [Fact]
    public void ChainShapeQuantisationWastesCycles()
    {
        // K = 17 on 16-long int8 chains (32 MACs per step) takes as long as K = 32; K = 33 takes two steps.
        var device = FpgaTestSupport.Model("u280");
        double T(long k) => FpgaTestSupport.Seconds(SingleOps.MatMul(4096, 4096, k, DType.Int8), device);
        Assert.Equal(T(17), T(32), 6);
        Assert.True(T(33) > 1.9 * T(32) - 1e-5);
    }

    [Fact]
    public void NarrowWeightsPackMoreMacsPerDsp()
    {
        var device = FpgaTestSupport.Model("u280");
        Assert.Equal(2 * device.PeakFlops(DType.Int8), device.PeakFlops(DType.Int4));
        Assert.Equal(4 * device.PeakFlops(DType.Fp16), device.PeakFlops(DType.Int8));
        Assert.Equal(DType.Bf16, device.Supported(DType.Fp8));
    }

    [Fact]
    public void StreamingAOneRowRegionAlongItsFeaturesIsNeverSlowerThanHandingItOverWhole()
    {
        // A region whose rows fit in one tile may stream along its features; with feature tiles larger
        // than every intermediate it can only hand them over whole. Offering the choice is never slower.
        var gen = from n in Gen.Choose(1, 8)
                  from rows in Gen.Choose(1, 16)
                  from widths in Gen.ArrayOf(Gen.Choose(1, 8192), n + 1)
                  from kinds in Gen.ArrayOf(Gen.Choose(0, 2), n)
                  from layers in Gen.ArrayOf(Gen.Choose(0, 2), n)
                  from bf16 in Gen.Elements(false, true)
                  from config in DeviceConfigs()
                  select (Chain(rows, widths, kinds, layers, bf16 ? DType.Bf16 : DType.Int8), config);
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var (graph, config) = x;
            var device = FpgaTestSupport.Model(config);
            var whole = FpgaTestSupport.Model(config.With(("dataflow.vector_tile_elements", 1 << 30)));
            var streamed = FpgaTestSupport.Seconds(graph, device, "dataflow");
            var handed = FpgaTestSupport.Seconds(graph, whole, "dataflow");
            return (streamed <= handed * (1 + 1e-9)).Label($"streamed {streamed} s, whole {handed} s");
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void SameInputsGiveTheSameRun()
    {
        var device = FpgaTestSupport.Model("u280");
        var a = FpgaTestSupport.Run(HdvKernels.Attention(), device, "auto");
        var b = FpgaTestSupport.Run(HdvKernels.Attention(), FpgaTestSupport.Model("u280"), "auto");
        Assert.Equal(a.LatencyS, b.LatencyS);
        Assert.Equal(a.Energy.TotalJ, b.Energy.TotalJ);
        Assert.Equal(a.OffChipBytes, b.OffChipBytes);
    }
}
