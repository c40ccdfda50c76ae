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

    /// <summary>A program assembled from programs already checked (a system rank's segment instances, each a
    /// mapped program's tasks renumbered by an offset): ids are 0..n-1 and each predecessor list is sorted,
    /// distinct and earlier, as the public constructor would make them; the lists are taken as they are.</summary>
    internal static SimProgram Assembled(string schedule, WorkloadGraph graph, IReadOnlyList<SimTask> tasks, IReadOnlyList<IReadOnlyList<int>> predecessors) =>
        new(schedule, graph, tasks, predecessors, trusted: true);

    private SimProgram(string schedule, WorkloadGraph graph, IReadOnlyList<SimTask> tasks, IReadOnlyList<IReadOnlyList<int>> predecessors, bool trusted)
    {
        _ = trusted;
        Schedule = schedule;
        Graph = graph;
        Tasks = tasks;
        Predecessors = predecessors;
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
        device = CopyPowerBudget.For(graph, device);
        var order = new TaskOrder(graph);
        foreach (var op in graph.TopologicalOrder()) order.Add([op], device.Cost(op));
        return order.Program(Name);
    }
}

/// <summary>Builds a program's tasks in issue order, each waiting for the previous task on its engine
/// (an engine is a stream) and for the tasks that produce its ops' inputs. Tasks must be added in a
/// topological order of the graph.</summary>
internal sealed class TaskOrder(WorkloadGraph graph)
{
    private readonly List<SimTask> _tasks = [];
    private readonly List<IReadOnlyList<int>> _preds = [];
    private readonly Dictionary<int, int> _taskOfTensor = [];
    private readonly Dictionary<int, int> _lastOnEngine = [];

    public void Add(IReadOnlyList<Op> ops, OpCost cost)
    {
        var id = _tasks.Count;
        var p = new SortedSet<int>();
        if (_lastOnEngine.TryGetValue(cost.Engine, out var previous)) p.Add(previous);
        foreach (var op in ops)
            foreach (var t in op.Inputs)
                if (_taskOfTensor.TryGetValue(t.Id, out var producer)) p.Add(producer);
        foreach (var op in ops)
            foreach (var t in op.Outputs)
                if (graph.Producer.ContainsKey(t.Id)) _taskOfTensor[t.Id] = id;
        _lastOnEngine[cost.Engine] = id;
        _tasks.Add(new SimTask(id, ops, cost));
        _preds.Add(p.ToArray());
    }

    public SimProgram Program(string schedule) => new(schedule, graph, _tasks, _preds);
}
