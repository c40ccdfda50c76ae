using AccelSim.Core.Simulation;

namespace AccelSim.Core.Network.Collectives;

/// <summary>A collective as a kernel process: the algorithm's sends between the ranks of a group, each a
/// kernel task without an engine carrying one flow over the fabric's route, started the moment the sends it
/// waits for have arrived (no lock-step unless the algorithm has one). A send's task is created when it is
/// first signalled, so the kernel holds only what has been issued. Reductions cost no compute.
///
/// <para>Chaining: <see cref="Issue"/> starts the collective at time zero, or, with <c>deferred</c>, when a
/// callback calls <see cref="Start"/> (the compute that produced the buffer has ended). When the last send
/// arrives the collective records <see cref="EndPs"/>, calls <see cref="OnDone"/> and signals every task
/// passed to <see cref="SignalWhenDone"/> (compute that needs the result).</para></summary>
public sealed class Collective : KernelProcess
{
    private readonly Kernel _kernel;
    private readonly SendPlan _plan;
    private readonly int[] _route;
    // Each send's task (a join's outstanding prerequisites) while it runs: made when it starts, dropped when it ends,
    // so that a system of hundreds of thousands of collectives holds these only for those in flight.
    private int[]? _task;
    private readonly double _cap;
    private readonly bool _deferred;
    private readonly List<int> _waiting = [];
    private int _left;

    private Collective(Kernel kernel, ICommFabric fabric, CollectiveKind kind, CollectiveAlgorithm algorithm, long bytes,
        int[] ranks, double cap, bool deferred, CollectiveOptions options, CollectivePlans? plans)
    {
        _kernel = kernel;
        Kind = kind;
        Algorithm = algorithm;
        Bytes = bytes;
        Ranks = ranks.Length;
        // In the switch, each rank's buffer is reduced at the switch's rate per port, however fast its link.
        _cap = algorithm == CollectiveAlgorithm.InNetwork ? Math.Min(cap, fabric.InNetworkReductionRate_Bps(fabric.NodeOf(ranks[0]))) : cap;
        _deferred = deferred;
        _plan = plans is null
            ? Lowering.Lower(kind, algorithm, bytes, ranks.Length, p => fabric.NodeOf(ranks[p]), options)
            : plans.Get(kind, algorithm, bytes, ranks, fabric, options);
        if (_plan.Count > Kernel.MaxIndex) throw new ArgumentException($"{algorithm} {kind} over {ranks.Length} ranks has more sends than a kernel holds");
        _route = plans is null ? Routes(_plan, ranks, fabric) : plans.Routes(_plan, ranks, fabric);
        BytesOnWire = _plan.TotalBytes;
        kernel.Attach(this);
    }

