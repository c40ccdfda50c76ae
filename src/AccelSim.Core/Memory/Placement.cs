using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;

namespace AccelSim.Core.Memory;

/// <summary>How tensors are placed in a device's memory tiers.</summary>
public enum PlacementPolicy
{
    /// <summary>Everything in the fastest tier as the device model places it; a tier over capacity is
    /// reported (peak above capacity), not refused.</summary>
    Resident,

    /// <summary>Everything in the fastest tier, or a clear error saying what does not fit.</summary>
    Fit,

    /// <summary>What does not fit stays in the next tier and streams in layer by layer, the next layer's
    /// weights copied while the current layer computes (ZeRO-Inference style), at most two layers staged.</summary>
    Offload,
}

public static class PlacementPolicies
{
    public static bool TryParse(string? text, out PlacementPolicy policy)
    {
        switch (text)
        {
            case "resident": policy = PlacementPolicy.Resident; return true;
            case "fit": policy = PlacementPolicy.Fit; return true;
            case "offload": policy = PlacementPolicy.Offload; return true;
            default: policy = default; return false;
        }
    }

    public static string Name(this PlacementPolicy p) => p switch
    {
        PlacementPolicy.Resident => "resident",
        PlacementPolicy.Fit => "fit",
        _ => "offload",
    };

    public const string Expected = "resident, fit or offload";
}

/// <summary>A device with memory tiers below its main memory (host memory over PCIe, an NVMe drive, an
/// external weight store). Its cost model must cost ops whose <see cref="Op.Transfer"/> is set: a copy
/// between two of these tiers on its copy path.</summary>
public interface IMemoryHierarchy
{
    /// <summary>Tiers tensors may be placed in, fastest first (e.g. hbm, host, ssd).</summary>
    IReadOnlyList<string> PlacementTiers { get; }
}

/// <summary>What a placement decided and why.</summary>
public sealed record PlacementReport(
    string Policy,
    string Tier,
    long CapacityBytes,
    long ResidentBytes,
    long WorkingSetBytes,
    IReadOnlyDictionary<string, long> OffloadedBytes,
    int OffloadedLayers,
    string Summary);

/// <summary>Places a graph's tensors in a device's tiers. Resident tensors are the graph's inputs that live
/// all run (weights, KV cache, gradients, optimizer states); the working set is the largest activation
/// footprint of any single op (inputs plus outputs), which every schedule needs at once.</summary>
public static class Placement
{
    public static (WorkloadGraph Graph, PlacementReport Report) Apply(WorkloadGraph graph, IDeviceModel device, PlacementPolicy policy)
    {
        var tiers = (device as IMemoryHierarchy)?.PlacementTiers
            ?? [device.Topology.Channels[device.MainMemoryChannel].Tier];
        var top = tiers[0];
        var capacity = device.Topology.Tiers[device.Topology.TierIndex(top)].CapacityBytes;
        var resident = graph.Tensors.Where(t => IsResident(graph, t)).ToArray();
        var residentBytes = resident.Sum(t => t.Bytes);
        var workingSet = WorkingSet(graph);
        var byRole = resident.GroupBy(t => t.Role).OrderBy(g => g.Key)
            .Select(g => $"{Gb(g.Sum(t => t.Bytes))} {g.Key.Name()}");
        var need = $"{graph.Info.Name} needs {Gb(residentBytes + workingSet)} in {top} ({string.Join(", ", byRole)}, {Gb(workingSet)} activations)";

        if (policy == PlacementPolicy.Resident)
        {
            var verdict = residentBytes + workingSet <= capacity ? "everything fits" : $"{Gb(residentBytes + workingSet - capacity)} over capacity";
            return (graph, new PlacementReport(policy.Name(), top, capacity, residentBytes, workingSet,
                new Dictionary<string, long>(), 0, $"{need}; {device.Name} has {Gb(capacity)}: {verdict}"));
        }
        if (residentBytes + workingSet <= capacity)
        {
            return (graph, new PlacementReport(policy.Name(), top, capacity, residentBytes, workingSet,
                new Dictionary<string, long>(), 0, $"{need}; {device.Name} has {Gb(capacity)}: everything fits"));
        }
        if (policy == PlacementPolicy.Fit)
        {
            var hint = tiers.Count > 1
                ? $"use --placement offload to keep what does not fit in {tiers[1]} and stream it in"
                : $"{device.Name} has no slower tier to offload to";
            throw new InputException(null, "--placement",
                $"{need}, but {device.Name} has {Gb(capacity)} of {top}: {Gb(residentBytes + workingSet - capacity)} do not fit; {hint}");
        }
        if (tiers.Count < 2)
            throw new InputException(null, "--placement", $"{need}, but {device.Name} has {Gb(capacity)} of {top} and no slower tier to offload to");
        return Offload(graph, device, tiers, capacity, resident, residentBytes, workingSet, need);
    }

