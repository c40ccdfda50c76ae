using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel.Internal;

namespace AccelSim.Workloads.Parallel;

/// <summary>The order in which a pipeline stage runs its microbatches' forward and backward passes.</summary>
public enum PipelineScheduleKind
{
    /// <summary>Every forward, then every backward (GPipe).</summary>
    GPipe,

    /// <summary>One forward one backward (PipeDream-flush, Megatron's default): warm-up forwards, a steady
    /// state alternating one forward and one backward, cool-down backwards.</summary>
    OneFOneB,

    /// <summary>Megatron's interleaved 1F1B: each rank holds several non-adjacent model chunks (virtual stages).</summary>
    Interleaved,
}

/// <summary>The request parameters a parallelism plan is given with (<see cref="RequestParameter"/>); validation
/// errors name them, and a front end maps each to its own spelling (the command line's <c>--tp</c>, ...).</summary>
public static class ParallelFlag
{
    public const string Tp = RequestParameter.Tp;
    public const string Pp = RequestParameter.Pp;
    public const string Dp = RequestParameter.Dp;
    public const string Ep = RequestParameter.Ep;
    public const string Zero = RequestParameter.Zero;
    public const string Microbatch = RequestParameter.Microbatch;
    public const string GlobalBatch = RequestParameter.GlobalBatch;
    public const string Schedule = RequestParameter.PipelineSchedule;
    public const string VirtualStages = RequestParameter.VirtualStages;
    public const string Recompute = RequestParameter.Recompute;
    public const string SequenceParallel = RequestParameter.SequenceParallel;
    public const string ExpertHotShare = RequestParameter.ExpertHotShare;
}

/// <summary>How a workload is spread over ranks, as given (unvalidated). <see cref="ParallelPlan.Bind"/>
/// checks it against a model and a request and freezes it.</summary>
public sealed record ParallelismOptions
{
    /// <summary>Tensor parallelism: heads, KV heads, the MLP width and the vocabulary split over this many ranks (Megatron).</summary>
    public int Tp { get; init; } = 1;

    /// <summary>Pipeline stages: the layers split into this many consecutive stages.</summary>
    public int Pp { get; init; } = 1;

    /// <summary>Data-parallel replicas.</summary>
    public int Dp { get; init; } = 1;

    /// <summary>Expert parallelism (mixture-of-experts models): the experts of a layer spread over this many
    /// ranks of a data-parallel group (it divides <see cref="Dp"/>).</summary>
    public int Ep { get; init; } = 1;

    /// <summary>ZeRO stage 0-3: 0 replicates weights, gradients and optimizer state over the data-parallel group;
    /// 1 shards the optimizer state, 2 also the gradients, 3 also the weights.</summary>
    public int Zero { get; init; }

    /// <summary>Sequences per microbatch; null: the whole per-replica batch in one microbatch.</summary>
    public long? Microbatch { get; init; }

    /// <summary>Sequences per step over all replicas; null: the request's batch.</summary>
    public long? GlobalBatch { get; init; }

    public PipelineScheduleKind Schedule { get; init; } = PipelineScheduleKind.OneFOneB;

    /// <summary>Model chunks per pipeline rank under <see cref="PipelineScheduleKind.Interleaved"/> (Megatron's
    /// virtual pipeline size); 1 otherwise.</summary>
    public int VirtualStages { get; init; } = 1;

    /// <summary>Megatron sequence parallelism: each tensor-parallel all-reduce becomes a reduce-scatter and an
    /// all-gather, and the activations outside the split matmuls are held 1/tp per rank.</summary>
    public bool SequenceParallel { get; init; }

    /// <summary>Activation recomputation (train only): the backward re-runs each layer's forward.</summary>
    public bool Recompute { get; init; }

    /// <summary>Simulate data-parallel replica 0 only; the others are symmetric mirrors named in the
    /// data-parallel collectives' groups (docs/parallelism.md, "Folding").</summary>
    public bool Fold { get; init; } = true;

    /// <summary>Mixture of experts under expert parallelism: the share of a layer's routed token rows that the
    /// busiest expert-parallel rank receives, in [1/ep, 1]; null: balanced (1/ep). Every rank is costed as
    /// the busiest one (the all-to-all waits for it).</summary>
    public double? ExpertHotShare { get; init; }
}

/// <summary>A validated, frozen parallelism plan for one model and request. Rank order is Megatron's:
/// tensor-parallel index fastest, then data-parallel, then pipeline stage:
/// rank = tp + Tp × (dp + Dp × pp).</summary>
public sealed class ParallelPlan
{
    private ParallelPlan(ParallelismOptions o, long globalBatch, long microbatch, bool recompute)
    {
        Tp = o.Tp;
        Pp = o.Pp;
        Dp = o.Dp;
        Ep = o.Ep;
        Zero = o.Zero;
        Schedule = o.Schedule;
        VirtualStages = o.VirtualStages;
        SequenceParallel = o.SequenceParallel;
        Recompute = recompute;
        Fold = o.Fold;
        GlobalBatch = globalBatch;
        MicrobatchSize = microbatch;
        ExpertHotShare = o.ExpertHotShare ?? 1.0 / o.Ep;
    }

