using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Stacks;

namespace AccelSim.Workloads.Models.Internal;

/// <summary>Normalisation layers of the decoder families.</summary>
public enum NormKind
{
    /// <summary>RMSNorm with a learned scale (Llama, Mistral, Qwen2, Mixtral, DeepSeek).</summary>
    Rms,

    /// <summary>LayerNorm with a learned scale and shift (GPT-2, OPT, Falcon).</summary>
    Layer,
}

/// <summary>MLP activations of the decoder families.</summary>
public enum ActKind
{
    /// <summary>SwiGLU: SiLU(gate) x up; the up-projection is fused with the gate (N = 2 I).</summary>
    SiluGate,

    /// <summary>GELU, tanh approximation.</summary>
    GeluTanh,

    /// <summary>GELU, exact (erf).</summary>
    GeluErf,

    /// <summary>ReLU.</summary>
    Relu,
}

/// <summary>The shape of a standard (multi-head, grouped-query or multi-query) attention block.</summary>
public sealed record AttentionSpec(long HeadsQ, long HeadsKv, long HeadDim, long? Window = null, bool QkvBias = false,
    bool OutBias = false, bool Rope = true);

/// <summary>A mixture-of-experts MLP: <see cref="Experts"/> routed SwiGLU experts of width
/// <see cref="ExpertIntermediate"/>, <see cref="TopK"/> per token, plus an optional always-on
/// shared expert of width <see cref="SharedIntermediate"/> (0 = none), optionally scaled by a
/// sigmoid gate (Qwen2-MoE).</summary>
public sealed record MoeSpec(long Experts, long TopK, long ExpertIntermediate, long SharedIntermediate = 0, bool SharedGate = false);

/// <summary>The pieces every decoder family is built from, over one request: embeddings, norms,
/// attention, dense and mixture-of-experts MLPs, the LM head and, for a training step, the loss,
/// backward pass and optimizer (<see cref="TrainingStep"/>). Families compose them per layer.
/// The request's <see cref="SoftwareStack"/> decides how each piece becomes kernels (docs/stacks.md):
/// the fused stack makes one op per norm, rotary embedding, activation and cache write; an unfused
/// stack makes the separate element-wise kernels a framework launches for them.</summary>
public sealed class Decoder
{
    private int _moeLayers;