    /// <summary>Lowers a collective onto <paramref name="fabric"/> and attaches it to <paramref name="kernel"/>
    /// (before the run). <paramref name="ranks"/> is the group, in order (its first rank is the root of
    /// broadcast and reduce); every rank of the fabric when null. <paramref name="algorithm"/>
    /// <see cref="CollectiveAlgorithm.Default"/> is resolved by <see cref="Choose"/>. Each send moves at most
    /// <paramref name="cap_Bps"/> on its own. With <paramref name="deferred"/> it waits for <see cref="Start"/>.
    /// Collectives issued with the same <paramref name="plans"/> share the lowering of those of the same shape.</summary>
    public static Collective Issue(Kernel kernel, ICommFabric fabric, CollectiveKind kind, CollectiveAlgorithm algorithm, long bytes,
        IReadOnlyList<int>? ranks = null, double cap_Bps = double.PositiveInfinity, bool deferred = false, CollectiveOptions? options = null,
        CollectivePlans? plans = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(fabric);
        if (kernel.Network != fabric.Network) throw new ArgumentException("the kernel's network must be the fabric's", nameof(kernel));
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes), "bytes must not be negative");
        if (!(cap_Bps > 0)) throw new ArgumentOutOfRangeException(nameof(cap_Bps), "a rate cap must be positive");
        options ??= CollectiveOptions.Defaults;
        options.Validate();
        var group = Group(fabric, ranks);
        if (algorithm == CollectiveAlgorithm.Default) algorithm = Choose(fabric, kind, bytes, group, options);
        if (algorithm == CollectiveAlgorithm.InNetwork)
        {
            if (!fabric.InNetworkReduction) throw new ArgumentException("an in-network all-reduce needs a fabric that reduces in the switch", nameof(algorithm));
            if (Lowering.Nodes(group.Length, p => fabric.NodeOf(group[p])).Count > 1)
                throw new ArgumentException("an in-network all-reduce runs inside one node", nameof(ranks));
        }
        return new Collective(kernel, fabric, kind, algorithm, bytes, group, cap_Bps, deferred, options, plans);
    }

    /// <summary>Whether <paramref name="algorithm"/> implements <paramref name="kind"/> over
    /// <paramref name="ranks"/> ranks (fabric conditions aside: in-network needs a reducing switch inside one
    /// node, hierarchical as many ranks on every node).</summary>
    public static bool Supports(CollectiveKind kind, CollectiveAlgorithm algorithm, int ranks) => algorithm switch
    {
        CollectiveAlgorithm.Default or CollectiveAlgorithm.Direct => true,
        CollectiveAlgorithm.Ring => kind != CollectiveKind.AllToAll,
        CollectiveAlgorithm.Tree => kind is CollectiveKind.AllReduce or CollectiveKind.Broadcast or CollectiveKind.Reduce,
        CollectiveAlgorithm.HalvingDoubling => kind == CollectiveKind.AllReduce
            || (kind is CollectiveKind.ReduceScatter or CollectiveKind.AllGather && Lowering.IsPowerOfTwo(ranks)),
        CollectiveAlgorithm.Hierarchical or CollectiveAlgorithm.InNetwork => kind == CollectiveKind.AllReduce,
        _ => false,
    };

    /// <summary>The default algorithm, after NCCL's choice: all-to-all and send/recv go direct; an all-reduce
    /// inside one node of a reducing switch, of at least <see cref="CollectiveOptions.InNetworkMinBytes"/>, goes
    /// in-network; all-reduce, broadcast and reduce of at most <see cref="CollectiveOptions.TreeMaxBytes"/> use
    /// trees (latency log n); everything else is a ring (bandwidth-optimal), across nodes one ring per rail
    /// as NCCL's channels (<see cref="CollectiveAlgorithm.Ring"/>). <see cref="CollectiveAlgorithm.Hierarchical"/>
    /// is never the default: NCCL's rings through every NIC move the same bytes across nodes and overlap the
    /// intra-node steps that the hierarchy runs one phase after another. Inside one node whose devices form a
    /// full mesh (SN40L sockets, a direct-mesh node) everything goes direct: every pair has its own link, which a
    /// ring would leave idle but one.</summary>
    public static CollectiveAlgorithm Choose(ICommFabric fabric, CollectiveKind kind, long bytes, IReadOnlyList<int>? ranks = null, CollectiveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        options ??= CollectiveOptions.Defaults;
        var group = Group(fabric, ranks);
        var n = group.Length;
        if (n < 2 || kind is CollectiveKind.AllToAll or CollectiveKind.SendRecv) return CollectiveAlgorithm.Direct;
        var nodes = Lowering.Nodes(n, p => fabric.NodeOf(group[p]));
        if (kind == CollectiveKind.AllReduce && fabric.InNetworkReduction && nodes.Count == 1 && bytes >= options.InNetworkMinBytes)
            return CollectiveAlgorithm.InNetwork;
        if (nodes.Count == 1 && fabric.IsMesh(fabric.NodeOf(group[0])))
            return CollectiveAlgorithm.Direct;
        if (kind is CollectiveKind.AllReduce or CollectiveKind.Broadcast or CollectiveKind.Reduce && bytes <= options.TreeMaxBytes)
            return CollectiveAlgorithm.Tree;
        return CollectiveAlgorithm.Ring;
    }

    /// <summary>Each send's route (0 for a join), asked of the fabric in send order.</summary>
    internal static int[] Routes(SendPlan plan, int[] ranks, ICommFabric fabric)
    {
        var route = new int[plan.Count];
        for (var s = 0; s < plan.Count; s++)
            if (!plan.IsJoin(s)) route[s] = fabric.Route(ranks[plan.From(s)], ranks[plan.To(s)]);
        return route;
    }

    private static int[] Group(ICommFabric fabric, IReadOnlyList<int>? ranks)
    {
        if (ranks is null)
        {
            var all = new int[fabric.Ranks];
            for (var r = 0; r < all.Length; r++) all[r] = r;
            return all;
        }
        var group = new int[ranks.Count];
        var seen = new HashSet<int>();
        for (var i = 0; i < group.Length; i++)
        {
            group[i] = ranks[i];
            if ((uint)group[i] >= (uint)fabric.Ranks) throw new ArgumentOutOfRangeException(nameof(ranks), $"rank {group[i]} is not one of the fabric's 0..{fabric.Ranks - 1}");
            if (!seen.Add(group[i])) throw new ArgumentException($"rank {group[i]} appears twice in the group", nameof(ranks));
        }
        if (group.Length == 0) throw new ArgumentException("a collective needs at least one rank", nameof(ranks));
        return group;
    }

    public CollectiveKind Kind { get; }

    /// <summary>The algorithm it runs (never <see cref="CollectiveAlgorithm.Default"/>).</summary>
    public CollectiveAlgorithm Algorithm { get; }

    /// <summary>The collective's size, as nccl-tests counts it (<see cref="CollectiveKind"/>).</summary>
    public long Bytes { get; }

    /// <summary>Ranks in the group.</summary>
    public int Ranks { get; }

    /// <summary>Sends (flows) the algorithm makes.</summary>
    public int Sends => _plan.SendCount;

    /// <summary>Bytes of all its sends together.</summary>
    public long BytesOnWire { get; }

    /// <summary>Sends (flows) issued so far.</summary>
    public long Flows { get; private set; }

    /// <summary>When it started (ps); -1 until then.</summary>
    public long StartPs { get; private set; } = -1;

    /// <summary>When its last send arrived (ps); -1 until then.</summary>
    public long EndPs { get; private set; } = -1;

    public bool Done => EndPs >= 0;

    /// <summary>End minus start (ps); -1 until done.</summary>
    public long DurationPs => Done ? EndPs - StartPs : -1;

    /// <summary>Called once, when the last send has arrived.</summary>
    public Action<Collective>? OnDone { get; set; }

    /// <summary>nccl-tests' algorithm bandwidth of the run: <see cref="Bytes"/> / duration.</summary>
    public double AlgorithmBandwidth_Bps => CollectiveBandwidth.Algorithm_Bps(Bytes, DurationPs);

    /// <summary>nccl-tests' bus bandwidth of the run (<see cref="CollectiveBandwidth.BusFactor"/>).</summary>
    public double BusBandwidth_Bps => CollectiveBandwidth.Bus_Bps(Kind, Ranks, Bytes, DurationPs);

    /// <summary>Signals <paramref name="task"/> (a task created with a prerequisite for this) when the
    /// collective is done, or now if it already is.</summary>
    public void SignalWhenDone(int task)
    {
        if (Done) _kernel.Signal(task);
        else _waiting.Add(task);
    }

    /// <summary>Starts a deferred collective now: from a callback while the kernel runs.</summary>
    public void Start()
    {
        if (!_deferred) throw new InvalidOperationException("this collective starts at time zero");
        Begin();
    }

    protected override void OnStart(Kernel kernel)
    {
        if (!_deferred) Begin();
    }

    private void Begin()
    {
        if (StartPs >= 0) throw new InvalidOperationException("a collective starts once");
        StartPs = _kernel.Now;
        // Rented, and given back when it ends: collectives that follow one another reuse the same storage.
        _task = System.Buffers.ArrayPool<int>.Shared.Rent(_plan.Count);
        for (var s = 0; s < _plan.Count; s++)
            // A join keeps its outstanding prerequisites where a send keeps its task.
            _task[s] = _plan.IsJoin(s) ? _plan.Prerequisites(s) : -1;
        _left = _plan.SendCount;
        if (_left == 0)
        {
            Finish();
            return;
        }
        for (var s = 0; s < _plan.Count; s++)
            if (_plan.Prerequisites(s) == 0 && !_plan.IsJoin(s)) _kernel.Ready(Task(s));
    }

    protected override void OnTaskEnd(Kernel kernel, int task)
    {
        Arrived(kernel.Tag(task));
        if (--_left == 0) Finish();
        if (RecycleSends) kernel.Recycle(task);
    }

    /// <summary>Whether each send's task slot goes back to the kernel once the send has arrived (its flow's
    /// transfer keeps the send's record): a system run holds only the sends in flight, not every send of the run.</summary>
    internal bool RecycleSends { get; set; }

    /// <summary>Step <paramref name="step"/> is done: what waits for it moves on (a join at once).</summary>
    private void Arrived(int step)
    {
        foreach (var d in _plan.Dependents(step))
        {
            if (!_plan.IsJoin(d)) _kernel.Signal(Task(d));
            else if (--_task![d] == 0) Arrived(d);
        }
    }

    private void Finish()
    {
        EndPs = _kernel.Now;
        System.Buffers.ArrayPool<int>.Shared.Return(_task!);
        _task = null;
        OnDone?.Invoke(this);
        foreach (var t in _waiting) _kernel.Signal(t);
        _waiting.Clear();
    }

    /// <summary>Send <paramref name="send"/>'s task, created on first use.</summary>
    private int Task(int send)
    {
        var tasks = _task!;
        if (tasks[send] >= 0) return tasks[send];
        var t = _kernel.NewTask(this, Kernel.NoEngine, 0, 0, tag: send, prerequisites: _plan.Prerequisites(send));
        _kernel.AddFlow(t, _route[send], _plan.Bytes(send), _cap);
        Flows++;
        return tasks[send] = t;
    }
}

