namespace AccelSim.Core.Systems;

/// <summary>How the devices of one node reach each other.</summary>
public enum IntraNodeFabricKind
{
    /// <summary>A switch (NVSwitch): every device has one link up to it and one down from it.</summary>
    NVSwitch,

    /// <summary>A PCIe switch: built like <see cref="NVSwitch"/> (one link each way per device).</summary>
    Pcie,

    /// <summary>A full mesh of point-to-point links: each device's bandwidth is split evenly over its
    /// links to the other devices of the node.</summary>
    Direct,
}

/// <summary>One kind of link: line rate per direction, the fraction of it that carries payload, latency
/// and energy per byte. Every figure comes from a system file, with its source.</summary>
/// <param name="Bandwidth_Bps">Line rate per direction (B/s).</param>
/// <param name="Efficiency">Fraction of the line rate left for payload (protocol headers, flow control), in (0, 1].</param>
/// <param name="Latency_s">One-way latency of the link (s).</param>
/// <param name="Energy_pJ_per_byte">Energy of one byte crossing the link (pJ).</param>
public sealed record LinkSpec(double Bandwidth_Bps, double Efficiency, double Latency_s, double Energy_pJ_per_byte)
{
    /// <summary>The payload rate a flow can get on the link: line rate × efficiency.</summary>
    public double EffectiveBandwidth_Bps => Bandwidth_Bps * Efficiency;

    /// <summary>The latency in integer picoseconds.</summary>
    public long LatencyPs => Time.Ps.FromSeconds(Latency_s);
}

/// <summary>A node: <paramref name="Devices"/> devices of one hardware config and the fabric between them.</summary>
/// <param name="Device">The hardware config name of the devices (configs/hardware).</param>
/// <param name="Devices">Devices per node.</param>
/// <param name="Fabric">Kind of intra-node fabric.</param>
/// <param name="Link">Per device and direction: the link between a device and the node's switch (or, for
/// <see cref="IntraNodeFabricKind.Direct"/>, a device's total over its mesh links).</param>
/// <param name="InNetworkReduction">Whether the switch reduces in the network (NVLink SHARP / NVLS).</param>
public sealed record NodeSpec(string Device, int Devices, IntraNodeFabricKind Fabric, LinkSpec Link, bool InNetworkReduction)
{
    /// <summary>How fast the switch reduces what one device sends up for an in-network all-reduce, per device port
    /// (bytes per second of that device's buffer): each rank's part of an in-network all-reduce moves at most this
    /// fast, whatever its link could carry. Unlimited (the links alone set the rate) when the config gives none.</summary>
    public double InNetworkReduction_Bps { get; init; } = double.PositiveInfinity;
}

/// <summary>The scale-out NICs of a node.</summary>
/// <param name="Count">NICs per node.</param>
/// <param name="Link">One NIC's port (per direction): the cable between the NIC and its leaf switch.</param>
/// <param name="RailOptimized">NIC i of every node hangs off the rail-i leaves, so NIC i of nearby nodes share
/// a leaf; otherwise a node's NICs share a leaf.</param>
public sealed record NicSpec(int Count, LinkSpec Link, bool RailOptimized);

/// <summary>The shape of the scale-out network.</summary>
public enum ScaleOutTopology
{
    /// <summary>A two-level fat-tree (leaf-spine) between the NICs of all nodes.</summary>
    FatTree,

    /// <summary>One switch per rail and nothing above: NIC i of every node on the rail-i switch. A flow to
    /// another rail first crosses the node's own fabric to the device of the receiver's rail (Wang et al.,
    /// "How to build low-cost networks for large language models (without sacrificing performance)", 2023).</summary>
    RailOnly,

    /// <summary>The nodes in a ring: each node's router has a link each way to both neighbours; a flow takes
    /// the shorter way round (ties go the increasing way).</summary>
    Ring,

    /// <summary>The nodes on a 2-D or 3-D torus of <see cref="ScaleOutSpec.Dimensions"/>, with wrap links;
    /// dimension-order routing (first dimension first), each dimension the shorter way round.</summary>
    Torus,
}

