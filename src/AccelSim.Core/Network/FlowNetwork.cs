namespace AccelSim.Core.Network;

/// <summary>A flow that ended: its handle (as returned by <see cref="FlowNetwork.Start"/>), its bytes
/// (all of them: a flow is delivered whole) and the energy they took over its route.</summary>
public readonly record struct FlowCompletion(int Flow, long Bytes, double Energy_pJ);

/// <summary>Flows over routes of links with max-min fair rates (the fluid network model of SimGrid).
/// A link has a bandwidth, a latency and an energy per byte; a route is an ordered list of links; a
/// flow moves its bytes along one route, optionally under its own rate cap.
///
/// <para>Model. A flow started at <c>t</c> waits its route's summed latency, then joins the sharing: from
/// then on every active flow gets the max-min fair rate over all links of its route, honouring its
/// cap (progressive filling: raise every unfixed flow's rate together; a flow stops rising at its cap
/// or when a link of its route fills). It ends when its bytes have moved: completion = start + route
/// latency + fluid time, as in SimGrid. A zero-byte flow ends after the latency alone. A flow on the
/// empty route (no links, zero latency) moves at its cap, and ends at once when it has none.</para>
///
/// <para>Incremental re-solve. Events at one picosecond are taken as one batch; the links of the flows
/// that joined or left are marked, and only the connected components of the flow-link graph that hold
/// those links are re-solved (a flow outside them keeps its rate: its component's constraints did not
/// change). Re-solving a component of F flows over L links takes O(L + F·hops·log(L + F·hops)) plus a
/// sort of its capped flows. A flow whose rate is unchanged keeps its bytes-left
/// and due time untouched.</para>
///
/// <para>Rounding. Time is integer picoseconds; rates are doubles in bytes per second. When a flow's rate
/// changes at <c>now</c>, its bytes left drop by <c>rate × elapsed</c> and its due time becomes
/// <c>now + ceil(bytes left / rate × 10^12)</c>: it ends at most a picosecond after the exact fluid end,
/// never before. Completion always delivers the flow's exact integer bytes (the residual under one
/// picosecond of its rate is rounding, not bytes lost), so per-link byte counts sum exactly.</para>
///
/// <para>Storage. Flow slots, per-link flow lists, the event heap and the solver's scratch grow by
/// doubling and are reused: once sized, starting and ending flows allocates nothing. Ties are broken by
/// flow handle, so the same inputs give the same completions to the picosecond.</para></summary>
public sealed class FlowNetwork
{
    private const byte Free = 0, Pending = 1, Active = 2;

    private struct Flow
    {
        public long Bytes;
        public double Remaining;
        public double Cap;
        public double Rate;
        public long LastUpdate;
        public long Key; // activation time while pending, due time while active
        public int Route;
        public byte State;
    }

    // Links.
    private double[] _bandwidth = new double[8];
    private long[] _latency = new long[8];
    private double[] _energy = new double[8];
    private long[] _linkBytes = new long[8];
    private int[][] _linkFlows = new int[8][];
    private int[] _linkCount = new int[8];
    private int _links;

    // Routes: links of route r are _routeLinks[_routeStart[r] .. _routeStart[r + 1]).
    private int[] _routeLinks = new int[16];
    private int[] _routeStart = new int[9];
    private long[] _routeLatency = new long[8];
    private double[] _routeEnergy = new double[8];
    private int _routes;

    // Flows and their event heap (key, then handle).
    private Flow[] _flows;
    private int[] _freeSlots;
    private int _freeCount, _slotsUsed, _activeCount;
    private int[] _heap, _heapPos;
    private int _heapCount;

    // Solver scratch.
    private int[] _flowMark, _linkMark, _flowFixed;
    private int _markEpoch, _fixEpoch;
    private int[] _dirtyLinks = new int[16];
    private int _dirtyCount;
    private int[] _compLinks = new int[16], _compFlows = new int[16];
    private double[] _linkRem = new double[8];
    private int[] _linkUnfixed = new int[8];
    // The solver's links by (share, link id), lowest first; stale entries are skipped at the top.
    private readonly PriorityQueue<int, (double Share, int Link)> _shares = new(16);
    private double[] _capKeys = new double[16];
    private int[] _capFlows = new int[16];
    private FlowCompletion[] _completed = new FlowCompletion[16];
    private int _completedCount;
    private long _now;