    public int Tp { get; }
    public int Pp { get; }
    public int Dp { get; }
    public int Ep { get; }
    public int Zero { get; }
    public PipelineScheduleKind Schedule { get; }
    public int VirtualStages { get; }
    public bool SequenceParallel { get; }
    public bool Recompute { get; }
    public bool Fold { get; }
    public long GlobalBatch { get; }
    public long MicrobatchSize { get; }
    public double ExpertHotShare { get; }

    /// <summary>Ranks in all: Tp × Pp × Dp.</summary>
    public int Ranks => Tp * Pp * Dp;

    /// <summary>Microbatches each pipeline runs per step: GlobalBatch / (Dp × MicrobatchSize).</summary>
    public int Microbatches => (int)(GlobalBatch / (Dp * MicrobatchSize));

    /// <summary>Model chunks in the pipeline: Pp × VirtualStages.</summary>
    public int PipelineChunks => Pp * VirtualStages;

    /// <summary>The global rank of (tensor-parallel index, data-parallel index, pipeline stage).</summary>
    public int RankOf(int tp, int dp, int pp) => tp + Tp * (dp + Dp * pp);

    /// <summary>The (tensor-parallel, data-parallel, pipeline) indexes of a global rank.</summary>
    public (int Tp, int Dp, int Pp) Coordinates(int rank) => (rank % Tp, rank / Tp % Dp, rank / (Tp * Dp));

    public override string ToString()
    {
        var s = $"tp{Tp} pp{Pp} dp{Dp}";
        if (Ep > 1) s += $" ep{Ep}";
        if (Zero > 0) s += $" zero{Zero}";
        if (SequenceParallel) s += " sp";
        if (Pp > 1) s += " " + Name(Schedule) + (Schedule == PipelineScheduleKind.Interleaved ? $"x{VirtualStages}" : "");
        if (Recompute) s += " recompute";
        return s;
    }

    public static string Name(PipelineScheduleKind k) => k switch
    {
        PipelineScheduleKind.GPipe => "gpipe",
        PipelineScheduleKind.OneFOneB => "1f1b",
        PipelineScheduleKind.Interleaved => "interleaved",
        _ => throw new ArgumentOutOfRangeException(nameof(k)),
    };

    /// <summary>Parses <c>gpipe</c>, <c>1f1b</c> or <c>interleaved</c>; the error names <c>--pp-schedule</c>.</summary>
    public static PipelineScheduleKind ParseSchedule(string? text)
    {
        foreach (var k in Enum.GetValues<PipelineScheduleKind>())
        {
            if (string.Equals(Name(k), text?.Trim(), StringComparison.OrdinalIgnoreCase)) return k;
        }
        throw new InputException(null, ParallelFlag.Schedule, $"unknown pipeline schedule '{text}'; expected one of gpipe, 1f1b, interleaved");
    }

    /// <summary>Checks <paramref name="o"/> against the model, the request and (if given) the number of
    /// ranks of the system; every problem at once, each naming its flag.</summary>
    public static ParallelPlan Bind(ParallelismOptions o, ModelConfig model, WorkloadRequest request, int? systemRanks = null)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(request);
        var problems = new List<InputProblem>();
        void Bad(string flag, string message) => problems.Add(new InputProblem(null, flag, message));

        foreach (var (flag, v) in new[] { (ParallelFlag.Tp, o.Tp), (ParallelFlag.Pp, o.Pp), (ParallelFlag.Dp, o.Dp), (ParallelFlag.Ep, o.Ep), (ParallelFlag.VirtualStages, o.VirtualStages) })
        {
            if (v < 1 || v > 1 << 20) Bad(flag, $"expected a whole number in [1, {1 << 20}], got {v}");
        }
        if (problems.Count > 0) throw new InputException(problems);

