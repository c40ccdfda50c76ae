using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Models.Internal;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Models;

/// <summary>Decoder graphs of the Llama family (<c>llama</c>; <c>mistral</c>, which adds a sliding
/// attention window): pre-norm decoder layers with RMSNorm, rotary embeddings, grouped-query
/// attention and a SwiGLU MLP. The ops and their costs are described in docs/workloads.md.</summary>
public sealed class LlamaGraphBuilder : IModelBuilder
{
    /// <summary>Fields that change the compute of a model and that this builder does not model,
    /// with the values under which they are harmless. Present with another value -> an error, never
    /// a silent guess.</summary>
    private static readonly (string Key, Func<JToken, bool> Harmless, string Why)[] Unmodelled =
    [
        ("num_experts", IsAbsentOrZero, "mixture-of-experts layers are not modelled by the llama builder"),
        ("num_local_experts", IsAbsentOrZero, "mixture-of-experts layers are not modelled by the llama builder"),
        ("n_routed_experts", IsAbsentOrZero, "mixture-of-experts layers are not modelled by the llama builder"),
        ("n_shared_experts", IsAbsentOrZero, "mixture-of-experts layers are not modelled by the llama builder"),
        ("num_experts_per_tok", IsAbsentOrZero, "mixture-of-experts layers are not modelled by the llama builder"),
        ("moe_intermediate_size", IsAbsentOrZero, "mixture-of-experts layers are not modelled by the llama builder"),
        ("attention_bias", IsAbsentOrFalse, "biased q/k/v/o projections are not modelled; expected false"),
        ("mlp_bias", IsAbsentOrFalse, "biased MLP projections are not modelled; expected false"),
        ("hidden_act", t => t.Type == JTokenType.Null || (t.Type == JTokenType.String && (string?)t == "silu"),
            "the MLP is modelled as SwiGLU; expected \"silu\""),
        ("partial_rotary_factor", t => t.Type == JTokenType.Null || (t.Type is JTokenType.Integer or JTokenType.Float && t.Value<double>() == 1.0),
            "rotary embeddings are modelled over the whole head; expected 1.0"),
        ("attention_chunk_size", t => t.Type == JTokenType.Null, "chunked attention is not modelled; expected null"),
        ("use_sliding_window", IsAbsentOrFalse, "per-layer sliding windows are not modelled; expected false"),
        ("layer_types", t => t.Type == JTokenType.Null, "per-layer attention types are not modelled; expected null"),
    ];

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
        foreach (var (key, harmless, why) in Unmodelled)
        {
            if (model.Raw[key] is { } token && !harmless(token))
                problems.Add(new InputProblem(model.Source, key, $"{why} (got {ModelConfigLoader.Describe(token)})"));
        }
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
        ArgumentNullException.ThrowIfNull(request);
        request.Validate(model);

        var dt = request.DType ?? model.DefaultDType;
        var g = new GraphAssembler(dt);
        long b = request.Batch, q = request.NewTokensPerSequence, ctx = request.Context;
        long tokens = b * q;
        long h = model.HiddenSize, inter = model.IntermediateSize, vocab = model.VocabSize;
        long hq = model.NumAttentionHeads, hkv = model.NumKeyValueHeads, d = model.HeadDim;
        long? window = model.ModelType == "mistral" ? model.SlidingWindow : null;
        var decode = request.Phase == Phase.Decode;

        // Embedding: a gather of one row per token; only those rows are read, not the whole table.
        var embed = g.Weight("embed_tokens.weight", vocab, h);
        var x = g.Activation("embed.out", b, q, h);
        g.Add("embed", OpKind.Embedding, -1, [embed], [x], 0, bytesRead: dt.BytesFor(tokens * h));

        for (var l = 0; l < model.NumHiddenLayers; l++)
        {
            var p = $"layer{l}.";

            // Attention block.
            var hn = g.RmsNorm(p + "attn_norm", l, x, g.Weight(p + "attn_norm.weight", h));
            var wqkv = g.Weight(p + "qkv.weight", h, (hq + 2 * hkv) * d);
            var qa = g.Activation(p + "q", b, q, hq, d);
            var ka = g.Activation(p + "k", b, q, hkv, d);
            var va = g.Activation(p + "v", b, q, hkv, d);
            g.Linear(p + "qkv", l, hn, wqkv, tokens, (hq + 2 * hkv) * d, h, [qa, ka, va]);

            var qr = g.Activation(p + "q_rope", b, q, hq, d);
            var kr = g.Activation(p + "k_rope", b, q, hkv, d);
            g.Add(p + "rope", OpKind.Rope, l, [qa, ka], [qr, kr], ElementFlops.Rope * (qa.Elements + ka.Elements));

            Tensor[] attnOut = decode
                ? DecodeAttention(g, p, l, b, ctx, hq, hkv, d, window, qr, kr, va)
                : PrefillAttention(g, p, l, b, q, hq, hkv, d, window, qr, kr, va);

            var wo = g.Weight(p + "o_proj.weight", hq * d, h);
            var o = g.Activation(p + "o_proj.out", b, q, h);
            // Reads every piece of the attention output (two under a split sliding window).
            g.Linear(p + "o_proj", l, attnOut, wo, tokens, h, hq * d, [o]);
            x = g.Residual(p + "attn_residual", l, x, o);

            // MLP block (SwiGLU).
            var hn2 = g.RmsNorm(p + "mlp_norm", l, x, g.Weight(p + "mlp_norm.weight", h));
            var wgu = g.Weight(p + "gate_up.weight", h, 2 * inter);
            var gu = g.Activation(p + "gate_up.out", b, q, 2 * inter);
            g.Linear(p + "gate_up", l, hn2, wgu, tokens, 2 * inter, h, [gu]);
            var act = g.Activation(p + "act.out", b, q, inter);
            g.Add(p + "act", OpKind.Activation, l, [gu], [act], ElementFlops.SiluGate * act.Elements);
            var wd = g.Weight(p + "down.weight", inter, h);
            var down = g.Activation(p + "down.out", b, q, h);
            g.Linear(p + "down", l, act, wd, tokens, h, inter, [down]);
            x = g.Residual(p + "mlp_residual", l, x, down);
        }

