using AccelSim.Core.Config;
using AccelSim.Core.Network;

namespace AccelSim.Core.Systems;

/// <summary>The links and routes of a system (<see cref="SystemSpec"/>) on a <see cref="FlowNetwork"/>:
/// what a collective lowers onto. Ranks are numbered node by node (group by group in a mixed system): rank r
/// is device <see cref="LocalRank"/> of node <see cref="NodeOf"/>; in a homogeneous system that is
/// r % <see cref="RanksPerNode"/> of node r / <see cref="RanksPerNode"/>.
///
/// <para>Links (one-way; a full-duplex cable is two): inside a node with a switch (NVSwitch, PCIe switch)
/// each device has an uplink to the switch and a downlink from it, at the node link's effective rate
/// (line rate × efficiency), so an intra-node route is [up(src), down(dst)] and the switch itself never
/// limits. With a direct mesh each ordered pair of a node's devices has one link at the device's rate
/// divided by (devices − 1), and the route is that link. Across nodes each device sends through its NIC
/// (device i uses NIC i × NICs / devices; with as many NICs as devices, NIC i serves device i). The
/// device-to-NIC hop (PCIe, GPUDirect RDMA) is not a link: it is faster than the NIC in every bundled system;
/// its latency is part of the NIC's.</para>
///
/// <para>Scale-out (<see cref="ScaleOutTopology"/>): a fat-tree's endpoints are the NIC ports
/// (<see cref="FatTree"/>), whose leaf-spine links carry a leaf's uplink ports (ports per leaf /
/// oversubscription) spread over the spines; an inter-node route is [NIC up, leaf→spine, spine→leaf, NIC down],
/// without the leaf-spine pair when both NICs share a leaf. Rail-optimized, NIC i of every node hangs off the
/// rail-i leaves (each rail starts a leaf of its own); otherwise a node's NICs sit side by side and share a
/// leaf. Rail-only: one switch per rail, no spines; a route to another rail first crosses the sender's node
/// to its device on the receiver's rail, then [NIC up, NIC down]. Ring and torus: each node is a router
/// (<see cref="Torus"/>), a NIC port's links go to and from its node's router, and a route is
/// [NIC up, router hops by dimension-order routing, NIC down]. One node builds no scale-out links at all.</para>
///
/// <para>Mixed systems: node groups of different devices and NICs share one scale-out network; NIC ports take
/// their own group's figures. <see cref="RanksPerNode"/> is then the largest node's device count, and
/// collectives that need as many ranks on every node (hierarchical; one ring per rail) refuse or fall back to a
/// flat ring (docs/collectives.md).</para>
///
/// <para>Routes are registered on first use and cached; the same inputs build the same links and routes
/// in the same order.</para></summary>
public sealed class SystemFabric : ICommFabric
{
    private readonly NodeGroupSpec[] _nodeGroup;     // node -> its group
    private readonly int[] _firstRank;               // node -> its first rank; [Nodes] = Ranks
    private readonly int[] _nicBase;                 // node -> its first NIC (global NIC index); [Nodes] = all NICs
    private readonly int[] _rankNode;
    private readonly int[] _up = [], _down = [];     // rank -> switch links (-1 in a direct mesh)
    private readonly int[] _meshBase = [];           // node -> first mesh link (-1 for a switch node)
    private readonly int[] _nicUp = [], _nicDown = []; // global NIC -> port links (rail-only, ring, torus)
    private readonly Dictionary<long, int> _routes = [];
    private readonly int _railStride;
    private readonly bool _railOptimized; // the fat-tree's NIC placement, from the first group's NICs

