using AccelSim.Core.Config;
using AccelSim.Core.Graph;

namespace AccelSim.Plugins.Rdu;

/// <summary>Composition-of-Experts workloads: expert models at rest in DDR, switched into HBM before
/// they serve a step.</summary>
public static class RduWorkloads
{
    /// <summary>Bytes of the distinct weight tensors of <paramref name="graph"/>: the size of the model
    /// (an expert) it runs.</summary>
    public static long WeightBytes(WorkloadGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        long bytes = 0;
        foreach (var t in graph.Tensors)
            if (t.Role == TensorRole.Weight) bytes += t.Bytes;
        return bytes;
    }

    /// <summary><paramref name="switches"/> expert-model switches followed by <paramref name="step"/>
    /// (e.g. one decode step of the expert). Each switch is a <see cref="OpKind.Copy"/> of
    /// <paramref name="expertBytes"/> (default: the step's own weight bytes) from a weight tensor at
    /// rest in DDR (named with <see cref="RduDeviceModel.DdrPrefix"/>) to a weight tensor in HBM; a
    /// device without DDR costs it as any copy.</summary>
    public static WorkloadGraph CompositionOfExperts(WorkloadGraph step, int switches, long? expertBytes = null)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (switches < 0) throw new InputException(null, "--experts", $"expected a whole number >= 0, got {switches}");
        var bytes = expertBytes ?? WeightBytes(step);
        if (bytes <= 0) throw new InputException(null, "--experts", "the expert model has no weights to switch");

        var nextTensor = step.Tensors.Count == 0 ? 0 : step.Tensors.Max(t => t.Id) + 1;
        var ops = new List<Op>(switches + step.Ops.Count);
        for (var i = 0; i < switches; i++)
        {
            var src = new Tensor(nextTensor++, $"{RduDeviceModel.DdrPrefix}expert{i}.weights", [bytes], DType.Int8, TensorRole.Weight);
            var dst = new Tensor(nextTensor++, $"expert{i}.weights", [bytes], DType.Int8, TensorRole.Weight);
            ops.Add(new Op(i, $"switch expert{i}", OpKind.Copy, -1, [src], [dst], 0, DType.Int8));
        }
        foreach (var op in step.Ops)
        {
            ops.Add(new Op(op.Id + switches, op.Name, op.Kind, op.Layer, op.Inputs, op.Outputs, op.Flops, op.ComputeDType,
                op.Gemm, op.Attention, op.BytesRead, op.BytesWritten));
        }
        var info = step.Info;
        return new WorkloadGraph(info with { Name = $"{info.Name} + {switches} expert switch{(switches == 1 ? "" : "es")}" }, ops);
    }
}
