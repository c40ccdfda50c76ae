using AccelSim.Core.Config;
using AccelSim.Core.Network;
using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Core.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Core.Tests;

/// <summary>Scale-out topologies beyond the fat-tree (ring, torus, rail-only) and mixed systems of node groups:
/// hop and link counts, route symmetry and caching, and a ring all-reduce on a ring against its alpha-beta form.</summary>
public class ScaleOutTopologyTests
{
    private static readonly LinkSpec NodeLink = new(400e9, 0.8, 1e-6, 20);
    private static readonly LinkSpec NicLink = new(50e9, 0.9, 2e-6, 40);
    private static readonly LinkSpec Cable = new(25e9, 0.8, 5e-7, 40);

    private static SystemSpec Spec(ScaleOutTopology topology, int devices, int nics, int nodes, int[]? dims = null, int ports = 64,
        IntraNodeFabricKind fabric = IntraNodeFabricKind.NVSwitch) =>
        new("test", new NodeSpec("h100", devices, fabric, NodeLink, InNetworkReduction: false),
            new NicSpec(nics, NicLink, RailOptimized: true),
            new ScaleOutSpec(ports, 1, 1, Cable) { Topology = topology, Dimensions = dims ?? [] }, nodes);

    private static int RingHops(int a, int b, int n) => Math.Min(((b - a) % n + n) % n, ((a - b) % n + n) % n);

    [Fact]
    public void A_ring_route_is_the_nic_ports_and_the_shorter_way_round()
    {
        const int nodes = 5;
        var f = SystemFabric.Build(Spec(ScaleOutTopology.Ring, devices: 2, nics: 2, nodes), nodes);
        // 5 x 2 devices x (up, down) switch links, 10 NICs x 2 port links, 5 routers x 2 ring links.
        Assert.Equal(20 + 20 + 10, f.Network.LinkCount);
        Assert.Null(f.ScaleOut);
        Assert.Equal([nodes], f.Torus!.Dimensions);
        for (var a = 0; a < f.Ranks; a++)
        {
            for (var b = 0; b < f.Ranks; b++)
            {
                if (f.NodeOf(a) == f.NodeOf(b)) continue;
                var links = f.Network.RouteLinks(f.Route(a, b)).ToArray();
                Assert.Equal(2 + RingHops(f.NodeOf(a), f.NodeOf(b), nodes), links.Length);
                Assert.Equal(f.NicLinks(a).Up, links[0]);
                Assert.Equal(f.NicLinks(b).Down, links[^1]);
            }
        }
        // Half way round on an even ring goes the increasing way, both ways: 0 -> 2 -> ... and 2 -> 3 -> 0.
        var even = SystemFabric.Build(Spec(ScaleOutTopology.Ring, 1, 1, 4), 4);
        Assert.Equal(even.Torus!.Link(0, 0, next: true), even.Network.RouteLinks(even.Route(0, 2))[1]);
        Assert.Equal(even.Torus.Link(2, 0, next: true), even.Network.RouteLinks(even.Route(2, 0))[1]);
    }

    private static Gen<(int[] Dims, int A, int B)> TorusPairs =>
        from three in Gen.Elements(false, true)
        from x in Gen.Choose(2, 5)
        from y in Gen.Choose(2, 5)
        from z in Gen.Choose(2, 4)
        let dims = three ? new[] { x, y, z } : new[] { x, y }
        let n = dims.Aggregate(1, (p, d) => p * d)
        from a in Gen.Choose(0, n - 1)
        from b in Gen.Choose(0, n - 1)
        where a != b
        select (dims, a, b);

    [Property(MaxTest = 100)]
    public Property A_torus_route_crosses_the_shortest_distance_in_each_dimension_both_ways() =>
        Prop.ForAll(TorusPairs.ToArbitrary(), c =>
        {
            var nodes = c.Dims.Aggregate(1, (p, d) => p * d);
            var f = SystemFabric.Build(Spec(ScaleOutTopology.Torus, 1, 1, nodes, c.Dims), nodes);
            var torus = f.Torus!;
            var want = 0;
            for (var d = 0; d < c.Dims.Length; d++) want += RingHops(torus.Coordinate(c.A, d), torus.Coordinate(c.B, d), c.Dims[d]);
            var there = f.Network.RouteLinks(f.Route(c.A, c.B)).ToArray();
            var back = f.Network.RouteLinks(f.Route(c.B, c.A)).ToArray();
            return (there.Length == 2 + want).Label($"{there.Length} links, want 2 + {want}")
                .And((back.Length == there.Length).Label("as many links back"))
                .And((torus.Hops(c.A, c.B) == want && torus.Hops(c.B, c.A) == want).Label("hops"))
                .And((there.Intersect(back).Count() == 0).Label("a route and its reverse share no one-way link"))
                .And((f.Network.LinkCount == nodes * 2 + nodes * 2 + nodes * c.Dims.Length * 2).Label($"{f.Network.LinkCount} links"));
        });

