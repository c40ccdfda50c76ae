using AccelSim.Core.Network;
using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Simulation;
using AccelSim.Core.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Core.Tests;

public class CollectiveTests
{
    private static readonly (CollectiveKind Kind, CollectiveAlgorithm Algorithm)[] Implemented =
    [
        (CollectiveKind.AllReduce, CollectiveAlgorithm.Ring),
        (CollectiveKind.ReduceScatter, CollectiveAlgorithm.Ring),
        (CollectiveKind.AllGather, CollectiveAlgorithm.Ring),
        (CollectiveKind.Broadcast, CollectiveAlgorithm.Ring),
        (CollectiveKind.Reduce, CollectiveAlgorithm.Ring),
        (CollectiveKind.SendRecv, CollectiveAlgorithm.Ring),
        (CollectiveKind.AllReduce, CollectiveAlgorithm.Tree),
        (CollectiveKind.Broadcast, CollectiveAlgorithm.Tree),
        (CollectiveKind.Reduce, CollectiveAlgorithm.Tree),
        (CollectiveKind.AllReduce, CollectiveAlgorithm.HalvingDoubling),
        (CollectiveKind.ReduceScatter, CollectiveAlgorithm.HalvingDoubling),
        (CollectiveKind.AllGather, CollectiveAlgorithm.HalvingDoubling),
        (CollectiveKind.AllToAll, CollectiveAlgorithm.Direct),
        (CollectiveKind.AllGather, CollectiveAlgorithm.Direct),
        (CollectiveKind.ReduceScatter, CollectiveAlgorithm.Direct),
        (CollectiveKind.AllReduce, CollectiveAlgorithm.Direct),
        (CollectiveKind.Broadcast, CollectiveAlgorithm.Direct),
        (CollectiveKind.Reduce, CollectiveAlgorithm.Direct),
        (CollectiveKind.SendRecv, CollectiveAlgorithm.Direct),
        (CollectiveKind.AllReduce, CollectiveAlgorithm.Hierarchical),
        (CollectiveKind.AllReduce, CollectiveAlgorithm.InNetwork),
    ];

    public sealed record Case(CollectiveKind Kind, CollectiveAlgorithm Algorithm, int Ranks, int RanksPerNode, long Bytes, double Bandwidth_Bps, long AlphaPs)
    {
        public override string ToString() => $"{Algorithm} {Kind} n={Ranks} perNode={RanksPerNode} bytes={Bytes} bw={Bandwidth_Bps:G4} alpha={AlphaPs}ps";
    }

    private static readonly Gen<Case> Cases =
        from pick in Gen.Elements(Implemented)
        from anyN in Gen.Choose(2, 32)
        from log in Gen.Choose(1, 5)
        let n = pick.Algorithm == CollectiveAlgorithm.HalvingDoubling && pick.Kind != CollectiveKind.AllReduce ? 1 << log : anyN
        from divisor in Gen.Elements(Enumerable.Range(1, n).Where(d => n % d == 0).ToArray())
        from bytes in Gen.Frequency((1, Gen.Choose(0, 4096).Select(b => (long)b)), (3, Gen.Choose(1, 1 << 20).Select(b => b * 64L)))
        from bw in Gen.Elements(1e9, 2.5e10, 4.5e11)
        from alpha in Gen.Elements(0L, 500L, 2_000L, 1_000_000L)
        select new Case(pick.Kind, pick.Algorithm, n, pick.Algorithm == CollectiveAlgorithm.Hierarchical ? divisor : n, bytes, bw, alpha);

    private sealed record Outcome(long EndPs, long Flows, int Sends, long BytesOnWire, long UpBytes, long DownBytes);

