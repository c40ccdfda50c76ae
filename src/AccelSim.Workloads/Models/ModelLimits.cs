using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Graph;

namespace AccelSim.Workloads.Models;

/// <summary>Sanity limits on the counts of a model config and a request, checked before any graph is
/// built so that an absurd value fails at once (exit 2) instead of growing memory without bound or
/// overflowing a size. Each is far above any published model (see docs/workloads.md, "Limits").</summary>
public static class ModelLimits
{
    /// <summary><c>num_hidden_layers</c>: the deepest published LLMs have about 130 layers.</summary>
    public const int MaxLayers = 10_000;

    /// <summary><c>num_attention_heads</c> and <c>num_key_value_heads</c>.</summary>
    public const int MaxHeads = 65_536;

    /// <summary>Routed or shared experts of a mixture-of-experts layer.</summary>
    public const int MaxExperts = 65_536;

    /// <summary><c>vocab_size</c>: 2^24 tokens (published vocabularies are at most about 2.6e5).</summary>
    public const int MaxVocab = 16_777_216;

    /// <summary><c>--batch</c>: 2^24 sequences.</summary>
    public const long MaxBatch = 16_777_216;

    /// <summary><c>--seq</c> and <c>--context</c>: 2^30 tokens per sequence.</summary>
    public const long MaxTokens = 1_073_741_824;

    /// <summary>Adds a problem for each count of a model config above its limit.</summary>
    public static void CheckConfig(string file, int heads, int kvHeads, int layers, int vocab, ICollection<InputProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        Check(problems, file, "num_hidden_layers", layers, MaxLayers);
        Check(problems, file, "num_attention_heads", heads, MaxHeads);
        Check(problems, file, "num_key_value_heads", kvHeads, MaxHeads);
        Check(problems, file, "vocab_size", vocab, MaxVocab);
    }

    /// <summary>Adds a problem for each size of a request above its limit.</summary>
    public static void CheckRequest(WorkloadRequest request, ICollection<InputProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(problems);
        Check(problems, null, RequestParameter.Batch, request.Batch, MaxBatch);
        Check(problems, null, RequestParameter.Seq, request.Seq, MaxTokens);
        Check(problems, null, RequestParameter.Context, request.Context, MaxTokens);
    }

    /// <summary>The graph of <paramref name="request"/> built by <paramref name="build"/>; a size past
    /// 2^63 - 1 (elements, bytes or FLOPs of some op) becomes bad input naming the model file.</summary>
    public static WorkloadGraph Guard(ModelConfig model, WorkloadRequest request, Func<WorkloadGraph> build)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(build);
        try
        {
            return build();
        }
        catch (OverflowException)
        {
            throw new InputException(model.Source, null, string.Create(CultureInfo.InvariantCulture,
                $"at batch {request.Batch}, seq {request.Seq}, context {request.Context} an op's elements, bytes or FLOPs exceed {WorkloadGraph.CountRange}, the largest count the simulator represents; use smaller sizes"));
        }
    }

    private static void Check(ICollection<InputProblem> problems, string? file, string key, long value, long max)
    {
        if (value > max)
            problems.Add(new InputProblem(file, key, string.Create(CultureInfo.InvariantCulture, $"{value} is beyond the sanity limit of {max}")));
    }
}
