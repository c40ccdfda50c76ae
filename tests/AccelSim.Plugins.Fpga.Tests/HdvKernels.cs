using AccelSim.Core.Graph;

namespace AccelSim.Plugins.Fpga.Tests;

/// <summary>Multi-task kernels with high data-volume variation, after InTAR's benchmarks: chains of
/// GEMMs and vector tasks whose intermediates grow and shrink by one to two orders of magnitude
/// (a self-attention block whose score matrix is L/64 times its inputs; an FFN that expands 4x and
/// contracts; a narrow-wide-narrow GEMM chain; a few-row GEMM chain that streams nothing). Each
/// kernel's task groups are numbered as layers, so a schedule decides per group. All int8.</summary>
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

    /// <summary>Self-attention, L tokens, d model, h heads of 64: projections (group 0), scores,
    /// softmax and context (group 1: the L x L score matrix is the high-volume intermediate), output
    /// projection (group 2).</summary>
    public static WorkloadGraph Attention(long l = 1024, long d = 1024, long h = 16)
    {
        var b = new Builder();
        var dh = d / h;
        var x = b.Act("x", 1, l, d);
        var q = b.MatMul("q_proj", 0, x, b.Weight("wq", d, d), 1, l, d, d);
        var k = b.MatMul("k_proj", 0, x, b.Weight("wk", d, d), 1, l, d, d);
        var v = b.MatMul("v_proj", 0, x, b.Weight("wv", d, d), 1, l, d, d);
        var s = b.MatMul("scores", 1, q, k, h, l, l, dh, shared: false);
        var p = b.Vector("softmax", 1, OpKind.Softmax, s, 5);
        var o = b.MatMul("context", 1, p, v, h, l, dh, l, shared: false);
        b.MatMul("o_proj", 2, o, b.Weight("wo", d, d), 1, l, d, d);
        return b.Build("hdv-attention", l);
    }

    /// <summary>FFN: expand d to 4d, activation, contract (group 0); the 4d intermediate is the peak.</summary>
    public static WorkloadGraph Ffn(long l = 1024, long d = 1024)
    {
        var b = new Builder();
        var x = b.Act("x", 1, l, d);
        var up = b.MatMul("up", 0, x, b.Weight("w_up", d, 4 * d), 1, l, 4 * d, d);
        var a = b.Vector("gelu", 0, OpKind.Activation, up, 8);
        b.MatMul("down", 0, a, b.Weight("w_down", 4 * d, d), 1, l, d, 4 * d);
        return b.Build("hdv-ffn", l);
    }

    /// <summary>Narrow-wide-narrow GEMM chain: 64 -> 4096 -> 64 -> 4096 -> 64 features per row, with
    /// a scaling task on each wide intermediate (group 0).</summary>
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

    /// <summary>Few-row GEMM chain (16 rows through four 2048 x 2048 layers, group 0): too few rows to
    /// stream, so a pipeline's stages wait on each other.</summary>
    public static WorkloadGraph FewRows(long rows = 16, long d = 2048)
    {
        var b = new Builder();
        var x = b.Act("x", 1, rows, d);
        for (var i = 0; i < 4; i++) x = b.MatMul($"layer{i}", 0, x, b.Weight($"w{i}", d, d), 1, rows, d, d);
        return b.Build("hdv-few-rows", rows);
    }

    public static IReadOnlyList<WorkloadGraph> Suite() => [Attention(), Ffn(), NarrowWide(), FewRows()];
}
