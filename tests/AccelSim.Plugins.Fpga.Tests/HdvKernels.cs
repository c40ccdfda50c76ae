using AccelSim.Core.Graph;

namespace AccelSim.Plugins.Fpga.Tests;

/// <summary>Multi-task kernels with high data-volume variation, after InTAR's benchmark kernels
/// (github.com/OswaldHe/InTAR, benchmark/: self-attn and mlp sizes taken from its kernels) plus two of
/// our own: chains of GEMMs and vector tasks whose intermediates grow and shrink by one to two orders
/// of magnitude. All tasks of a kernel form one region (layer 0): a dataflow design places them all
/// at once, as InTAR's dataflow baselines do. All int8 (InTAR's kernels compute in 16-bit integers,
/// which the DType set lacks; the volumes halve, the ratios between tasks stay).</summary>
internal static class HdvKernels
{
    private sealed class Builder
    {
        private readonly List<Op> _ops = [];
        private int _tensor;

        public Tensor Act(string name, params long[] shape) => new(_tensor++, name, shape, DType.Int8, TensorRole.Activation);

        public Tensor Weight(string name, params long[] shape) => new(_tensor++, name, shape, DType.Int8, TensorRole.Weight);

        /// <summary>y[rows x n] = x[rows x k] * w[k x n] (w a weight, or an activation with its own batch).</summary>
        public Tensor MatMul(string name, int layer, Tensor x, Tensor w, long batch, long rows, long n, long k, bool shared = true)
        {
            var y = Act(name + ".out", batch, rows, n);
            var g = new GemmShape(batch, rows, n, k, shared);
            _ops.Add(new Op(_ops.Count, name, OpKind.MatMul, layer, [x, w], [y], g.Flops, DType.Int8, gemm: g));
            return y;
        }

        public Tensor Vector(string name, int layer, OpKind kind, Tensor x, long flopsPerElement)
        {
            var y = Act(name + ".out", [.. x.Shape]);
            _ops.Add(new Op(_ops.Count, name, kind, layer, [x], [y], flopsPerElement * x.Elements, DType.Int8));
            return y;
        }

        public WorkloadGraph Build(string name, long tokens) =>
            new(new WorkloadInfo(name, "kernel", 1, tokens, 0, tokens), _ops);
    }

    /// <summary>InTAR's self-attention kernel: N tokens, model width D, one head: Q, K and V
    /// projections, scores Q K^T (needs all of K), softmax, context S V (needs all of V).</summary>
    public static WorkloadGraph Attention(long n = 256, long d = 1024)
    {
        var b = new Builder();
        var x = b.Act("x", 1, n, d);
        var q = b.MatMul("q_proj", 0, x, b.Weight("wq", d, d), 1, n, d, d);
        var k = b.MatMul("k_proj", 0, x, b.Weight("wk", d, d), 1, n, d, d);
        var v = b.MatMul("v_proj", 0, x, b.Weight("wv", d, d), 1, n, d, d);
        var s = b.MatMul("scores", 0, q, k, 1, n, n, d, shared: false);
        var p = b.Vector("softmax", 0, OpKind.Softmax, s, 5);
        b.MatMul("context", 0, p, v, 1, n, d, n, shared: false);
        return b.Build("intar-self-attention", n);
    }

    /// <summary>InTAR's FFN-layers kernel (its "mlp"): one input vector through 256 -> 1024 -> 2048 ->
    /// 256 features; nothing to stream, every hand-off waits for a whole vector.</summary>
    public static WorkloadGraph Ffn(long rows = 1, long d0 = 256, long d1 = 1024, long d2 = 2048, long d3 = 256)
    {
        var b = new Builder();
        var x = b.Act("x", 1, rows, d0);
        var h1 = b.MatMul("fc1", 0, x, b.Weight("w1", d0, d1), 1, rows, d1, d0);
        var h2 = b.MatMul("fc2", 0, h1, b.Weight("w2", d1, d2), 1, rows, d2, d1);
        b.MatMul("fc3", 0, h2, b.Weight("w3", d2, d3), 1, rows, d3, d2);
        return b.Build("intar-ffn", rows);
    }

    /// <summary>Transformer FFN over L rows: expand d to 4d, activation, contract; the 4d
    /// intermediate is the peak.</summary>
    public static WorkloadGraph TransformerFfn(long l = 1024, long d = 1024)
    {
        var b = new Builder();
        var x = b.Act("x", 1, l, d);
        var up = b.MatMul("up", 0, x, b.Weight("w_up", d, 4 * d), 1, l, 4 * d, d);
        var a = b.Vector("gelu", 0, OpKind.Activation, up, 8);
        b.MatMul("down", 0, a, b.Weight("w_down", 4 * d, d), 1, l, d, 4 * d);
        return b.Build("hdv-transformer-ffn", l);
    }

    /// <summary>Narrow-wide-narrow GEMM chain (ours): 64 -> 4096 -> 64 -> 4096 -> 64 features per
    /// row, with a scaling task on each wide intermediate.</summary>
    public static WorkloadGraph NarrowWide(long l = 4096)
    {
        var b = new Builder();
        var x = b.Act("x", 1, l, 64);
        var y1 = b.MatMul("expand1", 0, x, b.Weight("w1", 64, 4096), 1, l, 4096, 64);
        var s1 = b.Vector("scale1", 0, OpKind.Elementwise, y1, 2);
        var y2 = b.MatMul("reduce1", 0, s1, b.Weight("w2", 4096, 64), 1, l, 64, 4096);
        var y3 = b.MatMul("expand2", 0, y2, b.Weight("w3", 64, 4096), 1, l, 4096, 64);
        var s3 = b.Vector("scale2", 0, OpKind.Elementwise, y3, 2);
        b.MatMul("reduce2", 0, s3, b.Weight("w4", 4096, 64), 1, l, 64, 4096);
        return b.Build("hdv-narrow-wide", l);
    }

    /// <summary>Few-row GEMM chain (ours): 16 rows through four 2048 x 2048 layers; too few rows to
    /// stream, so a pipeline's stages wait on each other.</summary>
    public static WorkloadGraph FewRows(long rows = 16, long d = 2048)
    {
        var b = new Builder();
        var x = b.Act("x", 1, rows, d);
        for (var i = 0; i < 4; i++) x = b.MatMul($"layer{i}", 0, x, b.Weight($"w{i}", d, d), 1, rows, d, d);
        return b.Build("hdv-few-rows", rows);
    }

    public static IReadOnlyList<WorkloadGraph> Suite() => [Attention(), Ffn(), TransformerFfn(), NarrowWide(), FewRows()];
}
