using AccelSim.Core.Graph;

namespace AccelSim.Core.Memory;

/// <summary>How much memory a model's KV cache takes, read off a graph's KV-cache tensors (so grouped-query
/// attention, multi-head latent attention and sliding windows count as the builder modelled them).</summary>
public static class KvCache
{
    /// <summary>KV-cache bytes per cached token per sequence, all layers together. Taken from the cache
    /// tensors a decode graph reads (graph inputs) or, for a prefill graph, the ones it writes; each
    /// is laid out [batch, tokens, ...].</summary>
    public static double BytesPerToken(WorkloadGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var caches = graph.Tensors.Where(t => t.Role == TensorRole.KvCache && t.Shape.Count >= 2).ToArray();
        var read = caches.Where(t => !graph.Producer.ContainsKey(t.Id)).ToArray();
        var used = read.Length > 0 ? read : caches;
        double perToken = 0;
        foreach (var t in used)
        {
            var rows = t.Shape[0] * t.Shape[1];
            if (rows > 0) perToken += t.Bytes / (double)rows;
        }
        return perToken;
    }

    /// <summary>KV-cache bytes the graph holds resident (its cache inputs).</summary>
    public static long ResidentBytes(WorkloadGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return graph.Tensors.Where(t => t.Role == TensorRole.KvCache && !graph.Producer.ContainsKey(t.Id)).Sum(t => t.Bytes);
    }

    /// <summary>How many sequences of <paramref name="kvBytesPerSequence"/> fit in <paramref name="capacityBytes"/>
    /// beside <paramref name="fixedBytes"/> (weights, activations); 0 when not even one does.</summary>
    public static long SequencesThatFit(long capacityBytes, long fixedBytes, long kvBytesPerSequence)
    {
        if (kvBytesPerSequence <= 0) throw new ArgumentOutOfRangeException(nameof(kvBytesPerSequence), "expected a positive size");
        var free = capacityBytes - fixedBytes;
        return free <= 0 ? 0 : free / kvBytesPerSequence;
    }
}
