using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;

namespace AccelSim.Core.Memory;

/// <summary>Composition-of-Experts workloads: expert models at rest in a tier below main memory,
/// switched into main memory before they serve a step. Each switch is a copy op whose
/// <see cref="Op.Transfer"/> names the two tiers and whose source tensor <see cref="WorkloadGraph.TierOf"/>
/// places in the lower tier, so any device with a <see cref="DeviceCapabilities.MemoryHierarchy"/> costs it over its own
/// path (an RDU from DDR into HBM, a GPU from host memory over PCIe).
/// <para>Main memory keeps a cache of switched-in experts beside the step's own footprint (its weights
/// stand for the expert that serves it, plus its KV cache and working set). A switched-in copy occupies
/// main memory from the start of its switch until it is evicted; when the cache is full the next switch
/// evicts the least recently switched-in expert (weights are read-only: eviction writes nothing back), so
/// the peak of main memory never holds more experts than fit.</para></summary>
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

    /// <summary>The tiers a device switches experts between: its second placement tier into its first (a
    /// device that streams by itself: its stream tier into its main memory).</summary>
    public static TierTransfer SwitchPath(IDeviceModel device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.Capabilities.Streaming is { } native)
            return new TierTransfer(native.StreamTier, device.MainMemoryTier());
        var tiers = Placement.Tiers(device);
        if (tiers.Count < 2)
            throw new InputException(null, RequestParameter.Experts, $"{device.Name} has no memory tier below {tiers[0]} to keep experts in");
        return new TierTransfer(tiers[1], tiers[0]);
    }

    /// <summary><paramref name="switches"/> expert switches on <paramref name="device"/>'s path, then the step;
    /// the switched-in experts share the room main memory has beside the step (<see cref="CacheSlots"/>).</summary>
    public static WorkloadGraph Compose(WorkloadGraph step, int switches, IDeviceModel device, long? expertBytes = null)
    {
        ArgumentNullException.ThrowIfNull(step);
        var path = SwitchPath(device);
        var bytes = expertBytes ?? WeightBytes(step);
        return Compose(step, switches, path, expertBytes, CacheSlots(step, device, path.To, bytes));
    }

    /// <summary>How many switched-in experts of <paramref name="expertBytes"/> each main memory
    /// (<paramref name="tier"/>) keeps at once beside the step's resident bytes and working set (the
    /// step's weights are the expert it serves): all that fit, less one buffer the next switch copies
    /// into before the oldest is evicted. Zero when not even two fit: each switch then overwrites the
    /// serving expert's weights in place and nothing is cached. A tier without a capacity keeps every
    /// expert.</summary>
    public static int CacheSlots(WorkloadGraph step, IDeviceModel device, string tier, long expertBytes)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(device);
        var tiers = device.Topology.Tiers;
        var index = -1;
        for (var i = 0; i < tiers.Count; i++) if (tiers[i].Name == tier) index = i;
        if (index < 0 || tiers[index].CapacityBytes <= 0 || expertBytes <= 0) return int.MaxValue;
        long free;
        if (device.Capabilities.Streaming is { } native && tier == device.MainMemoryTier())
        {
            // A device that streams by itself keeps weights (switched-in experts too) in its resident
            // budget, less what its first-fit placement keeps there (Placement.NativeFirstFit).
            long resident = 0;
            foreach (var t in step.Tensors)
                if ((t.Role != TensorRole.Activation || !step.Producer.ContainsKey(t.Id)) && !step.TierOf.ContainsKey(t.Id)) resident += t.Bytes;
            free = native.ResidentBudgetBytes - (resident - native.StreamedBytes(step));
        }
        else
        {
            long resident = 0;
            foreach (var t in step.Tensors)
            {
                if (t.Role == TensorRole.Activation && step.Producer.ContainsKey(t.Id)) continue;
                var at = step.TierOf.TryGetValue(t.Id, out var named) ? named : tiers[device.PlaceTensor(t)].Name;
                if (at == tier) resident += t.Bytes;
            }
            free = tiers[index].CapacityBytes - Placement.WorkingSet(step) - resident;
        }
        var fit = free > 0 ? free / expertBytes : 0;
        return (int)Math.Clamp(fit - 1, 0, int.MaxValue);
    }

    /// <summary><paramref name="switches"/> expert-model switches followed by <paramref name="step"/>
    /// (e.g. one decode step of the expert). Each switch copies <paramref name="expertBytes"/> (default:
    /// the step's own weight bytes) from a weight tensor at rest in <c>path.From</c> into a copy in
    /// <c>path.To</c>; switches run one after another on the device's copy path, and the step starts
    /// when they are done. Main memory keeps <paramref name="cacheSlots"/> switched-in experts (default:
    /// all of them): switch <c>i</c> evicts the copy of switch <c>i - cacheSlots</c>, which is freed when
    /// switch <c>i</c> ends. With no slots each switch overwrites the serving expert's weights (the step's
    /// own, already counted) and holds no copy of its own.</summary>
    public static WorkloadGraph Compose(WorkloadGraph step, int switches, TierTransfer path, long? expertBytes = null,
        int cacheSlots = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (switches < 0) throw new InputException(null, RequestParameter.Experts, $"expected a whole number >= 0, got {switches}");
        if (switches == 0) return step;
        // Each switch is an op: the graph's op limit bounds them, checked before any list is sized.
        if (switches > WorkloadGraph.MaxOps - step.Ops.Count)
            throw new InputException(null, RequestParameter.Experts, $"{switches} switches beyond the sanity limit of {WorkloadGraph.MaxOps} ops per graph");
        var bytes = expertBytes ?? WeightBytes(step);
        if (bytes <= 0) throw new InputException(null, RequestParameter.Experts, "the expert model has no weights to switch");
        if (cacheSlots < 0) throw new ArgumentOutOfRangeException(nameof(cacheSlots), cacheSlots, "expected a number of cached experts >= 0");

        var nextTensor = step.Tensors.Count == 0 ? 0 : step.Tensors.Max(t => t.Id) + 1;
        var ops = new List<Op>(switches + step.Ops.Count);
        var tierOf = new Dictionary<int, string>(step.TierOf);
        // The step serves the expert loaded last: its entry ops wait for the last switch through a
        // zero-byte token (switches themselves follow one another on the device's copy engine).
        var done = new Tensor(nextTensor + 2 * switches, "experts.switched", [0], DType.Int8, TensorRole.Activation);
        // A switched-in copy is produced by its switch, so it occupies main memory from then on; the switch
        // that evicts it lists it as an input (no bytes move: eviction drops it), which frees it.
        var copies = new Tensor[switches];
        for (var i = 0; i < switches; i++)
        {
            var src = new Tensor(nextTensor++, $"expert{i}.weights.at_rest", [bytes], DType.Int8, TensorRole.Weight);
            var dst = copies[i] = new Tensor(nextTensor++, $"expert{i}.weights", [bytes], DType.Int8, TensorRole.Activation);
            tierOf[src.Id] = path.From;
            tierOf[dst.Id] = path.To;
            IReadOnlyList<Tensor> inputs = cacheSlots > 0 && i >= cacheSlots ? [src, copies[i - cacheSlots]] : [src];
            IReadOnlyList<Tensor> held = cacheSlots > 0 ? [dst] : [];
            IReadOnlyList<Tensor> outputs = i == switches - 1 ? [.. held, done] : held;
            ops.Add(new Op(i, $"switch expert{i}", OpKind.Copy, -1, inputs, outputs, 0, DType.Int8, bytesRead: bytes, bytesWritten: bytes)
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