    public Decoder(ModelConfig model, WorkloadRequest request)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(request);
        request.Validate(model);
        Model = model;
        Request = request;
        G = new GraphAssembler(request.DType ?? model.DefaultDType);
        B = request.Batch;
        Q = request.NewTokensPerSequence;
        Ctx = request.Context;
        T = B * Q;
        Stack = request.Stack;
        if (Stack.Residual == ResidualLowering.FrameworkAdd) G.SumAccess = ElementAccess.Vectorized;
        G.ResidualDropout = request.Phase == Phase.Train && Stack.Dropout == DropoutLowering.Masked;
    }

    /// <summary>How the layers are lowered into kernels.</summary>
    public SoftwareStack Stack { get; }

    /// <summary>Host calls of a kernel: <paramref name="aten"/> under a stack that counts aten calls, else 1.</summary>
    private int Calls(int aten) => Stack.AtenHostCalls ? aten : 1;

    private Tensor? _cos, _sin;

    private const ElementAccess Strided = ElementAccess.Strided;
    private const ElementAccess Vectorized = ElementAccess.Vectorized;

    public ModelConfig Model { get; }
    public WorkloadRequest Request { get; }
    public GraphAssembler G { get; }

    /// <summary>Sequences, new tokens per sequence, cached tokens, new tokens in all.</summary>
    public long B { get; }
    public long Q { get; }
    public long Ctx { get; }
    public long T { get; }

    public bool IsDecode => Request.Phase == Phase.Decode;
    public bool IsTrain => Request.Phase == Phase.Train;
    public DType DType => G.DType;

    /// <summary>Token embedding: a gather of one row per token; only those rows are read.</summary>
    public (Tensor Table, Tensor X) Embed(string weightName, long vocab, long width)
    {
        var table = G.Weight(weightName, vocab, width);
        var x = G.Activation("embed.out", B, Q, width);
        // eager PyTorch: embedding, then a view
        G.Add("embed", OpKind.Embedding, -1, [table], [x], 0, bytesRead: DType.BytesFor(T * width), hostCalls: Calls(2));
        return (table, x);
    }

    /// <summary>Learned absolute positions (GPT-2, OPT): the rows of positions context..context+q-1,
    /// shared by the batch, gathered and added to every sequence.</summary>
    public Tensor AddPositions(Tensor x, string weightName, long rows, long width)
    {
        var table = G.Weight(weightName, rows, width);
        var pos = G.Activation("pos_embed.out", Q, width);
        G.Add("pos_embed", OpKind.Embedding, -1, [table], [pos], 0, bytesRead: DType.BytesFor(Q * width));
        var y = G.Activation("embed_sum.out", B, Q, width);
        G.Add("embed_sum", OpKind.Elementwise, -1, [x, pos], [y], ElementFlops.Add * T * width, rule: GradRule.PassThrough);
        return y;
    }

    /// <summary>A norm over the last dimension with its learned parameters (<c>name.weight</c>, and
    /// <c>name.bias</c> for LayerNorm).</summary>
    public Tensor Norm(NormKind kind, string name, int layer, Tensor x, long width)
    {
        if (kind == NormKind.Rms && Stack.Norm == NormLowering.UnfusedFp32)
            return UnfusedRmsNorm(name, layer, x, G.Weight(name + ".weight", width), x.Elements / width, width, 0);
        return kind == NormKind.Rms
            ? G.RmsNorm(name, layer, x, G.Weight(name + ".weight", width))
            : G.LayerNorm(name, layer, x, G.Weight(name + ".weight", width), G.Weight(name + ".bias", width));
    }

    /// <summary>The norm before the LM head. In inference under a stack whose <c>final_norm</c> is
    /// <c>last_token</c>, only the last token of each sequence is normalised (B rows, read from x);
    /// otherwise every token, as <see cref="Norm"/>.</summary>
    public Tensor FinalNorm(NormKind kind, string name, Tensor x, long width)
    {
        if (IsTrain || Stack.FinalNorm == RowsLowering.AllTokens) return Norm(kind, name, -1, x, width);
        var w = G.Weight(name + ".weight", width);
        // eager PyTorch: x.view(B, S, -1)[:, -1] (view, select) before the first kernel
        if (kind == NormKind.Rms && Stack.Norm == NormLowering.UnfusedFp32) return UnfusedRmsNorm(name, -1, x, w, B, width, 2);
        var y = G.Activation(name + ".out", B, width);
        var rows = DType.BytesFor(B * width);
        if (kind == NormKind.Rms)
        {
            G.Add(name, OpKind.Norm, -1, [x, w], [y], ElementFlops.RmsNorm * B * width, bytesRead: rows + w.Bytes);
        }
        else
        {
            var bias = G.Weight(name + ".bias", width);
            G.Add(name, OpKind.Norm, -1, [x, w, bias], [y], ElementFlops.LayerNorm * B * width, bytesRead: rows + w.Bytes + bias.Bytes);
        }
        return y;
    }

    /// <summary>RMSNorm as eager PyTorch runs <c>x * rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps).to(x.dtype) * w</c>
    /// over <paramref name="rows"/> rows of x: eight kernels, each reading its inputs from and writing its
    /// output to memory, with fp32 intermediates. The FLOPs are those of the fused norm (square,
    /// accumulate, two scalings per element); the per-row add and rsqrt are not counted, as in the fused
    /// count. <paramref name="viewCalls"/> are metadata calls made before the first kernel.</summary>
    private Tensor UnfusedRmsNorm(string name, int l, Tensor x, Tensor w, long rows, long width, int viewCalls)
    {
        var n = rows * width;
        var xf = G.NewTensor(name + ".fp32", [rows, width], TensorRole.Activation, DType.Fp32);
        G.Add(name + ".to_fp32", OpKind.Elementwise, l, [x], [xf], 0, bytesRead: DType.BytesFor(n), hostCalls: Calls(1 + viewCalls), access: Strided);
        var sq = G.NewTensor(name + ".pow", [rows, width], TensorRole.Activation, DType.Fp32);
        G.Add(name + ".pow", OpKind.Elementwise, l, [xf], [sq], n, hostCalls: Calls(1), access: Vectorized);
        var ms = G.NewTensor(name + ".mean", [rows, 1], TensorRole.Activation, DType.Fp32);
        G.Add(name + ".mean", OpKind.Reduction, l, [sq], [ms], n, hostCalls: Calls(1), access: Strided);
        var me = G.NewTensor(name + ".add_eps", [rows, 1], TensorRole.Activation, DType.Fp32);
        G.Add(name + ".add_eps", OpKind.Elementwise, l, [ms], [me], 0, hostCalls: Calls(1), access: Vectorized);
        var r = G.NewTensor(name + ".rsqrt", [rows, 1], TensorRole.Activation, DType.Fp32);
        G.Add(name + ".rsqrt", OpKind.Elementwise, l, [me], [r], 0, hostCalls: Calls(1), access: Vectorized);
        var rb = G.NewTensor(name + ".rsqrt_cast", [rows, 1], TensorRole.Activation, DType);
        G.Add(name + ".to_dtype", OpKind.Elementwise, l, [r], [rb], 0, hostCalls: Calls(1), access: Vectorized);
        var xs = G.Activation(name + ".scaled", rows, width);
        // x * r broadcasts r over each row; * w broadcasts the weight over the rows
        G.Add(name + ".mul_rms", OpKind.Elementwise, l, [x, rb], [xs], n, bytesRead: DType.BytesFor(n) + rb.Bytes, hostCalls: Calls(1), access: Strided);
        var y = G.Activation(name + ".out", rows, width);
        G.Add(name + ".mul_weight", OpKind.Elementwise, l, [xs, w], [y], n, hostCalls: Calls(1), access: Strided);
        return y;
    }

    /// <summary>y = x W (+ b) over every new token: weight <c>name.weight</c> [k, n], bias <c>name.bias</c>.</summary>
    public Tensor Linear(string name, int layer, Tensor[] xs, long k, long n, bool bias = false)
    {
        var w = G.Weight(name + ".weight", k, n);
        var b = bias ? G.Weight(name + ".bias", n) : null;
        var y = G.Activation(name + ".out", B, Q, n);
        G.Linear(name, layer, xs, w, T, n, k, [y], bias: b);
        return y;
    }

    /// <summary>The attention block up to (not including) the output projection: the fused QKV
    /// projection, rotary embeddings, the cache write (not in a training step) and attention.
    /// Returns the attention output, in two pieces under a split sliding window.</summary>
    public Tensor[] Attention(string p, int l, Tensor hn, long hidden, AttentionSpec a)
    {
        long hq = a.HeadsQ, hkv = a.HeadsKv, d = a.HeadDim;
        var wqkv = G.Weight(p + "qkv.weight", hidden, (hq + 2 * hkv) * d);
        var bqkv = a.QkvBias ? G.Weight(p + "qkv.bias", (hq + 2 * hkv) * d) : null;
        var qa = G.Activation(p + "q", B, Q, hq, d);
        var ka = G.Activation(p + "k", B, Q, hkv, d);
        var va = G.Activation(p + "v", B, Q, hkv, d);
        if (Stack.Qkv == ProjectionLowering.Fused)
        {
            G.Linear(p + "qkv", l, [hn], wqkv, T, (hq + 2 * hkv) * d, hidden, [qa, ka, va], bias: bqkv);
        }
        else
        {
            // The same weights as three GEMMs (q_proj, k_proj, v_proj): the fused tensors keep their
            // names so that every stack reads the same weight bytes.
            SeparateLinear(p + "q_proj", l, hn, wqkv, bqkv, hidden, hq * d, (hq + 2 * hkv) * d, qa);
            SeparateLinear(p + "k_proj", l, hn, wqkv, bqkv, hidden, hkv * d, (hq + 2 * hkv) * d, ka);
            SeparateLinear(p + "v_proj", l, hn, wqkv, bqkv, hidden, hkv * d, (hq + 2 * hkv) * d, va);
        }

        Tensor qr = qa, kr = ka;
        if (a.Rope && Stack.Rotary == RotaryLowering.Unfused)
        {
            // eager PyTorch: split, then view and transpose of q, k and v before the first rotary kernel
            var views = Stack.Qkv == ProjectionLowering.Fused ? 7 : 6;
            qr = UnfusedRope(p + "q_rope", l, qa, views, d);
            kr = UnfusedRope(p + "k_rope", l, ka, 0, d);
        }
        else if (a.Rope)
        {
            qr = G.Activation(p + "q_rope", B, Q, hq, d);
            kr = G.Activation(p + "k_rope", B, Q, hkv, d);
            G.Add(p + "rope", OpKind.Rope, l, [qa, ka], [qr, kr], ElementFlops.Rope * (qa.Elements + ka.Elements));
        }
        return IsDecode
            ? DecodeAttention(p, l, hq, hkv, d, a.Window, qr, kr, va)
            : PrefillAttention(p, l, hq, hkv, d, a.Window, qr, kr, va);
    }

    /// <summary>One of the q/k/v projections under a stack that runs them as separate GEMMs: N =
    /// <paramref name="n"/> of the <paramref name="total"/> columns of the fused weight (and bias).</summary>
    private void SeparateLinear(string name, int l, Tensor hn, Tensor w, Tensor? bias, long k, long n, long total, Tensor y)
    {
        var gemm = new GemmShape(1, T, n, k);
        var weightBytes = w.Bytes * n / total;
        var biasBytes = bias is null ? 0 : bias.Bytes * n / total;
        Tensor[] inputs = bias is null ? [hn, w] : [hn, w, bias];
        G.Add(name, OpKind.MatMul, l, inputs, [y], gemm.Flops + (bias is null ? 0 : T * n), gemm: gemm,
            bytesRead: hn.Bytes + weightBytes + biasBytes);
    }

    /// <summary>The cos and sin tables of the new tokens' positions, [new tokens, head_dim], computed
    /// once per forward and shared by every layer (their computation, a dozen tiny kernels, is not modelled).</summary>
    private (Tensor Cos, Tensor Sin) RopeTables(long d)
    {
        _cos ??= G.Activation("rope.cos", Q, d);
        _sin ??= G.Activation("rope.sin", Q, d);
        return (_cos, _sin);
    }

    /// <summary>Rotary embedding as eager PyTorch runs <c>x * cos + cat(-x2, x1) * sin</c>: five kernels
    /// (mul, neg, cat, mul, add). x is a transposed view of the projection output, so every kernel
    /// indexes it element by element; in decode (one token) the final add sees contiguous operands.
    /// FLOPs are the fused count (two multiplies and an add per element; the sign flip is not counted).</summary>
    private Tensor UnfusedRope(string name, int l, Tensor x, int viewCalls, long d)
    {
        var (cos, sin) = RopeTables(d);
        var shape = x.Shape.ToArray();
        var half = shape.ToArray();
        half[^1] = d / 2;
        var n = x.Elements;
        var xc = G.Activation(name + ".mul_cos", shape);
        G.Add(name + ".mul_cos", OpKind.Elementwise, l, [x, cos], [xc], n, hostCalls: Calls(1 + viewCalls), access: Strided);
        var neg = G.Activation(name + ".neg", half);
        // chunk (a view), then neg of the second half
        G.Add(name + ".neg", OpKind.Elementwise, l, [x], [neg], 0, bytesRead: x.Bytes / 2, hostCalls: Calls(2), access: Strided);
        var rot = G.Activation(name + ".cat", shape);
        G.Add(name + ".cat", OpKind.Copy, l, [neg, x], [rot], 0, bytesRead: neg.Bytes + x.Bytes / 2, hostCalls: Calls(1), access: Strided);
        var rs = G.Activation(name + ".mul_sin", shape);
        G.Add(name + ".mul_sin", OpKind.Elementwise, l, [rot, sin], [rs], n, hostCalls: Calls(1), access: Strided);
        var y = G.Activation(name + ".out", shape);
        G.Add(name + ".add", OpKind.Elementwise, l, [xc, rs], [y], n, hostCalls: Calls(1), access: Q > 1 ? Strided : Vectorized);
        return y;
    }

    /// <summary>Prefill (and the forward of a training step): K/V of the prompt are written to the
    /// cache (the last <c>window</c> tokens under a rolling sliding-window cache; no cache in
    /// training) and causal attention runs over the prompt. With a window shorter than the prompt,
    /// the first <c>window</c> queries form a causal square and the remaining ones each attend
    /// exactly <c>window</c> keys: two ops, so each shape's FLOPs are exact.</summary>
    private Tensor[] PrefillAttention(string p, int l, long hq, long hkv, long d, long? window, Tensor qr, Tensor kr, Tensor va)
    {
        long b = B, s = Q;
        if (!IsTrain)
        {
            var cached = window is { } w0 ? Math.Min(s, w0) : s;
            var kc = G.KvCache(p + "k_cache", b, cached, hkv, d);
            var vc = G.KvCache(p + "v_cache", b, cached, hkv, d);
            if (Stack.KvCacheWrite == KvWriteLowering.Fused)
            {
                G.Add(p + "kv_write", OpKind.Copy, l, [kr, va], [kc, vc], 0, bytesRead: kc.Bytes + vc.Bytes, rule: GradRule.None);
            }
            else
            {
                // cache[:, :, pos:pos+S] = k (slice, copy_) and the same for v: strided copies
                G.Add(p + "kv_write.k", OpKind.Copy, l, [kr], [kc], 0, bytesRead: kc.Bytes, rule: GradRule.None, hostCalls: Calls(2), access: Strided);
                G.Add(p + "kv_write.v", OpKind.Copy, l, [va], [vc], 0, bytesRead: vc.Bytes, rule: GradRule.None, hostCalls: Calls(2), access: Strided);
            }
        }

        if (Stack.Attention == AttentionLowering.Unfused && (window is not { } w1 || s <= w1))
            return [UnfusedAttention(p, l, hq, d, qr, kr, va)];

        if (window is not { } w || s <= w)
        {
            var o = G.Activation(p + "attn.out", b, s, hq, d);
            var shape = new AttentionShape(b, hq, hkv, d, s, s, Causal: true);
            // eager PyTorch: sdpa, then the transpose and reshape of its output (counted here)
            G.Add(p + "attn", OpKind.Attention, l, [qr, kr, va], [o], shape.Flops, attention: shape, hostCalls: Calls(3));
            return [o];
        }

        var head = G.Activation(p + "attn.out", b, w, hq, d);
        var square = new AttentionShape(b, hq, hkv, d, w, w, Causal: true);
        G.Add(p + "attn", OpKind.Attention, l, [qr, kr, va], [head], square.Flops, attention: square,
            bytesRead: DType.BytesFor(b * w * (hq + 2 * hkv) * d));

        var tail = G.Activation(p + "attn_band.out", b, s - w, hq, d);
        var band = new AttentionShape(b, hq, hkv, d, s - w, w, Causal: false);
        // Queries w..s-1 read keys 1..s-1 (each sees the w keys ending at itself).
        G.Add(p + "attn_band", OpKind.Attention, l, [qr, kr, va], [tail], band.Flops, attention: band,
            bytesRead: DType.BytesFor(b * ((s - w) * hq + 2 * (s - 1) * hkv) * d));
        return [head, tail];
    }

    /// <summary>Causal attention with its scores in memory (the <c>unfused</c> attention family): a batched
    /// GEMM Q K^T over every (query, key) pair writing the [b, heads, s, s] scores, one kernel that scales,
    /// masks and softmaxes them (reads the scores, writes the probabilities), in a training step under
    /// masked dropout a dropout of the probabilities (writes them again and a one-byte mask), then a batched
    /// GEMM with V. The GEMMs compute the whole square, masked half included, as batched GEMMs do.
    /// Key/value heads shared by several query heads are read once per query head.</summary>
    private Tensor UnfusedAttention(string p, int l, long hq, long d, Tensor qr, Tensor kr, Tensor va)
    {
        long b = B, s = Q;
        var scores = G.Activation(p + "attn.scores", b, hq, s, s);
        var qk = new GemmShape(b * hq, s, s, d, WeightShared: false);
        G.Add(p + "attn.qk", OpKind.MatMul, l, [qr, kr], [scores], qk.Flops, gemm: qk, bytesRead: qr.Bytes + DType.BytesFor(b * hq * s * d));
        var probs = G.Activation(p + "attn.probs", b, hq, s, s);
        G.Add(p + "attn.softmax", OpKind.Elementwise, l, [scores], [probs], (ElementFlops.Softmax + 1) * scores.Elements);
        if (IsTrain && Stack.Dropout == DropoutLowering.Masked)
        {
            var dropped = G.Activation(p + "attn.dropout", b, hq, s, s);
            var mask = G.DropoutMask(p + "attn.dropout.mask", probs);
            G.Add(p + "attn.dropout", OpKind.Elementwise, l, [probs], [dropped, mask], ElementFlops.Dropout * probs.Elements,
                rule: GradRule.Dropout, access: Vectorized);
            probs = dropped;
        }
        var o = G.Activation(p + "attn.out", b, s, hq, d);
        var pv = new GemmShape(b * hq, s, d, s, WeightShared: false);
        G.Add(p + "attn.pv", OpKind.MatMul, l, [probs, va], [o], pv.Flops, gemm: pv, bytesRead: probs.Bytes + DType.BytesFor(b * hq * s * d));
        return o;
    }

    /// <summary>Decode: the new token's K/V are written into the cache, then its query attends to
    /// the cached tokens plus itself (at most <c>window</c> of them under a rolling cache).</summary>
    private Tensor[] DecodeAttention(string p, int l, long hq, long hkv, long d, long? window, Tensor qr, Tensor kr, Tensor va)
    {
        var b = B;
        var kvLen = window is { } w ? Math.Min(Ctx + 1, w) : Ctx + 1;
        var kCache = G.KvCache(p + "k_cache", b, kvLen, hkv, d);
        var vCache = G.KvCache(p + "v_cache", b, kvLen, hkv, d);
        var kNew = G.KvCache(p + "k_cache.new", b, 1, hkv, d);
        var vNew = G.KvCache(p + "v_cache.new", b, 1, hkv, d);
        if (Stack.KvCacheWrite == KvWriteLowering.Fused)
        {
            G.Add(p + "kv_write", OpKind.Copy, l, [kr, va], [kNew, vNew], 0, rule: GradRule.None);
        }
        else
        {
            G.Add(p + "kv_write.k", OpKind.Copy, l, [kr], [kNew], 0, rule: GradRule.None, hostCalls: Calls(2), access: Strided);
            G.Add(p + "kv_write.v", OpKind.Copy, l, [va], [vNew], 0, rule: GradRule.None, hostCalls: Calls(2), access: Strided);
        }

        var o = G.Activation(p + "attn.out", b, 1, hq, d);
        var shape = new AttentionShape(b, hq, hkv, d, 1, kvLen, Causal: true);
        // The new slots are listed as inputs for the dependency on kv_write; their bytes are part of
        // the cache tensors, so the op reads q plus the cache once.
        // eager PyTorch: two slices of the caches, sdpa, then the transpose and reshape of its output
        G.Add(p + "attn", OpKind.Attention, l, [qr, kCache, vCache, kNew, vNew], [o], shape.Flops, attention: shape,
            bytesRead: qr.Bytes + kCache.Bytes + vCache.Bytes, hostCalls: Calls(5));
        return [o];
    }

    /// <summary>A dense MLP: <c>gate_up</c> (SwiGLU, N = 2 I) or <c>up</c> (N = I), the activation,
    /// and <c>down</c>; <paramref name="prefix"/> names the ops (e.g. <c>layer3.</c> or
    /// <c>layer3.shared.</c>).</summary>
    public Tensor Mlp(string prefix, int l, Tensor x, long hidden, long inter, ActKind act, bool bias = false)
    {
        var gated = act == ActKind.SiluGate;
        if (gated && Stack.GateUp == ProjectionLowering.Separate && !bias)
        {
            // gate_proj and up_proj as two GEMMs over halves of the fused weight (same weight bytes)
            var w = G.Weight(prefix + "gate_up.weight", hidden, 2 * inter);
            var gate = G.Activation(prefix + "gate.out", B, Q, inter);
            var upOut = G.Activation(prefix + "up.out", B, Q, inter);
            SeparateLinearTo(prefix + "gate_proj", l, x, w, hidden, inter, gate);
            SeparateLinearTo(prefix + "up_proj", l, x, w, hidden, inter, upOut);
            return Linear(prefix + "down", l, [GatedActivation(prefix, l, gate, upOut, null)], inter, hidden, bias);
        }
        var up = Linear(prefix + (gated ? "gate_up" : "up"), l, [x], hidden, gated ? 2 * inter : inter, bias);
        if (gated && Stack.ActivationGate == GateLowering.Unfused)
            return Linear(prefix + "down", l, [GatedActivation(prefix, l, up, up, up)], inter, hidden, bias);
        var a = G.Activation(prefix + "act.out", B, Q, inter);
        G.Add(prefix + "act", OpKind.Activation, l, [up], [a], ActFlops(act) * a.Elements, hostCalls: Calls(gated ? 2 : 1));
        return Linear(prefix + "down", l, [a], inter, hidden, bias);
    }

    /// <summary>Half the columns of a fused gate/up weight as one GEMM.</summary>
    private void SeparateLinearTo(string name, int l, Tensor x, Tensor w, long k, long n, Tensor y)
    {
        var gemm = new GemmShape(1, T, n, k);
        G.Add(name, OpKind.MatMul, l, [x, w], [y], gemm.Flops, gemm: gemm, bytesRead: x.Bytes + w.Bytes / 2);
    }

    /// <summary>SiLU(gate) x up: one kernel under a fused stack, else SiLU and a multiply. With
    /// <paramref name="fusedOut"/> (the gate/up GEMM's output) the gate and up halves are strided views
    /// of it (chunk).</summary>
    private Tensor GatedActivation(string prefix, int l, Tensor gate, Tensor up, Tensor? fusedOut)
    {
        var inter = fusedOut is null ? gate.Shape[^1] : gate.Shape[^1] / 2;
        var halfBytes = fusedOut is null ? gate.Bytes : fusedOut.Bytes / 2;
        var a = G.Activation(prefix + "act.out", B, Q, inter);
        if (Stack.ActivationGate == GateLowering.Fused)
        {
            Tensor[] ins = fusedOut is null ? [gate, up] : [fusedOut];
            G.Add(prefix + "act", OpKind.Activation, l, ins, [a], ElementFlops.SiluGate * a.Elements, hostCalls: Calls(fusedOut is null ? 1 : 2));
            return a;
        }
        var strided = fusedOut is not null;
        var s = G.Activation(prefix + "silu.out", B, Q, inter);
        // SiLU: exp, add, divide, multiply by the gate; chunk (a view) is counted with it
        G.Add(prefix + "act", OpKind.Activation, l, [fusedOut ?? gate], [s], (ElementFlops.SiluGate - 1) * a.Elements,
            bytesRead: halfBytes, hostCalls: Calls(strided ? 2 : 1), access: strided ? Strided : Vectorized);
        G.Add(prefix + "gate_mul", OpKind.Elementwise, l, [s, fusedOut ?? up], [a], a.Elements,
            bytesRead: s.Bytes + halfBytes, hostCalls: Calls(1), access: strided ? Strided : Vectorized);
        return a;
    }

    public static long ActFlops(ActKind act) => act switch
    {
        ActKind.SiluGate => ElementFlops.SiluGate,
        ActKind.GeluTanh => ElementFlops.GeluTanh,
        ActKind.GeluErf => ElementFlops.GeluErf,
        ActKind.Relu => ElementFlops.Relu,
        _ => throw new ArgumentOutOfRangeException(nameof(act)),
    };

    /// <summary>A mixture-of-experts MLP (see docs/workloads.md): router matmul, softmax and top-k,
    /// dispatch of each token to its k experts, the experts as grouped GEMMs (one op per projection,
    /// Batch = experts touched, weights read only for the experts touched), the gate-weighted
    /// combine, and the shared expert when there is one.</summary>
    public Tensor Moe(string p, int l, Tensor x, long hidden, MoeSpec m, bool routerBias = false)
    {
        long e = m.Experts, k = m.TopK, ie = m.ExpertIntermediate;
        _moeLayers++;
        var router = Linear(p + "router", l, [x], hidden, e, routerBias);
        var gates = G.Activation(p + "router_topk.out", B, Q, k);
        G.Add(p + "router_topk", OpKind.Softmax, l, [router], [gates], (ElementFlops.Softmax + k) * T * e);

        var routing = MoeRouting.Route(e, k, T, Request.ExpertSkew);
        var rows = T * k;
        var xr = G.Activation(p + "dispatch.out", rows, hidden);
        G.Add(p + "dispatch", OpKind.Copy, l, [x], [xr], 0);

        var gu = ExpertGemm(p + "experts.gate_up", l, xr, hidden, 2 * ie, routing);
        var a = G.Activation(p + "experts.act.out", rows, ie);
        G.Add(p + "experts.act", OpKind.Activation, l, [gu], [a], ElementFlops.SiluGate * a.Elements);
        var eo = ExpertGemm(p + "experts.down", l, a, ie, hidden, routing);

        var y = G.Activation(p + "combine.out", B, Q, hidden);
        // Each token's k expert rows, scaled by their gates and summed: k multiplies and k adds per element.
        G.Add(p + "combine", OpKind.Elementwise, l, [eo, gates], [y], 2 * rows * hidden);
        if (m.SharedIntermediate <= 0) return y;

        var shared = Mlp(p + "shared.", l, x, hidden, m.SharedIntermediate, ActKind.SiluGate);
        if (m.SharedGate)
        {
            var sg = Linear(p + "shared_gate", l, [x], hidden, 1);
            var scaled = G.Activation(p + "shared_scale.out", B, Q, hidden);
            // sigmoid of one logit per token, then a multiply per element
            G.Add(p + "shared_scale", OpKind.Elementwise, l, [shared, sg], [scaled], ElementFlops.Softmax * T + T * hidden);
            shared = scaled;
        }
        return G.Sum(p + "moe_sum", l, y, shared);
    }

    /// <summary>One projection of every expert as one grouped GEMM over the T x k routed rows.
    /// FLOPs are exact (2 x rows x N x K); the shape is Batch = experts touched (expected), M = the
    /// average rows per touched expert. Only the touched experts' weights are read.</summary>
    private Tensor ExpertGemm(string name, int l, Tensor xr, long k, long n, MoeRouting.Result routing)
    {
        var rows = xr.Shape[0];
        var w = G.Weight(name + ".weight", routing.Experts, k, n);
        var y = G.Activation(name + ".out", rows, n);
        var weightRead = (long)Math.Round(routing.ExpectedTouched * w.Bytes / routing.Experts);
        var gemm = new GemmShape(routing.Groups, routing.RowsPerGroup, n, k, WeightShared: false);
        G.Add(name, OpKind.MatMul, l, [xr, w], [y], 2 * rows * n * k, gemm: gemm, bytesRead: xr.Bytes + weightRead);
        return y;
    }

    /// <summary>The LM head and the end of the graph. Inference: logits for the last token of each
    /// sequence only (M = batch), or for every token under a stack whose <c>logits</c> is <c>all_tokens</c>. Training: logits for every token, the cross-entropy loss, then the
    /// backward pass and the optimizer step. <paramref name="head"/> null means a separate
    /// <c>lm_head.weight</c>; otherwise the (tied) table.</summary>
    public WorkloadGraph Finish(Tensor x, long width, long vocab, Tensor? head)
    {
        if (Request.ExpertSkew != 0 && _moeLayers == 0)
        {
            throw new InputException(null, RequestParameter.ExpertSkew,
                $"model '{Model.Name}' has no mixture-of-experts layers; expert skew applies to MoE models only");
        }
        var wlm = head ?? G.Weight("lm_head.weight", width, vocab);
        if (!IsTrain && Stack.Logits == RowsLowering.AllTokens)
        {
            // logits for every new token, as a plain forward without slicing does
            var logits = G.Activation("logits", B, Q, vocab);
            G.Linear("lm_head", -1, x, wlm, T, vocab, width, [logits]);
        }
        else if (!IsTrain)
        {
            var logits = G.Activation("logits", B, vocab);
            G.Linear("lm_head", -1, x, wlm, B, vocab, width, [logits], bytesRead: DType.BytesFor(B * width) + wlm.Bytes);
        }
        else
        {
            var logits = G.Activation("logits", B, Q, vocab);
            G.Linear("lm_head", -1, x, wlm, T, vocab, width, [logits]);
            var loss = G.NewTensor("loss", [1], TensorRole.Activation, DType.Fp32);
            G.Add("loss", OpKind.Softmax, -1, [logits], [loss], ElementFlops.CrossEntropy * logits.Elements, rule: GradRule.None);
            TrainingStep.Append(G, Request.Recompute);
        }
        return G.Build(new WorkloadInfo(Model.Name, Request.Phase.Name(), B, Q, Ctx, T));
    }
}
