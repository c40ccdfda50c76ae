namespace AccelSim.Core.Network;

/// <summary>A link's figures: bandwidth, latency and the energy of a byte crossing it.</summary>
public readonly record struct LinkFigures(double Bandwidth_Bps, long LatencyPs, double Energy_pJ_per_byte);

/// <summary>A two-level fat-tree (leaf-spine) on a <see cref="FlowNetwork"/>: endpoints hang off leaf
/// switches, <see cref="EndpointsPerLeaf"/> each, and every leaf has one uplink to every spine. Links
/// are one-way (a full-duplex cable is two links). A route between endpoints of one leaf crosses the
/// sender's uplink and the receiver's downlink; across leaves it also climbs to a spine and down, the
/// spine chosen by a hash of both ends (ECMP), so the same pair always takes the same path.
///
/// <para>The builder adds links and routes; it holds no figures of its own: the caller passes the links'
/// bandwidth, latency and energy (from a system description).</para></summary>
public sealed class FatTree
{
    private readonly FlowNetwork _net;
    private readonly int[] _up, _down, _leafUp, _leafDown;
    private readonly Dictionary<long, int> _routes = [];

    private FatTree(FlowNetwork net, int endpoints, int perLeaf, int spines, int[] up, int[] down, int[] leafUp, int[] leafDown)
    {
        _net = net;
        Endpoints = endpoints;
        EndpointsPerLeaf = perLeaf;
        Spines = spines;
        _up = up;
        _down = down;
        _leafUp = leafUp;
        _leafDown = leafDown;
    }

    public int Endpoints { get; }
    public int EndpointsPerLeaf { get; }
    public int Leaves => (Endpoints + EndpointsPerLeaf - 1) / EndpointsPerLeaf;
    public int Spines { get; }

    /// <summary>Adds the fat-tree's links to <paramref name="net"/>: an uplink and a downlink per endpoint
    /// (<paramref name="endpointLink"/>), and one link each way between every leaf and every spine
    /// (<paramref name="fabricLink"/>).</summary>
    public static FatTree Build(FlowNetwork net, int endpoints, int endpointsPerLeaf, int spines, LinkFigures endpointLink, LinkFigures fabricLink) =>
        BuildPerEndpoint(net, endpoints, endpointsPerLeaf, spines, _ => endpointLink, fabricLink);

    /// <summary>As the other overload, with each endpoint's port figures given by <paramref name="endpointLink"/>
    /// (endpoint index to figures): NICs of different kinds on one network.</summary>
    public static FatTree BuildPerEndpoint(FlowNetwork net, int endpoints, int endpointsPerLeaf, int spines, Func<int, LinkFigures> endpointLink, LinkFigures fabricLink)
    {
        ArgumentNullException.ThrowIfNull(endpointLink);
        ArgumentNullException.ThrowIfNull(net);
        if (endpoints < 1) throw new ArgumentOutOfRangeException(nameof(endpoints), "a fat-tree needs at least one endpoint");
        if (endpointsPerLeaf < 1) throw new ArgumentOutOfRangeException(nameof(endpointsPerLeaf), "a leaf holds at least one endpoint");
        if (spines < 1) throw new ArgumentOutOfRangeException(nameof(spines), "a fat-tree needs at least one spine");
        var up = new int[endpoints];
        var down = new int[endpoints];
        for (var e = 0; e < endpoints; e++)
        {
            var port = endpointLink(e);
            up[e] = net.AddLink(port.Bandwidth_Bps, port.LatencyPs, port.Energy_pJ_per_byte);
            down[e] = net.AddLink(port.Bandwidth_Bps, port.LatencyPs, port.Energy_pJ_per_byte);
        }
        var leaves = (endpoints + endpointsPerLeaf - 1) / endpointsPerLeaf;
        var leafUp = new int[leaves * spines];
        var leafDown = new int[leaves * spines];
        for (var i = 0; i < leaves * spines; i++)
        {
            leafUp[i] = net.AddLink(fabricLink.Bandwidth_Bps, fabricLink.LatencyPs, fabricLink.Energy_pJ_per_byte);
            leafDown[i] = net.AddLink(fabricLink.Bandwidth_Bps, fabricLink.LatencyPs, fabricLink.Energy_pJ_per_byte);
        }
        return new FatTree(net, endpoints, endpointsPerLeaf, spines, up, down, leafUp, leafDown);
    }

    /// <summary>The leaf of endpoint <paramref name="endpoint"/>.</summary>
    public int LeafOf(int endpoint) => endpoint / EndpointsPerLeaf;

    /// <summary>The spine a flow from <paramref name="from"/> to <paramref name="to"/> crosses (when they
    /// sit on different leaves).</summary>
    public int SpineOf(int from, int to) => (int)(((uint)from * 2654435761u ^ (uint)to * 40503u) % (uint)Spines);

    /// <summary>The route from <paramref name="from"/> to <paramref name="to"/> (added on first use).</summary>
    public int Route(int from, int to)
    {
        if ((uint)from >= (uint)Endpoints || (uint)to >= (uint)Endpoints) throw new ArgumentOutOfRangeException(nameof(to), $"endpoints are 0..{Endpoints - 1}");
        if (from == to) throw new ArgumentException("a route joins two different endpoints", nameof(to));
        var key = (long)from * Endpoints + to;
        if (_routes.TryGetValue(key, out var route)) return route;
        int ls = LeafOf(from), ld = LeafOf(to);
        if (ls == ld) route = _net.AddRoute([_up[from], _down[to]]);
        else
        {
            var s = SpineOf(from, to);
            route = _net.AddRoute([_up[from], _leafUp[ls * Spines + s], _leafDown[ld * Spines + s], _down[to]]);
        }
        _routes[key] = route;
        return route;
    }

    /// <summary>Endpoint <paramref name="endpoint"/>'s uplink and downlink.</summary>
    public (int Up, int Down) EndpointLinks(int endpoint) => (_up[endpoint], _down[endpoint]);
}
