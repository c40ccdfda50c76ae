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
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(cost);
        ArgumentNullException.ThrowIfNull(kv);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var states = new RequestState[requests.Count];
        for (var i = 0; i < states.Length; i++)
        {
            states[i] = new RequestState(requests[i]);
            var need = kv.BlocksFor(states[i].FullTokens);
            if (need > kv.CapacityBlocks)
            {
                throw new InputException(null, $"request {requests[i].Id}",
                    $"needs {need} KV blocks ({requests[i].PromptTokens} prompt + {requests[i].OutputTokens} output tokens) but the cache holds {kv.CapacityBlocks}");
            }
            if (i > 0 && requests[i].ArrivalPs < requests[i - 1].ArrivalPs)
                throw new ArgumentException("requests must be in arrival order", nameof(requests));
        }

        var context = new SchedulerContext(kv, options);
        var batch = new List<PlannedWork>(options.MaxBatch + 16);
        var work = new SequenceWork[options.MaxBatch + 16];
        var samples = new List<IterationSample>();
        var gaps = new List<long>();
        long t = 0, idlePs = 0;
        double energy = 0;
        int next = 0, done = 0;
        while (done < states.Length)
        {
            while (next < states.Length && states[next].Spec.ArrivalPs <= t) context.Waiting.AddLast(states[next++]);
            batch.Clear();
            scheduler.Schedule(context, batch);
            if (batch.Count == 0)
            {
                if (next >= states.Length)
                    throw new InvalidOperationException($"scheduler '{scheduler.Id}' formed no iteration with {context.Waiting.Count} requests waiting and {context.Running.Count} running");
                var arrival = states[next].Spec.ArrivalPs;
                idlePs += arrival - t;
                t = arrival;
                continue;
            }
            if (work.Length < batch.Count) work = new SequenceWork[batch.Count * 2];
            var tokens = 0;
            for (var i = 0; i < batch.Count; i++)
            {
                var b = batch[i];
                work[i] = new SequenceWork(b.Query, b.Request.Cached);
                tokens += b.Query;
                if (b.Request.FirstScheduledPs < 0) b.Request.FirstScheduledPs = t;
            }
            var c = cost(work.AsSpan(0, batch.Count));
            if (c.TimePs <= 0) throw new InvalidOperationException("an iteration must take time");
            samples.Add(new IterationSample(t, c.TimePs, batch.Count, tokens, context.Waiting.Count, kv.UsedBlocks, c.EnergyJ));
            t = checked(t + c.TimePs);
            energy += c.EnergyJ;
            foreach (var b in batch)
            {
                var r = b.Request;
                if (r.Prefilling)
                {
                    r.Prefilled += b.Query;
                    r.Cached += b.Query;
                    if (!r.Prefilling) Emit(r, t, gaps);
                }
                else
                {
                    r.Cached += 1;
                    Emit(r, t, gaps);
                }
                if (r.Generated == r.Spec.OutputTokens)
                {
                    r.FinishPs = t;
                    kv.Release(r);
                    context.Running.Remove(r);
                    done++;
                    progress?.Report(done);
                }
            }
        }
        return new ServingResult(states, samples, t, energy, staticPowerW * Core.Time.Ps.ToSeconds(idlePs),
            kv.CapacityBlocks, kv.BlockTokens, kv.PeakBlocks, context.Preemptions) { InterTokenPs = gaps };
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