    [Fact]
    public void Dimension_order_routing_corrects_the_first_dimension_first()
    {
        var f = SystemFabric.Build(Spec(ScaleOutTopology.Torus, 1, 1, 12, [3, 4]), 12);
        var t = f.Torus!;
        // Router 0 at (0, 0) to router 7 at (1, 2): +x once, then +y twice (a tie on 4 goes the increasing way).
        Assert.Equal((1, 2), (t.Coordinate(7, 0), t.Coordinate(7, 1)));
        int[] want = [f.NicLinks(0).Up, t.Link(0, 0, true), t.Link(1, 1, true), t.Link(4, 1, true), f.NicLinks(7).Down];
        Assert.Equal(want, f.Network.RouteLinks(f.Route(0, 7)).ToArray());
        // Wrap link: router 0 to router 2 on x of size 3 goes back once.
        Assert.Equal([f.NicLinks(0).Up, t.Link(0, 0, false), f.NicLinks(2).Down], f.Network.RouteLinks(f.Route(0, 2)).ToArray());
    }

    [Fact]
    public void A_torus_needs_as_many_nodes_as_its_dimensions_hold()
    {
        var e = Assert.Throws<InputException>(() => SystemFabric.Build(Spec(ScaleOutTopology.Torus, 1, 1, 12, [3, 4]), 10));
        Assert.Equal("nodes", e.Problems[0].Path);
        Assert.Contains("3x4", e.Message);
    }

    [Fact]
    public void Rail_only_crosses_the_node_to_the_receivers_rail_and_has_no_spine()
    {
        var f = SystemFabric.Build(Spec(ScaleOutTopology.RailOnly, devices: 4, nics: 4, nodes: 3, ports: 8), 3);
        Assert.Equal(3 * 4 * 2 + 12 * 2, f.Network.LinkCount);
        // Same rail: straight through the rail switch.
        Assert.Equal([f.NicLinks(1).Up, f.NicLinks(4 + 1).Down], f.Network.RouteLinks(f.Route(1, 4 + 1)).ToArray());
        // Rail 1 to rail 3 of another node: NVSwitch to local device 3, then rail 3.
        int[] want = [f.SwitchLinks(1).Up, f.SwitchLinks(3).Down, f.NicLinks(3).Up, f.NicLinks(8 + 3).Down];
        Assert.Equal(want, f.Network.RouteLinks(f.Route(1, 8 + 3)).ToArray());
        var e = Assert.Throws<InputException>(() => SystemFabric.Build(Spec(ScaleOutTopology.RailOnly, 4, 4, 3, ports: 2), 3));
        Assert.Contains("at most 2 nodes", e.Message);
    }

    [Fact]
    public void Rail_only_over_a_direct_mesh_relays_over_the_mesh_link()
    {
        var f = SystemFabric.Build(Spec(ScaleOutTopology.RailOnly, 4, 2, 2, fabric: IntraNodeFabricKind.Direct), 2);
        // Device 0 (NIC 0) to device 3 of node 1 (NIC 1): relay on device 2, the first device of NIC 1.
        var links = f.Network.RouteLinks(f.Route(0, 4 + 3)).ToArray();
        Assert.Equal(3, links.Length);
        Assert.Equal(f.Network.RouteLinks(f.Route(0, 2))[0], links[0]);
        Assert.Equal(f.NicLinks(2).Up, links[1]);
        Assert.Equal(f.NicLinks(4 + 3).Down, links[2]);
    }

    [Fact]
    public void Routes_are_cached_and_the_same_inputs_build_the_same_routes()
    {
        static string Build()
        {
            var f = SystemFabric.Build(Spec(ScaleOutTopology.Torus, 2, 2, 8, [2, 2, 2]), 8);
            var r = f.Route(1, 14);
            var count = f.Network.RouteCount;
            Assert.Equal(r, f.Route(1, 14));
            Assert.Equal(count, f.Network.RouteCount);
            return string.Join(";", Enumerable.Range(0, f.Ranks).Where(b => b != 3).Select(b => string.Join(",", f.Network.RouteLinks(f.Route(3, b)).ToArray())));
        }
        Assert.Equal(Build(), Build());
    }

    [Theory]
    [InlineData(6, 1L << 24)]
    [InlineData(5, 3_000_000L)]
    public void A_ring_all_reduce_on_a_ring_of_nodes_meets_its_alpha_beta_form(int nodes, long bytes)
    {
        // One device per node: every ring step crosses NIC up, one ring link, NIC down; the slowest is the cable.
        var f = SystemFabric.Build(Spec(ScaleOutTopology.Ring, 1, 1, nodes), nodes);
        var kernel = new Kernel(FakeDevice.Simple(), f.Network);
        var coll = Collective.Issue(kernel, f, CollectiveKind.AllReduce, CollectiveAlgorithm.Ring, bytes);
        kernel.Run();
        var alpha = f.Network.RouteLatency(f.Route(0, 1));
        Assert.Equal(2 * NicLink.LatencyPs + Cable.LatencyPs, alpha);
        var closed = AlphaBeta.ClosedForm(CollectiveKind.AllReduce, CollectiveAlgorithm.Ring, nodes, bytes, alpha, Cable.EffectiveBandwidth_Bps);
        Assert.InRange(coll.EndPs, AlphaBeta.LowerBound(CollectiveKind.AllReduce, CollectiveAlgorithm.Ring, nodes, bytes, alpha, Cable.EffectiveBandwidth_Bps), closed * (1 + 1e-6));
    }