/// <summary>The network between nodes: a two-level fat-tree by default (<see cref="Topology"/>).</summary>
/// <param name="EndpointsPerLeaf">NIC ports per leaf switch (fat-tree), or per rail switch (rail-only).</param>
/// <param name="Spines">Spine switches; every leaf has uplinks to every spine (fat-tree only).</param>
/// <param name="Oversubscription">A leaf's downlink bandwidth over its uplink bandwidth (1 = non-blocking; fat-tree only).</param>
/// <param name="Link">One leaf-spine cable, or for a ring or torus one link between neighbouring nodes (per direction).</param>
public sealed record ScaleOutSpec(int EndpointsPerLeaf, int Spines, double Oversubscription, LinkSpec Link)
{
    /// <summary>The shape: fat-tree unless said otherwise.</summary>
    public ScaleOutTopology Topology { get; init; } = ScaleOutTopology.FatTree;

    /// <summary>A torus's size in each dimension (2 or 3 entries, each at least 2; their product is the node
    /// count); empty for other topologies.</summary>
    public IReadOnlyList<int> Dimensions { get; init; } = [];

    /// <summary>The capacity between one leaf and one spine, each way: the leaf's uplink ports
    /// (<see cref="EndpointsPerLeaf"/> / <see cref="Oversubscription"/>) spread over the spines, each
    /// port at the cable's effective rate.</summary>
    public double LeafSpineBandwidth_Bps => EndpointsPerLeaf / Oversubscription / Spines * Link.EffectiveBandwidth_Bps;
}

/// <summary>Alike nodes of a system: <paramref name="Count"/> nodes of <paramref name="Node"/>, each with
/// <paramref name="Nics"/> (null when the system spans one node).</summary>
/// <param name="Name">The group's name ("h100", "sn40l").</param>
/// <param name="Node">Each node of the group.</param>
/// <param name="Count">Nodes in the group.</param>
/// <param name="Nics">The NICs of each node of the group.</param>
public sealed record NodeGroupSpec(string Name, NodeSpec Node, int Count, NicSpec? Nics);

/// <summary>A system: nodes of devices, their intra-node fabric, NICs and the scale-out network
/// (configs/systems/*.json; docs/systems.md).</summary>
/// <param name="Name">The system's name.</param>
/// <param name="Node">One node (every node alike).</param>
/// <param name="Nics">The NICs of a node; null for a system that never spans nodes.</param>
/// <param name="ScaleOut">The network between nodes; null for a system that never spans nodes.</param>
/// <param name="Nodes">The default number of nodes.</param>
/// <param name="File">The file it was read from (for error messages); null when built in code.</param>
public sealed record SystemSpec(string Name, NodeSpec Node, NicSpec? Nics, ScaleOutSpec? ScaleOut, int Nodes, string? File = null)
{
    private readonly IReadOnlyList<NodeGroupSpec>? _groups;

    /// <summary>The system's nodes as groups of alike nodes, in rank order: ranks are numbered group by group,
    /// node by node. A homogeneous system is one group (<see cref="Node"/> × <see cref="Nodes"/> with
    /// <see cref="Nics"/>). A mixed system (<c>node_groups</c> in its file) sets several; then <see cref="Node"/>
    /// and <see cref="Nics"/> are the first group's and <see cref="Nodes"/> is the sum of the counts.</summary>
    public IReadOnlyList<NodeGroupSpec> Groups
    {
        get => _groups ?? [new NodeGroupSpec("node", Node, Nodes, Nics)];
        init => _groups = value is { Count: > 0 } ? value : null;
    }

    /// <summary>The hardware config name of rank <paramref name="rank"/>'s device (ranks numbered group by
    /// group; a homogeneous system's every rank, for any node count, is <see cref="NodeSpec.Device"/>).</summary>
    public string DeviceOf(int rank)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        if (_groups is null) return Node.Device;
        var first = 0L;
        foreach (var g in _groups)
        {
            var end = first + (long)g.Count * g.Node.Devices;
            if (rank < end) return g.Node.Device;
            first = end;
        }
        throw new ArgumentOutOfRangeException(nameof(rank), $"system '{Name}' has ranks 0..{first - 1}, got {rank}");
    }

    /// <summary>Whether the system has node groups of its own (<c>node_groups</c>); its node count is then fixed.</summary>
    public bool IsMixed => _groups is not null;

    /// <summary>The file it was read from, with its hash, for a report's provenance (role <c>system</c>); empty when built in code.</summary>
    public IReadOnlyList<Config.ConfigFileInfo> Files { get; init; } = [];

    /// <summary>The provenance tag of each numeric field (JSON path to tag), from the file's <c>provenance</c> object.</summary>
    public IReadOnlyDictionary<string, Config.ParameterSource> Tags { get; init; } = new Dictionary<string, Config.ParameterSource>();
}
