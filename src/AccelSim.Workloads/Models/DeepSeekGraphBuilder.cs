using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Models.Internal;
using static AccelSim.Workloads.Models.Internal.ConfigChecks;

namespace AccelSim.Workloads.Models;

/// <summary>DeepSeek-V2 and V3 (<c>deepseek_v2</c>, <c>deepseek_v3</c>): multi-head latent
/// attention (MLA) and DeepSeekMoE (shared plus routed SwiGLU experts). The KV cache holds, per
/// token and layer, the compressed latent (<c>kv_lora_rank</c>) and the shared rotary key
/// (<c>qk_rope_head_dim</c>). Prefill and training decompress K and V with <c>kv_b_proj</c>;
/// decode uses the absorbed form (queries and outputs projected through the two halves of
/// <c>kv_b_proj</c>, attention over the latent cache). See docs/workloads.md.</summary>
public sealed class DeepSeekGraphBuilder : IModelBuilder
{
    private static readonly FieldRule[] Unmodelled =
    [
        new("hidden_act", IsOneOf("silu"), "experts and MLPs are modelled as SwiGLU; expected \"silu\""),
        new("attention_bias", IsAbsentOrFalse, "biased attention projections are not modelled; expected false"),
        new("scoring_func", IsOneOf("softmax", "sigmoid"), "the router is modelled as softmax or sigmoid scoring; expected one of them"),
        new("topk_method", IsOneOf("greedy", "group_limited_greedy", "noaux_tc"), "expected greedy, group_limited_greedy or noaux_tc"),
    ];

    /// <summary>DeepseekV2Config's and DeepseekV3Config's fields.</summary>
    public IReadOnlySet<string> KnownKeys { get; } = HfConfigKeys.Of(HfConfigKeys.Rope,
    [
        "hidden_act", "rms_norm_eps", "pretraining_tp", "attention_bias", "attention_dropout", "moe_intermediate_size",
        "n_shared_experts", "n_routed_experts", "routed_scaling_factor", "kv_lora_rank", "q_lora_rank", "qk_rope_head_dim",
        "v_head_dim", "qk_nope_head_dim", "topk_method", "n_group", "topk_group", "num_experts_per_tok", "moe_layer_freq",
        "first_k_dense_replace", "norm_topk_prob", "scoring_func", "aux_loss_alpha", "seq_aux", "ep_size",
        "num_nextn_predict_layers", "rope_interleave", "head_dim",
    ]);

    public string Id => "deepseek";

    public IReadOnlyList<string> ModelTypes { get; } = ["deepseek_v2", "deepseek_v3"];

    public IReadOnlyDictionary<string, string> Architectures { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["DeepseekV2ForCausalLM"] = "deepseek_v2",
        ["DeepseekV3ForCausalLM"] = "deepseek_v3",
    };

    /// <summary>MLA sizes: q_lora_rank (null: a plain q_proj), kv_lora_rank, nope / rope query-key
    /// head dims, value head dim.</summary>
    private sealed record Mla(long? QRank, long KvRank, long Nope, long Rope, long V)
    {
        public long Qk => Nope + Rope;
    }

    private sealed record Spec(Mla Mla, MoeSpec?[] Layers, bool RouterBias);

    public void Check(ModelConfig model, ICollection<InputProblem> problems)
    {
        Apply(model, Unmodelled, problems);
        Read(model, problems);
    }