    private static bool IsResident(WorkloadGraph graph, Tensor t) =>
        t.Role != TensorRole.Activation || !graph.Producer.ContainsKey(t.Id);

    /// <summary>The largest activation bytes (inputs plus outputs) any one op touches.</summary>
    public static long WorkingSet(WorkloadGraph graph)
    {
        long max = 0;
        foreach (var op in graph.Ops)
        {
            long bytes = 0;
            foreach (var t in op.Inputs) if (t.Role == TensorRole.Activation && graph.Producer.ContainsKey(t.Id)) bytes += t.Bytes;
            foreach (var t in op.Outputs) if (t.Role == TensorRole.Activation) bytes += t.Bytes;
            max = Math.Max(max, bytes);
        }
        return max;
    }

    private static (WorkloadGraph, PlacementReport) Offload(WorkloadGraph graph, IDeviceModel device, IReadOnlyList<string> tiers,
        long capacity, Tensor[] resident, long residentBytes, long workingSet, string need)
    {
        var order = graph.TopologicalOrder();
        // Weights by the layer of their first consumer; only layer weights stream.
        var layerOf = new Dictionary<int, int>();
        foreach (var op in order)
            foreach (var t in op.Inputs)
                if (t.Role == TensorRole.Weight && !graph.Producer.ContainsKey(t.Id)) layerOf.TryAdd(t.Id, op.Layer);
        var layers = layerOf.Where(kv => kv.Value >= 0).GroupBy(kv => kv.Value).OrderBy(g => g.Key)
            .Select(g => (Layer: g.Key, Tensors: g.Select(kv => graph.Tensors.First(t => t.Id == kv.Key)).OrderBy(t => t.Id).ToArray()))
            .ToArray();
        if (layers.Length == 0)
            throw new InputException(null, "--placement", $"{need}, but {device.Name} has {Gb(capacity)} and the graph has no layer weights to stream");
        var layerBytes = layers.Select(l => l.Tensors.Sum(t => t.Bytes)).ToArray();
        var staging = 2 * layerBytes.Max();
        var streamable = layerBytes.Sum();
        var fixedBytes = residentBytes - streamable;
        var budget = capacity - workingSet - staging - fixedBytes;
        if (budget < 0)
            throw new InputException(null, "--placement",
                $"{need}; even streaming every layer's weights, the rest ({Gb(fixedBytes)} resident, {Gb(workingSet)} activations, " +
                $"{Gb(staging)} for two staged layers) exceeds {device.Name}'s {Gb(capacity)} of {tiers[0]}");

        // Keep layers resident from the first while they fit; stream the rest.
        var keep = 0;
        long kept = 0;
        while (keep < layers.Length && kept + layerBytes[keep] <= budget) kept += layerBytes[keep++];
        var tierOf = new Dictionary<int, string>(graph.TierOf);
        var offloaded = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var lowerIndex = 1;
        long lowerUsed = 0;
        var streamedTier = new Dictionary<int, string>();
        for (var i = keep; i < layers.Length; i++)
        {
            // Fill the next tier, then the one below it.
            while (lowerIndex < tiers.Count - 1 &&
                   lowerUsed + layerBytes[i] > device.Topology.Tiers[device.Topology.TierIndex(tiers[lowerIndex])].CapacityBytes)
            {
                lowerIndex++;
                lowerUsed = 0;
            }
            var tier = tiers[lowerIndex];
            lowerUsed += layerBytes[i];
            streamedTier[layers[i].Layer] = tier;
            offloaded[tier] = offloaded.GetValueOrDefault(tier) + layerBytes[i];
            foreach (var t in layers[i].Tensors) tierOf[t.Id] = tier;
        }

        var rebuilt = Rebuild(graph, order, layers.Skip(keep).ToArray(), streamedTier, tiers[0]);
        var result = new WorkloadGraph(graph.Info, rebuilt, tierOf);
        var streamedLayers = layers.Length - keep;
        var summary = $"{need}; {device.Name} has {Gb(capacity)}: {keep} of {layers.Length} layers resident, {streamedLayers} streamed from " +
                      string.Join(" and ", offloaded.Select(kv => $"{kv.Key} ({Gb(kv.Value)})"));
        return (result, new PlacementReport("offload", tiers[0], capacity, residentBytes, workingSet, offloaded, streamedLayers, summary));
    }

