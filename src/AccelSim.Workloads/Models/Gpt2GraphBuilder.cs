using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Models.Internal;
using Newtonsoft.Json.Linq;
using static AccelSim.Workloads.Models.Internal.ConfigChecks;

namespace AccelSim.Workloads.Models;

/// <summary>GPT-2 (<c>gpt2</c>): learned absolute positions, pre-norm LayerNorm, multi-head
/// attention with biased fused QKV and output projections, a GELU MLP with biases, and an LM head
/// tied to the token embedding. Reads HF's names <c>n_embd</c>, <c>n_layer</c>, <c>n_head</c>,
/// <c>n_positions</c> and <c>n_inner</c> (null: 4 x n_embd).</summary>
public sealed class Gpt2GraphBuilder : IModelBuilder
{
    private static readonly FieldRule[] Unmodelled =
    [
        new("activation_function", IsOneOf("gelu_new", "gelu", "gelu_fast", "gelu_pytorch_tanh"), "the MLP is modelled with GELU; expected one of gelu_new, gelu, gelu_fast, gelu_pytorch_tanh"),
        new("add_cross_attention", IsAbsentOrFalse, "cross-attention layers are not modelled; expected false"),
    ];

    /// <summary>GPT2Config's fields (and the older OpenAI GPT ones that GPT-2 checkpoints still carry).</summary>
    public IReadOnlySet<string> KnownKeys { get; } = HfConfigKeys.Of(
    [
        "n_positions", "n_ctx", "n_embd", "n_layer", "n_head", "n_inner", "activation_function", "resid_pdrop", "embd_pdrop",
        "attn_pdrop", "layer_norm_epsilon", "summary_type", "summary_use_proj", "summary_activation", "summary_first_dropout",
        "summary_proj_to_labels", "scale_attn_weights", "scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn",
        "n_special", "predict_special_tokens",
    ]);

    public string Id => "gpt2";

    public IReadOnlyList<string> ModelTypes { get; } = ["gpt2"];

    public IReadOnlyDictionary<string, string> Architectures { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["GPT2LMHeadModel"] = "gpt2",
    };

    public IReadOnlyDictionary<string, string> Normalize(JObject root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        Alias(root, aliases, "hidden_size", "n_embd");
        Alias(root, aliases, "num_hidden_layers", "n_layer");
        Alias(root, aliases, "num_attention_heads", "n_head");
        Alias(root, aliases, "max_position_embeddings", "n_positions");
        Alias(root, aliases, "intermediate_size", "n_inner");
        if (root["hidden_size"] is { Type: JTokenType.Integer } h)
            Default(root, aliases, "intermediate_size", 4 * (long)h, "n_inner");
        Default(root, aliases, "tie_word_embeddings", true, "tie_word_embeddings");
        return aliases;
    }

    public void Check(ModelConfig model, ICollection<InputProblem> problems) => Apply(model, Unmodelled, problems);

    public WorkloadGraph Build(ModelConfig model, WorkloadRequest request)
    {
        ArgumentNullException.ThrowIfNull(model);
        var act = (string?)model.Raw["activation_function"] is "gelu" ? ActKind.GeluErf : ActKind.GeluTanh;
        var dec = new Decoder(model, request);
        long h = model.HiddenSize, hq = model.NumAttentionHeads, d = model.HeadDim;
        var attn = new AttentionSpec(hq, hq, d, QkvBias: true, Rope: false);
        var (wte, x) = dec.Embed("wte.weight", model.VocabSize, h);
        x = dec.AddPositions(x, "wpe.weight", model.MaxPositionEmbeddings ?? 1024, h);
        for (var l = 0; l < model.NumHiddenLayers; l++)
        {
            var p = $"layer{l}.";
            var hn = dec.Norm(NormKind.Layer, p + "ln_1", l, x, h);
            var a = dec.Attention(p, l, hn, h, attn);
            x = dec.G.Residual(p + "attn_residual", l, x, dec.Linear(p + "o_proj", l, a, hq * d, h, bias: true));
            var hn2 = dec.Norm(NormKind.Layer, p + "ln_2", l, x, h);
            x = dec.G.Residual(p + "mlp_residual", l, x, dec.Mlp(p, l, hn2, h, model.IntermediateSize, act, bias: true));
        }
        var xf = dec.FinalNorm(NormKind.Layer, "ln_f", x, h);
        return dec.Finish(xf, h, model.VocabSize, model.TieWordEmbeddings ? wte : null);
    }
}
