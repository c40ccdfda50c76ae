using AccelSim.Core.Config;
using AccelSim.Core.Graph;

namespace AccelSim.Workloads;

/// <summary>One-kernel workloads, for <c>accelsim op</c>, rooflines and validation against
/// measurements of single kernels.</summary>
public static class SingleOps
{
    /// <summary>C = A (M x K) * B (K x N); A and C are activations, B a weight. Sizes whose elements,
    /// bytes or FLOPs pass 2^63 - 1 are bad input naming the options.</summary>
    public static WorkloadGraph MatMul(long m, long n, long k, DType dtype, long batch = 1, DType? outDType = null)
    {
        Positive(("m", m), ("n", n), ("k", k), ("batch", batch));
        try
        {
            return MatMulGraph(m, n, k, dtype, batch, outDType);
        }
        catch (OverflowException)
        {
            throw TooLarge("m/n/k/batch", $"matmul {m}x{n}x{k} (batch {batch})");
        }
    }

    private static WorkloadGraph MatMulGraph(long m, long n, long k, DType dtype, long batch, DType? outDType)
    {
        var a = new Tensor(0, "A", batch == 1 ? [m, k] : [batch, m, k], dtype, TensorRole.Activation);
        var b = new Tensor(1, "B", [k, n], dtype, TensorRole.Weight);
        var c = new Tensor(2, "C", batch == 1 ? [m, n] : [batch, m, n], outDType ?? dtype, TensorRole.Activation);
        var gemm = new GemmShape(batch, m, n, k);
        var op = new Op(0, $"matmul {m}x{n}x{k}", OpKind.MatMul, -1, [a, b], [c], gemm.Flops, dtype, gemm: gemm);
        return new WorkloadGraph(new WorkloadInfo(op.Name, "op", batch, m, 0, checked(batch * m)), [op]);
    }

    /// <summary>Scaled-dot-product attention of <paramref name="seq"/> new tokens per sequence
    /// attending to <paramref name="context"/> cached tokens plus themselves (causal).</summary>
    public static WorkloadGraph Attention(long batch, long heads, long kvHeads, long headDim, long seq, long context, DType dtype)
    {
        Positive(("batch", batch), ("heads", heads), (RequestParameter.KvHeads, kvHeads), (RequestParameter.HeadDim, headDim), ("seq", seq));
        if (context < 0) throw new InputException(null, RequestParameter.Context, $"expected a number >= 0, got {context}");
        if (heads % kvHeads != 0) throw new InputException(null, RequestParameter.KvHeads, $"heads ({heads}) must be a multiple of kv-heads ({kvHeads})");
        try
        {
            return AttentionGraph(batch, heads, kvHeads, headDim, seq, context, dtype);
        }
        catch (OverflowException)
        {
            throw TooLarge("batch/heads/head_dim/seq/context", $"attention b{batch} h{heads} d{headDim} s{seq} ctx{context}");
        }
    }

    private static WorkloadGraph AttentionGraph(long batch, long heads, long kvHeads, long headDim, long seq, long context, DType dtype)
    {
        var kvLen = checked(context + seq);
        var q = new Tensor(0, "q", [batch, seq, heads, headDim], dtype, TensorRole.Activation);
        var kc = new Tensor(1, "k", [batch, kvLen, kvHeads, headDim], dtype, context > 0 ? TensorRole.KvCache : TensorRole.Activation);
        var vc = new Tensor(2, "v", [batch, kvLen, kvHeads, headDim], dtype, context > 0 ? TensorRole.KvCache : TensorRole.Activation);
        var o = new Tensor(3, "o", [batch, seq, heads, headDim], dtype, TensorRole.Activation);
        var shape = new AttentionShape(batch, heads, kvHeads, headDim, seq, kvLen, Causal: true);
        var op = new Op(0, $"attention b{batch} h{heads}/{kvHeads} d{headDim} s{seq} ctx{context}", OpKind.Attention, -1,
            [q, kc, vc], [o], shape.Flops, dtype, attention: shape);
        return new WorkloadGraph(new WorkloadInfo(op.Name, context > 0 ? "decode" : "prefill", batch, seq, context, checked(batch * seq)), [op]);
    }

    /// <summary>A device-to-device copy of <paramref name="bytes"/> bytes (read once, written once).</summary>
    public static WorkloadGraph Copy(long bytes)
    {
        Positive(("bytes", bytes));
        try
        {
            var src = new Tensor(0, "src", [bytes], DType.Int8, TensorRole.Activation);
            var dst = new Tensor(1, "dst", [bytes], DType.Int8, TensorRole.Activation);
            var op = new Op(0, $"copy {bytes}B", OpKind.Copy, -1, [src], [dst], 0, DType.Int8);
            return new WorkloadGraph(new WorkloadInfo(op.Name, "op", 1, 0, 0, 0), [op]);
        }
        catch (OverflowException)
        {
            // The copy reads and writes its bytes: twice the bytes must fit.
            throw TooLarge(RequestParameter.Bytes, $"copy of {bytes} bytes");
        }
    }

    private static InputException TooLarge(string options, string what) => new(null, options,
        $"{what}: its elements, bytes or FLOPs exceed {WorkloadGraph.CountRange}, the largest count the simulator represents");

    private static void Positive(params (string Name, long Value)[] values)
    {
        var problems = values.Where(v => v.Value <= 0)
            .Select(v => new InputProblem(null, v.Name, $"expected a whole number > 0, got {v.Value}")).ToArray();
        if (problems.Length > 0) throw new InputException(problems);
    }
}
