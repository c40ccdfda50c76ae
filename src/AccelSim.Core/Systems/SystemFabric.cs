using AccelSim.Core.Config;
using AccelSim.Core.Network;

namespace AccelSim.Core.Systems;

/// <summary>The links and routes of a system (<see cref="SystemSpec"/>) on a <see cref="FlowNetwork"/>:
/// what a collective lowers onto. Rank r is device r % <see cref="RanksPerNode"/> of node
/// r / <see cref="RanksPerNode"/>.
///
/// <para>Links (one-way; a full-duplex cable is two): inside a node with a switch (NVSwitch, PCIe switch)
/// each device has an uplink to the switch and a downlink from it, at the node link's effective rate
/// (line rate × efficiency), so an intra-node route is [up(src), down(dst)] and the switch itself never
/// limits. With a direct mesh each ordered pair of a node's devices has one link at the device's rate
/// divided by (devices − 1), and the route is that link. Across nodes each device sends through its NIC
/// (device i uses NIC i × NICs / devices; with as many NICs as devices, NIC i serves device i): the NICs
/// are the endpoints of a two-level fat-tree (<see cref="FatTree"/>), whose endpoint links are the NIC
/// ports and whose leaf-spine links carry a leaf's uplink ports (ports per leaf / oversubscription)
/// spread over the spines. An inter-node route is [NIC up, leaf→spine, spine→leaf, NIC down], without the
/// leaf-spine pair when both NICs share a leaf. The device-to-NIC hop (PCIe, GPUDirect RDMA) is not a link:
/// it is faster than the NIC in every bundled system; its latency is part of the NIC's.</para>
///
/// <para>NIC placement: rail-optimized, NIC i of every node hangs off the rail-i leaves (each rail starts
/// a leaf of its own; the unused ports of a rail's last leaf are endpoints nobody uses); otherwise a
/// node's NICs sit side by side and share a leaf. One node builds no scale-out links at all.</para>
///
/// <para>Routes are registered on first use and cached; the same inputs build the same links and routes
/// in the same order.</para></summary>
public sealed class SystemFabric : ICommFabric
{
    private readonly int[] _up = [], _down = [];
    private readonly int[] _mesh = []; // node * d * d + i * d + j -> link (direct mesh)
    private readonly Dictionary<long, int> _routes = [];
    private readonly int _railStride;

    private SystemFabric(SystemSpec spec, int nodes, FlowNetwork net)
    {
        Spec = spec;
        Nodes = nodes;
        Network = net;
        var d = spec.Node.Devices;
        RanksPerNode = d;
        Ranks = checked(nodes * d);
        var link = spec.Node.Link;
        if (spec.Node.Fabric == IntraNodeFabricKind.Direct)
        {
            _mesh = new int[nodes * d * d];
            Array.Fill(_mesh, -1);
            var perPair = d > 1 ? link.EffectiveBandwidth_Bps / (d - 1) : link.EffectiveBandwidth_Bps;
            for (var n = 0; n < nodes; n++)
            {
                for (var i = 0; i < d; i++)
                {
                    for (var j = 0; j < d; j++)
                    {
                        if (i != j) _mesh[(n * d + i) * d + j] = net.AddLink(perPair, link.LatencyPs, link.Energy_pJ_per_byte);
                    }
                }
            }
        }
        else
        {
            _up = new int[Ranks];
            _down = new int[Ranks];
            for (var r = 0; r < Ranks; r++)
            {
                _up[r] = net.AddLink(link.EffectiveBandwidth_Bps, link.LatencyPs, link.Energy_pJ_per_byte);
                _down[r] = net.AddLink(link.EffectiveBandwidth_Bps, link.LatencyPs, link.Energy_pJ_per_byte);
            }
        }
        if (nodes > 1)
        {
            var nics = spec.Nics!;
            var so = spec.ScaleOut!;
            int endpoints;
            if (nics.RailOptimized)
            {
                _railStride = (nodes + so.EndpointsPerLeaf - 1) / so.EndpointsPerLeaf * so.EndpointsPerLeaf;
                endpoints = checked(_railStride * nics.Count);
            }
            else
            {
                endpoints = checked(nodes * nics.Count);
            }
            ScaleOut = FatTree.Build(net, endpoints, so.EndpointsPerLeaf, so.Spines,
                new LinkFigures(nics.Link.EffectiveBandwidth_Bps, nics.Link.LatencyPs, nics.Link.Energy_pJ_per_byte),
                new LinkFigures(so.LeafSpineBandwidth_Bps, so.Link.LatencyPs, so.Link.Energy_pJ_per_byte));
        }
    }

