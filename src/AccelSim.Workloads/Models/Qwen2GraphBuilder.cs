using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Models.Internal;
using static AccelSim.Workloads.Models.Internal.ConfigChecks;

namespace AccelSim.Workloads.Models;

/// <summary>Qwen2 (<c>qwen2</c>): the Llama layer stack with a bias on the fused Q/K/V projection.</summary>
public sealed class Qwen2GraphBuilder : IModelBuilder
{
    private const string NoMoe = "mixture-of-experts layers need model_type 'qwen2_moe'";

    private static readonly FieldRule[] Unmodelled =
    [
        new("num_experts", IsAbsentOrZero, NoMoe),
        new("num_experts_per_tok", IsAbsentOrZero, NoMoe),
        new("moe_intermediate_size", IsAbsentOrZero, NoMoe),
        new("hidden_act", IsOneOf("silu"), "the MLP is modelled as SwiGLU; expected \"silu\""),
        new("use_sliding_window", IsAbsentOrFalse, "per-layer sliding windows (max_window_layers) are not modelled; expected false"),
        new("layer_types", IsNull, "per-layer attention types are not modelled; expected null"),
    ];

    /// <summary>Qwen2Config's fields.</summary>
    public IReadOnlySet<string> KnownKeys { get; } = HfConfigKeys.Of(HfConfigKeys.Rope,
    [
        "hidden_act", "rms_norm_eps", "attention_dropout", "use_sliding_window", "sliding_window", "max_window_layers",
        "layer_types", "head_dim", "num_experts", "num_experts_per_tok", "moe_intermediate_size",
    ]);

    public string Id => "qwen2";

    public IReadOnlyList<string> ModelTypes { get; } = ["qwen2"];

    public IReadOnlyDictionary<string, string> Architectures { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Qwen2ForCausalLM"] = "qwen2",
    };

    public void Check(ModelConfig model, ICollection<InputProblem> problems) => Apply(model, Unmodelled, problems);

    /// <summary>Qwen2's <c>sliding_window</c> only applies with <c>use_sliding_window</c>, which is refused.</summary>
    public WorkloadGraph Build(ModelConfig model, WorkloadRequest request) =>
        LlamaGraphBuilder.BuildLlamaStyle(model, request, qkvBias: true, window: null, _ => null);
}
