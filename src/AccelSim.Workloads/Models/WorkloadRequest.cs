using AccelSim.Core.Config;
using AccelSim.Core.Graph;

namespace AccelSim.Workloads.Models;

/// <summary>What to build from a model: the phase and its sizes.
/// Prefill: <see cref="Batch"/> sequences of <see cref="Seq"/> prompt tokens, no cache
/// (<see cref="Context"/> must be 0). Decode: <see cref="Batch"/> sequences each generating one
/// token attending to <see cref="Context"/> cached tokens plus itself; <see cref="Seq"/> is the
/// prompt length (the command line's <c>--seq</c>) and is not used. Train: one step over
/// <see cref="Batch"/> sequences of <see cref="Seq"/> tokens (<see cref="Context"/> must be 0).
/// <see cref="DType"/> null means the model's <c>torch_dtype</c>, else bf16.</summary>
public sealed record WorkloadRequest(Phase Phase, long Batch, long Seq, long Context, DType? DType = null)
{
    /// <summary>Mixture-of-experts routing skew s in [0, 1): expert i (0-based) is chosen by a token
    /// with probability proportional to (1 - s)^i, capped at 1 and normalised so that a token picks
    /// <c>k</c> experts. 0 = uniform routing. See docs/workloads.md.</summary>
    public double ExpertSkew { get; init; }

    /// <summary>Train only: activation recomputation. The forward of each decoder layer is re-run
    /// in the backward pass and only the layer inputs are kept from the forward pass.</summary>
    public bool Recompute { get; init; }

    /// <summary>The software stack that lowers the model into kernels (docs/stacks.md); the fused
    /// implementation of a serving engine by default.</summary>
    public Stacks.SoftwareStack Stack { get; init; } = Stacks.SoftwareStack.Fused;

    public static WorkloadRequest Prefill(long batch, long seq, DType? dtype = null) => new(Phase.Prefill, batch, seq, 0, dtype);

    public static WorkloadRequest Decode(long batch, long context, DType? dtype = null) => new(Phase.Decode, batch, 1, context, dtype);

    public static WorkloadRequest Train(long batch, long seq, DType? dtype = null, bool recompute = false) =>
        new(Phase.Train, batch, seq, 0, dtype) { Recompute = recompute };

    /// <summary>New tokens per sequence: <see cref="Seq"/> in prefill and train, 1 in decode.</summary>
    public long NewTokensPerSequence => Phase == Phase.Decode ? 1 : Seq;

    /// <summary>New tokens processed: batch x seq in prefill and train, batch in decode.</summary>
    public long Tokens => Batch * NewTokensPerSequence;

    /// <summary>Checks the sizes against each other and against the model; every problem at once.</summary>
    public void Validate(ModelConfig model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var problems = new List<InputProblem>();
        if (Batch <= 0) problems.Add(new InputProblem(null, RequestParameter.Batch, $"expected a whole number > 0, got {Batch}"));
        switch (Phase)
        {
            case Phase.Prefill:
            case Phase.Train:
                if (Seq <= 0) problems.Add(new InputProblem(null, RequestParameter.Seq, $"expected a whole number > 0, got {Seq}"));
                if (Context != 0)
                {
                    problems.Add(new InputProblem(null, RequestParameter.Context, Phase == Phase.Prefill
                        ? $"prefill processes a prompt with no cache; expected 0, got {Context} (use phase=decode to attend to cached tokens)"
                        : $"a training step processes whole sequences with no cache; expected 0, got {Context}"));
                }
                break;
            case Phase.Decode:
                if (Context < 0) problems.Add(new InputProblem(null, RequestParameter.Context, $"expected a whole number >= 0, got {Context}"));
                break;
            default:
                problems.Add(new InputProblem(null, RequestParameter.Phase, $"expected {Phases.Expected}"));
                break;
        }
        ModelLimits.CheckRequest(this, problems);
        if (!(ExpertSkew >= 0 && ExpertSkew < 1))
            problems.Add(new InputProblem(null, RequestParameter.ExpertSkew, $"expected a number in [0, 1), got {ExpertSkew.ToString(System.Globalization.CultureInfo.InvariantCulture)}"));
        if (Recompute && Phase != Phase.Train)
            problems.Add(new InputProblem(null, RequestParameter.Recompute, "activation recomputation applies to the train phase only"));
        var positions = Context + NewTokensPerSequence;
        if (problems.Count == 0 && model.MaxPositionEmbeddings is { } max && positions > max)
        {
            problems.Add(new InputProblem(model.Source, "max_position_embeddings",
                $"the workload needs {positions} positions (context {Context} + new tokens {NewTokensPerSequence}) but the model supports {max}"));
        }
        if (problems.Count > 0) throw new InputException(problems);
    }
}