        var xf = g.RmsNorm("final_norm", -1, x, g.Weight("final_norm.weight", h));
        // Logits for the last token of each sequence only (M = batch): the head reads those rows.
        var wlm = model.TieWordEmbeddings ? embed : g.Weight("lm_head.weight", h, vocab);
        var logits = g.Activation("logits", b, vocab);
        g.Linear("lm_head", -1, xf, wlm, b, vocab, h, [logits], bytesRead: dt.BytesFor(b * h) + wlm.Bytes);

        return g.Build(new WorkloadInfo(model.Name, request.Phase.Name(), b, q, ctx, tokens));
    }

    /// <summary>Prefill: K/V of the prompt are written to the cache (the last <c>window</c> tokens
    /// under a rolling sliding-window cache) and causal attention runs over the prompt. With a
    /// window shorter than the prompt, the first <c>window</c> queries form a causal square and the
    /// remaining ones each attend exactly <c>window</c> keys: two ops, so each shape's FLOPs are exact.</summary>
    private static Tensor[] PrefillAttention(GraphAssembler g, string p, int l, long b, long s, long hq, long hkv, long d,
        long? window, Tensor qr, Tensor kr, Tensor va)
    {
        var dt = g.DType;
        var cached = window is { } w0 ? Math.Min(s, w0) : s;
        var kc = g.KvCache(p + "k_cache", b, cached, hkv, d);
        var vc = g.KvCache(p + "v_cache", b, cached, hkv, d);
        g.Add(p + "kv_write", OpKind.Copy, l, [kr, va], [kc, vc], 0, bytesRead: kc.Bytes + vc.Bytes);

        if (window is not { } w || s <= w)
        {
            var o = g.Activation(p + "attn.out", b, s, hq, d);
            var shape = new AttentionShape(b, hq, hkv, d, s, s, Causal: true);
            g.Add(p + "attn", OpKind.Attention, l, [qr, kr, va], [o], shape.Flops, attention: shape);
            return [o];
        }

        var head = g.Activation(p + "attn.out", b, w, hq, d);
        var square = new AttentionShape(b, hq, hkv, d, w, w, Causal: true);
        g.Add(p + "attn", OpKind.Attention, l, [qr, kr, va], [head], square.Flops, attention: square,
            bytesRead: dt.BytesFor(b * w * (hq + 2 * hkv) * d));

        var tail = g.Activation(p + "attn_band.out", b, s - w, hq, d);
        var band = new AttentionShape(b, hq, hkv, d, s - w, w, Causal: false);
        // Queries w..s-1 read keys 1..s-1 (each sees the w keys ending at itself).
        g.Add(p + "attn_band", OpKind.Attention, l, [qr, kr, va], [tail], band.Flops, attention: band,
            bytesRead: dt.BytesFor(b * ((s - w) * hq + 2 * (s - 1) * hkv) * d));
        return [head, tail];
    }

    /// <summary>Decode: the new token's K/V are written into the cache, then its query attends to
    /// the cached tokens plus itself (at most <c>window</c> of them under a rolling cache).</summary>
    private static Tensor[] DecodeAttention(GraphAssembler g, string p, int l, long b, long ctx, long hq, long hkv, long d,
        long? window, Tensor qr, Tensor kr, Tensor va)
    {
        var kvLen = window is { } w ? Math.Min(ctx + 1, w) : ctx + 1;
        var kCache = g.KvCache(p + "k_cache", b, kvLen, hkv, d);
        var vCache = g.KvCache(p + "v_cache", b, kvLen, hkv, d);
        var kNew = g.KvCache(p + "k_cache.new", b, 1, hkv, d);
        var vNew = g.KvCache(p + "v_cache.new", b, 1, hkv, d);
        g.Add(p + "kv_write", OpKind.Copy, l, [kr, va], [kNew, vNew], 0);

        var o = g.Activation(p + "attn.out", b, 1, hq, d);
        var shape = new AttentionShape(b, hq, hkv, d, 1, kvLen, Causal: true);
        // The new slots are listed as inputs for the dependency on kv_write; their bytes are part of
        // the cache tensors, so the op reads q plus the cache once.
        g.Add(p + "attn", OpKind.Attention, l, [qr, kCache, vCache, kNew, vNew], [o], shape.Flops, attention: shape,
            bytesRead: qr.Bytes + kCache.Bytes + vCache.Bytes);
        return [o];
    }

    private static bool IsAbsentOrZero(JToken t) =>
        t.Type == JTokenType.Null || (t.Type is JTokenType.Integer or JTokenType.Float && t.Value<double>() == 0);

    private static bool IsAbsentOrFalse(JToken t) => t.Type == JTokenType.Null || (t.Type == JTokenType.Boolean && !(bool)t);
}
