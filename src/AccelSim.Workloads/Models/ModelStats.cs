using AccelSim.Core.Graph;

namespace AccelSim.Workloads.Models;

/// <summary>Parameter counts of a model, taken from its graphs.</summary>
public static class ModelStats
{
    /// <summary>Elements of the graph's weight tensors (a tied head counted once).</summary>
    public static long Parameters(WorkloadGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return graph.Tensors.Where(t => t.Role == TensorRole.Weight).Sum(t => t.Elements);
    }

    /// <summary>Weight bytes the graph's ops read: for each op, what it reads beyond its non-weight
    /// inputs (an embedding gather reads its rows, a routed expert GEMM the experts touched).</summary>
    public static long WeightBytesRead(WorkloadGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        long total = 0;
        foreach (var op in graph.Ops)
        {
            var weights = op.Inputs.Where(t => t.Role == TensorRole.Weight).DistinctBy(t => t.Id).Sum(t => t.Bytes);
            if (weights == 0) continue;
            var other = op.Inputs.Where(t => t.Role != TensorRole.Weight).Sum(t => t.Bytes);
            total += Math.Clamp(op.BytesRead - other, 0, weights);
        }
        return total;
    }

    /// <summary>Total parameters, and active parameters: those read to produce one token (a batch-1
    /// decode step at context 0: one embedding row, the k routed experts of each MoE layer, the
    /// shared experts, attention, norms and the whole LM head).</summary>
    public static (long Total, long Active) Count(ModelConfig model, ModelBuilderRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        registry ??= ModelBuilderRegistry.Default;
        var g = registry.Build(model, WorkloadRequest.Decode(1, 0, DType.Fp32));
        return (Parameters(g), WeightBytesRead(g) / DType.Fp32.BytesFor(1));
    }
}

/// <summary>Memory a training-step graph holds, by role (see docs/workloads.md).
/// <see cref="SavedActivations"/> are the activation bytes written by the forward pass (up to and
/// including the <c>loss</c> op) and read again after it: what must stay in memory between forward
/// and backward. With recomputation these are the layer inputs (plus the head's).</summary>
public sealed record TrainingMemory(long Weights, long Gradients, long OptimizerStates, long SavedActivations)
{
    public static TrainingMemory Of(WorkloadGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var loss = graph.Ops.LastOrDefault(o => o.Name == "loss")
            ?? throw new ArgumentException("not a training-step graph (no 'loss' op)", nameof(graph));
        var forward = new HashSet<int>();
        foreach (var op in graph.Ops.Take(loss.Id + 1))
            foreach (var t in op.Outputs) if (t.Role == TensorRole.Activation) forward.Add(t.Id);
        var saved = new HashSet<int>();
        foreach (var op in graph.Ops.Skip(loss.Id + 1))
            foreach (var t in op.Inputs) if (forward.Contains(t.Id)) saved.Add(t.Id);
        long Sum(TensorRole r) => graph.Tensors.Where(t => t.Role == r).Sum(t => t.Bytes);
        return new TrainingMemory(Sum(TensorRole.Weight), Sum(TensorRole.Gradient), Sum(TensorRole.OptimizerState),
            graph.Tensors.Where(t => saved.Contains(t.Id)).Sum(t => t.Bytes));
    }
}