    private static Spec? Read(ModelConfig model, ICollection<InputProblem> problems)
    {
        var before = problems.Count;
        var qr = Int(model, "q_lora_rank", problems);
        var kvr = Int(model, "kv_lora_rank", problems, required: true);
        var nope = Int(model, "qk_nope_head_dim", problems, required: true);
        var rope = Int(model, "qk_rope_head_dim", problems, required: true);
        var v = Int(model, "v_head_dim", problems, required: true);
        var routed = Int(model, "n_routed_experts", problems, min: 0, max: ModelLimits.MaxExperts) ?? 0;
        var shared = Int(model, "n_shared_experts", problems, min: 0, max: ModelLimits.MaxExperts) ?? 0;
        var k = Int(model, "num_experts_per_tok", problems);
        var moeInter = Int(model, "moe_intermediate_size", problems);
        var firstDense = Int(model, "first_k_dense_replace", problems, min: 0) ?? 0;
        var freq = Int(model, "moe_layer_freq", problems) ?? 1;
        if (routed > 0)
        {
            if (k is null) problems.Add(new InputProblem(model.Source, "num_experts_per_tok", "missing; expected a whole number >= 1 with n_routed_experts"));
            else if (k > routed) problems.Add(new InputProblem(model.Source, "num_experts_per_tok", $"expected at most n_routed_experts ({routed}), got {k}"));
            if (moeInter is null) problems.Add(new InputProblem(model.Source, "moe_intermediate_size", "missing; expected a whole number >= 1 with n_routed_experts"));
        }
        if (problems.Count > before) return null;

        var layers = new MoeSpec?[model.NumHiddenLayers];
        if (routed > 0)
        {
            var spec = new MoeSpec(routed, k!.Value, moeInter!.Value, (long)shared * moeInter.Value);
            for (var l = 0; l < layers.Length; l++) layers[l] = l >= firstDense && l % freq == 0 ? spec : null;
        }
        var routerBias = (string?)model.Raw["topk_method"] == "noaux_tc";
        return new Spec(new Mla(qr, kvr!.Value, nope!.Value, rope!.Value, v!.Value), layers, routerBias);
    }

    public WorkloadGraph Build(ModelConfig model, WorkloadRequest request)
    {
        ArgumentNullException.ThrowIfNull(model);
        var problems = new List<InputProblem>();
        var spec = Read(model, problems);
        if (spec is null) throw new InputException(problems);

        var dec = new Decoder(model, request);
        long h = model.HiddenSize;
        var (embed, x) = dec.Embed("embed_tokens.weight", model.VocabSize, h);
        for (var l = 0; l < model.NumHiddenLayers; l++)
        {
            var p = $"layer{l}.";
            var hn = dec.Norm(NormKind.Rms, p + "attn_norm", l, x, h);
            x = dec.G.Residual(p + "attn_residual", l, x, Attention(dec, p, l, hn, h, model.NumAttentionHeads, spec.Mla));
            var hn2 = dec.Norm(NormKind.Rms, p + "mlp_norm", l, x, h);
            var mlp = spec.Layers[l] is { } moe
                ? dec.Moe(p + "moe.", l, hn2, h, moe, routerBias: spec.RouterBias)
                : dec.Mlp(p, l, hn2, h, model.IntermediateSize, ActKind.SiluGate);
            x = dec.G.Residual(p + "mlp_residual", l, x, mlp);
        }
        var xf = dec.FinalNorm(NormKind.Rms, "final_norm", x, h);
        return dec.Finish(xf, h, model.VocabSize, model.TieWordEmbeddings ? embed : null);
    }

