namespace AccelSim.Core.Network.Collectives;

/// <summary>A collective lowered into sends between group positions (0..n-1) and the sends each waits for:
/// a send may start once every send it names has arrived. A join is a step that moves nothing: it is done
/// the moment everything it waits for is, so n sends waiting for the same n sends cost 2n edges, not n².
/// Built once, then read by <see cref="Collective"/>.</summary>
internal sealed class SendPlan
{
    private readonly List<int> _from = [], _to = [], _edgeFrom = [], _edgeTo = [];
    private readonly List<long> _bytes = [];
    private readonly HashSet<int> _seen = [];
    private int[]? _depStart, _deps, _prereqs;

    /// <summary>Steps: sends and joins.</summary>
    public int Count => _from.Count;

    /// <summary>Sends (steps that move bytes over a route).</summary>
    public int SendCount { get; private set; }

    public bool IsJoin(int step) => _from[step] < 0;
    public int From(int send) => _from[send];
    public int To(int send) => _to[send];
    public long Bytes(int send) => _bytes[send];

    /// <summary>Adds a send of <paramref name="bytes"/> from <paramref name="from"/> to <paramref name="to"/>
    /// that waits for the sends in <paramref name="after"/> (negative entries are none; repeats count once).</summary>
    public int Add(int from, int to, long bytes, ReadOnlySpan<int> after)
    {
        if (_deps is not null) throw new InvalidOperationException("a plan is frozen once read");
        var id = _from.Count;
        SendCount++;
        _from.Add(from);
        _to.Add(to);
        _bytes.Add(bytes);
        _seen.Clear();
        for (var i = 0; i < after.Length; i++)
        {
            var a = after[i];
            if (a < 0 || (after.Length <= 8 ? after[..i].Contains(a) : !_seen.Add(a))) continue;
            if (a >= id) throw new ArgumentException("a step waits only for steps added before it", nameof(after));
            _edgeFrom.Add(a);
            _edgeTo.Add(id);
        }
        return id;
    }

    /// <summary>A join of <paramref name="after"/>.</summary>
    public int AddJoin(ReadOnlySpan<int> after)
    {
        var id = Add(-1, -1, 0, after);
        SendCount--;
        return id;
    }

    public int Add(int from, int to, long bytes) => Add(from, to, bytes, []);
    public int Add(int from, int to, long bytes, int a) => Add(from, to, bytes, [a]);
    public int Add(int from, int to, long bytes, int a, int b) => Add(from, to, bytes, [a, b]);

    /// <summary>Sends <paramref name="send"/> waits for.</summary>
    public int Prerequisites(int send) { Freeze(); return _prereqs![send]; }

    /// <summary>Sends that wait for <paramref name="send"/>.</summary>
    public ReadOnlySpan<int> Dependents(int send)
    {
        Freeze();
        return _deps.AsSpan(_depStart![send], _depStart[send + 1] - _depStart[send]);
    }

    public long TotalBytes
    {
        get
        {
            long sum = 0;
            foreach (var b in _bytes) sum = checked(sum + b);
            return sum;
        }
    }

    /// <summary>Builds the dependents' index; no step may be added after.</summary>
    public void Freeze()
    {
        if (_deps is not null) return;
        var n = Count;
        _prereqs = new int[n];
        _depStart = new int[n + 1];
        for (var e = 0; e < _edgeFrom.Count; e++)
        {
            _prereqs[_edgeTo[e]]++;
            _depStart[_edgeFrom[e] + 1]++;
        }
        for (var i = 0; i < n; i++) _depStart[i + 1] += _depStart[i];
        _deps = new int[_edgeFrom.Count];
        var fill = (int[])_depStart.Clone();
        for (var e = 0; e < _edgeFrom.Count; e++) _deps[fill[_edgeFrom[e]]++] = _edgeTo[e];
    }
}
