using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Simulation;

namespace AccelSim.Core.Network;

/// <summary>A ring all-reduce over an explicit ring of routes (rank r sends to rank r+1 over
/// <c>ringRoutes[r]</c>), for networks built by hand rather than from a system: the collective library's
/// ring (<see cref="CollectiveAlgorithm.Ring"/>, docs/collectives.md) on a fabric made of those routes.
/// N ranks, the buffer cut into N parts, 2(N-1) steps; a rank sends step s+1 once its own step-s send has
/// left and the previous rank's step-s part has arrived.</summary>
public sealed class RingAllReduce
{
    private readonly Collective _collective;

    /// <param name="kernel">A kernel with a network, before its run.</param>
    /// <param name="ringRoutes">Route from rank r to rank r+1 (mod N), one per rank.</param>
    /// <param name="bytes">The buffer every rank reduces.</param>
    /// <param name="cap_Bps">Each send's own rate cap (what one rank can push), or infinity.</param>
    public RingAllReduce(Kernel kernel, IReadOnlyList<int> ringRoutes, long bytes, double cap_Bps = double.PositiveInfinity)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(ringRoutes);
        if (kernel.Network is null) throw new ArgumentException("a ring all-reduce needs a kernel with a network", nameof(kernel));
        if (ringRoutes.Count < 2) throw new ArgumentException("a ring all-reduce needs at least two ranks", nameof(ringRoutes));
        _collective = Collective.Issue(kernel, new RouteRing(kernel.Network, ringRoutes.ToArray()), CollectiveKind.AllReduce,
            CollectiveAlgorithm.Ring, bytes, cap_Bps: cap_Bps);
    }

    public int Ranks => _collective.Ranks;

    /// <summary>Sends (flows) issued so far.</summary>
    public long Flows => _collective.Flows;

    /// <summary>When the last part arrived (ps); -1 until then.</summary>
    public long EndPs => _collective.EndPs;

    /// <summary>A ring of given routes as a one-node fabric: only the route to the next rank exists.</summary>
    private sealed class RouteRing(FlowNetwork network, int[] routes) : ICommFabric
    {
        public FlowNetwork Network => network;
        public int Ranks => routes.Length;
        public int RanksPerNode => routes.Length;
        public bool InNetworkReduction => false;
        public int NodeOf(int rank) => 0;

        public int Route(int from, int to) =>
            to == (from + 1) % routes.Length ? routes[from] : throw new ArgumentException($"rank {from} has a route only to rank {(from + 1) % routes.Length}", nameof(to));
    }
}