    /// <summary>MLA up to and including o_proj.</summary>
    private static Tensor Attention(Decoder dec, string p, int l, Tensor hn, long h, long hq, Mla m)
    {
        var g = dec.G;
        long b = dec.B, q = dec.Q, t = dec.T, r = m.KvRank;
        // Queries: [B, Q, Hq, nope + rope], through a low-rank bottleneck when q_lora_rank is set.
        Tensor qIn = hn;
        long qK = h;
        if (m.QRank is { } qr)
        {
            var qa = dec.Linear(p + "q_a_proj", l, [hn], h, qr);
            qIn = dec.Norm(NormKind.Rms, p + "q_a_norm", l, qa, qr);
            qK = qr;
        }
        var wq = g.Weight(p + (m.QRank is null ? "q_proj" : "q_b_proj") + ".weight", qK, hq * m.Qk);
        var qa2 = g.Activation(p + "q", b, q, hq, m.Qk);
        g.Linear(p + (m.QRank is null ? "q_proj" : "q_b_proj"), l, [qIn], wq, t, hq * m.Qk, qK, [qa2]);

        // Compressed KV: the latent c_kv and the shared rotary key, from one projection.
        var wkva = g.Weight(p + "kv_a_proj.weight", h, r + m.Rope);
        var ckv = g.Activation(p + "c_kv", b, q, r);
        var kpe = g.Activation(p + "k_pe", b, q, m.Rope);
        g.Linear(p + "kv_a_proj", l, [hn], wkva, t, r + m.Rope, h, [ckv, kpe]);
        var ckvn = dec.Norm(NormKind.Rms, p + "kv_a_norm", l, ckv, r);

        // RoPE on the rope part of every query head and on the shared key.
        var qr2 = g.Activation(p + "q_rope", b, q, hq, m.Qk);
        var kr = g.Activation(p + "k_rope", b, q, m.Rope);
        g.Add(p + "rope", OpKind.Rope, l, [qa2, kpe], [qr2, kr], ElementFlops.Rope * t * (hq + 1) * m.Rope);

        var wkvb = g.Weight(p + "kv_b_proj.weight", r, hq * (m.Nope + m.V));
        var e = dec.DType;
        Tensor outAttn;
        if (!dec.IsDecode)
        {
            if (!dec.IsTrain)
            {
                var cache = g.KvCache(p + "latent_cache", b, q, r + m.Rope);
                g.Add(p + "kv_write", OpKind.Copy, l, [ckvn, kr], [cache], 0, rule: GradRule.None);
            }
            var kn = g.Activation(p + "k_nope", b, q, hq, m.Nope);
            var v = g.Activation(p + "v", b, q, hq, m.V);
            g.Linear(p + "kv_b_proj", l, [ckvn], wkvb, t, hq * (m.Nope + m.V), r, [kn, v]);
            var o = g.Activation(p + "attn.out", b, q, hq, m.V);
            // AttentionShape has one head dim; it carries the query-key dim and the FLOPs are given:
            // 2 per multiply-add over qk dims (QK^T) plus v dims (PV) for every unmasked pair.
            var shape = new AttentionShape(b, hq, hq, m.Qk, q, q, Causal: true);
            var pairs = q * (q + 1) / 2;
            g.Add(p + "attn", OpKind.Attention, l, [qr2, kn, kr, v], [o], 2 * b * hq * pairs * (m.Qk + m.V), attention: shape);
            outAttn = o;
        }
        else
        {
            var kvLen = dec.Ctx + 1;
            var cache = g.KvCache(p + "latent_cache", b, kvLen, r + m.Rope);
            var fresh = g.KvCache(p + "latent_cache.new", b, 1, r + m.Rope);
            g.Add(p + "kv_write", OpKind.Copy, l, [ckvn, kr], [fresh], 0, rule: GradRule.None);
            // Absorbed decode: q_nope through the key half of kv_b_proj into the latent space.
            var ql = g.Activation(p + "q_latent", b, hq, r);
            g.Add(p + "q_absorb", OpKind.MatMul, l, [qr2, wkvb], [ql], 2 * b * hq * m.Nope * r,
                gemm: new GemmShape(hq, b, r, m.Nope, WeightShared: false), bytesRead: qr2.Bytes + e.BytesFor(r * hq * m.Nope));
            var ol = g.Activation(p + "attn.out", b, hq, r);
            // Scores over latent + rope dims, values over the latent: 2 (r + rope) + 2 r FLOPs per pair and head.
            var shape = new AttentionShape(b, hq, 1, r + m.Rope, 1, kvLen, Causal: true);
            g.Add(p + "attn", OpKind.Attention, l, [ql, qr2, cache, fresh], [ol], 2 * b * hq * kvLen * (r + m.Rope + r), attention: shape,
                bytesRead: ql.Bytes + e.BytesFor(b * hq * m.Rope) + cache.Bytes);
            var ov = g.Activation(p + "attn_v", b, 1, hq * m.V);
            g.Add(p + "v_absorb", OpKind.MatMul, l, [ol, wkvb], [ov], 2 * b * hq * r * m.V,
                gemm: new GemmShape(hq, b, m.V, r, WeightShared: false), bytesRead: ol.Bytes + e.BytesFor(r * hq * m.V));
            outAttn = ov;
        }
        return dec.Linear(p + "o_proj", l, [outAttn], hq * m.V, h);
    }
}
