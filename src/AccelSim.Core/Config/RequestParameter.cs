namespace AccelSim.Core.Config;

/// <summary>The names by which the libraries refer to the parameters of a request in an
/// <see cref="InputProblem"/> that has no file: the path of the problem is one of these (several joined by
/// '/' when a problem concerns them together), and a message that suggests a value writes it as
/// <c>name=value</c>. The libraries never name a command-line flag; a front end (the command line, a
/// service) maps these names to its own spelling.</summary>
public static class RequestParameter
{
    public const string Batch = "batch";
    public const string Seq = "seq";
    public const string Context = "context";
    public const string Phase = "phase";
    public const string ExpertSkew = "expert_skew";
    public const string Recompute = "recompute";
    public const string Placement = "placement";
    public const string KvPolicy = "kv_policy";
    public const string Experts = "experts";
    public const string Sparsity = "sparsity";
    public const string Weights = "weights";
    public const string M = "m";
    public const string N = "n";
    public const string K = "k";
    public const string Heads = "heads";
    public const string KvHeads = "kv_heads";
    public const string HeadDim = "head_dim";
    public const string Bytes = "bytes";
    public const string Model = "model";
    public const string Hardware = "hardware";
    public const string Stack = "stack";
    public const string System = "system";
    public const string Tp = "tp";
    public const string Pp = "pp";
    public const string Dp = "dp";
    public const string Ep = "ep";
    public const string Zero = "zero";
    public const string Microbatch = "microbatch";
    public const string GlobalBatch = "global_batch";
    public const string PipelineSchedule = "pp_schedule";
    public const string VirtualStages = "virtual_stages";
    public const string SequenceParallel = "sequence_parallel";
    public const string ExpertHotShare = "ep_hot_share";

    // Serving (docs/serving.md)
    public const string Scheduler = "scheduler";
    public const string MaxBatch = "max_batch";
    public const string MaxBatchedTokens = "max_batched_tokens";
    public const string Chunk = "chunk";
    public const string BlockSize = "block_size";
    public const string KvBlocks = "kv_blocks";
    public const string MemoryFraction = "memory_fraction";
    public const string Slo = "slo";
    public const string NumRequests = "num_requests";
    public const string Rate = "rate";
    public const string Cv = "cv";
    public const string PromptTokens = "prompt_tokens";
    public const string OutputTokens = "output_tokens";
    public const string OrcaReserve = "orca_reserve";
    public const string OrcaIterations = "orca_iterations";

    /// <summary>Every name above, for front ends that map them.</summary>
    public static IReadOnlyList<string> All { get; } =
        [Batch, Seq, Context, Phase, ExpertSkew, Recompute, Placement, KvPolicy, Experts, Sparsity, Weights,
         M, N, K, Heads, KvHeads, HeadDim, Bytes, Model, Hardware, Stack, System,
         Scheduler, MaxBatch, MaxBatchedTokens, Chunk, BlockSize, KvBlocks, MemoryFraction, Slo, NumRequests, Rate, Cv, PromptTokens, OutputTokens, OrcaReserve, OrcaIterations,
         Tp, Pp, Dp, Ep, Zero, Microbatch, GlobalBatch, PipelineSchedule, VirtualStages, SequenceParallel, ExpertHotShare];

    /// <summary>The origin (the <see cref="InputProblem.File"/>) of problems with hardware overrides
    /// given as path/value pairs rather than read from a file.</summary>
    public const string Overrides = "overrides";
}
