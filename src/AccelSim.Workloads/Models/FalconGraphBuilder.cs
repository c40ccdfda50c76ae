using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Models.Internal;
using Newtonsoft.Json.Linq;
using static AccelSim.Workloads.Models.Internal.ConfigChecks;

namespace AccelSim.Workloads.Models;

/// <summary>Falcon (<c>falcon</c>): rotary embeddings, LayerNorm, a GELU MLP of width
/// <c>ffn_hidden_size</c> (default 4 x hidden), an LM head tied to the embedding, and attention
/// with one K/V head (<c>multi_query</c>) or <c>num_kv_heads</c> (<c>new_decoder_architecture</c>).
/// With <c>parallel_attn</c> (or the new architecture) attention and MLP read the same normalised
/// input and are added to the residual together: one shared LayerNorm, or two
/// (<c>ln_attn</c>, <c>ln_mlp</c>) under the new architecture with <c>num_ln_in_parallel_attn</c> = 2.</summary>
public sealed class FalconGraphBuilder : IModelBuilder
{
    private static readonly FieldRule[] Unmodelled =
    [
        new("alibi", IsAbsentOrFalse, "ALiBi position biases are not modelled (rotary embeddings are); expected false"),
        new("activation", IsOneOf("gelu"), "the MLP is modelled with GELU; expected \"gelu\""),
        new("apply_residual_connection_post_layernorm", IsAbsentOrFalse, "residuals taken after the norm are not modelled; expected false"),
    ];

    /// <summary>FalconConfig's fields (and the names of the original RW checkpoints).</summary>
    public IReadOnlySet<string> KnownKeys { get; } = HfConfigKeys.Of(HfConfigKeys.Rope,
    [
        "n_head", "n_layer", "n_embed", "num_kv_heads", "n_head_kv", "multi_query", "new_decoder_architecture", "parallel_attn",
        "bias", "alibi", "activation", "ffn_hidden_size", "num_ln_in_parallel_attn", "layer_norm_epsilon", "hidden_dropout",
        "attention_dropout", "apply_residual_connection_post_layernorm",
    ]);

    public string Id => "falcon";

    public IReadOnlyList<string> ModelTypes { get; } = ["falcon"];

    public IReadOnlyDictionary<string, string> Architectures { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["FalconForCausalLM"] = "falcon",
    };

    /// <summary>Maps Falcon's K/V-head fields onto <c>num_key_value_heads</c>, <c>ffn_hidden_size</c>
    /// onto <c>intermediate_size</c> (default 4 x hidden), and fills FalconConfig's defaults (tied
    /// head, 2048 positions).</summary>
    public IReadOnlyDictionary<string, string> Normalize(JObject root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        Alias(root, aliases, "num_hidden_layers", "n_layer");
        Alias(root, aliases, "num_attention_heads", "n_head");
        Alias(root, aliases, "intermediate_size", "ffn_hidden_size");
        if (root["hidden_size"] is { Type: JTokenType.Integer } h)
            Default(root, aliases, "intermediate_size", 4 * (long)h, "ffn_hidden_size");
        if (root["num_key_value_heads"] is null)
        {
            if (root["new_decoder_architecture"] is { Type: JTokenType.Boolean } nda && (bool)nda)
                Alias(root, aliases, "num_key_value_heads", "num_kv_heads");
            else if (root["multi_query"] is { Type: JTokenType.Boolean } mq && (bool)mq)
                Default(root, aliases, "num_key_value_heads", 1, "multi_query");
        }
        Default(root, aliases, "tie_word_embeddings", true, "tie_word_embeddings");
        Default(root, aliases, "max_position_embeddings", 2048, "max_position_embeddings");
        return aliases;
    }

    public void Check(ModelConfig model, ICollection<InputProblem> problems)
    {
        Apply(model, Unmodelled, problems);
        Bool(model, "parallel_attn", problems);
        Bool(model, "bias", problems);
        Bool(model, "new_decoder_architecture", problems);
        // Normalize reads these only when they have the right type; a wrong type must not pass unnoticed.
        Bool(model, "multi_query", problems);
        Int(model, "num_kv_heads", problems);
        var ln = Int(model, "num_ln_in_parallel_attn", problems);
        if (ln is > 2) problems.Add(new InputProblem(model.Source, "num_ln_in_parallel_attn", $"expected 1 or 2, got {ln}"));
    }

    public WorkloadGraph Build(ModelConfig model, WorkloadRequest request)
    {
        ArgumentNullException.ThrowIfNull(model);
        var problems = new List<InputProblem>();
        var newArch = Bool(model, "new_decoder_architecture", problems) ?? false;
        var parallel = newArch || (Bool(model, "parallel_attn", problems) ?? true);
        var bias = Bool(model, "bias", problems) ?? false;
        var twoNorms = newArch && (Int(model, "num_ln_in_parallel_attn", problems) ?? 2) == 2;
        if (problems.Count > 0) throw new InputException(problems);

        var dec = new Decoder(model, request);
        long h = model.HiddenSize, hq = model.NumAttentionHeads, d = model.HeadDim;
        var attn = new AttentionSpec(hq, model.NumKeyValueHeads, d, QkvBias: bias);
        var (table, x) = dec.Embed("word_embeddings.weight", model.VocabSize, h);
        for (var l = 0; l < model.NumHiddenLayers; l++)
        {
            var p = $"layer{l}.";
            if (parallel)
            {
                var na = dec.Norm(NormKind.Layer, p + (twoNorms ? "ln_attn" : "input_layernorm"), l, x, h);
                var nm = twoNorms ? dec.Norm(NormKind.Layer, p + "ln_mlp", l, x, h) : na;
                var o = dec.Linear(p + "o_proj", l, dec.Attention(p, l, na, h, attn), hq * d, h, bias);
                var m = dec.Mlp(p, l, nm, h, model.IntermediateSize, ActKind.GeluErf, bias);
                x = dec.G.Sum(p + "residual", l, x, o, m);
            }
            else
            {
                var na = dec.Norm(NormKind.Layer, p + "input_layernorm", l, x, h);
                x = dec.G.Residual(p + "attn_residual", l, x, dec.Linear(p + "o_proj", l, dec.Attention(p, l, na, h, attn), hq * d, h, bias));
                var nm = dec.Norm(NormKind.Layer, p + "post_attention_layernorm", l, x, h);
                x = dec.G.Residual(p + "mlp_residual", l, x, dec.Mlp(p, l, nm, h, model.IntermediateSize, ActKind.GeluErf, bias));
            }
        }
        var xf = dec.FinalNorm(NormKind.Layer, "ln_f", x, h);
        return dec.Finish(xf, h, model.VocabSize, model.TieWordEmbeddings ? table : null);
    }
}
