using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Models.Internal;
using Newtonsoft.Json.Linq;
using static AccelSim.Workloads.Models.Internal.ConfigChecks;

namespace AccelSim.Workloads.Models;

/// <summary>Llama-style mixture-of-experts decoders: Mixtral (<c>mixtral</c>: every layer's MLP is
/// <c>num_local_experts</c> SwiGLU experts of width <c>intermediate_size</c>, top
/// <c>num_experts_per_tok</c>; a sliding window as in Mistral) and Qwen2-MoE (<c>qwen2_moe</c>:
/// <c>num_experts</c> experts of width <c>moe_intermediate_size</c> plus a sigmoid-gated shared
/// expert of width <c>shared_expert_intermediate_size</c> on every <c>decoder_sparse_step</c>-th
/// layer not in <c>mlp_only_layers</c>; biased Q/K/V). Routing is described in docs/workloads.md.</summary>
public sealed class MoeGraphBuilder : IModelBuilder
{
    private static readonly FieldRule[] Common =
    [
        new("hidden_act", IsOneOf("silu"), "experts are modelled as SwiGLU; expected \"silu\""),
        new("attention_bias", IsAbsentOrFalse, "biased q/k/v/o projections are not modelled; expected false"),
        new("layer_types", IsNull, "per-layer attention types are not modelled; expected null"),
    ];

    private static readonly FieldRule[] Qwen2Moe =
    [
        new("use_sliding_window", IsAbsentOrFalse, "per-layer sliding windows are not modelled; expected false"),
    ];

    /// <summary>MixtralConfig's and Qwen2MoeConfig's fields.</summary>
    public IReadOnlySet<string> KnownKeys { get; } = HfConfigKeys.Of(HfConfigKeys.Rope,
    [
        "hidden_act", "rms_norm_eps", "attention_bias", "attention_dropout", "sliding_window", "head_dim", "layer_types",
        "num_local_experts", "num_experts_per_tok", "output_router_logits", "router_aux_loss_coef", "router_jitter_noise",
        "num_experts", "moe_intermediate_size", "shared_expert_intermediate_size", "decoder_sparse_step", "norm_topk_prob",
        "mlp_only_layers", "use_sliding_window", "max_window_layers", "qkv_bias",
    ]);

    public string Id => "moe";

    public IReadOnlyList<string> ModelTypes { get; } = ["mixtral", "qwen2_moe"];

    public IReadOnlyDictionary<string, string> Architectures { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["MixtralForCausalLM"] = "mixtral",
        ["Qwen2MoeForCausalLM"] = "qwen2_moe",
    };

    public void Check(ModelConfig model, ICollection<InputProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(model);
        Apply(model, Common, problems);
        if (model.ModelType == "qwen2_moe") Apply(model, Qwen2Moe, problems);
        Read(model, problems);
    }

    public WorkloadGraph Build(ModelConfig model, WorkloadRequest request)
    {
        ArgumentNullException.ThrowIfNull(model);
        var problems = new List<InputProblem>();
        var layers = Read(model, problems);
        if (problems.Count > 0) throw new InputException(problems);
        return model.ModelType == "mixtral"
            ? LlamaGraphBuilder.BuildLlamaStyle(model, request, qkvBias: false, window: model.SlidingWindow, l => layers[l])
            : LlamaGraphBuilder.BuildLlamaStyle(model, request, qkvBias: true, window: null, l => layers[l]);
    }

    /// <summary>The MoE spec of each layer (null: a dense MLP of width <c>intermediate_size</c>).</summary>
    private static MoeSpec?[] Read(ModelConfig model, ICollection<InputProblem> problems)
    {
        var result = new MoeSpec?[model.NumHiddenLayers];
        var before = problems.Count;
        if (model.ModelType == "mixtral")
        {
            var e = Int(model, "num_local_experts", problems, required: true, max: ModelLimits.MaxExperts);
            var k = Int(model, "num_experts_per_tok", problems, required: true);
            if (e is null || k is null) return result;
            if (k > e) problems.Add(new InputProblem(model.Source, "num_experts_per_tok", $"expected at most num_local_experts ({e}), got {k}"));
            var spec = new MoeSpec(e.Value, k.Value, model.IntermediateSize);
            Array.Fill(result, spec);
            return result;
        }

        var experts = Int(model, "num_experts", problems, required: true, max: ModelLimits.MaxExperts);
        var topK = Int(model, "num_experts_per_tok", problems, required: true);
        var inter = Int(model, "moe_intermediate_size", problems, required: true);
        var shared = Int(model, "shared_expert_intermediate_size", problems, min: 0) ?? 0;
        var step = Int(model, "decoder_sparse_step", problems) ?? 1;
        var dense = new HashSet<int>();
        if (model.Raw["mlp_only_layers"] is { } only && only.Type != JTokenType.Null)
        {
            if (only is JArray arr && arr.All(t => t.Type == JTokenType.Integer && (long)t >= 0 && (long)t < model.NumHiddenLayers))
                foreach (var t in arr) dense.Add((int)(long)t);
            else
                problems.Add(new InputProblem(model.Source, "mlp_only_layers", $"expected an array of layer indices 0..{model.NumHiddenLayers - 1}"));
        }
        if (experts is { } ex && topK is { } kk && kk > ex)
            problems.Add(new InputProblem(model.Source, "num_experts_per_tok", $"expected at most num_experts ({ex}), got {kk}"));
        if (problems.Count > before || experts is null || topK is null || inter is null) return result;
        var moe = new MoeSpec(experts.Value, topK.Value, inter.Value, shared, SharedGate: shared > 0);
        for (var l = 0; l < result.Length; l++)
            result[l] = !dense.Contains(l) && (l + 1) % step == 0 ? moe : null;
        return result;
    }
}
