using AccelSim.Core.Config;
using AccelSim.Core.Network;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Core.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Core.Tests;

/// <summary>The links and routes a system description builds: which links each route crosses, NIC
/// placement, oversubscription, and the laws (more nodes never lengthen an intra-node route, the same
/// inputs build the same fabric).</summary>
public class SystemFabricTests
{
    private static SystemSpec Spec(int devices = 8, int nics = 8, bool rail = true, int perLeaf = 4, int spines = 2,
        double oversubscription = 1, IntraNodeFabricKind fabric = IntraNodeFabricKind.NVSwitch, bool withNics = true) =>
        new("test", new NodeSpec("h100", devices, fabric, new LinkSpec(400e9, 0.8, 1e-6, 20), InNetworkReduction: true),
            withNics ? new NicSpec(nics, new LinkSpec(50e9, 0.9, 2e-6, 40), rail) : null,
            withNics ? new ScaleOutSpec(perLeaf, spines, oversubscription, new LinkSpec(50e9, 0.9, 5e-7, 40)) : null,
            Nodes: 1);

    private static Gen<(int Nodes, int Devices, int Nics, bool Rail, int From, int To)> Pairs(bool sameNode) =>
        from nodes in Gen.Choose(sameNode ? 1 : 2, 6)
        from devices in Gen.Choose(2, 8)
        from nics in Gen.Choose(1, devices)
        from rail in Gen.Elements(true, false)
        from a in Gen.Choose(0, nodes * devices - 1)
        from b in Gen.Choose(0, nodes * devices - 1)
        let dst = sameNode ? (a / devices) * devices + (a % devices + 1 + b % (devices - 1)) % devices : b
        where a != dst && (sameNode ? a / devices == dst / devices : a / devices != dst / devices)
        select (nodes, devices, nics, rail, a, dst);

    [Property(MaxTest = 100)]
    public Property An_intra_node_route_crosses_exactly_the_senders_uplink_and_the_receivers_downlink() =>
        Prop.ForAll(Pairs(sameNode: true).ToArbitrary(), c =>
        {
            var fabric = SystemFabric.Build(Spec(c.Devices, c.Nics, c.Rail), c.Nodes);
            var links = fabric.Network.RouteLinks(fabric.Route(c.From, c.To)).ToArray();
            int[] want = [fabric.SwitchLinks(c.From).Up, fabric.SwitchLinks(c.To).Down];
            return links.SequenceEqual(want).Label($"links [{string.Join(",", links)}], want [{string.Join(",", want)}]")
                .And((fabric.Network.Bandwidth(links[0]) == 400e9 * 0.8).Label("switch link at line rate x efficiency"))
                .And((fabric.Network.RouteLatency(fabric.Route(c.From, c.To)) == 2_000_000).Label("two 1 us links"));
        });

    [Property(MaxTest = 100)]
    public Property An_inter_node_route_leaves_by_the_senders_nic_and_arrives_by_the_receivers() =>
        Prop.ForAll(Pairs(sameNode: false).ToArbitrary(), c =>
        {
            var fabric = SystemFabric.Build(Spec(c.Devices, c.Nics, c.Rail), c.Nodes);
            var links = fabric.Network.RouteLinks(fabric.Route(c.From, c.To)).ToArray();
            var tree = fabric.ScaleOut!;
            int ef = fabric.EndpointOf(c.From), et = fabric.EndpointOf(c.To);
            var sameLeaf = tree.LeafOf(ef) == tree.LeafOf(et);
            var switchLinks = Enumerable.Range(0, fabric.Ranks).SelectMany(r => new[] { fabric.SwitchLinks(r).Up, fabric.SwitchLinks(r).Down }).ToHashSet();
            return (links[0] == fabric.NicLinks(c.From).Up).Label("first link is the sender's NIC port")
                .And((links[^1] == fabric.NicLinks(c.To).Down).Label("last link is the receiver's NIC port"))
                .And((links.Length == (sameLeaf ? 2 : 4)).Label($"{links.Length} links, same leaf {sameLeaf}"))
                .And(links.All(l => !switchLinks.Contains(l)).Label("no NVSwitch link on an inter-node route"))
                .And((fabric.NicOf(c.From) == c.From % c.Devices * c.Nics / c.Devices).Label("device i uses NIC i x nics / devices"));
        });

