using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;

namespace AccelSim.Core.Simulation;

/// <summary>A group of ops that a dataflow schedule places on the device at once. Tensors produced and
/// consumed only inside the region are <see cref="Internal"/>: a device may stream them through on-chip
/// buffers instead of memory. <see cref="Inputs"/> come from outside (weights, caches, earlier
/// regions); <see cref="Outputs"/> are needed after the region.</summary>
public sealed class Region
{
    public Region(IReadOnlyList<Op> ops, WorkloadGraph graph, IReadOnlySet<int>? consumedLater = null)
    {
        if (ops.Count == 0) throw new ArgumentException("a region needs at least one op", nameof(ops));
        Ops = ops.ToArray();
        var inRegion = Ops.Select(o => o.Id).ToHashSet();
        var produced = new Dictionary<int, Tensor>();
        foreach (var op in Ops) foreach (var t in op.Outputs) produced[t.Id] = t;
        var inputs = new SortedDictionary<int, Tensor>();
        foreach (var op in Ops)
            foreach (var t in op.Inputs)
                if (!produced.ContainsKey(t.Id)) inputs[t.Id] = t;

        // A produced tensor is internal when every consumer is inside the region and it is consumed.
        var consumers = new Dictionary<int, List<Op>>();
        foreach (var op in graph.Ops)
            foreach (var t in op.Inputs)
                if (produced.ContainsKey(t.Id))
                {
                    if (!consumers.TryGetValue(t.Id, out var list)) consumers[t.Id] = list = [];
                    list.Add(op);
                }
        var internals = new List<Tensor>();
        var outputs = new List<Tensor>();
        foreach (var (id, t) in produced.OrderBy(kv => kv.Key))
        {
            var used = consumers.TryGetValue(id, out var list) ? list : [];
            var allInside = used.Count > 0 && used.All(c => inRegion.Contains(c.Id)) && consumedLater?.Contains(id) != true;
            (allInside ? internals : outputs).Add(t);
        }
        Inputs = inputs.Values.ToArray();
        Outputs = outputs;
        Internal = internals;
    }

    public IReadOnlyList<Op> Ops { get; }
    public IReadOnlyList<Tensor> Inputs { get; }
    public IReadOnlyList<Tensor> Outputs { get; }
    public IReadOnlyList<Tensor> Internal { get; }

    public long InternalBytes => Internal.Sum(t => t.Bytes);
    public long Flops => Ops.Sum(o => o.Flops);
}

/// <summary>A device model that can run a region spatially (dataflow): ops on partitions of its engines,
/// intermediates streamed on chip where they fit, pipeline fill and drain paid. Each family implements
/// its own execution model; a device without it runs dataflow schedules op by op.</summary>
public interface IDataflowDevice
{
    /// <summary>The cost of running <paramref name="region"/> as one spatial pipeline. Off-chip bytes
    /// must not exceed those of running its ops one at a time: intermediates either stay on chip or
    /// are spilled (written and read back), never moved more.</summary>
    OpCost CostRegion(Region region);
}

/// <summary>A device model that can run a region's ops one after another, each on the whole device
/// reconfigured for it (InTAR's inter-task reconfiguration): a reconfiguration cost per op, and the
/// region's intermediates kept on chip between ops where they fit. Optional; the <c>auto</c> dataflow
/// schedule weighs it per region against op by op and the spatial pipeline.</summary>
public interface IReconfigurableDevice
{
    /// <summary>The cost of running <paramref name="region"/>'s ops in sequence, each with the whole
    /// compute array, paying the device's reconfiguration cost per op. Off-chip bytes must not exceed
    /// those of running its ops one at a time: an intermediate either stays on chip or is spilled
    /// (written and read back), never moved more.</summary>
    OpCost CostRegionReconfigured(Region region);
}

