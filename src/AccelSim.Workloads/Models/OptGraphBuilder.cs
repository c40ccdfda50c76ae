using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Models.Internal;
using Newtonsoft.Json.Linq;
using static AccelSim.Workloads.Models.Internal.ConfigChecks;

namespace AccelSim.Workloads.Models;

/// <summary>OPT (<c>opt</c>): learned absolute positions (a table of max_position_embeddings + 2
/// rows, OPT's offset), pre-norm LayerNorm, multi-head attention and a ReLU MLP of width
/// <c>ffn_dim</c>, all projections biased (<c>enable_bias</c>), and an LM head tied to the token
/// embedding. When <c>word_embed_proj_dim</c> differs from the hidden size, the embedding has that
/// width and <c>project_in</c> / <c>project_out</c> map it to and from the hidden size.</summary>
public sealed class OptGraphBuilder : IModelBuilder
{
    /// <summary>OPT's learned position table has two extra rows (positions start at 2).</summary>
    public const int PositionOffset = 2;

    private static readonly FieldRule[] Unmodelled =
    [
        new("activation_function", IsOneOf("relu", "gelu"), "the MLP is modelled with ReLU or GELU; expected \"relu\" or \"gelu\""),
        new("do_layer_norm_before", IsAbsentOrTrue, "post-norm layers (opt-350m) are not modelled; expected true"),
        new("layer_norm_elementwise_affine", IsAbsentOrTrue, "LayerNorm without learned parameters is not modelled; expected true"),
    ];

    /// <summary>OPTConfig's fields.</summary>
    public IReadOnlySet<string> KnownKeys { get; } = HfConfigKeys.Of(
    [
        "ffn_dim", "do_layer_norm_before", "_remove_final_layer_norm", "word_embed_proj_dim", "dropout", "attention_dropout",
        "activation_dropout", "activation_function", "layerdrop", "init_std", "enable_bias", "layer_norm_elementwise_affine",
    ]);

    public string Id => "opt";

    public IReadOnlyList<string> ModelTypes { get; } = ["opt"];

    public IReadOnlyDictionary<string, string> Architectures { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["OPTForCausalLM"] = "opt",
    };

    public IReadOnlyDictionary<string, string> Normalize(JObject root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        Alias(root, aliases, "intermediate_size", "ffn_dim");
        Default(root, aliases, "tie_word_embeddings", true, "tie_word_embeddings");
        return aliases;
    }

    public void Check(ModelConfig model, ICollection<InputProblem> problems)
    {
        Apply(model, Unmodelled, problems);
        Bool(model, "enable_bias", problems);
        Int(model, "word_embed_proj_dim", problems);
    }

    public WorkloadGraph Build(ModelConfig model, WorkloadRequest request)
    {
        ArgumentNullException.ThrowIfNull(model);
        var problems = new List<InputProblem>();
        var bias = Bool(model, "enable_bias", problems) ?? true;
        long h = model.HiddenSize, hq = model.NumAttentionHeads, d = model.HeadDim;
        long proj = Int(model, "word_embed_proj_dim", problems) ?? h;
        if (problems.Count > 0) throw new InputException(problems);
        var act = (string?)model.Raw["activation_function"] is "gelu" ? ActKind.GeluErf : ActKind.Relu;

        var dec = new Decoder(model, request);
        var attn = new AttentionSpec(hq, hq, d, QkvBias: bias, Rope: false);
        var (table, x) = dec.Embed("embed_tokens.weight", model.VocabSize, proj);
        if (proj != h) x = dec.Linear("project_in", -1, [x], proj, h);
        x = dec.AddPositions(x, "embed_positions.weight", (model.MaxPositionEmbeddings ?? 2048) + PositionOffset, h);
        for (var l = 0; l < model.NumHiddenLayers; l++)
        {
            var p = $"layer{l}.";
            var hn = dec.Norm(NormKind.Layer, p + "self_attn_layer_norm", l, x, h);
            var a = dec.Attention(p, l, hn, h, attn);
            x = dec.G.Residual(p + "attn_residual", l, x, dec.Linear(p + "o_proj", l, a, hq * d, h, bias));
            var hn2 = dec.Norm(NormKind.Layer, p + "final_layer_norm", l, x, h);
            x = dec.G.Residual(p + "mlp_residual", l, x, dec.Mlp(p, l, hn2, h, model.IntermediateSize, act, bias));
        }
        var xf = dec.Norm(NormKind.Layer, "final_layer_norm", -1, x, h);
        if (proj != h) xf = dec.Linear("project_out", -1, [xf], h, proj);
        return dec.Finish(xf, proj, model.VocabSize, model.TieWordEmbeddings ? table : null);
    }
}