    private SystemFabric(SystemSpec spec, int nodes, FlowNetwork net)
    {
        Spec = spec;
        Nodes = nodes;
        Network = net;
        var groups = spec.IsMixed ? spec.Groups : [spec.Groups[0] with { Count = nodes }];
        _nodeGroup = new NodeGroupSpec[nodes];
        _firstRank = new int[nodes + 1];
        _nicBase = new int[nodes + 1];
        var node = 0;
        var inNetwork = true;
        foreach (var g in groups)
        {
            inNetwork &= g.Node.InNetworkReduction;
            RanksPerNode = Math.Max(RanksPerNode, g.Node.Devices);
            for (var k = 0; k < g.Count; k++, node++)
            {
                _nodeGroup[node] = g;
                _firstRank[node + 1] = checked(_firstRank[node] + g.Node.Devices);
                _nicBase[node + 1] = _nicBase[node] + (g.Nics?.Count ?? 0);
            }
        }
        InNetworkReduction = inNetwork;
        Ranks = _firstRank[nodes];
        _rankNode = new int[Ranks];
        for (var n = 0; n < nodes; n++)
            for (var r = _firstRank[n]; r < _firstRank[n + 1]; r++) _rankNode[r] = n;

        // Intra-node links, node by node.
        _up = new int[Ranks];
        _down = new int[Ranks];
        _meshBase = new int[nodes];
        for (var n = 0; n < nodes; n++)
        {
            var ns = _nodeGroup[n].Node;
            var link = ns.Link;
            var d = ns.Devices;
            if (ns.Fabric == IntraNodeFabricKind.Direct)
            {
                _meshBase[n] = -1;
                var perPair = d > 1 ? link.EffectiveBandwidth_Bps / (d - 1) : link.EffectiveBandwidth_Bps;
                for (var i = 0; i < d; i++)
                {
                    _up[_firstRank[n] + i] = _down[_firstRank[n] + i] = -1;
                    for (var j = 0; j < d; j++)
                    {
                        if (i == j) continue;
                        var id = net.AddLink(perPair, link.LatencyPs, link.Energy_pJ_per_byte);
                        if (_meshBase[n] < 0) _meshBase[n] = id;
                    }
                }
            }
            else
            {
                _meshBase[n] = -1;
                for (var r = _firstRank[n]; r < _firstRank[n + 1]; r++)
                {
                    _up[r] = net.AddLink(link.EffectiveBandwidth_Bps, link.LatencyPs, link.Energy_pJ_per_byte);
                    _down[r] = net.AddLink(link.EffectiveBandwidth_Bps, link.LatencyPs, link.Energy_pJ_per_byte);
                }
            }
        }
        if (nodes == 1) return;

        var so = spec.ScaleOut!;
        LinkFigures Port(NodeGroupSpec g) => new(g.Nics!.Link.EffectiveBandwidth_Bps, g.Nics.Link.LatencyPs, g.Nics.Link.Energy_pJ_per_byte);
        if (so.Topology == ScaleOutTopology.FatTree)
        {
            var rail = _railOptimized = groups[0].Nics!.RailOptimized;
            var maxNics = groups.Max(g => g.Nics!.Count);
            int endpoints;
            if (rail)
            {
                _railStride = (nodes + so.EndpointsPerLeaf - 1) / so.EndpointsPerLeaf * so.EndpointsPerLeaf;
                endpoints = checked(_railStride * maxNics);
            }
            else
            {
                endpoints = _nicBase[nodes];
            }
            ScaleOut = FatTree.BuildPerEndpoint(net, endpoints, so.EndpointsPerLeaf, so.Spines, e => Port(EndpointGroup(e, rail, groups[0])),
                new LinkFigures(so.LeafSpineBandwidth_Bps, so.Link.LatencyPs, so.Link.Energy_pJ_per_byte));
            return;
        }
        _nicUp = new int[_nicBase[nodes]];
        _nicDown = new int[_nicBase[nodes]];
        for (var n = 0; n < nodes; n++)
        {
            var port = Port(_nodeGroup[n]);
            for (var e = _nicBase[n]; e < _nicBase[n + 1]; e++)
            {
                _nicUp[e] = net.AddLink(port.Bandwidth_Bps, port.LatencyPs, port.Energy_pJ_per_byte);
                _nicDown[e] = net.AddLink(port.Bandwidth_Bps, port.LatencyPs, port.Energy_pJ_per_byte);
            }
        }
        if (so.Topology is ScaleOutTopology.Ring or ScaleOutTopology.Torus)
        {
            Torus = AccelSim.Core.Network.Torus.Build(net, so.Topology == ScaleOutTopology.Ring ? [nodes] : so.Dimensions,
                new LinkFigures(so.Link.EffectiveBandwidth_Bps, so.Link.LatencyPs, so.Link.Energy_pJ_per_byte));
        }
    }

    private NodeGroupSpec EndpointGroup(int endpoint, bool rail, NodeGroupSpec fallback)
    {
        if (!rail)
        {
            for (var n = 0; n < Nodes; n++) if (endpoint < _nicBase[n + 1]) return _nodeGroup[n];
            return fallback;
        }
        var node = endpoint % _railStride;
        return node < Nodes ? _nodeGroup[node] : fallback;
    }