    private static SystemSpec Mixed(int bigDevices = 8, int smallDevices = 4) =>
        new SystemSpec("mixed", new NodeSpec("h100", bigDevices, IntraNodeFabricKind.NVSwitch, NodeLink, true), null,
            new ScaleOutSpec(8, 2, 1, Cable), Nodes: 3)
        {
            Groups =
            [
                new NodeGroupSpec("gpu", new NodeSpec("h100", bigDevices, IntraNodeFabricKind.NVSwitch, NodeLink, true), 2, new NicSpec(bigDevices, NicLink, true)),
                new NodeGroupSpec("rdu", new NodeSpec("sn40l", smallDevices, IntraNodeFabricKind.Direct, new LinkSpec(400e9, 1, 5e-7, 40), false), 1,
                    new NicSpec(2, new LinkSpec(12.5e9, 0.9, 2e-6, 40), true)),
            ],
        };

    [Fact]
    public void A_mixed_system_numbers_ranks_group_by_group_and_names_each_ranks_device()
    {
        var spec = Mixed();
        Assert.True(spec.IsMixed);
        var f = SystemFabric.Build(spec);
        Assert.Equal(20, f.Ranks);
        Assert.Equal(8, f.RanksPerNode);
        Assert.False(f.InNetworkReduction);
        Assert.Equal((16, 4), f.RanksOn(2));
        Assert.Equal([0, 1, 2], new[] { 0, 8, 19 }.Select(f.NodeOf).ToArray());
        Assert.Equal(3, f.LocalRank(19));
        Assert.Equal("h100", f.DeviceOf(15));
        Assert.Equal("sn40l", f.DeviceOf(16));
        Assert.Equal("sn40l", spec.DeviceOf(19));
        Assert.Throws<ArgumentOutOfRangeException>(() => spec.DeviceOf(20));
        Assert.Equal("h100", SystemFabric.Build(Spec(ScaleOutTopology.Ring, 2, 2, 3), 3).Spec.DeviceOf(5));
        // The RDU node's sockets: a mesh link each; its NICs (2 for 4 sockets) carry the RDU ports' own rate.
        Assert.Single(f.Network.RouteLinks(f.Route(17, 19)).ToArray());
        Assert.Equal((0, 1), (f.NicOf(17), f.NicOf(18)));
        Assert.Equal(12.5e9 * 0.9, f.Network.Bandwidth(f.NicLinks(18).Up), 3);
        Assert.Equal(50e9 * 0.9, f.Network.Bandwidth(f.NicLinks(3).Up), 3);
        var cross = f.Network.RouteLinks(f.Route(3, 18)).ToArray();
        Assert.Equal(f.NicLinks(3).Up, cross[0]);
        Assert.Equal(f.NicLinks(18).Down, cross[^1]);
        var e = Assert.Throws<InputException>(() => SystemFabric.Build(spec, 4));
        Assert.Equal("nodes", e.Problems[0].Path);
    }

    [Fact]
    public void On_uneven_nodes_a_ring_falls_back_to_one_flat_ring_and_hierarchical_refuses()
    {
        var f = SystemFabric.Build(Mixed());
        var kernel = new Kernel(FakeDevice.Simple(), f.Network);
        Assert.Equal(CollectiveAlgorithm.Ring, Collective.Choose(f, CollectiveKind.AllReduce, 1L << 30));
        var ring = Collective.Issue(kernel, f, CollectiveKind.AllReduce, CollectiveAlgorithm.Ring, 1L << 20);
        Assert.Equal(2 * 19 * 20, ring.Sends); // one ring of 20 ranks: 2(n-1) steps of n sends
        Assert.Throws<ArgumentException>(() => Collective.Issue(new Kernel(FakeDevice.Simple(), f.Network), f, CollectiveKind.AllReduce, CollectiveAlgorithm.Hierarchical, 1L << 20));
        Assert.Throws<ArgumentException>(() => Collective.Issue(new Kernel(FakeDevice.Simple(), f.Network), f, CollectiveKind.AllReduce, CollectiveAlgorithm.InNetwork, 1L << 20, [0, 1]));
        kernel.Run();
        Assert.True(ring.Done);
        // With as many ranks on every node, one ring per rail as on a homogeneous system.
        var even = SystemFabric.Build(Mixed(8, 8));
        var k2 = new Kernel(FakeDevice.Simple(), even.Network);
        var rails = Collective.Issue(k2, even, CollectiveKind.AllReduce, CollectiveAlgorithm.Hierarchical, 1L << 20);
        k2.Run();
        Assert.True(rails.Done);
    }
}
