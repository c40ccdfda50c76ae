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

    /// <summary>Training: ZeRO-Offload / ZeRO-Infinity. Gradients, fp32 master weights and moments in host
    /// memory (the drives for what does not fit), AdamW on the host CPU after the backward; parameters
    /// streamed per layer when they do not fit (<see cref="TrainingPlacement"/>).</summary>
    ZeroInfinity,

    /// <summary>Training: Fuyou. Optimizer states on the drives, swapped through host memory in a pipeline
    /// with a per-layer AdamW on the host CPU that overlaps the backward (<see cref="TrainingPlacement"/>).</summary>
    SsdPipelined,
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
            case "zero-infinity": policy = PlacementPolicy.ZeroInfinity; return true;
            case "ssd-pipelined": policy = PlacementPolicy.SsdPipelined; return true;
            default: policy = default; return false;
        }
    }

    public static string Name(this PlacementPolicy p) => p switch
    {
        PlacementPolicy.Resident => "resident",
        PlacementPolicy.Fit => "fit",
        PlacementPolicy.ZeroInfinity => "zero-infinity",
        PlacementPolicy.SsdPipelined => "ssd-pipelined",
        _ => "offload",
    };

    public const string Expected = "resident, fit, offload, zero-infinity or ssd-pipelined";
}

/// <summary>A tier and the bytes of resident tensors a first-fit placement may put in it.</summary>
public readonly record struct TierBudget(string Tier, long Bytes);

/// <summary>Where a workload's KV cache lives when it does not fit beside everything else.</summary>
public enum KvPolicy
{
    /// <summary>The KV cache stays in the fastest tier with the weights (the placement policy decides
    /// what happens when they do not fit).</summary>
    Fit,

    /// <summary>KV that does not fit lives in the next tier and is swapped in layer by layer, as copy ops
    /// on the device's copy path, the next layer's KV copied while the current layer computes.</summary>
    Swap,
}

public static class KvPolicies
{
    public static bool TryParse(string? text, out KvPolicy policy)
    {
        switch (text)
        {
            case "fit": policy = KvPolicy.Fit; return true;
            case "swap": policy = KvPolicy.Swap; return true;
            default: policy = default; return false;
        }
    }

    public static string Name(this KvPolicy p) => p == KvPolicy.Fit ? "fit" : "swap";

    public const string Expected = "fit or swap";
}

/// <summary>What a placement decided and why. <see cref="OffloadedBytes"/>: bytes per lower tier that
/// stream in (weights) or swap in (KV cache); <see cref="OffloadedLayers"/>: layers whose tensors do.</summary>
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
/// footprint of any single op (inputs plus outputs), which every schedule needs at once.
/// <para>Streaming (weights under <see cref="PlacementPolicy.Offload"/>, KV cache under
/// <see cref="KvPolicy.Swap"/>) keeps the first layers resident while they fit and, for every other
/// layer, inserts one copy op (<see cref="Op.Transfer"/> from the lower tier to the top one) that stages
/// the layer's streamed tensors before its first op. Two staging buffers: a layer's copy may start once
/// the streamed layer two places before it has finished, so the first two copies start at once and
/// later ones overlap the compute of the layer before. The device costs the copies on its own copy
/// path; the overlap and the contention for links come out of the simulation.</para>
/// <para>Extension point: a training-time policy (optimizer states on host or NVMe, gradients swapped
/// out) can reuse <see cref="Stream"/> with other roles and its own copy ops.</para></summary>
public static class Placement
{
    public static (WorkloadGraph Graph, PlacementReport Report) Apply(WorkloadGraph graph, IDeviceModel device, PlacementPolicy policy) =>
        Apply(graph, device, policy, KvPolicy.Fit);

