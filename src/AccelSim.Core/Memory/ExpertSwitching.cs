using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;

namespace AccelSim.Core.Memory;

/// <summary>Composition-of-Experts workloads: expert models at rest in a tier below main memory,
/// switched into main memory before they serve a step. Each switch is a copy op whose
/// <see cref="Op.Transfer"/> names the two tiers and whose source tensor <see cref="WorkloadGraph.TierOf"/>
/// places in the lower tier, so any device with an <see cref="IMemoryHierarchy"/> costs it over its own
/// path (an RDU from DDR into HBM, a GPU from host memory over PCIe).</summary>
public static class ExpertSwitching
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

    /// <summary>The tiers a device switches experts between: its second placement tier into its first.</summary>
    public static TierTransfer SwitchPath(IDeviceModel device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var tiers = Placement.Tiers(device);
        if (tiers.Count < 2)
            throw new InputException(null, "--experts", $"{device.Name} has no memory tier below {tiers[0]} to keep experts in");
        return new TierTransfer(tiers[1], tiers[0]);
    }

    /// <summary><paramref name="switches"/> expert switches on <paramref name="device"/>'s path, then the step.</summary>
    public static WorkloadGraph Compose(WorkloadGraph step, int switches, IDeviceModel device, long? expertBytes = null) =>
        Compose(step, switches, SwitchPath(device), expertBytes);

    /// <summary><paramref name="switches"/> expert-model switches followed by <paramref name="step"/>
    /// (e.g. one decode step of the expert). Each switch copies <paramref name="expertBytes"/> (default:
    /// the step's own weight bytes) from a weight tensor at rest in <c>path.From</c> to a weight tensor
    /// in <c>path.To</c>; switches run one after another on the device's copy path, and the step starts
    /// when they are done.</summary>
    public static WorkloadGraph Compose(WorkloadGraph step, int switches, TierTransfer path, long? expertBytes = null)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (switches < 0) throw new InputException(null, "--experts", $"expected a whole number >= 0, got {switches}");
        if (switches == 0) return step;
        var bytes = expertBytes ?? WeightBytes(step);
        if (bytes <= 0) throw new InputException(null, "--experts", "the expert model has no weights to switch");

        var nextTensor = step.Tensors.Count == 0 ? 0 : step.Tensors.Max(t => t.Id) + 1;
        var ops = new List<Op>(switches + step.Ops.Count);
        var tierOf = new Dictionary<int, string>(step.TierOf);
        // The step serves the expert loaded last: its entry ops wait for the last switch through a
        // zero-byte token (switches themselves follow one another on the device's copy engine).
        var done = new Tensor(nextTensor + 2 * switches, "experts.switched", [0], DType.Int8, TensorRole.Activation);
        for (var i = 0; i < switches; i++)
        {
            var src = new Tensor(nextTensor++, $"expert{i}.weights.at_rest", [bytes], DType.Int8, TensorRole.Weight);
            var dst = new Tensor(nextTensor++, $"expert{i}.weights", [bytes], DType.Int8, TensorRole.Weight);
            tierOf[src.Id] = path.From;
            IReadOnlyList<Tensor> outputs = i == switches - 1 ? [dst, done] : [dst];
            ops.Add(new Op(i, $"switch expert{i}", OpKind.Copy, -1, [src], outputs, 0, DType.Int8, bytesRead: bytes, bytesWritten: bytes)
            {
                Transfer = path,
            });
        }
        foreach (var op in step.Ops)
        {
            IReadOnlyList<Tensor> inputs = op.Inputs.Any(t => step.Producer.ContainsKey(t.Id)) ? op.Inputs : [.. op.Inputs, done];
            ops.Add(Placement.Clone(op, op.Id + switches, inputs, op.Outputs));
        }
        var info = step.Info;
        return new WorkloadGraph(info with { Name = $"{info.Name} + {switches} expert switch{(switches == 1 ? "" : "es")}" }, ops, tierOf);
    }
}
