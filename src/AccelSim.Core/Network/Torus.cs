namespace AccelSim.Core.Network;

/// <summary>A ring (one dimension) or torus (two or three) of routers on a <see cref="FlowNetwork"/>, with
/// wrap links: every router has one link to its next and one to its previous neighbour in each dimension
/// (one-way links; a full-duplex cable is two). Router v sits at coordinates (v mod d0, v / d0 mod d1, ...):
/// the first dimension varies fastest. Routing is dimension-order: the first dimension is corrected first,
/// each the shorter way round, a tie (half way round) going the increasing way, so the same pair always takes
/// the same path and a path and its reverse cross as many links.
///
/// <para>The builder adds links only; it holds no figures of its own: the caller passes the links' bandwidth,
/// latency and energy (from a system description).</para></summary>
public sealed class Torus
{
    private readonly int[] _dims;
    private readonly int[] _next, _prev; // (router * dims + dim) -> link to the next / previous router in dim

    private Torus(int[] dims, int[] next, int[] prev)
    {
        _dims = dims;
        _next = next;
        _prev = prev;
        var v = 1;
        foreach (var d in dims) v *= d;
        Routers = v;
    }

    /// <summary>Routers (the product of the dimensions).</summary>
    public int Routers { get; }

    /// <summary>The size of each dimension.</summary>
    public IReadOnlyList<int> Dimensions => _dims;

    /// <summary>Adds the links of a torus of <paramref name="dimensions"/> (each at least 2) to
    /// <paramref name="net"/>: per router and dimension one link to the next router and one to the previous.</summary>
    public static Torus Build(FlowNetwork net, IReadOnlyList<int> dimensions, LinkFigures link)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(dimensions);
        if (dimensions.Count is < 1 or > 3) throw new ArgumentOutOfRangeException(nameof(dimensions), "a ring or torus has 1 to 3 dimensions");
        var dims = dimensions.ToArray();
        long count = 1;
        foreach (var d in dims)
        {
            if (d < 2) throw new ArgumentOutOfRangeException(nameof(dimensions), $"each dimension has at least 2 routers, got {d}");
            count *= d;
            if (count > 1 << 24) throw new ArgumentOutOfRangeException(nameof(dimensions), "too many routers");
        }
        var next = new int[count * dims.Length];
        var prev = new int[count * dims.Length];
        for (var i = 0; i < next.Length; i++)
        {
            next[i] = net.AddLink(link.Bandwidth_Bps, link.LatencyPs, link.Energy_pJ_per_byte);
            prev[i] = net.AddLink(link.Bandwidth_Bps, link.LatencyPs, link.Energy_pJ_per_byte);
        }
        return new Torus(dims, next, prev);
    }

    /// <summary>Router <paramref name="router"/>'s coordinate in dimension <paramref name="dim"/>.</summary>
    public int Coordinate(int router, int dim)
    {
        var v = router;
        for (var k = 0; k < dim; k++) v /= _dims[k];
        return v % _dims[dim];
    }

    /// <summary>Links between <paramref name="from"/> and <paramref name="to"/>: the sum over dimensions of
    /// the shorter distance round each.</summary>
    public int Hops(int from, int to)
    {
        Check(from);
        Check(to);
        var hops = 0;
        for (var d = 0; d < _dims.Length; d++)
        {
            var fwd = ((Coordinate(to, d) - Coordinate(from, d)) % _dims[d] + _dims[d]) % _dims[d];
            hops += Math.Min(fwd, _dims[d] - fwd);
        }
        return hops;
    }

    /// <summary>The links from router <paramref name="from"/> to router <paramref name="to"/>, in order, by
    /// dimension-order routing (empty when they are the same router).</summary>
    public List<int> Path(int from, int to)
    {
        Check(from);
        Check(to);
        var path = new List<int>();
        var at = from;
        var stride = 1;
        for (var d = 0; d < _dims.Length; d++)
        {
            var size = _dims[d];
            var fwd = ((Coordinate(to, d) - Coordinate(at, d)) % size + size) % size;
            var up = fwd <= size - fwd; // a tie goes the increasing way
            var steps = up ? fwd : size - fwd;
            for (var s = 0; s < steps; s++)
            {
                var c = Coordinate(at, d);
                path.Add((up ? _next : _prev)[at * _dims.Length + d]);
                var nc = up ? (c + 1) % size : (c - 1 + size) % size;
                at += (nc - c) * stride;
            }
            stride *= size;
        }
        return path;
    }

    /// <summary>The link from router <paramref name="router"/> to its next (or previous) neighbour in <paramref name="dim"/>.</summary>
    public int Link(int router, int dim, bool next)
    {
        Check(router);
        return (next ? _next : _prev)[router * _dims.Length + dim];
    }

    private void Check(int router)
    {
        if ((uint)router >= (uint)Routers) throw new ArgumentOutOfRangeException(nameof(router), $"routers are 0..{Routers - 1}, got {router}");
    }
}
