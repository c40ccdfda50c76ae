using AccelSim.Core.Config;

namespace AccelSim.Workloads.Serving;

/// <summary>One sequence's part in the next iteration: <see cref="Query"/> new tokens of <see cref="Request"/>
/// (a prefill chunk, or 1 for a decode).</summary>
public readonly record struct PlannedWork(RequestState Request, int Query);

/// <summary>Host memory that preempted requests' KV blocks are swapped to (vLLM's <c>swap_space</c>), over the
/// device's host link: <see cref="CapacityBlocks"/> blocks of <see cref="BytesPerBlock"/> bytes; moving b blocks
/// takes b x bytes per block / <see cref="LinkBandwidthBps"/> and blocks the iteration.</summary>
public sealed record SwapSpace(long CapacityBlocks, double BytesPerBlock, double LinkBandwidthBps)
{
    public long TimePs(long blocks) => (long)Math.Ceiling(blocks * BytesPerBlock / LinkBandwidthBps * 1e12);

    public long Bytes(long blocks) => (long)Math.Ceiling(blocks * BytesPerBlock);
}

/// <summary>The limits every batching policy works under. <see cref="Swap"/>: preempt by swapping to host memory
/// (null: by recomputation).</summary>
public sealed record SchedulerOptions(int MaxBatch = 256, int MaxBatchedTokens = 8192, int Chunk = 512)
{
    public SwapSpace? Swap { get; init; }

    /// <summary>Orca: how much KV cache a request reserves, contiguously, at admission (<see cref="OrcaReservation"/>).</summary>
    public OrcaReserve OrcaReserve { get; init; } = OrcaReserve.Oracle;

    /// <summary>Orca: how an iteration combines prefills and decodes (<see cref="OrcaIterationPolicy"/>).</summary>
    public OrcaIterations OrcaIterations { get; init; } = OrcaIterations.Mixed;

    /// <summary>The model's maximum sequence length (its positions), which <see cref="OrcaReserve.Max"/> reserves for
    /// every request; null when unknown.</summary>
    public int? MaxSequenceTokens { get; init; }

    public void Validate()
    {
        var problems = new List<InputProblem>();
        if (MaxBatch < 1) problems.Add(new InputProblem(null, RequestParameter.MaxBatch, $"expected a whole number > 0, got {MaxBatch}"));
        if (MaxBatchedTokens < 1) problems.Add(new InputProblem(null, RequestParameter.MaxBatchedTokens, $"expected a whole number > 0, got {MaxBatchedTokens}"));
        if (Chunk < 1) problems.Add(new InputProblem(null, RequestParameter.Chunk, $"expected a whole number > 0, got {Chunk}"));
        if (OrcaReserve == OrcaReserve.Max && MaxSequenceTokens is not > 0)
            problems.Add(new InputProblem(null, OrcaReservation.Parameter, "max reserves the model's maximum sequence length, which is unknown here; give the model's max_position_embeddings or use pow2 or oracle"));
        if (problems.Count > 0) throw new InputException(problems);
    }
}

/// <summary>What a scheduler sees and changes: the requests waiting (arrived, not admitted, preempted ones in
/// front), the requests admitted (holding KV blocks, in admission order) and the KV cache.</summary>
public sealed class SchedulerContext
{
    public SchedulerContext(KvBlockManager kv, SchedulerOptions options)
    {
        Kv = kv;
        Options = options;
    }

    public KvBlockManager Kv { get; }
    public SchedulerOptions Options { get; }
    public LinkedList<RequestState> Waiting { get; } = new();
    public List<RequestState> Running { get; } = [];

    /// <summary>Requests swapped out to host memory, in the order they left (with <see cref="SchedulerOptions.Swap"/>).</summary>
    public LinkedList<RequestState> Swapped { get; } = new();

    /// <summary>Preemptions so far (by recomputation or by swapping).</summary>
    public int Preemptions { get; private set; }

