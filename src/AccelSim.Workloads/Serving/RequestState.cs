namespace AccelSim.Workloads.Serving;

/// <summary>A request as the scheduler sees it. A request prefills <see cref="Target"/> tokens (its prompt, or
/// after a preemption by recomputation its prompt and the tokens generated so far), in one piece or in chunks;
/// the iteration that completes the prefill emits a token, and every decode after it emits one more, until
/// <see cref="Generated"/> reaches the request's output length.</summary>
public sealed class RequestState
{
    public RequestState(ServingRequest spec)
    {
        Spec = spec;
        Target = spec.PromptTokens;
    }

    public ServingRequest Spec { get; }

    /// <summary>Tokens to prefill before decoding.</summary>
    public int Target { get; internal set; }

    /// <summary>Tokens of <see cref="Target"/> prefilled so far.</summary>
    public int Prefilled { get; internal set; }

    /// <summary>Tokens in the KV cache.</summary>
    public long Cached { get; internal set; }

    /// <summary>Output tokens emitted so far.</summary>
    public int Generated { get; internal set; }

    /// <summary>KV blocks held by this request alone.</summary>
    public long Blocks { get; internal set; }

    /// <summary>Blocks of a cached prefix this request shares (<see cref="KvBlockManager"/>), counted once for all
    /// requests sharing them.</summary>
    public long SharedBlocks { get; internal set; }

    internal KvBlockManager.PrefixEntry? Prefix { get; set; }

    /// <summary>Prompt tokens found in the prefix cache (not prefilled), over every admission.</summary>
    public int PrefixHitTokens { get; internal set; }

    /// <summary>Blocks held in host memory while swapped out (0 on the device).</summary>
    public long SwappedBlocks { get; internal set; }

    /// <summary>Times the request was swapped out to host memory.</summary>
    public int SwapOuts { get; internal set; }

    public int Preemptions { get; internal set; }

    public long FirstScheduledPs { get; internal set; } = -1;
    public long FirstTokenPs { get; internal set; } = -1;
    public long LastTokenPs { get; internal set; } = -1;
    public long FinishPs { get; internal set; } = -1;

    /// <summary>Longest gap between two consecutive output tokens.</summary>
    public long MaxInterTokenPs { get; internal set; }

    public bool Prefilling => Prefilled < Target;
    public bool Finished => FinishPs >= 0;

    /// <summary>Tokens the request holds in the cache at its full length (prompt and every output token but the last).</summary>
    public long FullTokens => Spec.PromptTokens + Spec.OutputTokens - 1;

    /// <summary>A request whose prompt was prefilled elsewhere (the prefill pool of a disaggregated server) and
    /// whose first token was emitted at <paramref name="firstTokenPs"/>: its cache holds the prompt, it only decodes.</summary>
    internal static RequestState FromPrefill(ServingRequest spec, long firstTokenPs) => new(spec)
    {
        Prefilled = spec.PromptTokens,
        Cached = spec.PromptTokens,
        Generated = 1,
        FirstTokenPs = firstTokenPs,
        LastTokenPs = firstTokenPs,
    };

    /// <summary>Drops the cache: the request will prefill its prompt and the tokens generated so far again.</summary>
    internal void Preempt()
    {
        Target = Spec.PromptTokens + Generated;
        Prefilled = 0;
        Cached = 0;
        Preemptions++;
    }
}