    public static (WorkloadGraph Graph, PlacementReport Report) Apply(WorkloadGraph graph, IDeviceModel device, PlacementPolicy policy, KvPolicy kv)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(device);
        if (policy is PlacementPolicy.ZeroInfinity or PlacementPolicy.SsdPipelined)
        {
            if (kv != KvPolicy.Fit) throw new InputException(null, RequestParameter.KvPolicy, $"{policy.Name()} places a training step, which has no KV cache to swap");
            return TrainingPlacement.Apply(graph, device, policy);
        }
        var tiers = Tiers(device);
        var top = tiers[0];
        var capacity = device.Topology.Tiers[device.Topology.TierIndex(top)].CapacityBytes;
        // Tensors a workload already keeps in a lower tier (experts at rest) do not need room at the top.
        var resident = graph.Tensors.Where(t => IsResident(graph, t) && (!graph.TierOf.TryGetValue(t.Id, out var at) || at == top)).ToArray();
        var residentBytes = resident.Sum(t => t.Bytes);
        var workingSet = WorkingSet(graph);
        var byRole = resident.GroupBy(t => t.Role).OrderBy(g => g.Key)
            .Select(g => $"{Gb(g.Sum(t => t.Bytes))} {g.Key.Name()}");
        var need = $"{graph.Info.Name} needs {Gb(residentBytes + workingSet)} in {top} ({string.Join(", ", byRole)}, {Gb(workingSet)} activations)";
        var name = kv == KvPolicy.Swap ? $"{policy.Name()}+kv-swap" : policy.Name();
        if (device.Capabilities.Streaming is { } native)
            return ApplyNative(graph, device, native, policy, name, top, capacity, residentBytes, workingSet, need);