    public int SwapOuts { get; private set; }
    public int SwapIns { get; private set; }
    public long SwapOutBytes { get; private set; }
    public long SwapInBytes { get; private set; }

    /// <summary>Blocks in host swap space now.</summary>
    public long SwapUsedBlocks { get; private set; }
    public long SwapPeakBlocks { get; private set; }

    /// <summary>Host-link transfer time the iteration being formed must wait for (swaps out and in).</summary>
    public long PendingTransferPs { get; private set; }

    /// <summary>Returns and clears <see cref="PendingTransferPs"/>.</summary>
    public long TakeTransferPs()
    {
        var t = PendingTransferPs;
        PendingTransferPs = 0;
        return t;
    }

    /// <summary>Moves the first waiting request to the running set.</summary>
    public RequestState Admit()
    {
        var r = Waiting.First!.Value;
        Waiting.RemoveFirst();
        Running.Add(r);
        return r;
    }

    /// <summary>Preempts the most recently admitted running request. By recomputation: frees its blocks and puts it
    /// at the front of the waiting queue. By swapping (<see cref="SchedulerOptions.Swap"/>, when the host swap space
    /// has room for its blocks, else by recomputation): its blocks move to host memory over the host link (the time
    /// is added to the iteration) and it joins the swapped queue, keeping its progress. Returns it.</summary>
    public RequestState PreemptLast()
    {
        var r = Running[^1];
        Running.RemoveAt(Running.Count - 1);
        Preemptions++;
        var blocks = Kv.BlocksFor(r.Cached);
        if (Options.Swap is { } swap && r.Cached > 0 && SwapUsedBlocks + blocks <= swap.CapacityBlocks)
        {
            Kv.Release(r, finished: false);
            r.SwappedBlocks = blocks;
            r.SwapOuts++;
            SwapUsedBlocks += blocks;
            SwapPeakBlocks = Math.Max(SwapPeakBlocks, SwapUsedBlocks);
            SwapOuts++;
            SwapOutBytes += swap.Bytes(blocks);
            PendingTransferPs += swap.TimePs(blocks);
            Swapped.AddLast(r);
            return r;
        }
        Kv.Release(r, finished: false);
        r.Preempt();
        Waiting.AddFirst(r);
        return r;
    }

    /// <summary>Brings swapped-out requests back (first out, first in) while the cache has room for their blocks and
    /// the batch has room; a decoding one joins <paramref name="batch"/> with its next decode.</summary>
    public void SwapIn(List<PlannedWork> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var swap = Options.Swap;
        while (swap is not null && Swapped.Count > 0 && Running.Count < Options.MaxBatch)
        {
            var r = Swapped.First!.Value;
            if (!Kv.TryReserve(r, r.Prefilling ? r.Cached : r.Cached + 1)) return;
            Swapped.RemoveFirst();
            SwapUsedBlocks -= r.SwappedBlocks;
            SwapIns++;
            SwapInBytes += swap.Bytes(r.SwappedBlocks);
            PendingTransferPs += swap.TimePs(r.SwappedBlocks);
            r.SwappedBlocks = 0;
            Running.Add(r);
            if (!r.Prefilling) batch.Add(new PlannedWork(r, 1));
        }
    }

    /// <summary>Reserves a block for every decode of the running requests (in admission order), preempting the
    /// latest admitted requests while the cache is short; adds the decodes that keep their place to
    /// <paramref name="batch"/>; then, when nothing was preempted, swaps requests back in (<see cref="SwapIn"/>).
    /// Used by the paged policies (vLLM, Sarathi-Serve). Returns whether a request was preempted.</summary>
    public bool PlanDecodesWithPreemption(List<PlannedWork> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var preempted = false;
        for (var i = 0; i < Running.Count; i++)
        {
            var r = Running[i];
            if (r.Prefilling) continue;
            while (!Kv.TryReserve(r, r.Cached + 1))
            {
                preempted = true;
                var victim = PreemptLast();
                if (ReferenceEquals(victim, r)) break;
            }
            if (i < Running.Count && ReferenceEquals(Running[i], r)) batch.Add(new PlannedWork(r, 1));
        }
        if (!preempted) SwapIn(batch);
        return preempted;
    }
}