    /// <summary>Inserts, for every streamed layer, a copy op that stages its weights in the top tier,
    /// makes the layer's ops depend on the staged copy, and lets a copy start only when the layer two
    /// before it has finished (two staging buffers).</summary>
    private static List<Op> Rebuild(WorkloadGraph graph, IReadOnlyList<Op> order, (int Layer, Tensor[] Tensors)[] streamed,
        Dictionary<int, string> streamedTier, string top)
    {
        var nextTensor = graph.Tensors.Count == 0 ? 0 : graph.Tensors.Max(t => t.Id) + 1;
        var streamedLayers = streamed.Select(s => s.Layer).ToHashSet();
        var lastOpOfLayer = new Dictionary<int, int>();
        foreach (var op in order) if (op.Layer >= 0) lastOpOfLayer[op.Layer] = op.Id;

        var staged = new Dictionary<int, Tensor>();
        var copies = new Dictionary<int, Op>(); // keyed by the op id after which the copy is issued (-1: first)
        var tokens = new Dictionary<int, Tensor>(); // op id -> extra zero-byte output releasing a buffer
        var copyOps = new List<(int After, int Layer, Tensor[] Weights, Tensor Staged, Tensor? Token)>();
        foreach (var (layer, weights) in streamed)
        {
            var bytes = weights.Sum(t => t.Bytes);
            var stagedTensor = new Tensor(nextTensor++, $"layer{layer}.weights.staged", [bytes], DType.Int8, TensorRole.Activation);
            staged[layer] = stagedTensor;
            Tensor? token = null;
            var after = -1;
            if (lastOpOfLayer.TryGetValue(layer - 2, out var releaser))
            {
                token = new Tensor(nextTensor++, $"layer{layer - 2}.done", [0], DType.Int8, TensorRole.Activation);
                tokens[releaser] = token;
                after = releaser;
            }
            copyOps.Add((after, layer, weights, stagedTensor, token));
        }

        var ops = new List<Op>(order.Count + copyOps.Count);
        void AddCopies(int after)
        {
            foreach (var c in copyOps.Where(c => c.After == after))
            {
                var bytes = c.Weights.Sum(t => t.Bytes);
                var inputs = c.Token is null ? c.Weights : [.. c.Weights, c.Token];
                ops.Add(new Op(ops.Count, $"layer{c.Layer}.weights.stream", OpKind.Copy, c.Layer, inputs, [c.Staged], 0, DType.Int8,
                    bytesRead: bytes, bytesWritten: bytes) { Transfer = new TierTransfer(streamedTier[c.Layer], top) });
            }
        }
        AddCopies(-1);
        foreach (var op in order)
        {
            var inputs = op.Inputs;
            if (op.Layer >= 0 && streamedLayers.Contains(op.Layer) && op.Inputs.Any(t => t.Role == TensorRole.Weight && streamedTier.ContainsKey(op.Layer)))
                inputs = [.. op.Inputs, staged[op.Layer]];
            var outputs = tokens.TryGetValue(op.Id, out var token) ? [.. op.Outputs, token] : op.Outputs;
            ops.Add(Clone(op, ops.Count, inputs, outputs));
            AddCopies(op.Id);
        }
        return ops;
    }

    /// <summary>A copy of <paramref name="op"/> with another id and tensors, keeping its work and bytes.</summary>
    public static Op Clone(Op op, int id, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> outputs) =>
        new(id, op.Name, op.Kind, op.Layer, inputs, outputs, op.Flops, op.ComputeDType, op.Gemm, op.Attention, op.BytesRead, op.BytesWritten)
        {
            HostCalls = op.HostCalls,
            Transfer = op.Transfer,
        };

    private static string Gb(long bytes) => (bytes / 1e9).ToString("0.0", CultureInfo.InvariantCulture) + " GB";
}