    [Property(MaxTest = 60)]
    public Property More_nodes_never_make_an_intra_node_route_longer() =>
        Prop.ForAll((
                from devices in Gen.Choose(2, 8)
                from nodes in Gen.Choose(1, 5)
                from more in Gen.Choose(1, 5)
                from i in Gen.Choose(0, devices - 1)
                from j in Gen.Choose(0, devices - 1)
                from direct in Gen.Elements(true, false)
                where i != j
                select (devices, nodes, more, i, j, direct)).ToArbitrary(),
            c =>
            {
                var kind = c.direct ? IntraNodeFabricKind.Direct : IntraNodeFabricKind.NVSwitch;
                var small = SystemFabric.Build(Spec(c.devices, fabric: kind), c.nodes);
                var large = SystemFabric.Build(Spec(c.devices, fabric: kind), c.nodes + c.more);
                var rs = small.Route(c.i, c.j);
                // The same pair in the last node of the larger system.
                var offset = (c.nodes + c.more - 1) * c.devices;
                var rl = large.Route(offset + c.i, offset + c.j);
                return (large.Network.RouteLinks(rl).Length <= small.Network.RouteLinks(rs).Length).Label("hops")
                    .And((large.Network.RouteLatency(rl) <= small.Network.RouteLatency(rs)).Label("latency"));
            });

    [Fact]
    public void The_same_inputs_build_the_same_links_and_routes()
    {
        static (int Links, string Routes) Build()
        {
            var f = SystemFabric.Build(Spec(perLeaf: 3, spines: 3), 5);
            var routes = new List<string>();
            for (var a = 0; a < f.Ranks; a += 3)
            {
                for (var b = 0; b < f.Ranks; b += 5)
                {
                    if (a != b) routes.Add(string.Join(",", f.Network.RouteLinks(f.Route(a, b)).ToArray()));
                }
            }
            return (f.Network.LinkCount, string.Join(";", routes));
        }
        Assert.Equal(Build(), Build());
    }

    [Fact]
    public void Routes_are_registered_once()
    {
        var f = SystemFabric.Build(Spec(), 2);
        var r = f.Route(3, 12);
        var count = f.Network.RouteCount;
        Assert.Equal(r, f.Route(3, 12));
        Assert.Equal(count, f.Network.RouteCount);
    }

    [Fact]
    public void One_node_builds_no_scale_out_links()
    {
        var f = SystemFabric.Build(Spec(), 1);
        Assert.Null(f.ScaleOut);
        Assert.Equal(16, f.Network.LinkCount);
        Assert.Equal(8, f.Ranks);
        Assert.True(f.InNetworkReduction);
    }

    [Fact]
    public void Rail_optimized_nics_of_one_rail_share_a_leaf_and_otherwise_a_nodes_nics_do()
    {
        var rail = SystemFabric.Build(Spec(perLeaf: 8), 4);
        var tree = rail.ScaleOut!;
        // Device 2 of every node on the rail-2 leaf; devices 2 and 3 of node 0 on different leaves.
        Assert.All(Enumerable.Range(0, 4), n => Assert.Equal(tree.LeafOf(rail.EndpointOf(2)), tree.LeafOf(rail.EndpointOf(n * 8 + 2))));
        Assert.NotEqual(tree.LeafOf(rail.EndpointOf(2)), tree.LeafOf(rail.EndpointOf(3)));
        Assert.Equal(2, rail.Network.RouteLinks(rail.Route(2, 8 + 2)).Length);
        Assert.Equal(4, rail.Network.RouteLinks(rail.Route(2, 8 + 3)).Length);

        var flat = SystemFabric.Build(Spec(perLeaf: 8, rail: false), 4);
        var t2 = flat.ScaleOut!;
        Assert.All(Enumerable.Range(0, 8), d => Assert.Equal(t2.LeafOf(flat.EndpointOf(0)), t2.LeafOf(flat.EndpointOf(d))));
        Assert.NotEqual(t2.LeafOf(flat.EndpointOf(0)), t2.LeafOf(flat.EndpointOf(8)));
    }

    [Fact]
    public void Oversubscription_divides_the_leaf_spine_capacity()
    {
        static double LeafSpine(double over)
        {
            var f = SystemFabric.Build(Spec(perLeaf: 4, spines: 2, oversubscription: over), 2);
            var links = f.Network.RouteLinks(f.Route(0, 8 + 1)).ToArray(); // rail 0 to rail 1: across leaves
            Assert.Equal(4, links.Length);
            return f.Network.Bandwidth(links[1]);
        }
        // 4 ports per leaf at 45 GB/s over 2 spines: 90 GB/s per leaf-spine pair; half at 2:1.
        Assert.Equal(4 * 50e9 * 0.9 / 2, LeafSpine(1), 6);
        Assert.Equal(4 * 50e9 * 0.9 / 2 / 2, LeafSpine(2), 6);
    }