    private static Outcome Run(Case c, double bandwidthScale = 1)
    {
        var fabric = new SwitchFabric(c.Ranks, c.Bandwidth_Bps * bandwidthScale, c.AlphaPs, c.RanksPerNode, inNetworkReduction: true);
        var kernel = new Kernel(FakeDevice.Simple(), fabric.Network);
        var coll = Collective.Issue(kernel, fabric, c.Kind, c.Algorithm, c.Bytes);
        kernel.Run();
        return new Outcome(coll.EndPs, coll.Flows, coll.Sends, coll.BytesOnWire, fabric.UpLinkBytes(), fabric.DownLinkBytes());
    }

    private static long Bound(Case c) =>
        AlphaBeta.LowerBound(c.Kind, c.Algorithm, c.Ranks, c.Bytes, c.AlphaPs, c.Bandwidth_Bps, c.RanksPerNode);

    private static double Closed(Case c) =>
        AlphaBeta.ClosedForm(c.Kind, c.Algorithm, c.Ranks, c.Bytes, c.AlphaPs, c.Bandwidth_Bps, c.RanksPerNode);

    // Every algorithm meets its closed form up to integer-picosecond rounding and byte splits; for trees the
    // closed form is an estimate from above (inner ranks take two children at once).
    private static double Slack(Case c) => c.Algorithm == CollectiveAlgorithm.Tree ? 1.0 : 1.0 + 1e-6;