    /// <summary>Builds <paramref name="spec"/> with <paramref name="nodes"/> nodes (the spec's default when
    /// null) on <paramref name="network"/> (a new one when null). More than one node needs the spec's NICs
    /// and scale-out network; a mixed system's node count is its groups'; a torus needs as many nodes as its
    /// dimensions give. A bad node count is an <see cref="InputException"/> naming <c>nodes</c>.</summary>
    public static SystemFabric Build(SystemSpec spec, int? nodes = null, FlowNetwork? network = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var n = nodes ?? spec.Nodes;
        if (n < 1) throw new InputException(spec.File, "nodes", $"expected at least one node, got {n}");
        if (spec.IsMixed && n != spec.Nodes)
            throw new InputException(spec.File, "nodes", $"system '{spec.Name}' is made of node groups ({string.Join(", ", spec.Groups.Select(g => $"{g.Count}x {g.Name}"))}), {spec.Nodes} nodes in all; it cannot be built with {n}");
        if (n > 1 && spec.Groups.Any(g => g.Nics is null) || n > 1 && spec.ScaleOut is null)
            throw new InputException(spec.File, "nodes", $"system '{spec.Name}' has no {(spec.ScaleOut is null ? "scale_out" : "nics")} section, so it cannot span {n} nodes");
        var ranks = spec.IsMixed ? spec.Groups.Sum(g => (long)g.Count * g.Node.Devices) : (long)n * spec.Node.Devices;
        if (ranks > int.MaxValue / 2)
            throw new InputException(spec.File, "nodes", $"{n} nodes of {spec.Node.Devices} devices are more ranks than a fabric holds");
        if (n > 1 && spec.ScaleOut!.Topology == ScaleOutTopology.Torus)
        {
            var product = spec.ScaleOut.Dimensions.Aggregate(1L, (a, d) => a * d);
            if (product != n)
                throw new InputException(spec.File, "nodes", $"a torus of {string.Join("x", spec.ScaleOut.Dimensions)} holds {product} nodes, got {n}");
        }
        if (n > 1 && spec.ScaleOut!.Topology == ScaleOutTopology.RailOnly)
        {
            if (n > spec.ScaleOut.EndpointsPerLeaf)
                throw new InputException(spec.File, "nodes", $"a rail-only network of {spec.ScaleOut.EndpointsPerLeaf}-port rail switches joins at most {spec.ScaleOut.EndpointsPerLeaf} nodes, got {n}");
            if (spec.Groups.Select(g => g.Nics!.Count).Distinct().Count() > 1)
                throw new InputException(spec.File, "scale_out.topology", "a rail-only network needs as many NICs (rails) on every node");
        }
        return new SystemFabric(spec, n, network ?? new FlowNetwork());
    }

    public SystemSpec Spec { get; }

    /// <summary>Nodes in this fabric.</summary>
    public int Nodes { get; }

    public FlowNetwork Network { get; }

    public int Ranks { get; }

    /// <summary>Devices per node; in a mixed system of uneven nodes, the largest node's (<see cref="RanksOn"/> gives each node's).</summary>
    public int RanksPerNode { get; }

    /// <summary>Whether every node's switch reduces in the network (in a mixed system, all must).</summary>
    public bool InNetworkReduction { get; }

    /// <inheritdoc/>
    public double InNetworkReductionRate_Bps(int node) => _nodeGroup[node].Node.InNetworkReduction_Bps;

    /// <summary>The scale-out fat-tree; null with one node or another topology.</summary>
    public FatTree? ScaleOut { get; }

    /// <summary>The scale-out ring or torus of node routers; null with one node or another topology.</summary>
    public Torus? Torus { get; }

    public int NodeOf(int rank)
    {
        CheckRank(rank, nameof(rank));
        return _rankNode[rank];
    }

    /// <summary>The device index of <paramref name="rank"/> within its node.</summary>
    public int LocalRank(int rank)
    {
        CheckRank(rank, nameof(rank));
        return rank - _firstRank[_rankNode[rank]];
    }

    /// <summary>The ranks of node <paramref name="node"/>: its first rank and how many.</summary>
    public (int First, int Count) RanksOn(int node)
    {
        if ((uint)node >= (uint)Nodes) throw new ArgumentOutOfRangeException(nameof(node), $"nodes are 0..{Nodes - 1}, got {node}");
        return (_firstRank[node], _firstRank[node + 1] - _firstRank[node]);
    }