    [Fact]
    public void A_direct_mesh_splits_a_devices_bandwidth_over_its_peers()
    {
        var f = SystemFabric.Build(Spec(devices: 4, fabric: IntraNodeFabricKind.Direct), 2);
        var links = f.Network.RouteLinks(f.Route(1, 3)).ToArray();
        Assert.Single(links);
        Assert.Equal(400e9 * 0.8 / 3, f.Network.Bandwidth(links[0]), 6);
        Assert.NotEqual(links[0], f.Network.RouteLinks(f.Route(3, 1))[0]);
        Assert.Throws<InvalidOperationException>(() => f.SwitchLinks(0));
    }

    [Fact]
    public void More_than_one_node_without_a_scale_out_network_is_an_input_error()
    {
        var e = Assert.Throws<InputException>(() => SystemFabric.Build(Spec(withNics: false), 2));
        Assert.Equal("nodes", e.Problems[0].Path);
        Assert.Throws<InputException>(() => SystemFabric.Build(Spec(), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SystemFabric.Build(Spec(), 1).Route(0, 8));
        Assert.Throws<ArgumentException>(() => SystemFabric.Build(Spec(), 1).Route(2, 2));
    }

    [Theory]
    [InlineData(1, 2_000_000L, 320e9)]        // intra-node: two 1 us switch links at 400 GB/s x 0.8
    [InlineData(9, 5_000_000L, 45e9)]         // rail 0 to rail 1 of the next node: NIC, leaf-spine, spine-leaf, NIC
    [InlineData(8, 4_000_000L, 45e9)]         // rail 0 to rail 0: both NICs on one leaf
    public void One_flow_takes_its_routes_latency_plus_bytes_over_its_slowest_link(int to, long latencyPs, double bottleneck_Bps)
    {
        var f = SystemFabric.Build(Spec(perLeaf: 4, spines: 2), 2);
        var route = f.Route(0, to);
        Assert.Equal(latencyPs, f.Network.RouteLatency(route));
        const long bytes = 90_000_000;
        f.Network.Start(route, bytes, double.PositiveInfinity, 0);
        long end = 0;
        while (f.Network.NextEventTime != long.MaxValue)
        {
            end = f.Network.NextEventTime;
            f.Network.AdvanceTo(end);
        }
        var fluid = (long)Math.Ceiling(bytes / bottleneck_Bps * 1e12);
        Assert.InRange(end, latencyPs + fluid - 1, latencyPs + fluid + 1);
    }

    [Fact]
    public void A_ring_over_one_node_runs_at_the_switch_links_effective_rate()
    {
        // Every send has its own uplink and downlink: busbw = 2(n-1)/n x bytes / time = link rate, up to latency.
        var f = SystemFabric.Build(Spec(), 1);
        var kernel = new Kernel(FakeDevice.Simple(), f.Network);
        const long bytes = 1L << 30;
        var ring = new RingAllReduce(kernel, f.RingRoutes(Enumerable.Range(0, 8).ToArray()), bytes);
        kernel.Run();
        var busbw = 2.0 * 7 / 8 * bytes / (ring.EndPs * 1e-12);
        Assert.InRange(busbw, 0.97 * 320e9, 320e9);
    }

    [Theory]
    [InlineData(100e9, 100e9)]                      // the switch's reduction is slower than the links: it sets the rate
    [InlineData(double.PositiveInfinity, 320e9)]    // no rate given: the links' effective 320 GB/s do
    [InlineData(1e12, 320e9)]                       // a faster switch than the links changes nothing
    public void An_in_network_all_reduce_moves_at_the_slower_of_the_links_and_the_switchs_reduction(double reduce_Bps, double algbw_Bps)
    {
        var spec = Spec();
        var f = SystemFabric.Build(spec with { Node = spec.Node with { InNetworkReduction_Bps = reduce_Bps } }, 1);
        var kernel = new Kernel(FakeDevice.Simple(), f.Network);
        const long bytes = 1L << 30;
        var c = AccelSim.Core.Network.Collectives.Collective.Issue(kernel, f, AccelSim.Core.Network.Collectives.CollectiveKind.AllReduce,
            AccelSim.Core.Network.Collectives.CollectiveAlgorithm.InNetwork, bytes);
        kernel.Run();
        Assert.InRange(bytes / (c.EndPs * 1e-12), 0.99 * algbw_Bps, algbw_Bps);
    }
}
