using AccelSim.Core.Network;

namespace AccelSim.Core.Tests.Support;

/// <summary>A test fabric: every rank hangs off one switch by an up-link and a down-link of one bandwidth;
/// the up-link has the latency α and the down-link none, so a send pays α once. Nodes are blocks of
/// <see cref="RanksPerNode"/> consecutive ranks, on the same switch unless a scale-out bandwidth is given: then
/// every rank also has a NIC up-link and down-link of that bandwidth to a second switch, which routes between
/// ranks of different nodes take (latency α on the NIC up-link too).</summary>
public sealed class SwitchFabric : ICommFabric
{
    private readonly int[] _up, _down, _nicUp, _nicDown;
    private readonly Dictionary<long, int> _routes = [];

    public SwitchFabric(int ranks, double bandwidth_Bps, long alphaPs, int ranksPerNode = 0, bool inNetworkReduction = false, FlowNetwork? network = null,
        double scaleOutBandwidth_Bps = 0)
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
        var nics = scaleOutBandwidth_Bps > 0 ? ranks : 0;
        _nicUp = new int[nics];
        _nicDown = new int[nics];
        for (var r = 0; r < nics; r++)
        {
            _nicUp[r] = Network.AddLink(scaleOutBandwidth_Bps, alphaPs, 1);
            _nicDown[r] = Network.AddLink(scaleOutBandwidth_Bps, 0, 1);
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
        if (_routes.TryGetValue(key, out var route)) return route;
        route = _nicUp.Length > 0 && NodeOf(from) != NodeOf(to)
            ? Network.AddRoute([_nicUp[from], _nicDown[to]])
            : Network.AddRoute([_up[from], _down[to]]);
        _routes[key] = route;
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