    /// <param name="flowCapacity">Flows expected at once (storage grows beyond it when needed).</param>
    public FlowNetwork(int flowCapacity = 64)
    {
        var n = Math.Max(4, flowCapacity);
        _flows = new Flow[n];
        _freeSlots = new int[n];
        _heap = new int[n];
        _heapPos = new int[n];
        _flowMark = new int[n];
        _flowFixed = new int[n];
        _linkMark = new int[8];
    }

    /// <summary>Simulated time the network has been advanced to.</summary>
    public long Now => _now;

    /// <summary>Flows started and not yet ended (waiting out their latency or moving).</summary>
    public int FlowCount => _slotsUsed - _freeCount;

    /// <summary>Flows moving now (past their latency).</summary>
    public int ActiveCount => _activeCount;

    public int LinkCount => _links;

    public int RouteCount => _routes;

    /// <summary>Adds a link; returns its id.</summary>
    public int AddLink(double bandwidth_Bps, long latency_ps, double energy_pJ_per_byte)
    {
        if (!(bandwidth_Bps > 0) || double.IsInfinity(bandwidth_Bps)) throw new ArgumentOutOfRangeException(nameof(bandwidth_Bps), "a link's bandwidth must be positive and finite");
        if (latency_ps < 0) throw new ArgumentOutOfRangeException(nameof(latency_ps), "a link's latency must not be negative");
        if (!(energy_pJ_per_byte >= 0) || double.IsInfinity(energy_pJ_per_byte)) throw new ArgumentOutOfRangeException(nameof(energy_pJ_per_byte), "a link's energy per byte must be finite and not negative");
        if (_links == _bandwidth.Length)
        {
            var n = _links * 2;
            Array.Resize(ref _bandwidth, n);
            Array.Resize(ref _latency, n);
            Array.Resize(ref _energy, n);
            Array.Resize(ref _linkBytes, n);
            Array.Resize(ref _linkFlows, n);
            Array.Resize(ref _linkCount, n);
            Array.Resize(ref _linkMark, n);
            Array.Resize(ref _linkRem, n);
            Array.Resize(ref _linkUnfixed, n);
        }
        var l = _links++;
        _bandwidth[l] = bandwidth_Bps;
        _latency[l] = latency_ps;
        _energy[l] = energy_pJ_per_byte;
        _linkFlows[l] = new int[4];
        return l;
    }

    /// <summary>Adds a route through <paramref name="links"/> in order (may be empty; a link may not repeat);
    /// returns its id.</summary>
    public int AddRoute(ReadOnlySpan<int> links)
    {
        long latency = 0;
        double energy = 0;
        for (var i = 0; i < links.Length; i++)
        {
            var l = links[i];
            if ((uint)l >= (uint)_links) throw new ArgumentOutOfRangeException(nameof(links), $"route names link {l}, which does not exist");
            for (var j = 0; j < i; j++)
                if (links[j] == l) throw new ArgumentException($"route crosses link {l} twice", nameof(links));
            latency = checked(latency + _latency[l]);
            energy += _energy[l];
        }
        if (_routes == _routeLatency.Length)
        {
            Array.Resize(ref _routeLatency, _routes * 2);
            Array.Resize(ref _routeEnergy, _routes * 2);
            Array.Resize(ref _routeStart, _routes * 2 + 1);
        }
        var start = _routeStart[_routes];
        if (start + links.Length > _routeLinks.Length) Array.Resize(ref _routeLinks, Math.Max(_routeLinks.Length * 2, start + links.Length));
        links.CopyTo(_routeLinks.AsSpan(start));
        _routeLatency[_routes] = latency;
        _routeEnergy[_routes] = energy;
        _routeStart[_routes + 1] = start + links.Length;
        return _routes++;
    }

    /// <summary>The links of route <paramref name="route"/>.</summary>
    public ReadOnlySpan<int> RouteLinks(int route) => _routeLinks.AsSpan(_routeStart[route], _routeStart[route + 1] - _routeStart[route]);

    /// <summary>Summed latency of a route's links.</summary>
    public long RouteLatency(int route) => _routeLatency[route];

    /// <summary>Energy per byte summed over a route's links.</summary>
    public double RouteEnergy_pJ_per_byte(int route) => _routeEnergy[route];

    /// <summary>Bytes of the flows that crossed link <paramref name="link"/> and ended.</summary>
    public long LinkBytes(int link) => _linkBytes[link];

    /// <summary>Energy of the bytes that crossed link <paramref name="link"/> (flows that ended).</summary>
    public double LinkEnergy_pJ(int link) => _linkBytes[link] * _energy[link];

    /// <summary>A flow's rate now (0 while it waits out its latency).</summary>
    public double Rate(int flow) => _flows[flow].State == Active ? _flows[flow].Rate : 0;

