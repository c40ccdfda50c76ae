using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Workloads.Models;
using FsCheck;
using FsCheck.Fluent;

namespace AccelSim.Plugins.Rdu.Tests;

public class RduLawTests
{
    private static readonly string[] Bandwidths =
        ["memory.hbm.bandwidth_Bps", "memory.ddr.bandwidth_Bps", "memory.sram.pmu_bandwidth_Bps", "links.p2p.bandwidth_Bps"];

    /// <summary>A random device: either bundled config with sockets, PMU capacity, buffer share and
    /// bandwidths scaled at random.</summary>
    private static Gen<HardwareConfig> Devices() =>
        from name in Gen.Elements(RduTestSupport.BundledRdus)
        from sockets in Gen.Elements(1, 2, 4, 8, 16)
        from sram in Gen.Elements(1e-6, 1e-4, 1e-2, 0.1, 1.0, 10.0)
        from buffer in Gen.Choose(0, 100)
        from hbm in Gen.Choose(10, 400)
        from p2p in Gen.Choose(10, 400)
        select Scale(RduTestSupport.Load(name), sockets, sram, buffer / 100.0, hbm / 100.0, p2p / 100.0);

    private static HardwareConfig Scale(HardwareConfig c, int sockets, double sram, double buffer, double hbm, double p2p) =>
        c.With(("node.sockets", sockets),
            ("memory.sram.capacity_bytes", Math.Round(c.Number("memory.sram.capacity_bytes") * sram)),
            ("memory.sram.buffer_fraction", buffer),
            ("memory.hbm.bandwidth_Bps", c.Number("memory.hbm.bandwidth_Bps") * hbm),
            ("links.p2p.bandwidth_Bps", c.Number("links.p2p.bandwidth_Bps") * p2p));

    private static long OffChip(OpCost cost, DeviceTopology topology) =>
        cost.Transfers.Where(t => topology.Channels[t.Channel].OffChip).Sum(t => t.Bytes);

    [Theory]
    [InlineData("ddr", "hbm")]
    [InlineData("hbm", "ddr")]
    public void ACopyBetweenTiersReadsItsSourceAndWritesItsDestination(string from, string to)
    {
        // A KV cache swapped out to DDR is as bound by DDR as one swapped back in.
        var node = RduTestSupport.Model("sn40l-8");
        const long bytes = 1L << 30;
        var src = new Tensor(0, "kv.at_rest", [bytes], DType.Int8, TensorRole.KvCache);
        var dst = new Tensor(1, "kv.copy", [bytes], DType.Int8, TensorRole.Activation);
        var copy = new Op(0, "copy", OpKind.Copy, -1, [src], [dst], 0, DType.Int8, bytesRead: bytes, bytesWritten: bytes)
        {
            Transfer = new TierTransfer(from, to),
        };
        var cost = node.Cost(copy);
        var channel = (string name) => node.Topology.ChannelIndex(name);
        Assert.Equal([(channel(from), bytes), (channel(to), bytes)], cost.Transfers.Select(t => (t.Channel, t.Bytes)));
        var seconds = Core.Time.Ps.ToSeconds(DataflowSchedule.Estimate(cost, node.Topology));
        Assert.True(seconds >= bytes / node.DdrRate, $"{from} -> {to}: {seconds} s");
        Assert.Throws<ArgumentException>(() => node.Cost(new Op(1, "bad", OpKind.Copy, -1, [src], [dst], 0, DType.Int8, bytesRead: bytes, bytesWritten: bytes)
        {
            Transfer = new TierTransfer("hbm", "sram"),
        }));
    }

