using AccelSim.Core.Config;

namespace AccelSim.Workloads.Serving;

/// <summary>One iteration as it ran: when it started, how long it took, how many sequences and new tokens it
/// held, and the queue and cache around it.</summary>
public readonly record struct IterationSample(long StartPs, long DurationPs, int Sequences, int Tokens, int Waiting, long KvBlocks, double EnergyJ);

/// <summary>What a serving run produced: every request's state at the end, every iteration, the cache.</summary>
public sealed record ServingResult(
    IReadOnlyList<RequestState> Requests,
    IReadOnlyList<IterationSample> Iterations,
    long MakespanPs,
    double IterationEnergyJ,
    double IdleEnergyJ,
    long KvCapacityBlocks,
    int KvBlockTokens,
    long KvPeakBlocks,
    int Preemptions)
{
    /// <summary>Every gap between two consecutive tokens of a request, in emission order.</summary>
    public IReadOnlyList<long> InterTokenPs { get; init; } = [];

    /// <summary>The prefix cache's figures; null when prefix caching is off.</summary>
    public PrefixCacheStats? PrefixCache { get; init; }

    /// <summary>Swaps to and from host memory; null when preemption is by recomputation.</summary>
    public SwapStats? Swap { get; init; }

    /// <summary>KV cache reserved against KV cache used, over the run; null where not recorded (several devices).</summary>
    public KvReservationStats? KvReservation { get; init; }
}

/// <summary>The KV cache reserved (blocks held, at their full size) against the KV cache used (tokens the iteration's
/// sequences hold in it once it has run), each integrated over the iterations' time (token-seconds), and the peak
/// reserved. The difference is what reservations ahead of need (Orca's) and partly filled blocks waste.</summary>
public sealed record KvReservationStats(double ReservedTokenS, double UsedTokenS, long PeakReservedTokens)
{
    /// <summary>Share of the reserved cache (time-weighted) that holds no token, in [0, 1].</summary>
    public double WastedShare => ReservedTokenS > 0 ? Math.Max(0, 1 - UsedTokenS / ReservedTokenS) : 0;
}

/// <summary>What the prefix cache did: prefill tokens looked up (each admission's prefill target) and found cached
/// (not prefilled), requests that found any, prefixes evicted.</summary>
public sealed record PrefixCacheStats(long LookupTokens, long HitTokens, int Requests, int HitRequests, int Evictions)
{
    /// <summary>Hit tokens over looked-up tokens, in [0, 1].</summary>
    public double TokenHitRate => LookupTokens == 0 ? 0 : (double)HitTokens / LookupTokens;

    /// <summary>Requests that found part of their prompt cached, over all requests, in [0, 1].</summary>
    public double RequestHitRate => Requests == 0 ? 0 : (double)HitRequests / Requests;

    public static PrefixCacheStats Sum(IEnumerable<PrefixCacheStats> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        long l = 0, h = 0;
        int r = 0, hr = 0, e = 0;
        foreach (var p in parts)
        {
            l += p.LookupTokens;
            h += p.HitTokens;
            r += p.Requests;
            hr += p.HitRequests;
            e += p.Evictions;
        }
        return new PrefixCacheStats(l, h, r, hr, e);
    }
}

/// <summary>Swap preemption's figures: requests swapped out and in, bytes each way over the host link, the time the
/// iterations waited for those transfers and the peak of host swap space used.</summary>
public sealed record SwapStats(int Outs, int Ins, long OutBytes, long InBytes, long TransferPs, long PeakBlocks, long CapacityBlocks, double LinkBandwidthBps)
{
    public static SwapStats Sum(IReadOnlyList<SwapStats> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        return new SwapStats(parts.Sum(p => p.Outs), parts.Sum(p => p.Ins), parts.Sum(p => p.OutBytes), parts.Sum(p => p.InBytes),
            parts.Sum(p => p.TransferPs), parts.Max(p => p.PeakBlocks), parts[0].CapacityBlocks, parts[0].LinkBandwidthBps);
    }
}

