using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Simulation;

namespace AccelSim.Workloads.Serving;

/// <summary>The decode pool of a disaggregated server: a request arrives with its prompt's KV cache, is admitted
/// (first come, first served, up to <c>max-batch</c>) when the cache can hold its full length, and every iteration
/// decodes every admitted request. Reserving the full length up front means the decode pool never preempts.</summary>
public sealed class DecodeOnlyScheduler : IBatchScheduler
{
    public string Id => "disagg-decode";

    public void Schedule(SchedulerContext context, List<PlannedWork> batch)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(batch);
        while (context.Waiting.Count > 0 && context.Running.Count < context.Options.MaxBatch
            && context.Kv.TryReserve(context.Waiting.First!.Value, context.Waiting.First.Value.FullTokens))
            context.Admit();
        foreach (var r in context.Running) batch.Add(new PlannedWork(r, 1));
    }
}

/// <summary>The decode pool with paged admission (as vLLM pages a colocated cache): a request that arrives with
/// its prompt's KV cache is admitted (first come, first served, up to <c>max-batch</c>) when the cache holds its
/// cache so far plus the next token; every iteration then grows each running request by a token, preempting the
/// latest admitted while the cache is short. A preempted request loses its cache and re-prefills its prompt and
/// the tokens generated so far on this decode instance (a prefill-only iteration, vLLM's recompute), then decodes
/// on.</summary>
public sealed class PagedDecodeScheduler : IBatchScheduler
{
    public string Id => "disagg-decode-paged";

    public void Schedule(SchedulerContext context, List<PlannedWork> batch)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(batch);
        var tokens = 0;
        while (context.Waiting.Count > 0 && context.Running.Count < context.Options.MaxBatch)
        {
            var next = context.Waiting.First!.Value;
            if (next.Prefilling)
            {
                if (tokens > 0 && tokens + next.Target > context.Options.MaxBatchedTokens) break;
                if (!context.Kv.TryReserve(next, next.Target)) break;
                context.Admit();
                batch.Add(new PlannedWork(next, next.Target));
                tokens += next.Target;
                continue;
            }
            if (!context.Kv.TryReserve(next, next.Cached + 1)) break;
            context.Admit();
        }
        if (batch.Count > 0) return;
        context.PlanDecodesWithPreemption(batch);
    }
}

/// <summary>The link a prefilled request's KV cache crosses to the decode pool: <see cref="BandwidthBps"/> (the
/// route's bottleneck link) and <see cref="LatencyPs"/>. Alone, a transfer of <c>b</c> bytes takes
/// <see cref="LatencyPs"/> + b / <see cref="BandwidthBps"/> (<see cref="TimePs"/>); transfers that leave one prefill
/// instance at once share its link max-min fairly (<see cref="Transfers"/>).</summary>
public sealed record KvLink(double BandwidthBps, long LatencyPs, string Description)
{
    public long TimePs(long bytes) => checked(LatencyPs + (long)Math.Ceiling(bytes / BandwidthBps * 1e12));

    /// <summary>When each transfer lands, transfers contending: every transfer leaving one source (a prefill
    /// instance) crosses that source's own copy of this link, waits out its latency, then shares its bandwidth
    /// max-min fairly with the others flowing on it (the simulation kernel's fluid channels). What the receiving
    /// side's links add is not modelled. A transfer alone lands at <see cref="TimePs"/> after it starts.</summary>
    /// <param name="transfers">Start time, bytes and source of each transfer.</param>
    /// <param name="sources">Sources (prefill instances) numbered from 0.</param>
    public long[] Transfers(IReadOnlyList<(long StartPs, long Bytes, int Source)> transfers, int sources)
    {
        ArgumentNullException.ThrowIfNull(transfers);
        ArgumentOutOfRangeException.ThrowIfLessThan(sources, 1);
        var channels = new ChannelSpec[sources];
        for (var s = 0; s < sources; s++) channels[s] = ChannelSpec.Link($"kv{s}", BandwidthBps, LatencyPs, offChip: true);
        var kernel = new Kernel(new DeviceTopology([new EngineSpec("host", 1)], channels, []), expectedTasks: Math.Max(4, transfers.Count));
        var process = new TransferProcess(transfers);
        kernel.Attach(process);
        kernel.Run();
        var landed = new long[transfers.Count];
        for (var i = 0; i < landed.Length; i++) landed[i] = kernel.Times(process.Tasks[i]).EndPs;
        return landed;
    }