    [Fact]
    public void DataflowNeverMovesMoreOffChipBytesThanSequential()
    {
        Prop.ForAll((from seed in Gen.Choose(0, int.MaxValue) from c in Devices() select (seed, c)).ToArbitrary(), x =>
        {
            var graph = RandomGraphs.Build(x.seed);
            var device = RduTestSupport.Model(x.c);
            foreach (var group in Regions.ByLayer(graph))
            {
                var fused = OffChip(device.CostRegion(new Region(group, graph)), device.Topology);
                var alone = group.Sum(op => OffChip(device.Cost(op), device.Topology));
                if (fused > alone) return false;
            }
            var (seq, _) = RduTestSupport.Run(graph, device, "sequential");
            var (df, _) = RduTestSupport.Run(graph, device, "dataflow");
            return RduTestSupport.OffChipBytes(df, device) <= RduTestSupport.OffChipBytes(seq, device);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void FusedRegionsConserveTheirBytesAndSpillOnlyWhatDoesNotFit()
    {
        var graph = RduTestSupport.Llama("llama2-7b", Phase.Prefill, 1, 2048);
        var region = new Region(Regions.ByLayer(graph).First(g => g[0].Layer == 0), graph);
        var big = RduTestSupport.Model("sn40l-8");
        var tiny = RduTestSupport.Model(RduTestSupport.Load("sn40l-8").With(("memory.sram.capacity_bytes", 1e6)));
        var fits = big.CostRegion(region);
        var spills = tiny.CostRegion(region);
        var hbm = big.Topology.ChannelIndex("hbm");
        var sram = big.Topology.ChannelIndex("sram");
        long Bytes(OpCost c, int ch) => c.Transfers.Where(t => t.Channel == ch).Sum(t => t.Bytes);

        // Every byte the ops read or write goes through HBM or the PMUs, once (rounding aside).
        var opBytes = region.Ops.Sum(o => o.Bytes);
        Assert.InRange(Bytes(fits, hbm) + Bytes(fits, sram), opBytes - region.Ops.Count, opBytes + region.Ops.Count);
        Assert.InRange(Bytes(spills, hbm) + Bytes(spills, sram), opBytes - region.Ops.Count, opBytes + region.Ops.Count);
        Assert.DoesNotContain("spilled", fits.Note);
        Assert.Contains("spilled", spills.Note);
        Assert.True(Bytes(spills, hbm) > Bytes(fits, hbm));
        // Streamed intermediates save their HBM round trips: the region moves less off chip than op by op.
        Assert.True(Bytes(fits, hbm) < region.Ops.Sum(o => o.Bytes) / 2);
    }

    [Fact]
    public void MoreBandwidthIsNeverSlower()
    {
        var gen = from seed in Gen.Choose(0, int.MaxValue)
                  from c in Devices()
                  from key in Gen.Elements(Bandwidths)
                  from f in Gen.Choose(101, 800)
                  from schedule in Gen.Elements("sequential", "dataflow", "auto")
                  select (seed, c, key, f, schedule);
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var graph = RandomGraphs.Build(x.seed);
            var slow = RduTestSupport.Model(x.c);
            var fast = RduTestSupport.Model(x.c.With((x.key, x.c.Number(x.key) * x.f / 100.0)));
            return RduTestSupport.Seconds(graph, fast, x.schedule) <= RduTestSupport.Seconds(graph, slow, x.schedule);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void MoreComputeIsNeverSlower()
    {
        var gen = from seed in Gen.Choose(0, int.MaxValue)
                  from c in Devices()
                  from f in Gen.Choose(101, 800)
                  from schedule in Gen.Elements("sequential", "dataflow", "auto")
                  select (seed, c, f, schedule);
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var graph = RandomGraphs.Build(x.seed);
            var slow = RduTestSupport.Model(x.c);
            var peaks = RduSpec.ConfigDTypes.Select(d => ($"compute.{d.Name()}.peak_flops", x.c.Number($"compute.{d.Name()}.peak_flops") * x.f / 100.0)).ToArray();
            var fast = RduTestSupport.Model(x.c.With(peaks));
            return RduTestSupport.Seconds(graph, fast, x.schedule) <= RduTestSupport.Seconds(graph, slow, x.schedule);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void NoRunBeatsItsComputeFloorAndUtilisationStaysWithinOne()
    {
        Prop.ForAll((from seed in Gen.Choose(0, int.MaxValue) from c in Devices() from s in Gen.Elements("sequential", "dataflow", "auto") select (seed, c, s)).ToArbitrary(), x =>
        {
            var graph = RandomGraphs.Build(x.seed);
            var device = RduTestSupport.Model(x.c);
            var (_, m) = RduTestSupport.Run(graph, device, x.s);
            var floor = graph.Ops.Sum(o => o.Flops / device.PeakFlops(device.ComputeDType(o)));
            return m.LatencyS >= floor * (1 - 1e-9) && m.ComputeUtilisation is >= 0 and <= 1 + 1e-9
                && m.MemoryBandwidthUtilisation is >= 0 and <= 1 + 1e-9;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void RunsAreDeterministic()
    {
        var graph = RduTestSupport.Llama("llama3-8b", Phase.Decode, 4, 1024);
        var device = RduTestSupport.Model("sn40l-8");
        foreach (var s in new[] { "sequential", "dataflow", "auto" })
        {
            var (a, ma) = RduTestSupport.Run(graph, device, s);
            var (b, mb) = RduTestSupport.Run(graph, RduTestSupport.Model("sn40l-8"), s);
            Assert.Equal(a.MakespanPs, b.MakespanPs);
            Assert.Equal(ma.Energy.TotalJ, mb.Energy.TotalJ);
            Assert.Equal(ma.Ops.Select(o => o.Note), mb.Ops.Select(o => o.Note));
        }
    }
}