/// <summary>A batching policy: when the device is free, it chooses the next iteration's work from the waiting
/// and running requests, reserving the KV blocks that work needs. An empty batch means nothing can run until a
/// request arrives.</summary>
public interface IBatchScheduler
{
    /// <summary>Lowercase id: <c>static</c>, <c>orca</c>, <c>vllm</c>, <c>sarathi</c>.</summary>
    string Id { get; }

    void Schedule(SchedulerContext context, List<PlannedWork> batch);
}

/// <summary>The bundled policies by id.</summary>
public static class BatchSchedulers
{
    public const string Expected = "static, orca, vllm or sarathi";

    public static IReadOnlyList<string> Ids { get; } = ["static", "orca", "vllm", "sarathi"];

    public static IBatchScheduler Create(string id) => id switch
    {
        "static" => new StaticBatchScheduler(),
        "orca" => new OrcaScheduler(),
        "vllm" => new VllmScheduler(),
        "sarathi" => new SarathiScheduler(),
        "disagg" => throw new InputException(null, RequestParameter.Scheduler, "disaggregated prefill and decode runs two devices (DisaggregatedServing), not one policy; expected " + Expected),
        _ => throw new InputException(null, RequestParameter.Scheduler, $"expected {Expected}, got '{id}'"),
    };
}

/// <summary>Static batching: a batch of up to <c>max-batch</c> waiting requests is formed only when the previous
/// one has finished entirely; its prompts prefill together, then it decodes until its longest request is done.
/// Every request reserves its full length in the cache at admission.</summary>
public sealed class StaticBatchScheduler : IBatchScheduler
{
    public string Id => "static";

    public void Schedule(SchedulerContext context, List<PlannedWork> batch)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(batch);
        if (context.Running.Count == 0)
        {
            while (context.Waiting.Count > 0 && context.Running.Count < context.Options.MaxBatch
                && context.Kv.TryReserve(context.Waiting.First!.Value, context.Waiting.First.Value.FullTokens))
            {
                var r = context.Admit();
                batch.Add(new PlannedWork(r, r.Target - r.Prefilled));
            }
            return;
        }
        foreach (var r in context.Running) batch.Add(new PlannedWork(r, 1));
    }
}

/// <summary>How Orca reserves KV cache: contiguously, for a request's whole life, at admission, as the vLLM paper
/// (Kwon et al., SOSP 2023, section 6.1) defines its Orca baselines: <see cref="Max"/> reserves the model's maximum
/// sequence length, <see cref="Pow2"/> the next power of two of the request's prompt plus output length (at most the
/// maximum), <see cref="Oracle"/> exactly prompt plus output (knowing the output length in advance; the last output
/// token is never cached, so prompt + output - 1 tokens, the most the request ever holds).</summary>
public enum OrcaReserve
{
    Max,
    Pow2,
    Oracle,
}

/// <summary>The tokens an Orca reservation holds for a request.</summary>
public static class OrcaReservation
{
    public const string Parameter = RequestParameter.OrcaReserve;
    public const string Expected = "max, pow2 or oracle";

    public static OrcaReserve Parse(string text) => text switch
    {
        "max" => OrcaReserve.Max,
        "pow2" => OrcaReserve.Pow2,
        "oracle" => OrcaReserve.Oracle,
        _ => throw new InputException(null, Parameter, $"expected {Expected}, got '{text}'"),
    };

    public static string Id(OrcaReserve mode) => mode switch
    {
        OrcaReserve.Max => "max",
        OrcaReserve.Pow2 => "pow2",
        _ => "oracle",
    };

