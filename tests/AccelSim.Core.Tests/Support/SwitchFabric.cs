using AccelSim.Core.Network;

namespace AccelSim.Core.Tests.Support;

/// <summary>A test fabric: every rank hangs off one switch by an up-link and a down-link of one bandwidth;
/// the up-link has the latency α and the down-link none, so a send pays α once. Nodes are blocks of
/// <see cref="RanksPerNode"/> consecutive ranks (on the same switch: no slower scale-out).</summary>
public sealed class SwitchFabric : ICommFabric
{
    private readonly int[] _up, _down;
    private readonly Dictionary<long, int> _routes = [];

    public SwitchFabric(int ranks, double bandwidth_Bps, long alphaPs, int ranksPerNode = 0, bool inNetworkReduction = false, FlowNetwork? network = null)
    {
        Network = network ?? new FlowNetwork();
        Ranks = ranks;
        RanksPerNode = ranksPerNode <= 0 ? ranks : ranksPerNode;
        InNetworkReduction = inNetworkReduction;
        _up = new int[ranks];
        _down = new int[ranks];
        for (var r = 0; r < ranks; r++)
        {
            _up[r] = Network.AddLink(bandwidth_Bps, alphaPs, 1);
            _down[r] = Network.AddLink(bandwidth_Bps, 0, 1);
        }
    }

    public FlowNetwork Network { get; }
    public int Ranks { get; }
    public int RanksPerNode { get; }
    public bool InNetworkReduction { get; }
    public int NodeOf(int rank) => rank / RanksPerNode;

    public int Route(int from, int to)
    {
        var key = (long)from * Ranks + to;
        if (!_routes.TryGetValue(key, out var route)) _routes[key] = route = Network.AddRoute([_up[from], _down[to]]);
        return route;
    }

    /// <summary>Bytes that crossed every up-link (each send crosses exactly one).</summary>
    public long UpLinkBytes()
    {
        long sum = 0;
        foreach (var l in _up) sum += Network.LinkBytes(l);
        return sum;
    }

    public long DownLinkBytes()
    {
        long sum = 0;
        foreach (var l in _down) sum += Network.LinkBytes(l);
        return sum;
    }
}