/// <summary>Splits a graph into regions: consecutive ops (in topological order) of the same decoder
/// layer form one region; ops outside layers stand alone.</summary>
public static class Regions
{
    public static IReadOnlyList<IReadOnlyList<Op>> ByLayer(WorkloadGraph graph)
    {
        var groups = new List<IReadOnlyList<Op>>();
        var current = new List<Op>();
        foreach (var op in graph.TopologicalOrder())
        {
            if (current.Count > 0 && (op.Layer < 0 || current[0].Layer != op.Layer))
            {
                groups.Add(current);
                current = [];
            }
            current.Add(op);
        }
        if (current.Count > 0) groups.Add(current);
        return groups;
    }
}

/// <summary>Spatial execution: each region runs as one pipeline on the device (<see cref="IDataflowDevice"/>);
/// regions run one after another. With <see cref="Auto"/> set, each region runs whichever way is fastest
/// alone (by <see cref="Estimate"/>): op by op, as one pipeline, or, on an <see cref="IReconfigurableDevice"/>,
/// its ops in sequence on the reconfigured device with intermediates on chip (as InTAR chooses per task).
/// A tie keeps the earlier of op by op, pipeline, reconfigured.</summary>
public sealed class DataflowSchedule(bool auto = false) : ISchedule
{
    public bool Auto { get; } = auto;

    public string Name => Auto ? "auto" : "dataflow";

    public SimProgram Map(WorkloadGraph graph, IDeviceModel device)
    {
        device = CopyPowerBudget.For(graph, device);
        var order = new TaskOrder(graph);
        var flow = device.Capabilities.Dataflow;
        var reconfigurable = Auto ? device.Capabilities.Reconfiguration : null;
        foreach (var layer in Regions.ByLayer(graph))
        {
            // Copies between memory tiers (weights streamed in, KV swapped, experts switched) run on the
            // device's copy path, not in the spatial pipeline: each is its own task, so a layer's copy
            // overlaps the layers before it exactly as far as its data allows.
            var group = layer;
            IReadOnlyList<Op> after = [];
            if (layer.Any(o => o.Transfer is not null))
            {
                group = layer.Where(o => o.Transfer is null).ToList();
                // A copy that reads what the layer computes (a write-back) runs after it; the rest before.
                var computed = group.SelectMany(o => o.Outputs).Select(t => t.Id).ToHashSet();
                var copies = layer.Where(o => o.Transfer is not null).ToList();
                after = copies.Where(c => c.Inputs.Any(t => computed.Contains(t.Id))).ToList();
                foreach (var copy in copies.Except(after)) order.Add([copy], device.Cost(copy));
                if (group.Count == 0)
                {
                    foreach (var copy in after) order.Add([copy], device.Cost(copy));
                    continue;
                }
            }
            var sequential = group.Select(device.Cost).ToArray();
            Region? region = null;
            OpCost? fused = null;
            if (flow is not null && group.Count > 1) fused = flow.CostRegion(region = new Region(group, graph));
            if (!Auto)
            {
                if (fused is not null) order.Add(group, fused);
                else for (var i = 0; i < group.Count; i++) order.Add([group[i]], sequential[i]);
                foreach (var copy in after) order.Add([copy], device.Cost(copy));
                continue;
            }

            // Candidates in order; a later one must be strictly faster to win.
            OpCost? best = null;
            var bestTime = sequential.Sum(c => Estimate(c, device.Topology));
            if (fused is not null && Estimate(fused, device.Topology) < bestTime)
            {
                best = fused;
                bestTime = Estimate(fused, device.Topology);
            }
            if (reconfigurable is not null && group.Count > 1)
            {
                var reconfigured = reconfigurable.CostRegionReconfigured(region ?? new Region(group, graph));
                if (Estimate(reconfigured, device.Topology) < bestTime) best = reconfigured;
            }
            if (best is not null) order.Add(group, best);
            else for (var i = 0; i < group.Count; i++) order.Add([group[i]], sequential[i]);
            foreach (var copy in after) order.Add([copy], device.Cost(copy));
        }
        return order.Program(Name);
    }

    /// <summary>A task's time when it runs alone: latency, then the longer of compute and transfers.</summary>
    public static long Estimate(OpCost cost, DeviceTopology topology)
    {
        var (c, m, l) = MetricsCalculator.PartTimes(cost, topology);
        return l + Math.Max(c, m);
    }
}