    /// <summary>Tokens reserved for a request of <paramref name="promptTokens"/> + <paramref name="outputTokens"/>:
    /// never fewer than it holds at its full length (prompt + output - 1), so that max &gt;= pow2 &gt;= oracle.</summary>
    public static long Tokens(OrcaReserve mode, int promptTokens, int outputTokens, int? maxSequenceTokens)
    {
        long length = (long)promptTokens + outputTokens - 1;
        var cap = maxSequenceTokens is { } m ? Math.Max(m, length) : long.MaxValue;
        return mode switch
        {
            OrcaReserve.Max => maxSequenceTokens is { } max ? Math.Max(max, length) : throw new InvalidOperationException("Orca max reservation needs the maximum sequence length"),
            OrcaReserve.Pow2 => Math.Min(cap, (long)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)length + 1)),
            _ => length,
        };
    }
}

/// <summary>How Orca forms an iteration. <see cref="Mixed"/>: as Orca (Yu et al., OSDI 2022) runs, selective
/// batching puts the prefills of newly admitted requests into the iteration that decodes every running request.
/// <see cref="PrefillFirst"/>: as vLLM's original scheduler runs (<see cref="VllmScheduler"/>), an iteration prefills
/// the requests it admits and nothing else, and decodes the running requests only when none can be admitted; the
/// vLLM paper's Orca baselines are its own reimplementation beside vLLM (section 6.1), which this keeps apart from
/// vLLM by the reservation alone.</summary>
public enum OrcaIterations
{
    Mixed,
    PrefillFirst,
}

/// <summary>Parsing and naming <see cref="OrcaIterations"/>.</summary>
public static class OrcaIterationPolicy
{
    public const string Parameter = RequestParameter.OrcaIterations;
    public const string Expected = "mixed or prefill-first";

    public static OrcaIterations Parse(string text) => text switch
    {
        "mixed" => OrcaIterations.Mixed,
        "prefill-first" => OrcaIterations.PrefillFirst,
        _ => throw new InputException(null, Parameter, $"expected {Expected}, got '{text}'"),
    };

    public static string Id(OrcaIterations mode) => mode == OrcaIterations.PrefillFirst ? "prefill-first" : "mixed";
}

/// <summary>Orca (Yu et al., OSDI 2022): iteration-level scheduling. Waiting requests are admitted first come, first
/// served, while the batch has room (<c>max-batch</c> sequences, <c>max-batched-tokens</c> tokens) and the cache has
/// room for the request's reservation (<see cref="SchedulerOptions.OrcaReserve"/>: its maximum, power-of-two or exact
/// length, held until it finishes); an admitted request prefills its whole prompt in the iteration that admits it.
/// With <see cref="OrcaIterations.Mixed"/> every iteration also decodes every running request; with
/// <see cref="OrcaIterations.PrefillFirst"/> an iteration that admits requests only prefills them, and the running
/// requests decode in the iterations that admit none.</summary>
public sealed class OrcaScheduler : IBatchScheduler
{
    public string Id => "orca";