/// <summary>Lowered collectives shared between collectives of the same shape: a lowering depends only on the
/// kind, algorithm, size, options and which positions of the group share a node (not on which ranks or nodes
/// they are), so the thousands of tensor-parallel all-reduces of a pipeline stage are lowered once. A plan is
/// read-only once built; each collective keeps its own routes and tasks.</summary>
public sealed class CollectivePlans
{
    private readonly Dictionary<Shape, SendPlan> _plans = [];
    private readonly Dictionary<(SendPlan, Group), int[]> _routes = [];

    /// <summary>Distinct lowerings held.</summary>
    public int Count => _plans.Count;

    internal SendPlan Get(CollectiveKind kind, CollectiveAlgorithm algorithm, long bytes, int[] ranks, ICommFabric fabric, CollectiveOptions options)
    {
        // Positions by node, each node numbered by its first appearance.
        var pattern = new int[ranks.Length];
        var seen = new Dictionary<int, int>();
        for (var p = 0; p < ranks.Length; p++)
        {
            var node = fabric.NodeOf(ranks[p]);
            if (!seen.TryGetValue(node, out var k)) seen[node] = k = seen.Count;
            pattern[p] = k;
        }
        var shape = new Shape(kind, algorithm, bytes, options, pattern);
        if (!_plans.TryGetValue(shape, out var plan))
        {
            plan = Lowering.Lower(kind, algorithm, bytes, pattern.Length, p => pattern[p], options);
            plan.Freeze();
            _plans[shape] = plan;
        }
        return plan;
    }