    /// <summary>Starts each transfer at its time (ties in the order given): a task on no engine whose one transfer
    /// crosses its source's channel.</summary>
    private sealed class TransferProcess(IReadOnlyList<(long StartPs, long Bytes, int Source)> transfers) : KernelProcess
    {
        public readonly int[] Tasks = new int[transfers.Count];

        protected override void OnStart(Kernel kernel)
        {
            for (var i = 0; i < transfers.Count; i++)
            {
                Tasks[i] = kernel.NewTask(this, Kernel.NoEngine, 0, 0, prerequisites: 1);
                kernel.AddTransfer(Tasks[i], transfers[i].Source, transfers[i].Bytes, double.MaxValue);
                kernel.At(transfers[i].StartPs, this, i);
            }
        }

        protected override void OnTimer(Kernel kernel, long token) => kernel.Signal(Tasks[(int)token]);
    }
}

/// <summary>A disaggregated run: the merged view (every request from arrival to its last token) and each pool's own.</summary>
public sealed record DisaggregatedResult(ServingResult Combined, ServingResult Prefill, ServingResult Decode,
    IReadOnlyList<long> TransferPs, IReadOnlyList<long> TransferBytes)
{
    /// <summary>Prefill instances of the pool (<see cref="DisaggregatedServing.RunPools"/>); 1 for <see cref="DisaggregatedServing.Run"/>.</summary>
    public int PrefillInstances { get; init; } = 1;

    /// <summary>Decode instances of the pool; 1 for <see cref="DisaggregatedServing.Run"/>.</summary>
    public int DecodeInstances { get; init; } = 1;

    /// <summary>The prefill instance of every request (all 0 for one instance).</summary>
    public IReadOnlyList<int>? PrefillAssignment { get; init; }

    /// <summary>The decode instance of every request (-1 for a request with one output token, which never decodes).</summary>
    public IReadOnlyList<int>? DecodeAssignment { get; init; }
}

/// <summary>Disaggregated prefill and decode (DistServe, Zhong et al., OSDI 2024; Splitwise, Patel et al., ISCA 2024):
/// a prefill device runs every prompt under a batching policy and emits the first token; the request's KV cache
/// (prompt tokens x bytes per token) then crosses a <see cref="KvLink"/> to the decode device, which decodes the
/// rest (<see cref="DecodeOnlyScheduler"/>). TTFT is the prefill side's (queueing and prefill); the transfer and the
/// decode side's queueing fall in the first gap between tokens, so in TPOT.</summary>
public static class DisaggregatedServing
{
    public static DisaggregatedResult Run(IReadOnlyList<ServingRequest> requests, IBatchScheduler prefillPolicy,
        Func<ReadOnlySpan<SequenceWork>, IterationCost> prefillCost, KvBlockManager prefillKv, double prefillStaticW,
        Func<ReadOnlySpan<SequenceWork>, IterationCost> decodeCost, KvBlockManager decodeKv, double decodeStaticW,
        SchedulerOptions options, double kvBytesPerToken, KvLink link)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(link);
        var prompts = new ServingRequest[requests.Count];
        for (var i = 0; i < prompts.Length; i++) prompts[i] = requests[i] with { OutputTokens = 1 };
        var prefill = ServingSimulator.Run(prompts, prefillPolicy, prefillCost, prefillKv, options, prefillStaticW);

        var (transferPs, transferBytes, decodeStates) = Handoffs(requests, prefill, kvBytesPerToken, link);
        var engine = new ServingEngine(new DecodeOnlyScheduler(), decodeCost, decodeKv, options, decodeStaticW);
        foreach (var d in decodeStates) engine.Inject(d.State);
        engine.Advance(long.MaxValue);
        var decode = engine.Result();

