using AccelSim.Core.Graph;

namespace AccelSim.Workloads.Parallel.Internal;

/// <summary>Cuts of a built graph into smaller graphs that share its tensors, and scaled copies of ops.</summary>
internal static class GraphSlices
{
    /// <summary>A graph of <paramref name="ops"/> (in order, renumbered 0..n-1). Tensors written outside the
    /// slice are its inputs; tensors are the original objects.</summary>
    public static WorkloadGraph Slice(WorkloadInfo info, IReadOnlyList<Op> ops)
    {
        var copy = new Op[ops.Count];
        for (var i = 0; i < copy.Length; i++) copy[i] = Renumber(ops[i], i, 1.0, 1.0, null);
        return new WorkloadGraph(info, copy);
    }

    /// <summary><paramref name="op"/> as op <paramref name="id"/>, its FLOPs and activation traffic scaled by
    /// <paramref name="work"/> (rows) and its weight traffic by <paramref name="weights"/>;
    /// <paramref name="inputs"/> replaces its inputs when given.</summary>
    public static Op Renumber(Op op, int id, double work, double weights, IReadOnlyList<Tensor>? inputs)
    {
        long flops = op.Flops, read = op.BytesRead, written = op.BytesWritten;
        var gemm = op.Gemm;
        if (work != 1.0 || weights != 1.0)
        {
            long actIn = 0, actOut = 0;
            foreach (var t in op.Inputs) if (t.Role == TensorRole.Activation) actIn += t.Bytes;
            foreach (var t in op.Outputs) if (t.Role == TensorRole.Activation) actOut += t.Bytes;
            actIn = Math.Min(actIn, read);
            actOut = Math.Min(actOut, written);
            flops = Scale(flops, work);
            read = Scale(actIn, work) + Scale(read - actIn, weights);
            written = Scale(actOut, work) + Scale(written - actOut, weights);
            if (gemm is { } gm)
            {
                var groups = Math.Max(1, Scale(gm.Batch, weights));
                gemm = gm with { Batch = groups, M = Math.Max(1, (long)Math.Ceiling(gm.Batch * gm.M * work / groups)) };
            }
        }
        return new Op(id, op.Name, op.Kind, op.Layer, inputs ?? op.Inputs, op.Outputs, flops, op.ComputeDType, gemm, op.Attention, read, written)
        {
            HostCalls = op.HostCalls,
            HostViews = op.HostViews,
            HostNested = op.HostNested,
            HostSync = op.HostSync,
            Access = op.Access,
            Transfer = op.Transfer,
        };
    }

    /// <summary>An optimizer op over the fraction <paramref name="fraction"/> of <paramref name="op"/>'s
    /// parameters (a ZeRO shard, a pipeline stage's part of the global parameters): FLOPs and bytes scaled,
    /// its inputs replaced by flat tensors of that many elements.</summary>
    public static WorkloadGraph ScaledOptimizer(WorkloadInfo info, Op op, double fraction, string name)
    {
        var nextId = 0;
        foreach (var t in op.Inputs) nextId = Math.Max(nextId, t.Id + 1);
        var inputs = new Tensor[op.Inputs.Count];
        for (var i = 0; i < inputs.Length; i++)
        {
            var t = op.Inputs[i];
            inputs[i] = new Tensor(nextId++, t.Name, [Math.Max(1, Scale(t.Elements, fraction))], t.DType, t.Role);
        }
        var scaled = new Op(0, name, op.Kind, op.Layer, inputs, [], Scale(op.Flops, fraction), op.ComputeDType, null, null,
            Scale(op.BytesRead, fraction), Scale(op.BytesWritten, fraction));
        return new WorkloadGraph(info, [scaled]);
    }

    public static long Scale(long v, double f) => f == 1.0 ? v : (long)Math.Round(v * f);
}