/// <summary>Serving at the request level on one device: requests arrive, the scheduler forms each iteration when
/// the device is free, and the cost model prices it (<see cref="IterationCostModel"/>). Time is integer
/// picoseconds; the device is idle (at static power) only while nothing can run.</summary>
public static class ServingSimulator
{
    public static ServingResult Run(IReadOnlyList<ServingRequest> requests, IBatchScheduler scheduler, Func<ReadOnlySpan<SequenceWork>, IterationCost> cost,
        KvBlockManager kv, SchedulerOptions options, double staticPowerW, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var engine = new ServingEngine(scheduler, cost, kv, options, staticPowerW, progress);
        for (var i = 0; i < requests.Count; i++)
        {
            if (i > 0 && requests[i].ArrivalPs < requests[i - 1].ArrivalPs)
                throw new ArgumentException("requests must be in arrival order", nameof(requests));
            engine.Inject(new RequestState(requests[i]));
        }
        engine.Advance(long.MaxValue);
        return engine.Result();
    }
}

/// <summary>One device serving the requests handed to it (<see cref="Inject"/>, in arrival order) as
/// <see cref="ServingSimulator"/> describes; <see cref="Advance"/> runs the iterations that start before a time, so
/// that several engines (replicas behind a router, the pools of a disaggregated server) run side by side.</summary>
public sealed class ServingEngine
{
    private readonly IBatchScheduler _scheduler;
    private readonly Func<ReadOnlySpan<SequenceWork>, IterationCost> _cost;
    private readonly KvBlockManager _kv;
    private readonly SchedulerContext _context;
    private readonly double _staticPowerW;
    private readonly IProgress<int>? _progress;
    private readonly List<RequestState> _states = [];
    private readonly List<PlannedWork> _batch;
    private SequenceWork[] _work;
    private readonly List<IterationSample> _samples = [];
    private readonly List<long> _gaps = [];
    private long _t, _idlePs, _transferPs;
    private double _energy, _reservedTokenS, _usedTokenS;
    private long _peakReserved;
    private int _next, _done;

    public ServingEngine(IBatchScheduler scheduler, Func<ReadOnlySpan<SequenceWork>, IterationCost> cost, KvBlockManager kv,
        SchedulerOptions options, double staticPowerW, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(cost);
        ArgumentNullException.ThrowIfNull(kv);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _scheduler = scheduler;
        _cost = cost;
        _kv = kv;
        _staticPowerW = staticPowerW;
        _progress = progress;
        _context = new SchedulerContext(kv, options);
        _batch = new List<PlannedWork>(options.MaxBatch + 16);
        _work = new SequenceWork[options.MaxBatch + 16];
    }

    /// <summary>The time up to which the device has run (the end of its last iteration, or the last arrival it idled to).</summary>
    public long Now => _t;

    /// <summary>Requests handed to this engine.</summary>
    public IReadOnlyList<RequestState> Requests => _states;

    /// <summary>Hands a request to the device; requests come in arrival order.</summary>
    public void Inject(RequestState request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var need = _kv.BlocksFor(request.FullTokens);
        if (need > _kv.CapacityBlocks)
        {
            throw new InputException(null, $"request {request.Spec.Id}",
                $"needs {need} KV blocks ({request.Spec.PromptTokens} prompt + {request.Spec.OutputTokens} output tokens) but the cache holds {_kv.CapacityBlocks}");
        }
        if (_states.Count > 0 && request.Spec.ArrivalPs < _states[^1].Spec.ArrivalPs)
            throw new ArgumentException("requests must be in arrival order", nameof(request));
        _states.Add(request);
    }

    /// <summary>Tokens still to process of the requests handed to this engine: prompt tokens still to prefill and
    /// output tokens still to emit.</summary>
    public long OutstandingTokens()
    {
        long sum = 0;
        for (var i = _next; i < _states.Count; i++) sum += Outstanding(_states[i]);
        foreach (var r in _context.Waiting) sum += Outstanding(r);
        foreach (var r in _context.Running) sum += Outstanding(r);
        foreach (var r in _context.Swapped) sum += Outstanding(r);
        return sum;

        static long Outstanding(RequestState r) => (r.Target - r.Prefilled) + (r.Spec.OutputTokens - r.Generated);
    }