        var merged = Joined(requests, prefill, decodeStates);
        // The merged view's cache figures are the prefill pool's; the decode pool's are its own result's.
        var combined = MultiDevice.Merge(merged, [prefill, decode], [prefillStaticW, decodeStaticW]) with
        {
            KvCapacityBlocks = prefill.KvCapacityBlocks,
            KvPeakBlocks = prefill.KvPeakBlocks,
        };
        return new DisaggregatedResult(combined, prefill, decode, transferPs, transferBytes);
    }

    /// <summary>Pools of instances (DistServe's placement: P prefill and D decode instances), each with its own
    /// scheduler and KV cache. A request is routed on arrival to the prefill instance with the fewest prompt tokens
    /// still to prefill (<see cref="RouterPolicy.LeastOutstandingTokens"/>); after its first token its KV cache
    /// crosses <paramref name="link"/> (every prefill-decode pair is taken to cross a link like it) and it is routed,
    /// when the transfer lands, to the decode instance with the fewest tokens still to emit, ties to the lowest
    /// index. <paramref name="prefillEngine"/> builds prefill instance k, <paramref name="decodeEngine"/> decode
    /// instance k (a <see cref="DecodeOnlyScheduler"/> with its own cache).</summary>
    public static DisaggregatedResult RunPools(IReadOnlyList<ServingRequest> requests, int prefillInstances, Func<int, ServingEngine> prefillEngine,
        double prefillStaticW, int decodeInstances, Func<int, ServingEngine> decodeEngine, double decodeStaticW, double kvBytesPerToken, KvLink link)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(decodeEngine);
        ArgumentNullException.ThrowIfNull(link);
        ArgumentOutOfRangeException.ThrowIfLessThan(decodeInstances, 1);
        var prompts = new ServingRequest[requests.Count];
        for (var i = 0; i < prompts.Length; i++) prompts[i] = requests[i] with { OutputTokens = 1 };
        var pre = ReplicatedServing.Run(prompts, prefillInstances, RouterPolicy.LeastOutstandingTokens, prefillEngine, prefillStaticW);
        var prefill = pre.Combined;

        var (transferPs, transferBytes, decodeStates) = Handoffs(requests, prefill, kvBytesPerToken, link, pre.Assignment, prefillInstances);
        var engines = new ServingEngine[decodeInstances];
        for (var k = 0; k < decodeInstances; k++) engines[k] = decodeEngine(k);
        var decodeAssignment = new int[requests.Count];
        Array.Fill(decodeAssignment, -1);
        foreach (var d in decodeStates)
        {
            var pick = ReplicatedServing.LeastOutstanding(engines, d.Arrival);
            decodeAssignment[d.Index] = pick;
            engines[pick].Inject(d.State);
        }
        var parts = new ServingResult[decodeInstances];
        var powers = new double[decodeInstances];
        for (var k = 0; k < decodeInstances; k++)
        {
            engines[k].Advance(long.MaxValue);
            parts[k] = engines[k].Result();
            powers[k] = decodeStaticW;
        }
        var decodeOnly = decodeStates.Select(d => d.State).ToArray();
        var decode = MultiDevice.Merge(decodeOnly, parts, powers) with
        {
            KvCapacityBlocks = parts[0].KvCapacityBlocks,
            KvPeakBlocks = parts.Max(r => r.KvPeakBlocks),
        };

        var merged = Joined(requests, prefill, decodeStates);
        var all = new ServingResult[prefillInstances + decodeInstances];
        var allPowers = new double[all.Length];
        for (var k = 0; k < prefillInstances; k++) { all[k] = pre.Replicas[k]; allPowers[k] = prefillStaticW; }
        for (var k = 0; k < decodeInstances; k++) { all[prefillInstances + k] = parts[k]; allPowers[prefillInstances + k] = decodeStaticW; }
        var combined = MultiDevice.Merge(merged, all, allPowers) with
        {
            KvCapacityBlocks = prefill.KvCapacityBlocks,
            KvPeakBlocks = prefill.KvPeakBlocks,
        };
        return new DisaggregatedResult(combined, prefill, decode, transferPs, transferBytes)
        {
            PrefillInstances = prefillInstances,
            DecodeInstances = decodeInstances,
            PrefillAssignment = pre.Assignment,
            DecodeAssignment = decodeAssignment,
        };
    }

    /// <summary>Each request's hand-off from its prefill to the decode side: its KV cache's bytes, the time they take
    /// over <paramref name="link"/>, and the request as the decode side receives it when they land (requests of one
    /// output token end at prefill and are left out), in order of landing, ties by request index.</summary>
    private static (long[] TransferPs, long[] TransferBytes, List<(long Arrival, int Index, RequestState State)> Decodes) Handoffs(
        IReadOnlyList<ServingRequest> requests, ServingResult prefill, double kvBytesPerToken, KvLink link,
        IReadOnlyList<int>? prefillInstance = null, int prefillInstances = 1)
    {
        var transferPs = new long[requests.Count];
        var transferBytes = new long[requests.Count];
        var moves = new List<(long StartPs, long Bytes, int Source)>();
        var moved = new List<int>();
        for (var i = 0; i < requests.Count; i++)
        {
            if (requests[i].OutputTokens <= 1) continue;
            transferBytes[i] = (long)Math.Ceiling(requests[i].PromptTokens * kvBytesPerToken);
            moves.Add((prefill.Requests[i].FirstTokenPs, transferBytes[i], prefillInstance?[i] ?? 0));
            moved.Add(i);
        }
        // Started in order of first token (ties by request index), so contending transfers share in a fixed order.
        var order = Enumerable.Range(0, moves.Count).OrderBy(k => moves[k].StartPs).ThenBy(k => moved[k]).ToArray();
        var landed = link.Transfers(order.Select(k => moves[k]).ToArray(), prefillInstances);
        var decodes = new List<(long Arrival, int Index, RequestState State)>();
        for (var j = 0; j < order.Length; j++)
        {
            var i = moved[order[j]];
            var first = prefill.Requests[i].FirstTokenPs;
            var arrival = landed[j];
            transferPs[i] = arrival - first;
            decodes.Add((arrival, i, RequestState.FromPrefill(requests[i] with { ArrivalPs = arrival }, first)));
        }
        decodes.Sort((a, b) => a.Arrival != b.Arrival ? a.Arrival.CompareTo(b.Arrival) : a.Index.CompareTo(b.Index));
        return (transferPs, transferBytes, decodes);
    }

    /// <summary>Each request whole: its prefill's figures, then its decode's where it had one; preemptions on both
    /// sides count.</summary>
    private static RequestState[] Joined(IReadOnlyList<ServingRequest> requests, ServingResult prefill,
        List<(long Arrival, int Index, RequestState State)> decodes)
    {
        var byIndex = new RequestState?[requests.Count];
        foreach (var d in decodes) byIndex[d.Index] = d.State;
        var merged = new RequestState[requests.Count];
        for (var i = 0; i < merged.Length; i++)
        {
            var p = prefill.Requests[i];
            var d = byIndex[i];
            merged[i] = new RequestState(requests[i])
            {
                Prefilled = p.Prefilled,
                Target = p.Target,
                Cached = d?.Cached ?? p.Cached,
                Generated = d?.Generated ?? p.Generated,
                Preemptions = p.Preemptions + (d?.Preemptions ?? 0),
                FirstScheduledPs = p.FirstScheduledPs,
                FirstTokenPs = p.FirstTokenPs,
                LastTokenPs = d?.LastTokenPs ?? p.LastTokenPs,
                FinishPs = d?.FinishPs ?? p.FinishPs,
                MaxInterTokenPs = d?.MaxInterTokenPs ?? 0,
            };
        }
        return merged;
    }
}

