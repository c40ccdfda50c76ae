using System.Text.RegularExpressions;
using AccelSim.Core.Config;

namespace AccelSim.Cli;

/// <summary>The one place where the command line maps the libraries' request parameter names
/// (<see cref="RequestParameter"/>) to its flags. The libraries name parameters, never flags, so that other
/// front ends can call them; problems with no file are translated here before they are printed.</summary>
public static partial class CliParameterNames
{
    /// <summary>Each library parameter name and the flag that sets it.</summary>
    public static IReadOnlyDictionary<string, string> Flags { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [RequestParameter.Batch] = "--batch",
        [RequestParameter.Seq] = "--seq",
        [RequestParameter.Context] = "--context",
        [RequestParameter.Phase] = "--phase",
        [RequestParameter.ExpertSkew] = "--expert-skew",
        [RequestParameter.Recompute] = "--recompute",
        [RequestParameter.Placement] = "--placement",
        [RequestParameter.KvPolicy] = "--kv-policy",
        [RequestParameter.Experts] = "--experts",
        [RequestParameter.Sparsity] = "--sparsity",
        [RequestParameter.Weights] = "--weights",
        [RequestParameter.M] = "--m",
        [RequestParameter.N] = "--n",
        [RequestParameter.K] = "--k",
        [RequestParameter.Heads] = "--heads",
        [RequestParameter.KvHeads] = "--kv-heads",
        [RequestParameter.HeadDim] = "--head-dim",
        [RequestParameter.Bytes] = "--bytes",
        [RequestParameter.Model] = "--model",
        [RequestParameter.Hardware] = "--hardware",
        [RequestParameter.Stack] = "--stack",
        [RequestParameter.System] = "--system",
        [RequestParameter.Scheduler] = "--scheduler",
        [RequestParameter.MaxBatch] = "--max-batch",
        [RequestParameter.MaxBatchedTokens] = "--max-batched-tokens",
        [RequestParameter.Chunk] = "--chunk",
        [RequestParameter.OrcaReserve] = "--orca-reserve",
        [RequestParameter.OrcaIterations] = "--orca-iterations",
        [RequestParameter.BlockSize] = "--block-size",
        [RequestParameter.KvBlocks] = "--kv-blocks",
        [RequestParameter.MemoryFraction] = "--memory-fraction",
        [RequestParameter.Slo] = "--slo",
        [RequestParameter.NumRequests] = "--num-requests",
        [RequestParameter.Rate] = "--rate",
        [RequestParameter.Cv] = "--cv",
        [RequestParameter.PromptTokens] = "--prompt-tokens",
        [RequestParameter.OutputTokens] = "--output-tokens",
        [RequestParameter.Tp] = "--tp",
        [RequestParameter.Pp] = "--pp",
        [RequestParameter.Dp] = "--dp",
        [RequestParameter.Ep] = "--ep",
        [RequestParameter.Zero] = "--zero",
        [RequestParameter.Microbatch] = "--microbatch",
        [RequestParameter.GlobalBatch] = "--global-batch",
        [RequestParameter.PipelineSchedule] = "--pp-schedule",
        [RequestParameter.VirtualStages] = "--virtual-stages",
        [RequestParameter.SequenceParallel] = "--sequence-parallel",
        [RequestParameter.ExpertHotShare] = "--ep-hot-share",
    };

    /// <summary>A problem with no file, in the command line's words: its path (parameter names joined by
    /// '/') becomes the flags, and a suggested <c>name=value</c> in its message becomes <c>--flag value</c>
    /// (<c>recompute=true</c>, a switch, becomes <c>--recompute</c>). Problems with a file, and the hardware
    /// overrides' origin, are left as they are.</summary>
    public static InputProblem Translate(InputProblem problem)
    {
        if (problem.File is not null) return problem;
        var path = problem.Path is null ? null
            : string.Join('/', problem.Path.Split('/').Select(p => Flags.TryGetValue(p, out var f) ? f : p));
        var message = Suggestion().Replace(problem.Message, m => Flags.TryGetValue(m.Groups["name"].Value, out var f)
            ? m.Groups["value"].Value == "true" ? f : $"{f} {m.Groups["value"].Value}"
            : m.Value);
        return problem with { Path = path, Message = message };
    }

    [GeneratedRegex(@"(?<![\w-])(?<name>[a-z_]+)=(?<value>[\w.:-]+)")]
    private static partial Regex Suggestion();
}
