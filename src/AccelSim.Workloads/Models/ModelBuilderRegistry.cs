using AccelSim.Core.Config;
using AccelSim.Core.Graph;

namespace AccelSim.Workloads.Models;

/// <summary>The model builders known to the program, looked up by HF <c>model_type</c> (or by
/// <c>architectures</c> when a config has no <c>model_type</c>).</summary>
public sealed class ModelBuilderRegistry
{
    private readonly IModelBuilder[] _builders;

    public ModelBuilderRegistry(IEnumerable<IModelBuilder> builders)
    {
        ArgumentNullException.ThrowIfNull(builders);
        _builders = builders.ToArray();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var b in _builders)
        {
            foreach (var t in b.ModelTypes)
            {
                if (!seen.TryAdd(t, b.Id))
                    throw new ArgumentException($"model_type '{t}' is claimed by both '{seen[t]}' and '{b.Id}'", nameof(builders));
            }
        }
    }

    /// <summary>The builders that ship with the program.</summary>
    public static ModelBuilderRegistry Default { get; } = new(
    [
        new LlamaGraphBuilder(),
        new Qwen2GraphBuilder(),
        new MoeGraphBuilder(),
        new Gpt2GraphBuilder(),
        new OptGraphBuilder(),
        new FalconGraphBuilder(),
        new DeepSeekGraphBuilder(),
    ]);

    public IReadOnlyList<IModelBuilder> Builders => _builders;

    /// <summary>Every supported model_type, sorted.</summary>
    public IReadOnlyList<string> SupportedModelTypes =>
        _builders.SelectMany(b => b.ModelTypes).Order(StringComparer.Ordinal).ToArray();

    public bool TryFind(string? modelType, IReadOnlyList<string> architectures, out IModelBuilder builder, out string resolvedType)
    {
        ArgumentNullException.ThrowIfNull(architectures);
        if (!string.IsNullOrEmpty(modelType))
        {
            var t = modelType.ToLowerInvariant();
            foreach (var b in _builders)
            {
                if (b.ModelTypes.Contains(t, StringComparer.Ordinal)) { builder = b; resolvedType = t; return true; }
            }
        }
        else
        {
            foreach (var arch in architectures)
            {
                foreach (var b in _builders)
                {
                    if (b.Architectures.TryGetValue(arch, out var t)) { builder = b; resolvedType = t; return true; }
                }
            }
        }
        builder = null!;
        resolvedType = "";
        return false;
    }

    /// <summary>The builder for a loaded config.</summary>
    public IModelBuilder For(ModelConfig model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (TryFind(model.ModelType, model.Architectures, out var b, out _)) return b;
        throw new InputException(model.Source, "model_type",
            $"unsupported model_type '{model.ModelType}'; supported: {string.Join(", ", SupportedModelTypes)}");
    }

    /// <summary>Builds the graph for a request with the model's builder.</summary>
    public WorkloadGraph Build(ModelConfig model, WorkloadRequest request)
    {
        var builder = For(model);
        return ModelLimits.Guard(model, request, () => builder.Build(model, request));
    }
}