/// <summary>How a router picks the replica of an arriving request.</summary>
public enum RouterPolicy
{
    /// <summary>Request i goes to replica i mod N.</summary>
    RoundRobin,

    /// <summary>The replica with the fewest tokens still to process (prompt tokens to prefill and output tokens to
    /// emit) once its iterations that start before the arrival have run; ties go to the lowest replica.</summary>
    LeastOutstandingTokens,
}

/// <summary>A replicated run: the merged view, each replica's own and the replica of every request.</summary>
public sealed record ReplicatedResult(ServingResult Combined, IReadOnlyList<ServingResult> Replicas, IReadOnlyList<int> Assignment);

/// <summary>N replicas of a device behind a router: each has its own scheduler and KV cache, and a request is
/// served entirely by the replica the router sends it to on arrival.</summary>
public static class ReplicatedServing
{
    public const string Expected = "round-robin or least-outstanding-tokens";

    public static RouterPolicy ParseRouter(string text, string option) => text switch
    {
        "round-robin" => RouterPolicy.RoundRobin,
        "least-outstanding-tokens" => RouterPolicy.LeastOutstandingTokens,
        _ => throw new InputException(null, option, $"expected {Expected}, got '{text}'"),
    };

    /// <summary>The engine with the fewest tokens still to process once its iterations that start before
    /// <paramref name="atPs"/> have run (each is advanced to it); ties go to the lowest index.</summary>
    internal static int LeastOutstanding(ServingEngine[] engines, long atPs)
    {
        var pick = 0;
        var best = long.MaxValue;
        for (var k = 0; k < engines.Length; k++)
        {
            engines[k].Advance(atPs);
            var o = engines[k].OutstandingTokens();
            if (o < best) { best = o; pick = k; }
        }
        return pick;
    }

