using QuikGraph;
using QuikGraph.Algorithms;

namespace AccelSim.Core.Graph;

/// <summary>Describes where a workload came from and how many tokens it processes.</summary>
public sealed record WorkloadInfo(string Name, string Phase, long Batch, long SeqLen, long Context, long Tokens)
{
    /// <summary>The program the workload was recorded from (an imported trace), or null for a built one.</summary>
    public Simulation.RecordedProgram? Recorded { get; init; }

    /// <summary>The software stack that lowered the model into kernels (e.g. <c>fused</c>,
    /// <c>pytorch</c>); null for a trace, whose kernels are those recorded.</summary>
    public string? Stack { get; init; }

    /// <summary>How the kernels are launched: <c>graph</c> (CUDA-graph replay) or <c>eager</c> (host
    /// dispatch per op); null when not stated.</summary>
    public string? Launch { get; init; }
}

/// <summary>A dataflow graph of ops. Edges run from the op that produces a tensor to every op that
/// consumes it (QuikGraph <see cref="BidirectionalGraph{TVertex,TEdge}"/>). Ops are kept in the
/// order they were added, which is a valid topological order for builders and traces.</summary>
public sealed class WorkloadGraph
{
    private readonly BidirectionalGraph<Op, Edge<Op>> _graph = new(allowParallelEdges: false);
    private readonly Op[] _ops;
    private readonly Tensor[] _tensors;
    private Op[]? _topo;

    public WorkloadGraph(WorkloadInfo info, IReadOnlyList<Op> ops, IReadOnlyDictionary<int, string>? tierOf = null)
    {
        TierOf = tierOf ?? new Dictionary<int, string>();
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(ops);
        Info = info;
        if (ops.Count > MaxOps)
            throw new Config.InputException(null, null, $"workload '{info.Name}' has {ops.Count} ops, beyond the sanity limit of {MaxOps} ops per graph");
        _ops = ops.ToArray();
        for (var i = 0; i < _ops.Length; i++)
        {
            if (_ops[i].Id != i)
                throw new ArgumentException($"op '{_ops[i].Name}' has id {_ops[i].Id}; ids must be 0..n-1 in order", nameof(ops));
        }

        var tensors = new Dictionary<int, Tensor>();
        var producer = new Dictionary<int, Op>();
        _graph.AddVertexRange(_ops);
        foreach (var op in _ops)
        {
            foreach (var t in op.Inputs) tensors.TryAdd(t.Id, t);
            foreach (var t in op.Outputs)
            {
                tensors.TryAdd(t.Id, t);
                if (!producer.TryAdd(t.Id, op))
                    throw new ArgumentException($"tensor '{t.Name}' is written by both '{producer[t.Id].Name}' and '{op.Name}'", nameof(ops));
            }
        }
        foreach (var op in _ops)
        {
            foreach (var t in op.Inputs)
            {
                if (producer.TryGetValue(t.Id, out var src) && src != op && !_graph.ContainsEdge(src, op))
                    _graph.AddEdge(new Edge<Op>(src, op));
            }
        }
        _tensors = tensors.Values.OrderBy(t => t.Id).ToArray();
        Producer = producer;
        long flops = 0, bytes = 0;
        try
        {
            foreach (var op in _ops)
            {
                flops = checked(flops + op.Flops);
                bytes = checked(bytes + op.Bytes);
            }
        }
        catch (OverflowException)
        {
            throw new Config.InputException(null, null,
                $"workload '{info.Name}': its total FLOPs or bytes exceed {CountRange}, the largest count the simulator represents");
        }
        TotalFlops = flops;
        TotalBytes = bytes;
    }

    /// <summary>The most ops one graph may hold: far above any model or trace (a 1,000-layer model
    /// has about 15,000 ops per step), low enough that an absurd input fails before it exhausts memory.</summary>
    public const int MaxOps = 2_000_000;

    /// <summary>The range of every count (elements, bytes, FLOPs), for messages.</summary>
    public const string CountRange = "2^63 - 1 (about 9.2e18)";

    public WorkloadInfo Info { get; }

    /// <summary>The same ops and placement with another description (stack and launch mode named by the caller).</summary>
    public WorkloadGraph WithInfo(WorkloadInfo info) => new(info, _ops, TierOf);

    /// <summary>Tensors a placement policy has put in a named tier (by tensor id); the rest are placed
    /// by the device model.</summary>
    public IReadOnlyDictionary<int, string> TierOf { get; }
    public IReadOnlyList<Op> Ops => _ops;
    public IReadOnlyList<Tensor> Tensors => _tensors;

    /// <summary>The op writing each tensor id; graph inputs (weights, caches, token ids) have none.</summary>
    public IReadOnlyDictionary<int, Op> Producer { get; }

    public IBidirectionalGraph<Op, Edge<Op>> Graph => _graph;

    /// <summary>FLOPs of every op; the graph refuses ops whose total is past 2^63 - 1.</summary>
    public long TotalFlops { get; }

    /// <summary>Bytes every op reads and writes; the graph refuses ops whose total is past 2^63 - 1.</summary>
    public long TotalBytes { get; }

    public IEnumerable<Op> Predecessors(Op op) => _graph.InEdges(op).Select(e => e.Source);
    public IEnumerable<Op> Successors(Op op) => _graph.OutEdges(op).Select(e => e.Target);

    /// <summary>A topological order, stable with respect to insertion order; throws on a cycle.</summary>
    public IReadOnlyList<Op> TopologicalOrder()
    {
        if (_topo is not null) return _topo;
        // Kahn's algorithm with a min-heap on op id: deterministic and insertion-order stable.
        var indeg = new int[_ops.Length];
        foreach (var e in _graph.Edges) indeg[e.Target.Id]++;
        var ready = new PriorityQueue<Op, int>();
        foreach (var op in _ops) if (indeg[op.Id] == 0) ready.Enqueue(op, op.Id);
        var order = new List<Op>(_ops.Length);
        while (ready.TryDequeue(out var op, out _))
        {
            order.Add(op);
            foreach (var e in _graph.OutEdges(op))
                if (--indeg[e.Target.Id] == 0) ready.Enqueue(e.Target, e.Target.Id);
        }
        if (order.Count != _ops.Length)
            throw new InvalidOperationException("the workload graph has a cycle");
        _topo = order.ToArray();
        return _topo;
    }

    /// <summary>Ops in QuikGraph's own topological order (used by tests to cross-check ours).</summary>
    public IEnumerable<Op> QuikGraphTopologicalOrder() => _graph.TopologicalSort();

    /// <summary>The longest path through the graph when each op costs <paramref name="cost"/>:
    /// the lower bound of any schedule with unlimited resources.</summary>
    public (long Length, IReadOnlyList<Op> Path) CriticalPath(Func<Op, long> cost)
    {
        ArgumentNullException.ThrowIfNull(cost);
        var dist = new long[_ops.Length];
        var prev = new int[_ops.Length];
        Array.Fill(prev, -1);
        long best = 0;
        var bestEnd = -1;
        foreach (var op in TopologicalOrder())
        {
            long start = 0;
            foreach (var e in _graph.InEdges(op))
            {
                if (dist[e.Source.Id] > start) { start = dist[e.Source.Id]; prev[op.Id] = e.Source.Id; }
            }
            dist[op.Id] = start + cost(op);
            if (dist[op.Id] > best || bestEnd < 0) { best = dist[op.Id]; bestEnd = op.Id; }
        }
        var path = new List<Op>();
        for (var i = bestEnd; i >= 0; i = prev[i]) path.Add(_ops[i]);
        path.Reverse();
        return (best, path);
    }
}
