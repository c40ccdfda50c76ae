using AccelSim.Core.Config;
using AccelSim.Core.Graph;

namespace AccelSim.Workloads.Models;

/// <summary>Turns a model family's config into workload graphs. One builder serves one or more
/// Hugging Face <c>model_type</c>s; <see cref="ModelBuilderRegistry"/> dispatches to it.</summary>
public interface IModelBuilder
{
    /// <summary>Lowercase id, e.g. <c>llama</c>.</summary>
    string Id { get; }

    /// <summary>HF <c>model_type</c> values this builder understands (lowercase).</summary>
    IReadOnlyList<string> ModelTypes { get; }

    /// <summary>HF <c>architectures</c> class names this builder understands, each with the
    /// model_type it stands for; used when a config has no <c>model_type</c>.</summary>
    IReadOnlyDictionary<string, string> Architectures { get; }

    /// <summary>Adds a problem for every field of <paramref name="model"/> that would change the
    /// compute in a way this builder does not model (a guess is never made silently).</summary>
    void Check(ModelConfig model, ICollection<InputProblem> problems);

    /// <summary>Builds the graph of one forward step. Throws <see cref="InputException"/> for a bad request.</summary>
    WorkloadGraph Build(ModelConfig model, WorkloadRequest request);
}