    /// <summary>The node group <paramref name="rank"/> belongs to.</summary>
    public NodeGroupSpec GroupOf(int rank) => _nodeGroup[NodeOf(rank)];

    /// <summary>The hardware config name of <paramref name="rank"/>'s device (configs/hardware, or a file path).</summary>
    public string DeviceOf(int rank) => GroupOf(rank).Node.Device;

    /// <inheritdoc/>
    public bool IsMesh(int node) => _nodeGroup[node].Node.Fabric == IntraNodeFabricKind.Direct;

    /// <summary>The index (within its node) of the NIC <paramref name="rank"/> sends through.</summary>
    public int NicOf(int rank)
    {
        var g = GroupOf(rank);
        return g.Nics is null ? throw new InvalidOperationException($"system '{Spec.Name}' has no NICs")
            : (int)((long)LocalRank(rank) * g.Nics.Count / g.Node.Devices);
    }

    /// <summary>The fat-tree endpoint of <paramref name="rank"/>'s NIC (with more than one node).</summary>
    public int EndpointOf(int rank)
    {
        if (ScaleOut is null) throw new InvalidOperationException("only a fat-tree scale-out network has endpoints");
        int node = NodeOf(rank), nic = NicOf(rank);
        return _railOptimized ? nic * _railStride + node : _nicBase[node] + nic;
    }

    /// <summary>Rank <paramref name="rank"/>'s uplink to and downlink from its node's switch (switch fabrics only).</summary>
    public (int Up, int Down) SwitchLinks(int rank)
    {
        CheckRank(rank, nameof(rank));
        if (_up[rank] < 0) throw new InvalidOperationException("a direct mesh has no switch links");
        return (_up[rank], _down[rank]);
    }

    /// <summary>The NIC port links (to and from its leaf, rail switch or node router) of <paramref name="rank"/>'s NIC.</summary>
    public (int Up, int Down) NicLinks(int rank)
    {
        if (ScaleOut is not null) return ScaleOut.EndpointLinks(EndpointOf(rank));
        if (_nicUp.Length == 0) throw new InvalidOperationException("a fabric of one node has no scale-out network");
        var nic = _nicBase[NodeOf(rank)] + NicOf(rank);
        return (_nicUp[nic], _nicDown[nic]);
    }

    public int Route(int from, int to)
    {
        CheckRank(from, nameof(from));
        CheckRank(to, nameof(to));
        if (from == to) throw new ArgumentException("a route joins two different ranks", nameof(to));
        var key = (long)from * Ranks + to;
        if (_routes.TryGetValue(key, out var route)) return route;
        int nf = _rankNode[from], nt = _rankNode[to];
        if (nf == nt) route = Network.AddRoute(IntraLinks(from, to));
        else if (ScaleOut is not null) route = ScaleOut.Route(EndpointOf(from), EndpointOf(to));
        else route = Network.AddRoute(InterLinks(from, to));
        _routes[key] = route;
        return route;
    }

    private int[] IntraLinks(int from, int to)
    {
        var n = _rankNode[from];
        if (_up[from] >= 0) return [_up[from], _down[to]];
        int d = _firstRank[n + 1] - _firstRank[n], i = from - _firstRank[n], j = to - _firstRank[n];
        return [_meshBase[n] + i * (d - 1) + (j < i ? j : j - 1)];
    }

    private int[] InterLinks(int from, int to)
    {
        var links = new List<int>();
        var so = Spec.ScaleOut!.Topology;
        var sender = from;
        if (so == ScaleOutTopology.RailOnly)
        {
            // Cross the sender's node to its device on the receiver's rail (the first device using that NIC).
            var nf = _rankNode[from];
            var g = _nodeGroup[nf];
            var rail = NicOf(to);
            var relay = _firstRank[nf] + (int)(((long)rail * g.Node.Devices + g.Nics!.Count - 1) / g.Nics.Count);
            if (relay != from) links.AddRange(IntraLinks(from, relay));
            sender = relay;
        }
        links.Add(NicLinks(sender).Up);
        if (Torus is not null) links.AddRange(Torus.Path(_rankNode[from], _rankNode[to]));
        links.Add(NicLinks(to).Down);
        return links.ToArray();
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