    public static ReplicatedResult Run(IReadOnlyList<ServingRequest> requests, int replicas, RouterPolicy router, Func<int, ServingEngine> replica, double staticPowerW)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(replica);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        var engines = new ServingEngine[replicas];
        for (var k = 0; k < replicas; k++) engines[k] = replica(k);
        var assignment = new int[requests.Count];
        var states = new RequestState[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            if (i > 0 && requests[i].ArrivalPs < requests[i - 1].ArrivalPs)
                throw new ArgumentException("requests must be in arrival order", nameof(requests));
            var pick = i % replicas;
            if (router == RouterPolicy.LeastOutstandingTokens) pick = LeastOutstanding(engines, requests[i].ArrivalPs);
            assignment[i] = pick;
            states[i] = new RequestState(requests[i]);
            engines[pick].Inject(states[i]);
        }
        var results = new ServingResult[replicas];
        var powers = new double[replicas];
        for (var k = 0; k < replicas; k++)
        {
            engines[k].Advance(long.MaxValue);
            results[k] = engines[k].Result();
            powers[k] = staticPowerW;
        }
        // The merged view's cache figures are one replica's cache and the busiest replica's peak.
        var combined = MultiDevice.Merge(states, results, powers) with
        {
            KvCapacityBlocks = results[0].KvCapacityBlocks,
            KvPeakBlocks = results.Max(r => r.KvPeakBlocks),
        };
        return new ReplicatedResult(combined, results, assignment);
    }
}

/// <summary>Merges the runs of several devices serving one stream.</summary>
internal static class MultiDevice
{
    /// <summary>Requests as given; iterations of every device by start time (ties by device order); energies,
    /// cache blocks and preemptions summed (callers restate the cache figures); a device that finishes before the last one idles (at its static power)
    /// until the end of the run.</summary>
    public static ServingResult Merge(IReadOnlyList<RequestState> requests, IReadOnlyList<ServingResult> parts, IReadOnlyList<double> staticPowerW)
    {
        long makespan = 0;
        foreach (var p in parts) makespan = Math.Max(makespan, p.MakespanPs);
        double energy = 0, idle = 0;
        long capacity = 0, peak = 0;
        var preemptions = 0;
        var gaps = new List<long>();
        var iterations = new List<(long Start, int Part, int Index, IterationSample Sample)>();
        for (var k = 0; k < parts.Count; k++)
        {
            var p = parts[k];
            energy += p.IterationEnergyJ;
            idle += p.IdleEnergyJ + staticPowerW[k] * Core.Time.Ps.ToSeconds(makespan - p.MakespanPs);
            capacity += p.KvCapacityBlocks;
            peak += p.KvPeakBlocks;
            preemptions += p.Preemptions;
            gaps.AddRange(p.InterTokenPs);
            for (var i = 0; i < p.Iterations.Count; i++) iterations.Add((p.Iterations[i].StartPs, k, i, p.Iterations[i]));
        }
        iterations.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.Part != b.Part ? a.Part.CompareTo(b.Part) : a.Index.CompareTo(b.Index));
        return new ServingResult(requests, iterations.Select(x => x.Sample).ToArray(), makespan, energy, idle, capacity,
            parts[0].KvBlockTokens, peak, preemptions)
        {
            InterTokenPs = gaps,
            PrefixCache = parts.Any(p => p.PrefixCache is not null) ? PrefixCacheStats.Sum(parts.Where(p => p.PrefixCache is not null).Select(p => p.PrefixCache!)) : null,
            Swap = parts.Any(p => p.Swap is not null) ? SwapStats.Sum(parts.Where(p => p.Swap is not null).Select(p => p.Swap!).ToArray()) : null,
        };
    }
}