    /// <summary>Whether <paramref name="flow"/> is moving now.</summary>
    public bool IsActive(int flow) => (uint)flow < (uint)_slotsUsed && _flows[flow].State == Active;

    /// <summary>The route of a started flow.</summary>
    public int RouteOf(int flow) => _flows[flow].Route;

    /// <summary>A started flow's rate cap.</summary>
    public double CapOf(int flow) => _flows[flow].Cap;

    /// <summary>Link bandwidth.</summary>
    public double Bandwidth(int link) => _bandwidth[link];

    /// <summary>The flows that ended in the last <see cref="AdvanceTo"/>, in order of time, then handle.</summary>
    public ReadOnlySpan<FlowCompletion> Completed => _completed.AsSpan(0, _completedCount);

    /// <summary>Starts a flow of <paramref name="bytes"/> on <paramref name="route"/> at <paramref name="now"/>
    /// (not before <see cref="Now"/>), with rate cap <paramref name="cap_Bps"/> (positive;
    /// <see cref="double.PositiveInfinity"/> or <see cref="double.MaxValue"/> for none). Returns its
    /// handle, reused once the flow has ended. Rates change only in <see cref="AdvanceTo"/>, which takes
    /// every start at one time together.</summary>
    public int Start(int route, long bytes, double cap_Bps, long now)
    {
        if ((uint)route >= (uint)_routes) throw new ArgumentOutOfRangeException(nameof(route), $"route {route} does not exist");
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes), "a flow's bytes must not be negative");
        if (!(cap_Bps > 0)) throw new ArgumentOutOfRangeException(nameof(cap_Bps), "a flow's cap must be positive");
        if (now < _now) throw new ArgumentOutOfRangeException(nameof(now), $"a flow cannot start at {now} ps, before the network's time {_now} ps");
        int slot;
        if (_freeCount > 0) slot = _freeSlots[--_freeCount];
        else
        {
            if (_slotsUsed == _flows.Length) GrowFlows();
            slot = _slotsUsed++;
        }
        ref var f = ref _flows[slot];
        f = new Flow
        {
            Bytes = bytes,
            Remaining = bytes,
            Cap = cap_Bps,
            Rate = 0,
            LastUpdate = now,
            Key = checked(now + _routeLatency[route]),
            Route = route,
            State = Pending,
        };
        HeapPush(slot);
        return slot;
    }

    /// <summary>The next time a flow joins the sharing or ends; <see cref="long.MaxValue"/> when none will.</summary>
    public long NextEventTime => _heapCount == 0 ? long.MaxValue : _flows[_heap[0]].Key;

    /// <summary>Advances to <paramref name="t"/>, taking every event at or before it in order of time
    /// (at one time: ends and joins in handle order, then one re-solve). The flows that ended are in
    /// <see cref="Completed"/>. Returns how many ended.</summary>
    public int AdvanceTo(long t)
    {
        if (t < _now) throw new ArgumentOutOfRangeException(nameof(t), $"cannot go back from {_now} ps to {t} ps");
        _completedCount = 0;
        while (_heapCount > 0 && _flows[_heap[0]].Key <= t)
        {
            var te = _flows[_heap[0]].Key;
            _now = te;
            _dirtyCount = 0;
            while (_heapCount > 0 && _flows[_heap[0]].Key == te)
            {
                var slot = HeapPop();
                if (_flows[slot].State == Pending) Activate(slot, te);
                else Complete(slot);
            }
            if (_dirtyCount > 0) Resolve(te);
        }
        _now = t;
        return _completedCount;
    }

    private void Activate(int slot, long now)
    {
        ref var f = ref _flows[slot];
        f.LastUpdate = now;
        if (f.Bytes == 0)
        {
            f.State = Active;
            Complete(slot);
            return;
        }
        f.State = Active;
        _activeCount++;
        var s = _routeStart[f.Route];
        var e = _routeStart[f.Route + 1];
        if (s == e)
        {
            // No links: the flow moves at its cap alone.
            f.Rate = double.IsInfinity(f.Cap) || f.Cap == double.MaxValue ? double.PositiveInfinity : f.Cap;
            f.Key = DueOf(in f, now);
            HeapPush(slot);
            return;
        }
        f.Key = long.MaxValue; // given a rate by the re-solve of this batch
        HeapPush(slot);
        for (var i = s; i < e; i++)
        {
            var l = _routeLinks[i];
            var list = _linkFlows[l];
            if (_linkCount[l] == list.Length) Array.Resize(ref _linkFlows[l], list.Length * 2);
            _linkFlows[l][_linkCount[l]++] = slot;
            MarkDirty(l);
        }
    }

    private void Complete(int slot)
    {
        ref var f = ref _flows[slot];
        var s = _routeStart[f.Route];
        var e = _routeStart[f.Route + 1];
        if (f.Bytes > 0) _activeCount--;
        for (var i = s; i < e; i++)
        {
            var l = _routeLinks[i];
            _linkBytes[l] += f.Bytes;
            if (f.Bytes == 0) continue; // never joined the link
            var list = _linkFlows[l];
            var n = _linkCount[l];
            // Keeps the list's order (deterministic iteration): remove by shifting.
            var k = Array.IndexOf(list, slot, 0, n);
            Array.Copy(list, k + 1, list, k, n - k - 1);
            _linkCount[l] = n - 1;
            MarkDirty(l);
        }
        if (_completedCount == _completed.Length) Array.Resize(ref _completed, _completed.Length * 2);
        _completed[_completedCount++] = new FlowCompletion(slot, f.Bytes, f.Bytes * _routeEnergy[f.Route]);
        f.State = Free;
        _freeSlots[_freeCount++] = slot;
    }

    private void MarkDirty(int l)
    {
        if (_dirtyCount == _dirtyLinks.Length) Array.Resize(ref _dirtyLinks, _dirtyCount * 2);
        _dirtyLinks[_dirtyCount++] = l;
    }

    private static long DueOf(in Flow f, long now)
    {
        if (f.Remaining <= 0 || double.IsPositiveInfinity(f.Rate)) return now;
        if (!(f.Rate > 0)) return long.MaxValue;
        var ps = Math.Ceiling(f.Remaining / f.Rate * Time.Ps.PerSecond);
        return ps < long.MaxValue - now ? now + (long)ps : throw new OverflowException("a flow's due time leaves the picosecond clock's range");
    }

    /// <summary>Collects the components reached from the dirty links and re-solves them.</summary>
    private void Resolve(long now)
    {
        var epoch = ++_markEpoch;
        int nl = 0, nf = 0;
        for (var d = 0; d < _dirtyCount; d++)
        {
            var start = _dirtyLinks[d];
            if (_linkMark[start] == epoch) continue;
            _linkMark[start] = epoch;
            EnsureComp(ref _compLinks, nl + 1);
            _compLinks[nl++] = start;
            // Breadth-first over links; _compLinks doubles as the queue.
            for (var q = nl - 1; q < nl; q++)
            {
                var l = _compLinks[q];
                var list = _linkFlows[l];
                for (var i = 0; i < _linkCount[l]; i++)
                {
                    var fl = list[i];
                    if (_flowMark[fl] == epoch) continue;
                    _flowMark[fl] = epoch;
                    EnsureComp(ref _compFlows, nf + 1);
                    _compFlows[nf++] = fl;
                    var r = _flows[fl].Route;
                    for (var h = _routeStart[r]; h < _routeStart[r + 1]; h++)
                    {
                        var l2 = _routeLinks[h];
                        if (_linkMark[l2] == epoch) continue;
                        _linkMark[l2] = epoch;
                        EnsureComp(ref _compLinks, nl + 1);
                        _compLinks[nl++] = l2;
                    }
                }
            }
        }
        Solve(nl, nf, now);
    }

    private static void EnsureComp(ref int[] a, int n)
    {
        if (n > a.Length) Array.Resize(ref a, a.Length * 2);
    }

    /// <summary>Progressive filling over the collected flows and links, bottleneck first. The lowest link
    /// share s (capacity left / unfixed flows) comes from a min-heap of (share, link) whose stale entries
    /// are skipped when they surface. While the lowest unfixed cap is at most s, that flow is fixed at its
    /// cap (which never lowers a share); otherwise every unfixed flow on the link at s is fixed at s.
    /// Fixing a flow updates the links of its route and pushes their new shares. Cost:
    /// O(L + F·hops·log(L + F·hops) + C·log C) for C capped flows. Shares are compared exactly (the same
    /// expression each time) and ties go to the lower link id and the earlier flow, so results are
    /// deterministic.</summary>
    private void Solve(int nl, int nf, long now)
    {
        var fix = ++_fixEpoch;
        _shares.Clear();
        for (var i = 0; i < nl; i++)
        {
            var l = _compLinks[i];
            _linkRem[l] = _bandwidth[l];
            _linkUnfixed[l] = _linkCount[l];
            if (_linkCount[l] > 0) _shares.Enqueue(l, (_bandwidth[l] / _linkCount[l], l));
        }
        var nc = 0;
        for (var i = 0; i < nf; i++)
        {
            var fl = _compFlows[i];
            if (double.IsPositiveInfinity(_flows[fl].Cap)) continue;
            if (nc == _capKeys.Length)
            {
                Array.Resize(ref _capKeys, nc * 2);
                Array.Resize(ref _capFlows, nc * 2);
            }
            _capKeys[nc] = _flows[fl].Cap;
            _capFlows[nc++] = fl;
        }
        if (nc > 1) Array.Sort(_capKeys, _capFlows, 0, nc);
        var ci = 0;
        var unfixed = nf;
        while (unfixed > 0)
        {
            // The lowest valid share.
            double s;
            int bl;
            while (true)
            {
                _shares.TryPeek(out var l, out var top);
                var n = _linkUnfixed[l];
                if (n > 0 && _linkRem[l] / n == top.Share)
                {
                    (s, bl) = (top.Share, l);
                    break;
                }
                _shares.Dequeue();
            }
            while (ci < nc && _flowFixed[_capFlows[ci]] == fix) ci++;
            if (ci < nc && _capKeys[ci] <= s)
            {
                FixAt(_capFlows[ci], _capKeys[ci], fix, now);
                ci++;
                unfixed--;
                continue;
            }
            _shares.Dequeue();
            var list = _linkFlows[bl];
            for (var k = 0; k < _linkCount[bl]; k++)
            {
                var fl = list[k];
                if (_flowFixed[fl] == fix) continue;
                FixAt(fl, s, fix, now);
                unfixed--;
            }
        }
    }

    private void FixAt(int fl, double rate, int fix, long now)
    {
        _flowFixed[fl] = fix;
        ref var f = ref _flows[fl];
        var r = f.Route;
        for (var h = _routeStart[r]; h < _routeStart[r + 1]; h++)
        {
            var l = _routeLinks[h];
            var left = _linkRem[l] - rate;
            _linkRem[l] = left > 0 ? left : 0;
            var n = --_linkUnfixed[l];
            if (n > 0) _shares.Enqueue(l, (_linkRem[l] / n, l));
        }
        if (rate == f.Rate && f.Key != long.MaxValue) return;
        var dt = now - f.LastUpdate;
        if (dt > 0 && f.Rate > 0)
        {
            var left = f.Remaining - f.Rate * dt / Time.Ps.PerSecond;
            f.Remaining = left > 0 ? left : 0;
        }
        f.LastUpdate = now;
        f.Rate = rate;
        f.Key = DueOf(in f, now);
        HeapFix(fl);
    }

    private void GrowFlows()
    {
        var n = _flows.Length * 2;
        Array.Resize(ref _flows, n);
        Array.Resize(ref _freeSlots, n);
        Array.Resize(ref _heap, n);
        Array.Resize(ref _heapPos, n);
        Array.Resize(ref _flowMark, n);
        Array.Resize(ref _flowFixed, n);
    }

    // Indexed binary min-heap of flow slots by (Key, slot).

    private bool Less(int a, int b)
    {
        var ka = _flows[a].Key;
        var kb = _flows[b].Key;
        return ka < kb || (ka == kb && a < b);
    }

    private void HeapPush(int slot)
    {
        var i = _heapCount++;
        _heap[i] = slot;
        _heapPos[slot] = i;
        SiftUp(i);
    }

    private int HeapPop()
    {
        var top = _heap[0];
        var last = _heap[--_heapCount];
        if (_heapCount > 0)
        {
            _heap[0] = last;
            _heapPos[last] = 0;
            SiftDown(0);
        }
        return top;
    }

    private void HeapFix(int slot)
    {
        var i = _heapPos[slot];
        SiftUp(i);
        SiftDown(_heapPos[slot]);
    }

    private void SiftUp(int i)
    {
        var x = _heap[i];
        while (i > 0)
        {
            var p = (i - 1) >> 1;
            var y = _heap[p];
            if (!Less(x, y)) break;
            _heap[i] = y;
            _heapPos[y] = i;
            i = p;
        }
        _heap[i] = x;
        _heapPos[x] = i;
    }

    private void SiftDown(int i)
    {
        var x = _heap[i];
        var n = _heapCount;
        while (true)
        {
            var c = 2 * i + 1;
            if (c >= n) break;
            if (c + 1 < n && Less(_heap[c + 1], _heap[c])) c++;
            var y = _heap[c];
            if (!Less(y, x)) break;
            _heap[i] = y;
            _heapPos[y] = i;
            i = c;
        }
        _heap[i] = x;
        _heapPos[x] = i;
    }
}