    /// <summary>Runs every iteration that starts before <paramref name="until"/> (<see cref="long.MaxValue"/>: until
    /// every request handed over has finished).</summary>
    public void Advance(long until)
    {
        var context = _context;
        var kv = _kv;
        while (_done < _states.Count || _next < _states.Count)
        {
            while (_next < _states.Count && _states[_next].Spec.ArrivalPs <= _t) context.Waiting.AddLast(_states[_next++]);
            if (_t >= until) return;
            _batch.Clear();
            _scheduler.Schedule(context, _batch);
            // Swaps to and from host memory block the iteration (vLLM waits for its swap streams before running).
            var transfer = context.TakeTransferPs();
            if (transfer > 0 && _batch.Count == 0)
            {
                _t = checked(_t + transfer);
                _transferPs += transfer;
                _energy += _staticPowerW * Core.Time.Ps.ToSeconds(transfer);
                continue;
            }
            if (_batch.Count == 0)
            {
                if (_next >= _states.Count)
                {
                    if (until != long.MaxValue && context.Waiting.Count == 0 && context.Running.Count == 0) return;
                    throw new InvalidOperationException($"scheduler '{_scheduler.Id}' formed no iteration with {context.Waiting.Count} requests waiting and {context.Running.Count} running");
                }
                var arrival = _states[_next].Spec.ArrivalPs;
                if (arrival > until && until != long.MaxValue) arrival = until;
                _idlePs += arrival - _t;
                _t = arrival;
                continue;
            }
            if (_work.Length < _batch.Count) _work = new SequenceWork[_batch.Count * 2];
            var tokens = 0;
            for (var i = 0; i < _batch.Count; i++)
            {
                var b = _batch[i];
                _work[i] = new SequenceWork(b.Query, b.Request.Cached);
                tokens += b.Query;
                if (b.Request.FirstScheduledPs < 0) b.Request.FirstScheduledPs = _t;
            }
            var c = _cost(_work.AsSpan(0, _batch.Count));
            if (c.TimePs <= 0) throw new InvalidOperationException("an iteration must take time");
            if (transfer > 0)
            {
                c = new IterationCost(checked(c.TimePs + transfer), c.EnergyJ + _staticPowerW * Core.Time.Ps.ToSeconds(transfer));
                _transferPs += transfer;
            }
            _samples.Add(new IterationSample(_t, c.TimePs, _batch.Count, tokens, context.Waiting.Count, kv.UsedBlocks, c.EnergyJ));
            Account(c.TimePs);
            _t = checked(_t + c.TimePs);
            _energy += c.EnergyJ;
            foreach (var b in _batch)
            {
                var r = b.Request;
                if (r.Prefilling)
                {
                    r.Prefilled += b.Query;
                    r.Cached += b.Query;
                    if (!r.Prefilling) Emit(r, _t, _gaps);
                }
                else
                {
                    r.Cached += 1;
                    Emit(r, _t, _gaps);
                }
                if (r.Generated == r.Spec.OutputTokens)
                {
                    r.FinishPs = _t;
                    kv.Release(r);
                    context.Running.Remove(r);
                    _done++;
                    _progress?.Report(_done);
                }
            }
        }
    }

    /// <summary>What the device did (call once every request handed over has finished).</summary>
    public ServingResult Result() => new(_states, _samples, _t, _energy, _staticPowerW * Core.Time.Ps.ToSeconds(_idlePs),
        _kv.CapacityBlocks, _kv.BlockTokens, _kv.PeakBlocks, _context.Preemptions)
    {
        InterTokenPs = _gaps,
        PrefixCache = _kv.PrefixCaching
            ? new PrefixCacheStats(_kv.PrefixLookupTokens, _kv.PrefixHitTokens, _states.Count, _states.Count(r => r.PrefixHitTokens > 0), _kv.PrefixEvictions)
            : null,
        KvReservation = new KvReservationStats(_reservedTokenS, _usedTokenS, _peakReserved),
        Swap = _context.Options.Swap is { } s
            ? new SwapStats(_context.SwapOuts, _context.SwapIns, _context.SwapOutBytes, _context.SwapInBytes, _transferPs, _context.SwapPeakBlocks, s.CapacityBlocks, s.LinkBandwidthBps)
            : null,
    };

    /// <summary>Integrates the reserved and the used KV cache over an iteration of <paramref name="ps"/>.</summary>
    private void Account(long ps)
    {
        var reserved = _kv.UsedBlocks * (long)_kv.BlockTokens;
        long used = 0;
        foreach (var b in _batch) used += b.Request.Cached + b.Query;
        var s = Core.Time.Ps.ToSeconds(ps);
        _reservedTokenS += reserved * s;
        _usedTokenS += Math.Min(used, reserved) * s;
        _peakReserved = Math.Max(_peakReserved, reserved);
    }

    private static void Emit(RequestState r, long t, List<long> gaps)
    {
        if (r.Generated == 0) r.FirstTokenPs = t;
        else
        {
            r.MaxInterTokenPs = Math.Max(r.MaxInterTokenPs, t - r.LastTokenPs);
            gaps.Add(t - r.LastTokenPs);
        }
        r.LastTokenPs = t;
        r.Generated++;
    }
}