        if (o.Zero is < 0 or > 3) Bad(ParallelFlag.Zero, $"expected a ZeRO stage 0, 1, 2 or 3, got {o.Zero}");
        if (model.NumAttentionHeads % o.Tp != 0)
            Bad(ParallelFlag.Tp, $"tensor parallelism splits the attention heads: expected a divisor of num_attention_heads ({model.NumAttentionHeads}), got {o.Tp}");
        else if (model.NumKeyValueHeads % o.Tp != 0)
            Bad(ParallelFlag.Tp, $"tensor parallelism splits the key/value heads: expected a divisor of num_key_value_heads ({model.NumKeyValueHeads}), got {o.Tp}");
        if (model.IntermediateSize % o.Tp != 0)
            Bad(ParallelFlag.Tp, $"tensor parallelism splits the MLP: expected a divisor of intermediate_size ({model.IntermediateSize}), got {o.Tp}");
        if (model.VocabSize % o.Tp != 0)
            Bad(ParallelFlag.Tp, $"tensor parallelism splits the vocabulary: expected a divisor of vocab_size ({model.VocabSize}), got {o.Tp} (Megatron pads the vocabulary to a multiple of 128 x tp; pad vocab_size in the config)");
        foreach (var key in ShardedConfig.TpWidthKeys)
        {
            if (model.Raw[key]?.Type == Newtonsoft.Json.Linq.JTokenType.Integer && (long)model.Raw[key]! % o.Tp != 0)
                Bad(ParallelFlag.Tp, $"tensor parallelism splits the experts' MLP: expected a divisor of {key} ({(long)model.Raw[key]!}), got {o.Tp}");
        }
        var chunks = (long)o.Pp * o.VirtualStages;
        if (o.Schedule != PipelineScheduleKind.Interleaved && o.VirtualStages != 1)
            Bad(ParallelFlag.VirtualStages, $"virtual stages apply to --pp-schedule interleaved only; expected 1, got {o.VirtualStages}");
        if (model.NumHiddenLayers % chunks != 0)
        {
            Bad(o.VirtualStages > 1 ? ParallelFlag.VirtualStages : ParallelFlag.Pp,
                $"the pipeline splits the layers evenly: expected pp x virtual stages ({o.Pp} x {o.VirtualStages}) to divide num_hidden_layers ({model.NumHiddenLayers})");
        }
        if (o.Schedule == PipelineScheduleKind.Interleaved && o.VirtualStages < 2)
            Bad(ParallelFlag.VirtualStages, $"the interleaved schedule needs at least 2 model chunks per rank, got {o.VirtualStages}");
        if (o.Schedule == PipelineScheduleKind.Interleaved && o.Pp < 2)
            Bad(ParallelFlag.Schedule, "the interleaved schedule needs --pp of at least 2");

        var experts = ShardedConfig.Experts(model);
        if (o.Ep > 1)
        {
            if (experts == 0) Bad(ParallelFlag.Ep, $"model '{model.Name}' has no mixture-of-experts layers; expected 1, got {o.Ep}");
            else if (experts % o.Ep != 0) Bad(ParallelFlag.Ep, $"expert parallelism places the experts evenly: expected a divisor of the expert count ({experts}), got {o.Ep}");
            if (o.Dp % o.Ep != 0) Bad(ParallelFlag.Ep, $"expert-parallel groups are carved out of the data-parallel group: expected a divisor of --dp ({o.Dp}), got {o.Ep}");
        }
        if (o.ExpertHotShare is { } share && !(share >= 1.0 / o.Ep - 1e-12 && share <= 1))
            Bad(ParallelFlag.ExpertHotShare, $"expected the busiest expert-parallel rank's share in [1/ep, 1] = [{(1.0 / o.Ep).ToString("G4", CultureInfo.InvariantCulture)}, 1], got {share.ToString(CultureInfo.InvariantCulture)}");

        var train = request.Phase == Phase.Train;
        if ((o.Recompute || request.Recompute) && !train)
            Bad(ParallelFlag.Recompute, "activation recomputation applies to the train phase only");
        if (o.Zero > 0 && !train)
            Bad(ParallelFlag.Zero, "ZeRO shards training state; expected 0 outside the train phase");

        var global = o.GlobalBatch ?? request.Batch;
        if (global < 1) Bad(ParallelFlag.GlobalBatch, $"expected a whole number > 0, got {global}");
        else if (global % o.Dp != 0) Bad(ParallelFlag.GlobalBatch, $"expected a multiple of --dp ({o.Dp}) so that every replica gets the same batch, got {global}");
        long micro = 0;
        if (problems.Count == 0)
        {
            var perReplica = global / o.Dp;
            micro = o.Microbatch ?? perReplica;
            if (micro < 1) Bad(ParallelFlag.Microbatch, $"expected a whole number > 0, got {micro}");
            else if (perReplica % micro != 0)
                Bad(ParallelFlag.Microbatch, $"expected a divisor of the per-replica batch (global batch {global} / dp {o.Dp} = {perReplica}), got {micro}");
            else if (perReplica / micro > 1 << 20)
                Bad(ParallelFlag.Microbatch, $"{perReplica / micro} microbatches per step is beyond the limit of {1 << 20}");
            else if (o.Schedule == PipelineScheduleKind.Interleaved && perReplica / micro % o.Pp != 0)
                Bad(ParallelFlag.Microbatch, $"the interleaved schedule runs microbatches in groups of --pp ({o.Pp}): expected their number (per-replica batch {perReplica} / microbatch {micro} = {perReplica / micro}) to be a multiple of it");
        }
        var ranks = (long)o.Tp * o.Pp * o.Dp;
        if (systemRanks is { } n && ranks != n)
            Bad(ParallelFlag.Dp, $"expected tp x pp x dp ({o.Tp} x {o.Pp} x {o.Dp} = {ranks}) to equal the system's {n} devices");
        else if (ranks > 1 << 24)
            Bad(ParallelFlag.Dp, $"tp x pp x dp = {ranks} ranks is beyond the limit of {1 << 24}");
        if (problems.Count > 0) throw new InputException(problems);
        return new ParallelPlan(o, global, micro, o.Recompute || request.Recompute);
    }
}
