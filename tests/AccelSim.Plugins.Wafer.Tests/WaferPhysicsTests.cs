using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Simulation;
using AccelSim.Workloads;
using AccelSim.Workloads.Models;
using FsCheck;
using FsCheck.Fluent;

namespace AccelSim.Plugins.Wafer.Tests;

public class WaferPhysicsTests
{
    private static Gen<(long M, long N, long K, DType D)> GemmShapes() =>
        from m in Gen.Elements(1, 1, 2, 8, 64, 512, 2048)
        from n in Gen.Choose(1, 40000)
        from k in Gen.Choose(1, 40000)
        from d in Gen.Elements(DType.Bf16, DType.Fp16, DType.Fp8, DType.Fp32)
        select ((long)m, (long)n, (long)k, d);

    private static readonly string[] BandwidthPaths =
        ["memory.sram.bandwidth_Bps", "mesh.link_bandwidth_Bps", "mesh.fabric_bandwidth_Bps", "memory.memoryx.bandwidth_Bps"];

    [Fact]
    public void MoreBandwidthIsNeverSlower()
    {
        var baseConfig = WaferTestSupport.Load("wse2");
        var slow = WaferTestSupport.Model(baseConfig);
        Prop.ForAll((from s in GemmShapes() from f in Gen.Choose(101, 400) from which in Gen.Choose(0, BandwidthPaths.Length - 1) select (s, f, which)).ToArbitrary(), x =>
        {
            var (s, f, which) = x;
            var path = BandwidthPaths[which];
            var fast = WaferTestSupport.Model(baseConfig.With((path, baseConfig.Number(path) * f / 100.0)));
            var g = SingleOps.MatMul(s.M, s.N, s.K, s.D);
            return WaferTestSupport.Seconds(g, fast) <= WaferTestSupport.Seconds(g, slow) * (1 + 1e-9);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void MorePeakFlopsIsNeverSlower()
    {
        var baseConfig = WaferTestSupport.Load("wse3");
        var slow = WaferTestSupport.Model(baseConfig);
        Prop.ForAll((from s in GemmShapes() from f in Gen.Choose(101, 400) select (s, f)).ToArbitrary(), x =>
        {
            var (s, f) = x;
            var scaled = WaferSpec.ConfigDTypes.Select(d => ($"compute.{d.Name()}.peak_flops", baseConfig.Number($"compute.{d.Name()}.peak_flops") * f / 100.0)).ToArray();
            var fast = WaferTestSupport.Model(baseConfig.With(scaled));
            var g = SingleOps.MatMul(s.M, s.N, s.K, s.D);
            return WaferTestSupport.Seconds(g, fast) <= WaferTestSupport.Seconds(g, slow) * (1 + 1e-9);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void MoreBandwidthOrComputeNeverSlowsADecodeUnderAnySchedule()
    {
        var graph = WaferTestSupport.Llama("llama2-7b", Phase.Decode, 1, 512);
        var baseConfig = WaferTestSupport.Load("wse2");
        var paths = BandwidthPaths.Concat(WaferSpec.ConfigDTypes.Select(d => $"compute.{d.Name()}.peak_flops")).ToArray();
        Prop.ForAll((from f in Gen.Choose(101, 300) from which in Gen.Choose(0, paths.Length - 1) from sched in Gen.Elements("sequential", "dataflow", "auto") select (f, which, sched)).ToArbitrary(), x =>
        {
            var (f, which, sched) = x;
            var path = paths[which];
            var fast = WaferTestSupport.Model(baseConfig.With((path, baseConfig.Number(path) * f / 100.0)));
            return WaferTestSupport.Seconds(graph, fast, sched) <= WaferTestSupport.Seconds(graph, WaferTestSupport.Model(baseConfig), sched) * (1 + 1e-9);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(15));
    }

    [Fact]
    public void MoreBandwidthOrComputeNeverSlowsAPrefillPipeline()
    {
        // Prefill layers run as pipelines of shaped regions: the plans are chosen from the graph and the
        // mesh alone, so a faster part of the wafer can only make each plan, and the best, faster.
        var graph = WaferTestSupport.Llama("llama2-7b", Phase.Prefill, 1, 256);
        var baseConfig = WaferTestSupport.Load("wse2");
        var paths = BandwidthPaths.Concat(WaferSpec.ConfigDTypes.Select(d => $"compute.{d.Name()}.peak_flops")).ToArray();
        var slow = WaferTestSupport.Seconds(graph, WaferTestSupport.Model(baseConfig), "dataflow");
        Prop.ForAll((from f in Gen.Choose(101, 300) from which in Gen.Choose(0, paths.Length - 1) select (f, which)).ToArbitrary(), x =>
        {
            var (f, which) = x;
            var path = paths[which];
            var fast = WaferTestSupport.Model(baseConfig.With((path, baseConfig.Number(path) * f / 100.0)));
            return WaferTestSupport.Seconds(graph, fast, "dataflow") <= slow * (1 + 1e-9);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(10));
    }

    [Theory]
    [InlineData("wse2")]
    [InlineData("wse3")]
    public void APrefillLayerPipelinedOverTheWaferBeatsItsOpsOneAtATime(string wafer)
    {
        // 2048 tokens flow through a layer's ops placed side by side, each region shaped to cross few
        // link-bytes; op by op, every op spreads over the whole wafer and pays its hops alone.
        var graph = WaferTestSupport.Llama("llama2-7b", Phase.Prefill, 1, 2048);
        var sequential = WaferTestSupport.Seconds(graph, WaferTestSupport.Model(wafer), "sequential");
        var dataflow = WaferTestSupport.Seconds(graph, WaferTestSupport.Model(wafer), "dataflow");
        Assert.True(dataflow < 0.8 * sequential, $"{wafer}: dataflow {dataflow} s vs sequential {sequential} s");
    }

    [Fact]
    public void NoOpBeatsItsRooflineFloor()
    {
        var device = WaferTestSupport.Model("wse2");
        Prop.ForAll(GemmShapes().ToArbitrary(), s =>
        {
            var g = SingleOps.MatMul(s.M, s.N, s.K, s.D);
            var op = g.Ops[0];
            var floor = Math.Max(op.Flops / device.PeakFlops(device.ComputeDType(op)), op.Bytes / device.Spec.SramBandwidthBps);
            return WaferTestSupport.Seconds(g, device) >= floor * (1 - 1e-9);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void HopLatencyGrowsWithTheRegionAndComputeShrinks()
    {
        var device = WaferTestSupport.Model("wse2");
        var op = SingleOps.MatMul(1, 8192, 8192, DType.Fp16).Ops[0];
        var small = device.CostOnRegion(op, 64, 64);
        var large = device.CostOnRegion(op, 512, 512);
        Assert.True(large.LatencyPs > small.LatencyPs, "a larger region pays more hops");
        Assert.True(large.ComputePs < small.ComputePs, "a larger region computes faster");
        // 8x the side: 64x the cores, so a 64th of the local compute.
        Assert.Equal(64.0, small.ComputePs / (double)large.ComputePs, 1);
    }

    [Fact]
    public void SmallOpsGetSmallRegionsAndBigOnesLargeRegions()
    {
        var device = WaferTestSupport.Model("wse2");
        static (int, int) Region(string note)
        {
            var on = note.Split(" on ")[1].Split(' ')[0].Split('x');
            return (int.Parse(on[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(on[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        var (r1, c1) = Region(device.Cost(SingleOps.MatMul(1, 1024, 1024, DType.Fp16).Ops[0]).Note!);
        var (r2, c2) = Region(device.Cost(SingleOps.MatMul(1, 32768, 32768, DType.Fp16).Ops[0]).Note!);
        Assert.True((long)r1 * c1 * 16 < (long)r2 * c2, $"small {r1}x{c1}, big {r2}x{c2}");
    }

    [Fact]
    public void EachCoreHoldsItsWeightBlock()
    {
        var baseConfig = WaferTestSupport.Load("wse2");
        Prop.ForAll(GemmShapes().ToArbitrary(), s =>
        {
            var device = WaferTestSupport.Model(baseConfig);
            var g = SingleOps.MatMul(s.M, s.N, s.K, s.D);
            var cost = device.Cost(g.Ops[0]);
            if (cost.Note!.Contains("memoryx")) return true;
            var on = cost.Note.Split(" on ")[1].Split(' ')[0].Split('x');
            var cores = long.Parse(on[0], System.Globalization.CultureInfo.InvariantCulture) * long.Parse(on[1], System.Globalization.CultureInfo.InvariantCulture);
            var weight = g.Ops[0].Inputs[1].Bytes;
            return weight / (double)cores <= device.Spec.SramPerCoreBytes * device.Spec.SramResidentFraction * (1 + 1e-9);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void WeightsBeyondTheSramStreamOverTheExternalChannel()
    {
        // 32768 x 32768 fp16 is 2 GiB; shrink the SRAM below it.
        var config = WaferTestSupport.Load("wse2").With(("memory.sram.capacity_bytes", 1e9));
        var device = WaferTestSupport.Model(config);
        var g = Placement.Apply(SingleOps.MatMul(1, 32768, 32768, DType.Fp16), device, PlacementPolicy.Resident).Graph;
        Assert.Equal("memoryx", g.TierOf[g.Ops[0].Inputs[1].Id]);
        var placed = device.ForPlacement(g);
        var cost = placed.Cost(g.Ops[0]);
        var mx = device.Topology.ChannelIndex("memoryx");
        Assert.Equal(g.Ops[0].Inputs[1].Bytes, cost.Transfers.Where(t => t.Channel == mx).Sum(t => t.Bytes));
        Assert.Contains("streamed from memoryx", cost.Note);
        Assert.Equal(device.Topology.TierIndex("memoryx"), placed.PlaceTensor(g.Ops[0].Inputs[1]));
        // Unplaced, the weight sits where the device puts it by default: in SRAM.
        Assert.Equal(device.Topology.TierIndex("sram"), device.PlaceTensor(g.Ops[0].Inputs[1]));
        Assert.True(WaferTestSupport.Seconds(g, device) >= g.Ops[0].Inputs[1].Bytes / device.Spec.MemoryXBandwidthBps);
    }

    // ---- the dataflow off-chip law ----

    /// <summary>A random chain of one decoder-like layer: matmuls with weights, norms, elementwise ops
    /// and attention over a cache, every op in layer 0 so that they form one region.</summary>
    private static Gen<WorkloadGraph> RandomLayers() =>
        from n in Gen.Choose(2, 9)
        from kinds in Gen.ArrayOf(Gen.Choose(0, 3), n)
        from sizes in Gen.ArrayOf(Gen.Elements(64, 256, 1024, 4096, 16384), n)
        from tokens in Gen.Elements(1, 4, 64, 512)
        select Chain(kinds, sizes, tokens);

    private static WorkloadGraph Chain(int[] kinds, int[] sizes, long tokens)
    {
        var ops = new List<Op>();
        var id = 0;
        long width = 1024;
        var x = new Tensor(id++, "x0", [tokens, width], DType.Bf16, TensorRole.Activation);
        for (var i = 0; i < kinds.Length; i++)
        {
            long outWidth = kinds[i] == 0 ? sizes[i] : width;
            var y = new Tensor(id++, $"y{i}", [tokens, outWidth], DType.Bf16, TensorRole.Activation);
            switch (kinds[i])
            {
                case 0:
                {
                    var w = new Tensor(id++, $"w{i}", [width, outWidth], DType.Bf16, TensorRole.Weight);
                    var shape = new GemmShape(1, tokens, outWidth, width);
                    ops.Add(new Op(ops.Count, $"mm{i}", OpKind.MatMul, 0, [x, w], [y], shape.Flops, DType.Bf16, gemm: shape));
                    break;
                }
                case 1:
                    ops.Add(new Op(ops.Count, $"norm{i}", OpKind.Norm, 0, [x], [y], 4 * x.Elements, DType.Bf16));
                    break;
                case 2:
                    ops.Add(new Op(ops.Count, $"ew{i}", OpKind.Elementwise, 0, [x], [y], x.Elements, DType.Bf16));
                    break;
                default:
                {
                    var heads = Math.Max(1, width / 128);
                    var kv = new Tensor(id++, $"kv{i}", [2, sizes[i], heads, 128], DType.Bf16, TensorRole.KvCache);
                    var shape = new AttentionShape(1, heads, heads, 128, tokens, sizes[i] + tokens, true);
                    ops.Add(new Op(ops.Count, $"attn{i}", OpKind.Attention, 0, [x, kv], [y], shape.Flops, DType.Bf16, attention: shape));
                    break;
                }
            }
            x = y;
            width = outWidth;
        }
        return new WorkloadGraph(new WorkloadInfo("random", "op", 1, tokens, 0, tokens), ops);
    }

    [Fact]
    public void DataflowNeverMovesMoreOffChipBytesThanSequential()
    {
        var baseConfig = WaferTestSupport.Load("wse2");
        var deviceParams =
            from sram in Gen.Elements(1e6, 3e7, 2e8, 4e10)
            from frac in Gen.Elements(0.1, 0.5, 0.75, 0.95)
            from bw in Gen.Choose(10, 400)
            select (sram, frac, bw);
        Prop.ForAll((from g in RandomLayers() from p in deviceParams select (g, p)).ToArbitrary(), x =>
        {
            var (graph, (sram, frac, bw)) = x;
            var config = baseConfig.With(("memory.sram.capacity_bytes", sram), ("memory.sram.resident_fraction", frac),
                ("memory.memoryx.bandwidth_Bps", baseConfig.Number("memory.memoryx.bandwidth_Bps") * bw / 100.0));
            var device = WaferTestSupport.Model(config);
            var region = new Region(graph.Ops, graph);
            var mx = device.Topology.ChannelIndex("memoryx");
            var fused = device.CostRegion(region).Transfers.Where(t => t.Channel == mx).Sum(t => t.Bytes);
            var oneByOne = graph.Ops.Sum(o => device.Cost(o).Transfers.Where(t => t.Channel == mx).Sum(t => t.Bytes));
            var seqRun = WaferTestSupport.Run(graph, WaferTestSupport.Model(config), "sequential");
            var dfDevice = WaferTestSupport.Model(config);
            var dfRun = WaferTestSupport.Run(graph, dfDevice, "dataflow");
            return fused <= oneByOne
                && WaferTestSupport.OffChipBytes(dfRun.Result, dfDevice) <= WaferTestSupport.OffChipBytes(seqRun.Result, dfDevice);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void IntermediatesThatFitAreStreamedAndSaveSramTraffic()
    {
        var graph = WaferTestSupport.Llama("llama3-8b", Phase.Prefill, 1, 256);
        var device = WaferTestSupport.Model("wse2");
        var layer = Regions.ByLayer(graph).First(g => g.Count > 1);
        var region = new Region(layer, graph);
        var fused = device.CostRegion(region);
        Assert.Contains("streamed core to core", fused.Note);
        var sram = device.Topology.ChannelIndex("sram");
        var fusedSram = fused.Transfers.Where(t => t.Channel == sram).Sum(t => t.Bytes);
        var seqSram = layer.Sum(o => device.Cost(o).Transfers.Where(t => t.Channel == sram).Sum(t => t.Bytes));
        Assert.True(fusedSram <= seqSram - region.InternalBytes, $"fused {fusedSram}, sequential {seqSram}, internal {region.InternalBytes}");

        // With no room for activations the intermediates go through SRAM op by op, and the note says so.
        var tight = WaferTestSupport.Model(WaferTestSupport.Load("wse2").With(("memory.sram.resident_fraction", 0.99999999)));
        Assert.Contains("exceed the activation SRAM", tight.CostRegion(new Region(layer, graph)).Note);
    }
}