    public void Schedule(SchedulerContext context, List<PlannedWork> batch)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(batch);
        if (context.Options.OrcaIterations == OrcaIterations.PrefillFirst)
        {
            AdmitWaiting(context, batch, 0);
            if (batch.Count > 0) return;
            foreach (var r in context.Running) batch.Add(new PlannedWork(r, 1));
            return;
        }
        foreach (var r in context.Running) batch.Add(new PlannedWork(r, 1));
        AdmitWaiting(context, batch, batch.Count);
    }

    /// <summary>Admits waiting requests while the batch (already <paramref name="tokens"/> tokens) and the cache have
    /// room, each with its whole prompt's prefill.</summary>
    private static void AdmitWaiting(SchedulerContext context, List<PlannedWork> batch, int tokens)
    {
        var o = context.Options;
        while (context.Waiting.Count > 0 && context.Running.Count < o.MaxBatch)
        {
            var next = context.Waiting.First!.Value;
            var fresh = next.Target - context.Kv.PrefixHit(next);
            if (tokens > 0 && tokens + fresh > o.MaxBatchedTokens) break;
            var reserve = OrcaReservation.Tokens(o.OrcaReserve, next.Spec.PromptTokens, next.Spec.OutputTokens, o.MaxSequenceTokens);
            if (context.Kv.BlocksFor(reserve) > context.Kv.CapacityBlocks)
            {
                throw new InputException(null, $"request {next.Spec.Id}",
                    $"Orca ({OrcaReservation.Id(o.OrcaReserve)}) reserves {reserve} tokens ({context.Kv.BlocksFor(reserve)} KV blocks) for it but the cache holds {context.Kv.CapacityBlocks} blocks");
            }
            if (!context.Kv.TryReserve(next, reserve)) break;
            context.Admit();
            batch.Add(new PlannedWork(next, next.Target - next.Prefilled));
            tokens += next.Target - next.Prefilled;
        }
    }
}

/// <summary>vLLM (Kwon et al., SOSP 2023) as its original scheduler runs: a paged cache reserved block by block.
/// When requests wait and the blocks of their prompts are free, an iteration prefills as many of them (first come,
/// first served) as <c>max-batch</c> and <c>max-batched-tokens</c> allow; otherwise it decodes every running
/// request, preempting the latest admitted by recomputation while the cache is short of a block.</summary>
public sealed class VllmScheduler : IBatchScheduler
{
    public string Id => "vllm";

    public void Schedule(SchedulerContext context, List<PlannedWork> batch)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(batch);
        var tokens = 0;
        while (context.Swapped.Count == 0 && context.Waiting.Count > 0 && context.Running.Count < context.Options.MaxBatch)
        {
            var next = context.Waiting.First!.Value;
            var fresh = next.Target - context.Kv.PrefixHit(next);
            if (tokens > 0 && tokens + fresh > context.Options.MaxBatchedTokens) break;
            if (!context.Kv.TryReserve(next, next.Target)) break;
            context.Admit();
            batch.Add(new PlannedWork(next, next.Target - next.Prefilled));
            tokens += next.Target - next.Prefilled;
        }
        if (batch.Count > 0) return;
        context.PlanDecodesWithPreemption(batch);
    }
}

/// <summary>Sarathi-Serve (Agrawal et al., OSDI 2024): stall-free batching under a token budget (<c>--chunk</c>).
/// Every iteration first decodes every running request (preempting the latest admitted by recomputation while
/// the cache is short), then spends the rest of the budget on prefill chunks: the running requests' unfinished
/// prompts first, then newly admitted requests, first come, first served.</summary>
public sealed class SarathiScheduler : IBatchScheduler
{
    public string Id => "sarathi";

    public void Schedule(SchedulerContext context, List<PlannedWork> batch)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(batch);
        context.PlanDecodesWithPreemption(batch);
        var budget = context.Options.Chunk - batch.Count;
        foreach (var r in context.Running)
        {
            if (budget <= 0) return;
            if (!r.Prefilling) continue;
            var q = Math.Min(r.Target - r.Prefilled, budget);
            if (!context.Kv.TryReserve(r, r.Cached + q)) return;
            batch.Add(new PlannedWork(r, q));
            budget -= q;
        }
        while (budget > 0 && context.Swapped.Count == 0 && context.Waiting.Count > 0 && context.Running.Count < context.Options.MaxBatch)
        {
            var next = context.Waiting.First!.Value;
            var hit = context.Kv.PrefixHit(next);
            var q = Math.Min(next.Target - hit, budget);
            if (!context.Kv.TryReserve(next, hit + q)) return;
            context.Admit();
            batch.Add(new PlannedWork(next, q));
            budget -= q;
        }
    }
}
