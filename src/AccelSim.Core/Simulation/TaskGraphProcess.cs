namespace AccelSim.Core.Simulation;

/// <summary>A static program as a client of the open-world <see cref="Kernel"/>: tasks with
/// predecessors, all known before time zero. At time zero it readies the tasks that wait for nothing
/// (in the order they were added); when a task ends, it readies each successor whose last predecessor
/// that was, in the order the successors were added.
///
/// <para>Storage is compact and O(work): a task costs its kernel record plus a few ints here (its
/// predecessor count, where its successor list starts) and one int per dependency.</para></summary>
public sealed class TaskGraphProcess : KernelProcess
{
    private readonly Kernel _kernel;
    private int[] _kernelTask = new int[16];
    private int[] _predStart = new int[17];
    private int[] _preds = new int[16];
    private int _count, _predCount;

    // Built when the graph is sealed: each task's successors, as kernel tasks (each of which counts
    // its predecessors as prerequisites, so the kernel readies it when the last one ends), in one
    // array of entries, a task's list ended by an entry whose task is -1. A task's kernel tag is where
    // its list starts, so its end reads its list without an index array; each entry also says where
    // the successor's own list and transfers are, so the hint at a task's start asks for what the
    // successor's start and end will read one generation ahead, with no load waiting on another.
    private struct Successor
    {
        public int Task, List, Transfers;
    }

    private Successor[] _succ = [];

    /// <summary>Attaches a new task graph to <paramref name="kernel"/>.</summary>
    /// <param name="expectedTasks">Tasks the graph is expected to hold (storage grows beyond it).</param>
    public TaskGraphProcess(Kernel kernel, int expectedTasks = 16)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        _kernel = kernel;
        kernel.Attach(this);
        HintsSuccessors = true;
        var n = Math.Max(4, expectedTasks);
        _kernelTask = new int[n];
        _predStart = new int[n + 1];
        _preds = new int[n];
    }

    /// <summary>Tasks added so far.</summary>
    public int Count => _count;

    /// <summary>The kernel's index of the graph's task <paramref name="index"/>.</summary>
    public int TaskOf(int index) => _kernelTask[index];

    /// <summary>Adds a task that starts once every task of <paramref name="predecessors"/> (indices into
    /// this graph, each earlier than the new one, no repeats) has ended. Returns its index in the graph;
    /// add its transfers and buffers to the kernel (<see cref="Kernel.AddTransfer"/>,
    /// <see cref="Kernel.AllocateOnStart"/>, ...) with <see cref="TaskOf"/> before adding the next task.</summary>
    public int Add(int engine, long latencyPs, long computePs, ReadOnlySpan<int> predecessors)
    {
        if (_sealed) throw new InvalidOperationException("a sealed task graph takes no more tasks");
        var index = _count;
        foreach (var p in predecessors)
            if ((uint)p >= (uint)index) throw new ArgumentException($"task {index} depends on {p}; a task depends only on tasks added before it", nameof(predecessors));
        var id = _kernel.NewTask(this, engine, latencyPs, computePs, tag: index, prerequisites: predecessors.Length);
        if (index == _kernelTask.Length)
        {
            Array.Resize(ref _kernelTask, index * 2);
            Array.Resize(ref _predStart, index * 2 + 1);
        }
        if (_predCount + predecessors.Length > _preds.Length) Array.Resize(ref _preds, Math.Max(_preds.Length * 2, _predCount + predecessors.Length));
        predecessors.CopyTo(_preds.AsSpan(_predCount));
        _predCount += predecessors.Length;
        _kernelTask[index] = id;
        _count = index + 1;
        _predStart[_count] = _predCount;
        return index;
    }

    /// <summary>Ends the graph: no task is added after this. Builds the successor lists (done at time
    /// zero when not called before).</summary>
    public void Seal()
    {
        if (_sealed) return;
        _sealed = true;
        var n = _count;
        // Each task's list: its successors, then the end entry.
        var start = new int[n + 1];
        var roots = 0;
        for (var i = 0; i < n; i++)
        {
            if (_predStart[i + 1] == _predStart[i]) roots++;
            start[i + 1]++;
            for (var k = _predStart[i]; k < _predStart[i + 1]; k++) start[_preds[k] + 1]++;
        }
        for (var i = 0; i < n; i++) start[i + 1] += start[i];
        _succ = LargeArrays.New<Successor>(start[n]);
        _roots = new int[roots];
        roots = 0;
        var fill = start.AsSpan(0, n).ToArray();
        for (var i = 0; i < n; i++)
        {
            if (_predStart[i + 1] == _predStart[i]) _roots[roots++] = _kernelTask[i];
            for (var k = _predStart[i]; k < _predStart[i + 1]; k++)
                _succ[fill[_preds[k]]++] = new Successor { Task = _kernelTask[i], List = start[i], Transfers = _kernel.FirstTransfer(_kernelTask[i]) };
        }
        for (var i = 0; i < n; i++)
        {
            _succ[fill[i]] = new Successor { Task = -1 };
            _kernel.SetTag(_kernelTask[i], start[i]);
        }
        // The predecessor lists are no longer needed.
        _preds = [];
        _predStart = [];
        Array.Resize(ref _kernelTask, n);
    }

    private bool _sealed;
    private int[] _roots = [];

    protected override void OnStart(Kernel kernel)
    {
        Seal();
        foreach (var task in _roots) kernel.Ready(task);
    }

    internal override void OnTaskStartHint(Kernel kernel, int task)
    {
        var succ = _succ;
        for (var k = kernel.Tag(task); ; k++)
        {
            ref var s = ref succ[k];
            if (s.Task < 0) break;
            kernel.PrefetchTask(s.Task, s.Transfers);
            Prefetch.Read(ref succ[s.List]);
        }
    }

    protected override void OnTaskEnd(Kernel kernel, int task)
    {
        var succ = _succ;
        for (var k = kernel.Tag(task); ; k++)
        {
            var s = succ[k].Task;
            if (s < 0) break;
            kernel.SignalOwned(s);
        }
    }

    /// <summary>Tasks that never became ready (a dependency no task satisfied); -1 when all ended.</summary>
    public int FirstUnfinished()
    {
        for (var i = 0; i < _count; i++)
            if (!_kernel.HasEnded(_kernelTask[i])) return i;
        return -1;
    }
}
