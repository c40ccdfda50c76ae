using AccelSim.Core.Devices;
using AccelSim.Core.Graph;

namespace AccelSim.Core.Simulation;

/// <summary>A unit of simulated work: one op, or a group of ops fused by a schedule, with its cost.</summary>
public sealed record SimTask(int Id, IReadOnlyList<Op> Ops, OpCost Cost)
{
    /// <summary>Work of the host on behalf of its ops (issuing them), not the ops themselves: metrics
    /// count its time but not its ops' FLOPs or bytes.</summary>
    public bool HostOnly { get; init; }

    public string Name => Ops.Count == 1 ? Ops[0].Name : $"{Ops[0].Name}..{Ops[^1].Name}";
}

/// <summary>What a schedule hands to the simulator: tasks in issue order, and for each task the tasks
/// it must wait for. Tensors are tracked for memory occupancy.</summary>
public sealed class SimProgram
{
    public SimProgram(string schedule, WorkloadGraph graph, IReadOnlyList<SimTask> tasks, IReadOnlyList<IReadOnlyList<int>> predecessors)
    {
        if (tasks.Count != predecessors.Count) throw new ArgumentException("one predecessor list per task", nameof(predecessors));
        for (var i = 0; i < tasks.Count; i++)
        {
            if (tasks[i].Id != i) throw new ArgumentException("task ids must be 0..n-1 in order", nameof(tasks));
            foreach (var p in predecessors[i])
                if (p < 0 || p >= i) throw new ArgumentException($"task {i} depends on {p}; tasks must be listed in a topological order", nameof(predecessors));
        }
        Schedule = schedule;
        Graph = graph;
        Tasks = tasks.ToArray();
        Predecessors = predecessors.Select(p => (IReadOnlyList<int>)p.Distinct().Order().ToArray()).ToArray();
    }

    public string Schedule { get; }
    public WorkloadGraph Graph { get; }
    public IReadOnlyList<SimTask> Tasks { get; }
    public IReadOnlyList<IReadOnlyList<int>> Predecessors { get; }
}

/// <summary>Maps a graph onto a device: which ops run together, in what order, at what cost.</summary>
public interface ISchedule
{
    string Name { get; }
    SimProgram Map(WorkloadGraph graph, IDeviceModel device);
}

/// <summary>Kernel by kernel: on each engine one op at a time, in topological order, each reading its
/// inputs from and writing its outputs to memory, issued back to back as from a CUDA graph or an
/// instruction stream. Each engine is a stream: an op waits for the previous op on its engine and for
/// the ops that produce its inputs, so work on different engines (a copy engine streaming weights, a
/// host thread) overlaps exactly as far as the data allows.</summary>
public sealed class SequentialSchedule : ISchedule
{
    public string Name => "sequential";

    public SimProgram Map(WorkloadGraph graph, IDeviceModel device)
    {
        var order = graph.TopologicalOrder();
        var tasks = new SimTask[order.Count];
        var preds = new IReadOnlyList<int>[order.Count];
        var taskOfOp = new int[graph.Ops.Count];
        var lastOnEngine = new Dictionary<int, int>();
        for (var i = 0; i < order.Count; i++)
        {
            var op = order[i];
            var cost = device.Cost(op);
            tasks[i] = new SimTask(i, [op], cost);
            taskOfOp[op.Id] = i;
            var p = new List<int>();
            if (lastOnEngine.TryGetValue(cost.Engine, out var prev)) p.Add(prev);
            foreach (var src in graph.Predecessors(op)) p.Add(taskOfOp[src.Id]);
            preds[i] = p;
            lastOnEngine[cost.Engine] = i;
        }
        return new SimProgram(Name, graph, tasks, preds);
    }
}