    /// <summary>The routes of <paramref name="plan"/>'s sends over <paramref name="ranks"/>, shared by every
    /// collective of that plan over that group (the routes depend on nothing else; each is asked of the fabric the
    /// first time, in send order, as a collective of its own asks).</summary>
    internal int[] Routes(SendPlan plan, int[] ranks, ICommFabric fabric)
    {
        var key = (plan, new Group(ranks));
        if (!_routes.TryGetValue(key, out var routes)) _routes[key] = routes = Collective.Routes(plan, ranks, fabric);
        return routes;
    }

    private readonly struct Group(int[] ranks) : IEquatable<Group>
    {
        private readonly int[] _ranks = ranks;

        public bool Equals(Group other) => _ranks.AsSpan().SequenceEqual(other._ranks);

        public override bool Equals(object? obj) => obj is Group g && Equals(g);

        public override int GetHashCode()
        {
            var h = new HashCode();
            foreach (var r in _ranks) h.Add(r);
            return h.ToHashCode();
        }
    }

    private readonly struct Shape(CollectiveKind kind, CollectiveAlgorithm algorithm, long bytes, CollectiveOptions options, int[] pattern) : IEquatable<Shape>
    {
        private readonly CollectiveKind _kind = kind;
        private readonly CollectiveAlgorithm _algorithm = algorithm;
        private readonly long _bytes = bytes;
        private readonly CollectiveOptions _options = options;
        private readonly int[] _pattern = pattern;

        public bool Equals(Shape other) => _kind == other._kind && _algorithm == other._algorithm && _bytes == other._bytes
            && _options.Equals(other._options) && _pattern.AsSpan().SequenceEqual(other._pattern);

        public override bool Equals(object? obj) => obj is Shape s && Equals(s);

        public override int GetHashCode()
        {
            var h = new HashCode();
            h.Add(_kind);
            h.Add(_algorithm);
            h.Add(_bytes);
            h.Add(_pattern.Length);
            foreach (var p in _pattern) h.Add(p);
            return h.ToHashCode();
        }
    }
}