        if (residentBytes + workingSet <= capacity)
        {
            return (graph, new PlacementReport(name, top, capacity, residentBytes, workingSet,
                new Dictionary<string, long>(), 0, $"{need}; {device.Name} has {Gb(capacity)}: everything fits"));
        }
        if (policy == PlacementPolicy.Resident && kv == KvPolicy.Fit)
        {
            return (graph, new PlacementReport(name, top, capacity, residentBytes, workingSet,
                new Dictionary<string, long>(), 0, $"{need}; {device.Name} has {Gb(capacity)}: {Gb(residentBytes + workingSet - capacity)} over capacity"));
        }
        if (policy == PlacementPolicy.Fit && kv == KvPolicy.Fit)
        {
            var kvBytes = resident.Where(t => t.Role == TensorRole.KvCache).Sum(t => t.Bytes);
            var hint = tiers.Count > 1
                ? $"use placement=offload to keep what does not fit in {tiers[1]} and stream it in" +
                  (kvBytes > 0 ? $", or kv_policy=swap to swap the KV cache in from {tiers[1]}" : "")
                : $"{device.Name} has no slower tier to offload to";
            throw new InputException(null, RequestParameter.Placement,
                $"{need}, but {device.Name} has {Gb(capacity)} of {top}: {Gb(residentBytes + workingSet - capacity)} do not fit; {hint}");
        }
        var option = policy == PlacementPolicy.Offload ? RequestParameter.Placement : RequestParameter.KvPolicy;
        if (tiers.Count < 2)
            throw new InputException(null, option, $"{need}, but {device.Name} has {Gb(capacity)} of {top} and no slower tier to offload to");
        var roles = new HashSet<TensorRole>();
        if (policy == PlacementPolicy.Offload) roles.Add(TensorRole.Weight);
        if (kv == KvPolicy.Swap) roles.Add(TensorRole.KvCache);
        var (placed, report) = Stream(graph, device, tiers, roles, capacity, residentBytes, workingSet, need, option);
        return (placed, report with { Policy = name });
    }

    /// <summary>A device that streams what does not fit by itself: <c>resident</c>, <c>offload</c> and KV
    /// swap all place the graph first fit by tier (<see cref="NativeFirstFit"/>), the tensors that do not
    /// fit named in <see cref="WorkloadGraph.TierOf"/> in the stream tier, where the device streams them
    /// from; <c>fit</c> fails when anything would stream.</summary>
    private static (WorkloadGraph Graph, PlacementReport Report) ApplyNative(WorkloadGraph graph, IDeviceModel device,
        INativeStreaming native, PlacementPolicy policy, string name, string top, long capacity, long residentBytes,
        long workingSet, string need)
    {
        var placement = NativeFirstFit(graph, device, native);
        var bytes = graph.Tensors.ToDictionary(t => t.Id, t => t.Bytes);
        var tierOf = new Dictionary<int, string>(graph.TierOf);
        long streamed = 0;
        foreach (var (id, tier) in placement)
        {
            if (tier == top) continue;
            tierOf[id] = tier;
            streamed += bytes[id];
        }
        if (streamed == 0)
            return (graph, new PlacementReport(name, top, capacity, residentBytes, workingSet,
                new Dictionary<string, long>(), 0, $"{need}; {device.Name} keeps it all in {top}"));
        if (policy == PlacementPolicy.Fit)
            throw new InputException(null, RequestParameter.Placement,
                $"{need}, but {device.Name} keeps only {Gb(residentBytes - streamed)} of weights and caches in {top}: " +
                $"{Gb(streamed)} would stream from {native.StreamTier}, which {device.Name} does by itself (leave placement=resident, or use placement=offload)");
        return (new WorkloadGraph(graph.Info, graph.Ops, tierOf), new PlacementReport(name, top, capacity, residentBytes - streamed, workingSet,
            new Dictionary<string, long> { [native.StreamTier] = streamed }, 0,
            $"{need}; {device.Name} streams {Gb(streamed)} from {native.StreamTier} by itself"));
    }

    /// <summary>First fit by tier: every weight, cache and other non-activation tensor of
    /// <paramref name="graph"/> that no placement has named yet (<see cref="WorkloadGraph.TierOf"/>) takes the
    /// first of <paramref name="tiers"/> whose budget still has room for it, in the order the graph meets
    /// them (topological order, each op's inputs then its outputs); what fits in none lives in the last
    /// tier, whatever its budget. A function of the graph alone: the same graph always places the same
    /// way, whoever asks and in whatever order its ops are later costed. Activations are left to the
    /// device. Returns the tier of each tensor it placed.</summary>
    public static IReadOnlyDictionary<int, string> FirstFit(WorkloadGraph graph, IReadOnlyList<TierBudget> tiers)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(tiers);
        if (tiers.Count == 0) throw new ArgumentException("first fit needs at least one tier", nameof(tiers));
        var left = new long[tiers.Count];
        for (var i = 0; i < tiers.Count; i++) left[i] = tiers[i].Bytes;
        var placed = new Dictionary<int, string>();
        foreach (var op in graph.TopologicalOrder())
        {
            foreach (var t in op.Inputs) Place(t);
            foreach (var t in op.Outputs) Place(t);
        }
        return placed;

        void Place(Tensor t)
        {
            if (t.Role == TensorRole.Activation || graph.TierOf.ContainsKey(t.Id) || placed.ContainsKey(t.Id)) return;
            var i = 0;
            while (i < tiers.Count - 1 && t.Bytes > left[i]) i++;
            left[i] -= Math.Min(left[i], t.Bytes);
            placed[t.Id] = tiers[i].Tier;
        }
    }

    /// <summary>The first-fit placement of a device that streams by itself: its main memory (the first
    /// of <see cref="Tiers"/>) up to <see cref="INativeStreaming.ResidentBudgetBytes"/>, the rest in
    /// <see cref="INativeStreaming.StreamTier"/>.</summary>
    public static IReadOnlyDictionary<int, string> NativeFirstFit(WorkloadGraph graph, IDeviceModel device, INativeStreaming native)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(native);
        return FirstFit(graph, [new TierBudget(Tiers(device)[0], native.ResidentBudgetBytes), new TierBudget(native.StreamTier, long.MaxValue)]);
    }

    /// <summary>The tiers tensors may be placed in, fastest first: the device's
    /// <see cref="DeviceCapabilities.MemoryHierarchy"/>, or its main memory alone.</summary>
    public static IReadOnlyList<string> Tiers(IDeviceModel device) =>
        device.Capabilities.MemoryHierarchy?.PlacementTiers ?? [device.MainMemoryTier()];

    /// <summary>The first of <paramref name="device"/>'s placement tiers (<see cref="Tiers"/>) of
    /// <paramref name="kind"/>, or null when it has none.</summary>
    public static string? TierOfKind(IDeviceModel device, TierKind kind)
    {
        ArgumentNullException.ThrowIfNull(device);
        foreach (var t in Tiers(device))
            if (device.Topology.Tiers[device.Topology.TierIndex(t)].Kind == kind) return t;
        return null;
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

    /// <summary>Streams, layer by layer, the resident graph inputs of <paramref name="roles"/> that do not
    /// fit in <c>tiers[0]</c> from the tiers below it (filled in order).</summary>
    public static (WorkloadGraph, PlacementReport) Stream(WorkloadGraph graph, IDeviceModel device, IReadOnlyList<string> tiers,
        IReadOnlySet<TensorRole> roles, long capacity, long residentBytes, long workingSet, string need, string option)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(tiers);
        ArgumentNullException.ThrowIfNull(roles);
        var order = graph.TopologicalOrder();
        // Streamable tensors by the layer of their first consumer; only layer tensors stream.
        var layerOf = new Dictionary<int, int>();
        foreach (var op in order)
            foreach (var t in op.Inputs)
                if (roles.Contains(t.Role) && !graph.Producer.ContainsKey(t.Id) && !graph.TierOf.ContainsKey(t.Id)) layerOf.TryAdd(t.Id, op.Layer);
        var byId = graph.Tensors.ToDictionary(t => t.Id);
        var layers = layerOf.Where(kv => kv.Value >= 0).GroupBy(kv => kv.Value).OrderBy(g => g.Key)
            .Select(g => (Layer: g.Key, Tensors: g.Select(kv => byId[kv.Key]).OrderBy(t => t.Id).ToArray()))
            .ToArray();
        var what = string.Join(" and ", roles.Order().Select(r => r.Name()));
        if (layers.Length == 0)
            throw new InputException(null, option, $"{need}, but {device.Name} has {Gb(capacity)} and the graph has no layer {what} tensors to stream");
        var layerBytes = layers.Select(l => l.Tensors.Sum(t => t.Bytes)).ToArray();
        var staging = 2 * layerBytes.Max();
        var streamable = layerBytes.Sum();
        var fixedBytes = residentBytes - streamable;
        var budget = capacity - workingSet - staging - fixedBytes;
        if (budget < 0)
        {
            var hint = roles.Contains(TensorRole.Weight) ? "" : "; add placement=offload to stream the weights too";
            throw new InputException(null, option,
                $"{need}; even streaming every layer's {what}, the rest ({Gb(fixedBytes)} resident, {Gb(workingSet)} activations, " +
                $"{Gb(staging)} for two staged layers) exceeds {device.Name}'s {Gb(capacity)} of {tiers[0]}{hint}");
        }

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
            var tierCapacity = device.Topology.Tiers[device.Topology.TierIndex(tier)].CapacityBytes;
            if (tierCapacity > 0 && lowerUsed + layerBytes[i] > tierCapacity)
            {
                // Even the slowest tier is full: there is nowhere left to keep the rest.
                var left = layerBytes.Skip(i).Sum();
                var room = string.Join(" + ", tiers.Select(n => $"{Gb(device.Topology.Tiers[device.Topology.TierIndex(n)].CapacityBytes)} {n}"));
                throw new InputException(null, option,
                    $"{need}; {device.Name} has {room}: {Gb(left - (tierCapacity - lowerUsed))} of {what} do not fit in any tier");
            }
            lowerUsed += layerBytes[i];
            streamedTier[layers[i].Layer] = tier;
            offloaded[tier] = offloaded.GetValueOrDefault(tier) + layerBytes[i];
            foreach (var t in layers[i].Tensors) tierOf[t.Id] = tier;
        }

        var label = roles.Count == 1 && roles.Contains(TensorRole.KvCache) ? "kv.swap_in"
            : roles.Count == 1 ? "weights.stream" : "stream";
        var rebuilt = Rebuild(graph, order, layers.Skip(keep).ToArray(), streamedTier, tiers[0], label);
        var result = new WorkloadGraph(graph.Info, rebuilt, tierOf);
        var streamedLayers = layers.Length - keep;
        var summary = $"{need}; {device.Name} has {Gb(capacity)}: {keep} of {layers.Length} layers' {what} resident, {streamedLayers} streamed from " +
                      string.Join(" and ", offloaded.Select(kv => $"{kv.Key} ({Gb(kv.Value)})"));
        return (result, new PlacementReport("offload", tiers[0], capacity, residentBytes, workingSet, offloaded, streamedLayers, summary));
    }

    /// <summary>Inserts, for every streamed layer, a copy op that stages its streamed tensors in the top
    /// tier, makes the layer's ops that read them depend on the staged copy, and lets a copy start only
    /// when the streamed layer two places before it has finished (two staging buffers).</summary>
    private static List<Op> Rebuild(WorkloadGraph graph, IReadOnlyList<Op> order, (int Layer, Tensor[] Tensors)[] streamed,
        Dictionary<int, string> streamedTier, string top, string label)
    {
        var nextTensor = graph.Tensors.Count == 0 ? 0 : graph.Tensors.Max(t => t.Id) + 1;
        var streamedIds = new HashSet<int>(streamed.SelectMany(s => s.Tensors).Select(t => t.Id));
        var lastOpOfLayer = new Dictionary<int, int>();
        foreach (var op in order) if (op.Layer >= 0) lastOpOfLayer[op.Layer] = op.Id;

        var staged = new Dictionary<int, Tensor>();
        var tokens = new Dictionary<int, List<Tensor>>(); // op id -> extra zero-byte outputs releasing a buffer
        var copyOps = new List<(int After, int Layer, Tensor[] Tensors, Tensor Staged, Tensor? Token)>();
        for (var j = 0; j < streamed.Length; j++)
        {
            var (layer, tensors) = streamed[j];
            var bytes = tensors.Sum(t => t.Bytes);
            var stagedTensor = new Tensor(nextTensor++, $"layer{layer}.{label}.staged", [bytes], DType.Int8, TensorRole.Activation) { IsStagingBuffer = true };
            staged[layer] = stagedTensor;
            Tensor? token = null;
            var after = -1;
            // The buffer frees when the streamed layer two places earlier has finished.
            if (j >= 2 && lastOpOfLayer.TryGetValue(streamed[j - 2].Layer, out var releaser))
            {
                token = new Tensor(nextTensor++, $"layer{streamed[j - 2].Layer}.{label}.released", [0], DType.Int8, TensorRole.Activation);
                if (!tokens.TryGetValue(releaser, out var list)) tokens[releaser] = list = [];
                list.Add(token);
                after = releaser;
            }
            copyOps.Add((after, layer, tensors, stagedTensor, token));
        }

        var ops = new List<Op>(order.Count + copyOps.Count);
        void AddCopies(int after)
        {
            foreach (var c in copyOps.Where(c => c.After == after))
            {
                var bytes = c.Tensors.Sum(t => t.Bytes);
                var inputs = c.Token is null ? c.Tensors : [.. c.Tensors, c.Token];
                ops.Add(new Op(ops.Count, $"layer{c.Layer}.{label}", OpKind.Copy, c.Layer, inputs, [c.Staged], 0, DType.Int8,
                    bytesRead: bytes, bytesWritten: bytes) { Transfer = new TierTransfer(streamedTier[c.Layer], top) });
            }
        }
        AddCopies(-1);
        foreach (var op in order)
        {
            var inputs = op.Inputs;
            if (op.Layer >= 0 && staged.TryGetValue(op.Layer, out var st) && op.Inputs.Any(t => streamedIds.Contains(t.Id)))
                inputs = [.. op.Inputs, st];
            var outputs = tokens.TryGetValue(op.Id, out var extra) ? [.. op.Outputs, .. extra] : op.Outputs;
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
            HostViews = op.HostViews,
            HostNested = op.HostNested,
            HostSync = op.HostSync,
            Transfer = op.Transfer,
        };

    internal static string Gb(long bytes) => (bytes / 1e9).ToString("0.0", CultureInfo.InvariantCulture) + " GB";
}
