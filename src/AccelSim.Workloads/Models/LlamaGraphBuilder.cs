using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Models.Internal;
using static AccelSim.Workloads.Models.Internal.ConfigChecks;

namespace AccelSim.Workloads.Models;

/// <summary>Decoder graphs of the Llama family (<c>llama</c>, which also covers Yi; <c>mistral</c>,
/// which adds a sliding attention window): pre-norm decoder layers with RMSNorm, rotary
/// embeddings, grouped-query attention and a SwiGLU MLP. The ops and their costs are described in
/// docs/workloads.md.</summary>
public sealed class LlamaGraphBuilder : IModelBuilder
{
    private const string NoMoe = "mixture-of-experts layers are not modelled by the llama builder";

    /// <summary>Fields that change the compute of a model and that this builder does not model,
    /// with the values under which they are harmless.</summary>
    private static readonly FieldRule[] Unmodelled =
    [
        new("num_experts", IsAbsentOrZero, NoMoe),
        new("num_local_experts", IsAbsentOrZero, NoMoe),
        new("n_routed_experts", IsAbsentOrZero, NoMoe),
        new("n_shared_experts", IsAbsentOrZero, NoMoe),
        new("num_experts_per_tok", IsAbsentOrZero, NoMoe),
        new("moe_intermediate_size", IsAbsentOrZero, NoMoe),
        new("attention_bias", IsAbsentOrFalse, "biased q/k/v/o projections are not modelled; expected false"),
        new("mlp_bias", IsAbsentOrFalse, "biased MLP projections are not modelled; expected false"),
        new("hidden_act", IsOneOf("silu"), "the MLP is modelled as SwiGLU; expected \"silu\""),
        new("partial_rotary_factor", IsNumber(1.0), "rotary embeddings are modelled over the whole head; expected 1.0"),
        new("attention_chunk_size", IsNull, "chunked attention is not modelled; expected null"),
        new("use_sliding_window", IsAbsentOrFalse, "per-layer sliding windows are not modelled; expected false"),
        new("layer_types", IsNull, "per-layer attention types are not modelled; expected null"),
    ];

    /// <summary>LlamaConfig's and MistralConfig's fields.</summary>
    public IReadOnlySet<string> KnownKeys { get; } = HfConfigKeys.Of(HfConfigKeys.Rope,
    [
        "hidden_act", "rms_norm_eps", "pretraining_tp", "attention_bias", "attention_dropout", "mlp_bias", "head_dim",
        "sliding_window", "partial_rotary_factor", "attention_chunk_size", "use_sliding_window", "layer_types",
        "num_experts", "num_local_experts", "n_routed_experts", "n_shared_experts", "num_experts_per_tok", "moe_intermediate_size",
    ]);

    public string Id => "llama";

    public IReadOnlyList<string> ModelTypes { get; } = ["llama", "mistral"];

    public IReadOnlyDictionary<string, string> Architectures { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["LlamaForCausalLM"] = "llama",
        ["MistralForCausalLM"] = "mistral",
    };

    public void Check(ModelConfig model, ICollection<InputProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(problems);
        Apply(model, Unmodelled, problems);
        // Llama attends to the whole context; a window on a llama model_type would be a guess about
        // which implementation honours it.
        if (model.ModelType == "llama" && model.SlidingWindow is not null)
        {
            problems.Add(new InputProblem(model.Source, "sliding_window",
                $"model_type 'llama' has full attention; a sliding_window ({model.SlidingWindow}) is only modelled for model_type 'mistral'"));
        }
    }

    public WorkloadGraph Build(ModelConfig model, WorkloadRequest request)
    {
        ArgumentNullException.ThrowIfNull(model);
        return BuildLlamaStyle(model, request, qkvBias: false, window: model.ModelType == "mistral" ? model.SlidingWindow : null, _ => null);
    }

    /// <summary>The Llama layer stack shared by Llama, Mistral, Qwen2 and the Llama-style MoE
    /// families: per layer RMSNorm, QKV (optionally biased), RoPE, attention, o_proj, residual,
    /// RMSNorm, then a SwiGLU MLP or, where <paramref name="moe"/> gives a spec, a MoE MLP.</summary>
    internal static WorkloadGraph BuildLlamaStyle(ModelConfig model, WorkloadRequest request, bool qkvBias, long? window, Func<int, MoeSpec?> moe)
    {
        var dec = new Decoder(model, request);
        long h = model.HiddenSize, hq = model.NumAttentionHeads, d = model.HeadDim;
        var attn = new AttentionSpec(hq, model.NumKeyValueHeads, d, window, QkvBias: qkvBias);
        var (embed, x) = dec.Embed("embed_tokens.weight", model.VocabSize, h);
        for (var l = 0; l < model.NumHiddenLayers; l++)
        {
            var p = $"layer{l}.";
            var hn = dec.Norm(NormKind.Rms, p + "attn_norm", l, x, h);
            var a = dec.Attention(p, l, hn, h, attn);
            var o = dec.Linear(p + "o_proj", l, a, hq * d, h);
            x = dec.G.Residual(p + "attn_residual", l, x, o);

            var hn2 = dec.Norm(NormKind.Rms, p + "mlp_norm", l, x, h);
            var mlp = moe(l) is { } spec
                ? dec.Moe(p + "moe.", l, hn2, h, spec)
                : dec.Mlp(p, l, hn2, h, model.IntermediateSize, ActKind.SiluGate);
            x = dec.G.Residual(p + "mlp_residual", l, x, mlp);
        }
        var xf = dec.FinalNorm(NormKind.Rms, "final_norm", x, h);
        return dec.Finish(xf, h, model.VocabSize, model.TieWordEmbeddings ? embed : null);
    }
}