    /// <summary>Builds <paramref name="spec"/> with <paramref name="nodes"/> nodes (the spec's default when
    /// null) on <paramref name="network"/> (a new one when null). More than one node needs the spec's NICs
    /// and scale-out network; a bad node count is an <see cref="InputException"/> naming <c>nodes</c>.</summary>
    public static SystemFabric Build(SystemSpec spec, int? nodes = null, FlowNetwork? network = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var n = nodes ?? spec.Nodes;
        if (n < 1) throw new InputException(spec.File, "nodes", $"expected at least one node, got {n}");
        if (n > 1 && (spec.Nics is null || spec.ScaleOut is null))
            throw new InputException(spec.File, "nodes", $"system '{spec.Name}' has no {(spec.Nics is null ? "nics" : "scale_out")} section, so it cannot span {n} nodes");
        if ((long)n * spec.Node.Devices > int.MaxValue / 2)
            throw new InputException(spec.File, "nodes", $"{n} nodes of {spec.Node.Devices} devices are more ranks than a fabric holds");
        return new SystemFabric(spec, n, network ?? new FlowNetwork());
    }

    public SystemSpec Spec { get; }

    /// <summary>Nodes in this fabric.</summary>
    public int Nodes { get; }

    public FlowNetwork Network { get; }

    public int Ranks { get; }

    public int RanksPerNode { get; }

    public bool InNetworkReduction => Spec.Node.InNetworkReduction;

    /// <summary>The scale-out fat-tree; null with one node.</summary>
    public FatTree? ScaleOut { get; }

    public int NodeOf(int rank)
    {
        CheckRank(rank, nameof(rank));
        return rank / RanksPerNode;
    }

    /// <summary>The device index of <paramref name="rank"/> within its node.</summary>
    public int LocalRank(int rank)
    {
        CheckRank(rank, nameof(rank));
        return rank % RanksPerNode;
    }

    /// <summary>The index (within its node) of the NIC <paramref name="rank"/> sends through.</summary>
    public int NicOf(int rank) => Spec.Nics is null ? throw new InvalidOperationException($"system '{Spec.Name}' has no NICs")
        : (int)((long)LocalRank(rank) * Spec.Nics.Count / RanksPerNode);

    /// <summary>The fat-tree endpoint of <paramref name="rank"/>'s NIC (with more than one node).</summary>
    public int EndpointOf(int rank)
    {
        if (ScaleOut is null) throw new InvalidOperationException("a fabric of one node has no scale-out network");
        int node = NodeOf(rank), nic = NicOf(rank);
        return Spec.Nics!.RailOptimized ? nic * _railStride + node : node * Spec.Nics.Count + nic;
    }

    /// <summary>Rank <paramref name="rank"/>'s uplink to and downlink from its node's switch (switch fabrics only).</summary>
    public (int Up, int Down) SwitchLinks(int rank)
    {
        CheckRank(rank, nameof(rank));
        if (Spec.Node.Fabric == IntraNodeFabricKind.Direct) throw new InvalidOperationException("a direct mesh has no switch links");
        return (_up[rank], _down[rank]);
    }

    /// <summary>The NIC port links (to and from its leaf) of <paramref name="rank"/>'s NIC.</summary>
    public (int Up, int Down) NicLinks(int rank) => ScaleOut!.EndpointLinks(EndpointOf(rank));

    public int Route(int from, int to)
    {
        CheckRank(from, nameof(from));
        CheckRank(to, nameof(to));
        if (from == to) throw new ArgumentException("a route joins two different ranks", nameof(to));
        var key = (long)from * Ranks + to;
        if (_routes.TryGetValue(key, out var route)) return route;
        int nf = from / RanksPerNode, nt = to / RanksPerNode;
        if (nf != nt)
        {
            route = ScaleOut!.Route(EndpointOf(from), EndpointOf(to));
        }
        else if (Spec.Node.Fabric == IntraNodeFabricKind.Direct)
        {
            int d = RanksPerNode, i = from % d, j = to % d;
            route = Network.AddRoute([_mesh[(nf * d + i) * d + j]]);
        }
        else
        {
            route = Network.AddRoute([_up[from], _down[to]]);
        }
        _routes[key] = route;
        return route;
    }

    /// <summary>The routes of a ring over <paramref name="ranks"/> in the given order: rank i to rank i+1 (mod n).</summary>
    public int[] RingRoutes(IReadOnlyList<int> ranks)
    {
        ArgumentNullException.ThrowIfNull(ranks);
        var routes = new int[ranks.Count];
        for (var i = 0; i < ranks.Count; i++) routes[i] = Route(ranks[i], ranks[(i + 1) % ranks.Count]);
        return routes;
    }

    private void CheckRank(int rank, string name)
    {
        if ((uint)rank >= (uint)Ranks) throw new ArgumentOutOfRangeException(name, $"ranks are 0..{Ranks - 1}, got {rank}");
    }
}
