using AccelSim.Core.Config;
using AccelSim.Core.Graph;

namespace AccelSim.Workloads.Models;

/// <summary>What to build from a model: the phase and its sizes.
/// Prefill: <see cref="Batch"/> sequences of <see cref="Seq"/> prompt tokens, no cache
/// (<see cref="Context"/> must be 0). Decode: <see cref="Batch"/> sequences each generating one
/// token attending to <see cref="Context"/> cached tokens plus itself; <see cref="Seq"/> is the
/// prompt length (the command line's <c>--seq</c>) and is not used.
/// <see cref="DType"/> null means the model's <c>torch_dtype</c>, else bf16.</summary>
public sealed record WorkloadRequest(Phase Phase, long Batch, long Seq, long Context, DType? DType = null)
{
    public static WorkloadRequest Prefill(long batch, long seq, DType? dtype = null) => new(Phase.Prefill, batch, seq, 0, dtype);

    public static WorkloadRequest Decode(long batch, long context, DType? dtype = null) => new(Phase.Decode, batch, 1, context, dtype);

    /// <summary>New tokens per sequence: <see cref="Seq"/> in prefill, 1 in decode.</summary>
    public long NewTokensPerSequence => Phase == Phase.Decode ? 1 : Seq;

    /// <summary>New tokens processed: batch x seq in prefill, batch in decode.</summary>
    public long Tokens => Batch * NewTokensPerSequence;

    /// <summary>Checks the sizes against each other and against the model; every problem at once.</summary>
    public void Validate(ModelConfig model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var problems = new List<InputProblem>();
        if (Batch <= 0) problems.Add(new InputProblem(null, "--batch", $"expected a whole number > 0, got {Batch}"));
        switch (Phase)
        {
            case Phase.Prefill:
                if (Seq <= 0) problems.Add(new InputProblem(null, "--seq", $"expected a whole number > 0, got {Seq}"));
                if (Context != 0)
                    problems.Add(new InputProblem(null, "--context", $"prefill processes a prompt with no cache; expected 0, got {Context} (use --phase decode to attend to cached tokens)"));
                break;
            case Phase.Decode:
                if (Context < 0) problems.Add(new InputProblem(null, "--context", $"expected a whole number >= 0, got {Context}"));
                break;
            default:
                problems.Add(new InputProblem(null, "--phase", $"expected {Phases.Expected}"));
                break;
        }
        var positions = Context + NewTokensPerSequence;
        if (problems.Count == 0 && model.MaxPositionEmbeddings is { } max && positions > max)
        {
            problems.Add(new InputProblem(model.Source, "max_position_embeddings",
                $"the workload needs {positions} positions (context {Context} + new tokens {NewTokensPerSequence}) but the model supports {max}"));
        }
        if (problems.Count > 0) throw new InputException(problems);
    }
}