    [Property(MaxTest = 300)]
    public Property Every_algorithm_takes_at_least_its_alpha_beta_bound_and_about_its_closed_form() =>
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            var o = Run(c);
            var bound = Bound(c);
            var closed = Closed(c);
            // Rounding: each send ends at most 1 ps late; splits differ from the mean by under a byte per send.
            var rounding = o.Sends * (1 + 1e12 / c.Bandwidth_Bps);
            return (o.EndPs >= bound).Label($"{c}: ends at {o.EndPs} ps, before the bound {bound} ps")
                .And((o.EndPs <= closed * Slack(c) + rounding).Label($"{c}: ends at {o.EndPs} ps, the closed form is {closed:F0} ps"));
        });

    [Property(MaxTest = 150)]
    public Property Bytes_are_conserved_every_send_is_one_flow_and_runs_repeat_exactly() =>
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            var o = Run(c);
            var again = Run(c);
            return (o.Flows == o.Sends).Label($"{c}: {o.Flows} flows for {o.Sends} sends")
                .And((o.UpBytes == o.BytesOnWire && o.DownBytes == o.BytesOnWire).Label($"{c}: links carried {o.UpBytes} up, {o.DownBytes} down, the plan {o.BytesOnWire}"))
                .And((again == o).Label($"{c}: a second run gave {again}, not {o}"));
        });

    /// <summary>Two collectives of one shape on disjoint groups (the second on the next ranks, node for node),
    /// issued with shared lowerings and without: the same ends, flows and link bytes, and one lowering shared.</summary>
    [Property(MaxTest = 100)]
    public Property Collectives_that_share_a_lowering_run_as_those_that_do_not() =>
        Prop.ForAll(Cases.Where(c => c.Algorithm != CollectiveAlgorithm.InNetwork || c.RanksPerNode == c.Ranks).ToArbitrary(), c =>
        {
            (long, long, long, long, long, long) Both(CollectivePlans? plans)
            {
                var fabric = new SwitchFabric(2 * c.Ranks, c.Bandwidth_Bps, c.AlphaPs, c.RanksPerNode, inNetworkReduction: true);
                var kernel = new Kernel(FakeDevice.Simple(), fabric.Network);
                var a = Collective.Issue(kernel, fabric, c.Kind, c.Algorithm, c.Bytes, [.. Enumerable.Range(0, c.Ranks)], plans: plans);
                var b = Collective.Issue(kernel, fabric, c.Kind, c.Algorithm, c.Bytes, [.. Enumerable.Range(c.Ranks, c.Ranks)], plans: plans);
                kernel.Run();
                return (a.EndPs, b.EndPs, a.Flows, b.Flows, fabric.UpLinkBytes(), fabric.DownLinkBytes());
            }
            var plans = new CollectivePlans();
            var shared = Both(plans);
            var alone = Both(null);
            return (shared == alone).Label($"{c}: shared lowerings gave {shared}, separate ones {alone}")
                .And((plans.Count == 1).Label($"{c}: {plans.Count} lowerings for one shape"));
        });

    [Property(MaxTest = 150)]
    public Property More_bandwidth_is_never_slower() =>
        Prop.ForAll((from c in Cases from f in DagGen.Factor select (c, f)).ToArbitrary(), x =>
        {
            var (c, factor) = x;
            var slow = Run(c).EndPs;
            var fast = Run(c, factor).EndPs;
            return (fast <= slow).Label($"{c}: {factor}x bandwidth took {fast} ps, more than {slow} ps");
        });

    [Property(MaxTest = 60)]
    public Property The_bytes_on_the_wire_are_what_each_algorithm_must_move() =>
        Prop.ForAll((from n in Gen.Choose(2, 32) from b in Gen.Choose(1, 1 << 20) select (n, (long)b)).ToArbitrary(), x =>
        {
            var (n, bytes) = x;
            long Wire(CollectiveKind kind, CollectiveAlgorithm algorithm) =>
                Run(new Case(kind, algorithm, n, n, bytes, 1e10, 1000)).BytesOnWire;
            return (Wire(CollectiveKind.AllReduce, CollectiveAlgorithm.Ring) == 2L * (n - 1) * bytes).Label("ring all-reduce: 2(n-1)·bytes")
                .And((Wire(CollectiveKind.AllGather, CollectiveAlgorithm.Ring) == (n - 1) * bytes).Label("ring all-gather: (n-1)·bytes"))
                .And((Wire(CollectiveKind.AllToAll, CollectiveAlgorithm.Direct) == (n - 1) * bytes).Label("all-to-all: (n-1)·bytes"))
                .And((Wire(CollectiveKind.AllReduce, CollectiveAlgorithm.Tree) == 2L * (n - 1) * bytes).Label("tree all-reduce: every non-root edge twice, half the buffer per tree"))
                .And((Wire(CollectiveKind.Broadcast, CollectiveAlgorithm.Ring) == (n - 1) * bytes).Label("ring broadcast: (n-1)·bytes"))
                .And((Wire(CollectiveKind.AllReduce, CollectiveAlgorithm.InNetwork) == n * bytes).Label("in-network: each rank's buffer once"));
        });

    [Theory]
    [InlineData(8, 1L << 24)]
    [InlineData(5, 1000)]
    [InlineData(32, 3L << 20)]
    public void Uncontended_times_meet_the_textbook_closed_forms(int n, long bytes)
    {
        const double bw = 2.5e10;
        const long alpha = 3_000;
        var ring = Run(new Case(CollectiveKind.AllReduce, CollectiveAlgorithm.Ring, n, n, bytes, bw, alpha)).EndPs;
        var a2a = Run(new Case(CollectiveKind.AllToAll, CollectiveAlgorithm.Direct, n, n, bytes, bw, alpha)).EndPs;
        // ring all-reduce: 2(n-1)·(α + (bytes/n)/bw); direct all-to-all: α + (n-1)/n·bytes/bw.
        Assert.InRange(ring, 2.0 * (n - 1) * (alpha + bytes / (double)n / bw * 1e12) - 2 * n, 2.0 * (n - 1) * (alpha + Math.Ceiling(bytes / (double)n) / bw * 1e12) + 2 * n);
        Assert.InRange(a2a, alpha + (n - 1.0) / n * bytes / bw * 1e12 - n, alpha + (n - 1.0) / n * bytes / bw * 1e12 + n + 1e12 / bw);
        if ((n & (n - 1)) == 0)
        {
            var hd = Run(new Case(CollectiveKind.AllReduce, CollectiveAlgorithm.HalvingDoubling, n, n, bytes, bw, alpha)).EndPs;
            var log = Math.Log2(n);
            // halving-doubling: 2·log2(n)·α + 2(n-1)/n·bytes/bw.
            Assert.InRange(hd, 2 * log * alpha + 2.0 * (n - 1) / n * bytes / bw * 1e12 - 4 * n, 2 * log * alpha + 2.0 * (n - 1) / n * bytes / bw * 1e12 + 4 * n);
        }
    }

    [Theory]
    [InlineData(CollectiveAlgorithm.Hierarchical)]
    [InlineData(CollectiveAlgorithm.Ring)]
    public void A_256_rank_all_reduce_meets_its_closed_form(CollectiveAlgorithm algorithm)
    {
        var c = new Case(CollectiveKind.AllReduce, algorithm, 256, 8, 256L << 20, 4.5e11, 1_000);
        var o = Run(c);
        Assert.Equal(o.Sends, o.Flows);
        Assert.InRange(o.EndPs, Bound(c), Closed(c) + o.Sends);
    }

    [Fact]
    public void A_ring_over_explicit_routes_matches_the_ring_on_the_fabric()
    {
        const int n = 12;
        const long bytes = 12L << 20;
        var fabric = new SwitchFabric(n, 5e10, 1_500);
        var kernel = new Kernel(FakeDevice.Simple(), fabric.Network);
        var coll = Collective.Issue(kernel, fabric, CollectiveKind.AllReduce, CollectiveAlgorithm.Ring, bytes);
        kernel.Run();
        var other = new SwitchFabric(n, 5e10, 1_500);
        var kernel2 = new Kernel(FakeDevice.Simple(), other.Network);
        var ring = new RingAllReduce(kernel2, Enumerable.Range(0, n).Select(r => other.Route(r, (r + 1) % n)).ToArray(), bytes);
        kernel2.Run();
        Assert.Equal(ring.EndPs, coll.EndPs);
        Assert.Equal(ring.Flows, coll.Flows);
    }

    [Theory]
    [InlineData(CollectiveKind.AllReduce, CollectiveAlgorithm.Ring)]
    [InlineData(CollectiveKind.AllReduce, CollectiveAlgorithm.Tree)]
    [InlineData(CollectiveKind.AllToAll, CollectiveAlgorithm.Direct)]
    [InlineData(CollectiveKind.AllGather, CollectiveAlgorithm.HalvingDoubling)]
    public void Two_collectives_on_the_same_links_are_slower_than_one_alone(CollectiveKind kind, CollectiveAlgorithm algorithm)
    {
        const int n = 8;
        long Alone()
        {
            var fabric = new SwitchFabric(n, 1e10, 1_000);
            var kernel = new Kernel(FakeDevice.Simple(), fabric.Network);
            var c = Collective.Issue(kernel, fabric, kind, algorithm, 8L << 20);
            kernel.Run();
            return c.EndPs;
        }
        var shared = new SwitchFabric(n, 1e10, 1_000);
        var k = new Kernel(FakeDevice.Simple(), shared.Network);
        var a = Collective.Issue(k, shared, kind, algorithm, 8L << 20);
        var b = Collective.Issue(k, shared, kind, algorithm, 8L << 20, ranks: [3, 1, 4, 0, 5, 2, 6, 7]);
        k.Run();
        var alone = Alone();
        Assert.True(a.EndPs > alone * 1.3, $"{a.EndPs} ps sharing, {alone} ps alone");
        Assert.True(b.EndPs > alone * 1.3, $"{b.EndPs} ps sharing, {alone} ps alone");
    }

    /// <summary>Compute (2 us on engine 0), then a deferred all-reduce, then compute that waits for it.</summary>
    private sealed class Step(Collective? coll) : KernelProcess
    {
        public Collective? Coll { get; set; } = coll;
        public int Before = -1, After = -1;

        protected override void OnStart(Kernel kernel)
        {
            Before = kernel.NewTask(this, 0, 0, 2_000_000);
            kernel.Ready(Before);
            After = kernel.NewTask(this, 0, 0, 1_000_000, prerequisites: 1);
            Coll!.SignalWhenDone(After);
        }

        protected override void OnTaskEnd(Kernel kernel, int task)
        {
            if (task == Before) Coll!.Start();
        }
    }

    [Fact]
    public void Compute_chains_before_and_after_a_deferred_collective()
    {
        var fabric = new SwitchFabric(4, 1e10, 1_000);
        var kernel = new Kernel(FakeDevice.Simple(), fabric.Network);
        var coll = Collective.Issue(kernel, fabric, CollectiveKind.AllReduce, CollectiveAlgorithm.Ring, 4L << 20, deferred: true);
        var done = -1L;
        coll.OnDone = c => done = c.EndPs;
        var step = new Step(coll);
        kernel.Attach(step);
        kernel.Run();
        Assert.Equal(kernel.Times(step.Before).EndPs, coll.StartPs);
        Assert.True(coll.DurationPs >= AlphaBeta.LowerBound(CollectiveKind.AllReduce, CollectiveAlgorithm.Ring, 4, 4L << 20, 1_000, 1e10));
        Assert.Equal(coll.EndPs, done);
        Assert.Equal(coll.EndPs, kernel.Times(step.After).ReadyPs);
        Assert.Equal(coll.EndPs + 1_000_000, kernel.Times(step.After).EndPs);
    }

    [Fact]
    public void The_default_follows_the_documented_rule()
    {
        var node = new SwitchFabric(8, 1e11, 1000, inNetworkReduction: true);
        var plain = new SwitchFabric(8, 1e11, 1000);
        var cluster = new SwitchFabric(16, 1e11, 1000, ranksPerNode: 4);
        Assert.Equal(CollectiveAlgorithm.InNetwork, Collective.Choose(node, CollectiveKind.AllReduce, 64L << 20));
        Assert.Equal(CollectiveAlgorithm.Tree, Collective.Choose(node, CollectiveKind.AllReduce, 4096));
        Assert.Equal(CollectiveAlgorithm.Ring, Collective.Choose(plain, CollectiveKind.AllReduce, 64L << 20));
        Assert.Equal(CollectiveAlgorithm.Ring, Collective.Choose(cluster, CollectiveKind.AllReduce, 64L << 20));
        Assert.Equal(CollectiveAlgorithm.Ring, Collective.Choose(cluster, CollectiveKind.AllReduce, 64L << 20, ranks: [0, 4, 8, 12]));
        Assert.Equal(CollectiveAlgorithm.Tree, Collective.Choose(cluster, CollectiveKind.Broadcast, 1024));
        Assert.Equal(CollectiveAlgorithm.Ring, Collective.Choose(cluster, CollectiveKind.AllGather, 1024));
        Assert.Equal(CollectiveAlgorithm.Direct, Collective.Choose(cluster, CollectiveKind.AllToAll, 64L << 20));
        Assert.Equal(CollectiveAlgorithm.Direct, Collective.Choose(cluster, CollectiveKind.SendRecv, 64L << 20));
        var tuned = new CollectiveOptions { TreeMaxBytes = 0 };
        Assert.Equal(CollectiveAlgorithm.Ring, Collective.Choose(plain, CollectiveKind.AllReduce, 4096, options: tuned));
        // What the default picks runs.
        var kernel = new Kernel(FakeDevice.Simple(), cluster.Network);
        var c = Collective.Issue(kernel, cluster, CollectiveKind.AllReduce, CollectiveAlgorithm.Default, 64L << 20);
        kernel.Run();
        Assert.Equal(CollectiveAlgorithm.Ring, c.Algorithm);
        Assert.True(c.Done);
    }

    [Fact]
    public void Across_nodes_rings_run_one_per_rail_and_are_bound_by_the_scale_out_links()
    {
        // 4 nodes of 8 ranks; 450 GB/s inside a node, 50 GB/s per rank (one NIC rail each) across nodes.
        const int n = 32;
        const long bytes = 256L << 20;
        (long End, CollectiveAlgorithm Algorithm, long Sends) AllReduce(CollectiveAlgorithm algorithm)
        {
            var fabric = new SwitchFabric(n, 4.5e11, 1_000, ranksPerNode: 8, scaleOutBandwidth_Bps: 5e10);
            var kernel = new Kernel(FakeDevice.Simple(), fabric.Network);
            var c = Collective.Issue(kernel, fabric, CollectiveKind.AllReduce, algorithm, bytes);
            kernel.Run();
            return (c.EndPs, c.Algorithm, c.Sends);
        }
        var (ring, chosen, sends) = AllReduce(CollectiveAlgorithm.Default);
        var (hier, _, _) = AllReduce(CollectiveAlgorithm.Hierarchical);
        Assert.Equal(CollectiveAlgorithm.Ring, chosen);
        Assert.Equal(8L * n * 2 * (n - 1), sends); // 8 rings of 2(n-1) steps
        // Each ring carries 1/8 of the buffer; per step a rail moves one chunk of bytes/8/n: the rings are held
        // to the scale-out rate, 2(n-1) steps of (α + bytes/8/n / 50 GB/s), a little more for the NIC hop's α.
        var nicBound = 2 * (n - 1) * (bytes / 8.0 / n / 5e10 * 1e12);
        Assert.InRange(ring, nicBound, 1.1 * nicBound + 2 * (n - 1) * 3_000);
        // The hierarchy runs its phases one after another: 2(L-1)(α + B/8/450 GB/s) + 2(G-1)(α + B/32/50 GB/s).
        var expected = 2 * 7 * (1_000 + bytes / 8 / 4.5e11 * 1e12) + 2 * 3 * (1_000 + bytes / 32 / 5e10 * 1e12);
        Assert.InRange(hier, expected - 1_000, expected + 1_000);
        Assert.True(ring < hier, $"rings {ring} ps, hierarchical {hier} ps");
    }

    [Fact]
    public void In_network_all_reduce_beats_the_ring_in_bus_bandwidth()
    {
        const int n = 8;
        const long bytes = 256L << 20;
        const double bw = 4.5e11;
        double Bus(CollectiveAlgorithm algorithm)
        {
            var fabric = new SwitchFabric(n, bw, 1000, inNetworkReduction: true);
            var kernel = new Kernel(FakeDevice.Simple(), fabric.Network);
            var c = Collective.Issue(kernel, fabric, CollectiveKind.AllReduce, algorithm, bytes);
            kernel.Run();
            return c.BusBandwidth_Bps;
        }
        // A ring's bus bandwidth approaches the link rate; in-network, the algorithm bandwidth does.
        Assert.InRange(Bus(CollectiveAlgorithm.Ring), 0.99 * bw, bw);
        Assert.InRange(Bus(CollectiveAlgorithm.InNetwork), 0.99 * bw * 2 * (n - 1) / n, bw * 2 * (n - 1) / n);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(19)]
    [InlineData(32)]
    public void Bus_bandwidths_on_one_switch(int n)
    {
        const double bw = 2.5e10;
        double Bus(CollectiveAlgorithm algorithm)
        {
            var fabric = new SwitchFabric(n, bw, 2_000);
            var kernel = new Kernel(FakeDevice.Simple(), fabric.Network);
            var c = Collective.Issue(kernel, fabric, CollectiveKind.AllReduce, algorithm, 64L << 20);
            kernel.Run();
            return c.BusBandwidth_Bps / bw;
        }
        // Ring, direct and (power-of-two) halving-doubling keep every link busy; the double binary tree's
        // inner ranks exchange with two children at once and its 8-chunk pipeline fills and drains.
        Assert.InRange(Bus(CollectiveAlgorithm.Ring), 0.999, 1.0);
        Assert.InRange(Bus(CollectiveAlgorithm.Direct), 0.999, 1.0);
        if ((n & (n - 1)) == 0) Assert.InRange(Bus(CollectiveAlgorithm.HalvingDoubling), 0.999, 1.0);
        else Assert.InRange(Bus(CollectiveAlgorithm.HalvingDoubling), 0.4, 0.6); // the extra ranks' whole-buffer round trip
        Assert.InRange(Bus(CollectiveAlgorithm.Tree), 0.70, 0.78);
    }

    [Fact]
    public void Bus_bandwidth_uses_the_nccl_tests_factors()
    {
        Assert.Equal(2.0 * 7 / 8, CollectiveBandwidth.BusFactor(CollectiveKind.AllReduce, 8));
        Assert.Equal(7.0 / 8, CollectiveBandwidth.BusFactor(CollectiveKind.ReduceScatter, 8));
        Assert.Equal(7.0 / 8, CollectiveBandwidth.BusFactor(CollectiveKind.AllGather, 8));
        Assert.Equal(7.0 / 8, CollectiveBandwidth.BusFactor(CollectiveKind.AllToAll, 8));
        Assert.Equal(1.0, CollectiveBandwidth.BusFactor(CollectiveKind.Broadcast, 8));
        Assert.Equal(1.0, CollectiveBandwidth.BusFactor(CollectiveKind.Reduce, 8));
        Assert.Equal(1.0, CollectiveBandwidth.BusFactor(CollectiveKind.SendRecv, 8));
        Assert.Equal(1e9, CollectiveBandwidth.Algorithm_Bps(1000, 1_000_000), 6);
        Assert.Equal(1.75e9, CollectiveBandwidth.Bus_Bps(CollectiveKind.AllReduce, 8, 1000, 1_000_000), 6);
    }

    [Fact]
    public void A_group_of_one_is_done_at_once_and_misuse_is_refused()
    {
        var fabric = new SwitchFabric(6, 1e10, 1000, ranksPerNode: 3);
        var kernel = new Kernel(FakeDevice.Simple(), fabric.Network);
        var one = Collective.Issue(kernel, fabric, CollectiveKind.AllReduce, CollectiveAlgorithm.Ring, 1 << 20, ranks: [2]);
        Assert.Throws<ArgumentException>(() => Collective.Issue(kernel, fabric, CollectiveKind.AllToAll, CollectiveAlgorithm.Ring, 1));
        Assert.Throws<ArgumentException>(() => Collective.Issue(kernel, fabric, CollectiveKind.AllReduce, CollectiveAlgorithm.InNetwork, 1));
        Assert.Throws<ArgumentException>(() => Collective.Issue(kernel, fabric, CollectiveKind.AllGather, CollectiveAlgorithm.HalvingDoubling, 1));
        Assert.Throws<ArgumentException>(() => Collective.Issue(kernel, fabric, CollectiveKind.AllReduce, CollectiveAlgorithm.Hierarchical, 1, ranks: [0, 1, 3]));
        Assert.Throws<ArgumentException>(() => Collective.Issue(kernel, fabric, CollectiveKind.AllReduce, CollectiveAlgorithm.Ring, 1, ranks: [0, 0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Collective.Issue(kernel, fabric, CollectiveKind.AllReduce, CollectiveAlgorithm.Ring, 1, ranks: [0, 6]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Collective.Issue(kernel, fabric, CollectiveKind.AllReduce, CollectiveAlgorithm.Ring, -1));
        kernel.Run();
        Assert.Equal(0, one.EndPs);
        Assert.Equal(0, one.Flows);
        Assert.Throws<InvalidOperationException>(() => one.Start());
    }
}
