namespace AccelSim.Core.Network;

/// <summary>The ranks of a system and the routes between them on a <see cref="FlowNetwork"/>: what a
/// collective needs to lower itself into flows. Rank r is a device; ranks of one node share its
/// intra-node fabric (NVLink/NVSwitch, a PCIe switch, socket links); ranks of different nodes cross the
/// scale-out network. A route is registered on <see cref="Network"/> once and reused.</summary>
public interface ICommFabric
{
    /// <summary>The network the routes are on.</summary>
    FlowNetwork Network { get; }

    /// <summary>Ranks (devices) in the system.</summary>
    int Ranks { get; }

    /// <summary>Ranks per node when every node is alike; on uneven nodes (a mixed system) the largest node's count.
    /// Collectives group ranks by <see cref="NodeOf"/>, never by this figure.</summary>
    int RanksPerNode { get; }

    /// <summary>The node rank <paramref name="rank"/> sits in.</summary>
    int NodeOf(int rank);

    /// <summary>The route from rank <paramref name="from"/> to rank <paramref name="to"/> (different ranks).</summary>
    int Route(int from, int to);

    /// <summary>Whether the intra-node fabric reduces in the switch (NVLink SHARP / NVLS, InfiniBand SHARP),
    /// so an in-network all-reduce is possible inside a node.</summary>
    bool InNetworkReduction { get; }

    /// <summary>How fast the switch of node <paramref name="node"/> reduces what one device sends up for an
    /// in-network all-reduce (bytes per second per device port); unlimited when the links alone set the rate.</summary>
    double InNetworkReductionRate_Bps(int node) => double.PositiveInfinity;

    /// <summary>Whether the devices of node <paramref name="node"/> are joined by a full mesh of point-to-point
    /// links (each device's bandwidth split over its links to the others), so that sending to every peer at
    /// once uses all of a device's links where a ring uses one.</summary>
    bool IsMesh(int node) => false;
}
