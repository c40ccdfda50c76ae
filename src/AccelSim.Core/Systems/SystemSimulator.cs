using System.Runtime.CompilerServices;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Network;
using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Simulation;

namespace AccelSim.Core.Systems;

/// <summary>Runs a <see cref="SystemProgram"/> on a system in one <see cref="Kernel"/>: every simulated rank's
/// device (its engines, channels and tiers, named <c>r{rank}.{name}</c> in one combined topology) and the
/// fabric's network.
///
/// <para>Compute. Each distinct (device, graph) pair is mapped once by the caller's schedule. On a rank whose
/// compute segments run one at a time (each waits, through the segments' dependencies, for the one before it),
/// every compute segment instance is one task: its mapped program is simulated alone once, and the instance runs
/// as that run, shifted to its start (nothing else uses the rank's engines, channels or tiers meanwhile, so the
/// results are those of its tasks in the kernel). On any other rank every instance is lowered like
/// <see cref="Simulator"/> lowers a program: one task per scheduled task, its transfers on the rank's channels,
/// its activations as buffers of the rank's tiers. The resident
/// tensors of a graph (weights, caches, inputs) are reserved once per rank and graph, however many
/// segments run it; a rank that declares <see cref="RankProgram.Memory"/> holds that on its main memory
/// tier instead of its graphs' resident tensors.</para>
///
/// <para>Dependencies. A segment with predecessors starts with a zero-time join task that waits for them;
/// every segment ends with one that waits for its last tasks, so a segment's dependencies cost edges in
/// proportion to its tasks plus its predecessors, never their product.</para>
///
/// <para>Communication. Each collective key is one deferred <see cref="Collective"/> over its call's group,
/// started when every simulated member is ready; members that are not simulated are mirrors (see
/// <see cref="SystemProgram"/>): ready with the others, their flows sent. Each member's segment ends when
/// the collective does.</para>
///
/// <para>The program is validated before anything is built (<see cref="Validate"/>).</para></summary>
public sealed class SystemSimulator
{
    private readonly SystemProgram _program;
    private readonly ICommFabric _fabric;
    private readonly Kernel _kernel;
    private readonly SystemProcess _process;
    private readonly RankState[] _ranks;
    private readonly Collective[] _collectives;
    private readonly string[] _keys;
    private readonly IReadOnlyList<int>[] _groups;
    private readonly string _schedule;
    private bool _ran;
    private int[] _buffer = [];
    private long _eventsInSegments;

    /// <param name="program">What every rank runs.</param>
    /// <param name="fabric">The system's ranks, network and routes (a <see cref="SystemFabric"/> or any fabric).</param>
    /// <param name="deviceOf">The device model of each simulated global rank (ranks may be of different families).</param>
    /// <param name="map">The schedule: maps a graph onto a device (<c>(d, g) =&gt; new SequentialSchedule().Map(g, d)</c>).
    /// Called once per distinct (device, graph) pair, compared by reference.</param>
    /// <param name="options">How collectives are lowered (defaults when null).</param>
    public SystemSimulator(SystemProgram program, ICommFabric fabric, Func<int, IDeviceModel> deviceOf,
        Func<IDeviceModel, WorkloadGraph, SimProgram> map, CollectiveOptions? options = null)
        : this(program, fabric, deviceOf, map, options, compact: true)
    {
    }

    /// <param name="compact">Whether a rank whose compute segments run one after another runs each compute
    /// segment instance as one kernel task (its mapped program simulated once, alone); false expands every
    /// instance into its tasks. The results are the same either way (tested).</param>
    internal SystemSimulator(SystemProgram program, ICommFabric fabric, Func<int, IDeviceModel> deviceOf,
        Func<IDeviceModel, WorkloadGraph, SimProgram> map, CollectiveOptions? options, bool compact)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(fabric);
        ArgumentNullException.ThrowIfNull(deviceOf);
        ArgumentNullException.ThrowIfNull(map);
        var calls = Validate(program, fabric);
        _program = program;
        _fabric = fabric;

        // Devices and the combined topology.
        var n = program.Ranks.Count;
        _ranks = new RankState[n];
        var engines = new List<EngineSpec>();
        var channels = new List<ChannelSpec>();
        var tiers = new List<TierSpec>();
        for (var i = 0; i < n; i++)
        {
            var rank = program.Ranks[i].Rank;
            var device = deviceOf(rank) ?? throw new ArgumentException($"no device model for rank {rank}", nameof(deviceOf));
            var topo = device.Topology;
            var prefix = $"r{rank}.";
            _ranks[i] = new RankState(program.Ranks[i], device, engines.Count, channels.Count, tiers.Count);
            foreach (var e in topo.Engines) engines.Add(e with { Name = prefix + e.Name });
            foreach (var c in topo.Channels) channels.Add(c with { Name = prefix + c.Name, Tier = c.Tier is null ? null : prefix + c.Tier });
            foreach (var t in topo.Tiers) tiers.Add(t with { Name = prefix + t.Name });
        }
        var topology = new DeviceTopology(engines, channels, tiers);

        // Map each distinct (device, graph) once.
        var lowered = new Dictionary<(IDeviceModel, WorkloadGraph), Lowered>(PairComparer.Instance);
        foreach (var r in _ranks)
        {
            foreach (var s in r.Program.Segments)
            {
                if (s.Compute is not { } g || lowered.ContainsKey((r.Device, g))) continue;
                var sim = map(r.Device, g) ?? throw new InvalidOperationException($"the schedule mapped no program for graph '{g.Info.Name}' on {r.Device.Name}");
                if (!ReferenceEquals(sim.Graph, g)) throw new InvalidOperationException($"the schedule mapped graph '{g.Info.Name}' into a program of another graph");
                lowered[(r.Device, g)] = new Lowered(sim, r.Device);
            }
        }
        var expected = 0;
        long expectedTransfers = 0;
        foreach (var r in _ranks)
        {
            r.Compact = compact && RunsOneAtATime(r, lowered);
            foreach (var s in r.Program.Segments)
            {
                if (s.Compute is not { } g) { expected += 2; continue; }
                var low = lowered[(r.Device, g)];
                if (r.Compact && low.Program.Tasks.Count > 0) { expected += 3; continue; }
                expected += low.Program.Tasks.Count + 2;
                expectedTransfers += low.TransferCount;
            }
        }
        _schedule = lowered.Count == 0 ? "none" : lowered.Values.First().Program.Schedule;

        // Every collective's sends, counted from the lowerings they will share, so that the kernel's storage is
        // allocated once at its final size (a large program's task array is gigabytes: growing it would hold the
        // old and the new array at once).
        options ??= CollectiveOptions.Defaults;
        options.Validate();
        var plans = new CollectivePlans();
        long sends = 0;
        foreach (var call in calls.Values)
        {
            var group = call.Group.ToArray();
            var algorithm = call.Algorithm == CollectiveAlgorithm.Default ? Collective.Choose(fabric, call.Kind, call.Bytes, group, options) : call.Algorithm;
            sends += plans.Get(call.Kind, algorithm, call.Bytes, group, fabric, options).SendCount;
        }
        // A send's task slot is recycled once it has arrived, so the kernel holds the sends in flight, far fewer
        // than all of them (a million slots to spare before it grows).
        _kernel = new Kernel(topology, fabric.Network, bus: null, expectedTasks: (int)Math.Min(Kernel.MaxIndex, Math.Max(64, expected + Math.Min(sends, 1 << 20))),
            expectedTransfers: (int)Math.Min(Kernel.MaxIndex, expectedTransfers + sends));
        _process = new SystemProcess(expected);
        _kernel.Attach(_process);

        // Collectives, in order of first appearance.
        var keyIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var keyList = new List<string>();
        foreach (var r in _ranks)
            foreach (var s in r.Program.Segments)
                if (s.Key is { } key && keyIndex.TryAdd(key, keyList.Count)) keyList.Add(key);
        _keys = [.. keyList];
        var pending = new int[_keys.Length];
        var endJoins = new List<int>[_keys.Length];
        for (var c = 0; c < _keys.Length; c++) endJoins[c] = [];

        // Tasks, rank by rank, segment by segment.
        foreach (var r in _ranks)
        {
            var segs = r.Program.Segments;
            var device = r.Device;
            var mainTier = device.Topology.TierIndex(device.MainMemoryTier());
            foreach (var held in r.Program.Memory)
            {
                if (held.Bytes < 0) throw new ArgumentException($"rank {r.Program.Rank} holds a negative amount of '{held.What}'", nameof(program));
                var tier = held.Tier is null ? mainTier : device.Topology.TierIndex(held.Tier);
                _kernel.Reserve(r.TierOffset + tier, held.Bytes);
                r.HeldBytes = checked(r.HeldBytes + held.Bytes);
            }
            r.Entry = new int[segs.Count];
            r.Exit = new int[segs.Count];
            r.FirstTask = new int[segs.Count];
            r.FirstTransfer = new int[segs.Count];
            r.Instance = new Lowered?[segs.Count];
            var reserved = new HashSet<WorkloadGraph>(ReferenceEqualityComparer.Instance);
            for (var si = 0; si < segs.Count; si++)
            {
                var s = segs[si];
                var entry = -1;
                if (s.After.Count > 0 || s.IsComm)
                {
                    entry = _process.Add(_kernel, Kernel.NoEngine, 0, 0, s.After.Count);
                    foreach (var a in s.After) _process.Edge(r.Exit[a], entry);
                }
                r.Entry[si] = entry;
                if (s.IsComm)
                {
                    var c = keyIndex[s.Key!];
                    _process.CommOf(entry, c);
                    pending[c]++;
                    r.FirstTask[si] = ~c;
                    r.FirstTransfer[si] = _kernel.TransferCount;
                    var exit = _process.Add(_kernel, Kernel.NoEngine, 0, 0, 1, external: true);
                    endJoins[c].Add(exit);
                    r.Exit[si] = exit;
                    continue;
                }
                var low = lowered[(device, s.Compute!)];
                r.Instance[si] = low;
                if (r.Program.Memory.Count == 0 && reserved.Add(s.Compute!))
                    for (var id = 0; id < low.Resident.Length; id++)
                        if (low.Resident[id] && low.TensorBytes[id] > 0) _kernel.Reserve(r.TierOffset + low.TensorTier[id], low.TensorBytes[id]);
                r.FirstTask[si] = _process.Count;
                r.FirstTransfer[si] = _kernel.TransferCount;
                if (r.Compact && low.Program.Tasks.Count > 0)
                {
                    r.Exit[si] = AddAlone(r, low, entry);
                    continue;
                }
                var first = _process.Count;
                if (_buffer.Length < low.TensorBytes.Length) _buffer = new int[low.TensorBytes.Length];
                var buffer = _buffer;
                Array.Fill(buffer, -1, 0, low.TensorBytes.Length);
                var tasks = low.Program.Tasks;
                var sinks = 0;
                for (var i = 0; i < tasks.Count; i++)
                {
                    var cost = tasks[i].Cost;
                    var preds = low.Preds[i];
                    var root = preds.Length == 0;
                    var k = _process.Add(_kernel, r.EngineOffset + cost.Engine, cost.LatencyPs, cost.ComputePs, preds.Length + (root && entry >= 0 ? 1 : 0));
                    if (root && entry >= 0) _process.Edge(entry, k);
                    foreach (var p in preds) _process.Edge(first + p, k);
                    var kt = _process.KernelTask(k);
                    foreach (var t in cost.Transfers) _kernel.AddTransfer(kt, r.ChannelOffset + t.Channel, t.Bytes, t.RateCap_Bps);
                    foreach (var id in low.Outs[i])
                        if (!low.Resident[id]) _kernel.AllocateOnStart(kt, Buffer(buffer, low, r, id));
                    foreach (var id in low.Ins[i])
                        if (!low.Resident[id]) _kernel.ReleaseOnEnd(kt, Buffer(buffer, low, r, id));
                    foreach (var id in low.Locals[i]) _kernel.ReleaseOnEnd(kt, Buffer(buffer, low, r, id));
                    if (low.IsSink[i]) sinks++;
                }
                var end = _process.Add(_kernel, Kernel.NoEngine, 0, 0, tasks.Count > 0 ? sinks : entry >= 0 ? 1 : 0);
                if (tasks.Count == 0 && entry >= 0) _process.Edge(entry, end);
                for (var i = 0; i < tasks.Count; i++)
                    if (low.IsSink[i]) _process.Edge(first + i, end);
                // A declared rank memory holds what crosses segments (stashed activations): an activation no task of
                // this segment reads is freed when the segment ends, not held for the rest of the run.
                if (r.Program.Memory.Count > 0)
                    foreach (var id in low.Escapes) _kernel.ReleaseOnEnd(_process.KernelTask(end), Buffer(buffer, low, r, id));
                r.Exit[si] = end;
            }
        }

        // One deferred collective per key; each member's segment end waits for it.
        _collectives = new Collective[_keys.Length];
        _groups = new IReadOnlyList<int>[_keys.Length];
        for (var c = 0; c < _keys.Length; c++)
        {
            var call = calls[_keys[c]];
            _groups[c] = call.Group.ToArray();
            var coll = Collective.Issue(_kernel, fabric, call.Kind, call.Algorithm, call.Bytes, _groups[c], deferred: true, options: options, plans: plans);
            coll.RecycleSends = true;
            foreach (var exit in endJoins[c]) coll.SignalWhenDone(_process.KernelTask(exit));
            _collectives[c] = coll;
        }
        CollectiveLowerings = plans.Count;
        // Already so sized: every send's transfer is kept (the flows), its task slot reused.
        long issued = 0;
        foreach (var coll in _collectives) issued += coll.Sends;
        _kernel.EnsureCapacity((int)Math.Min(Kernel.MaxIndex, _kernel.TaskCount + Math.Min(issued, 1 << 20)), (int)Math.Min(Kernel.MaxIndex, _kernel.TransferCount + issued));
        _process.Seal(_kernel, _collectives, pending);
    }

    /// <summary>Whether a rank's compute segments (those with tasks) run one at a time: each waits, through its
    /// segments' dependencies, for the one before it. Then nothing else runs on the rank's engines, channels and
    /// tiers while one runs (collectives move bytes on the network only), and each instance runs exactly as its
    /// mapped program runs alone, shifted to its start.</summary>
    private static bool RunsOneAtATime(RankState r, Dictionary<(IDeviceModel, WorkloadGraph), Lowered> lowered)
    {
        var segs = r.Program.Segments;
        // last[s]: the latest compute segment that segment s waits for, directly or through others (-1: none).
        var last = new int[segs.Count];
        var previous = -1;
        for (var si = 0; si < segs.Count; si++)
        {
            var latest = -1;
            foreach (var a in segs[si].After) latest = Math.Max(latest, Works(a) ? a : last[a]);
            last[si] = latest;
            if (!Works(si)) continue;
            if (latest != previous) return false;
            previous = si;
        }
        return true;

        bool Works(int s) => segs[s].Compute is { } g && lowered[(r.Device, g)].Program.Tasks.Count > 0;
    }

    /// <summary>A compute segment instance as one task of its program's duration alone, after
    /// <paramref name="entry"/> (-1: none), taking the memory its tasks take at their peak, keeping what they
    /// keep; its end join frees the activations no task read when the rank declares its memory. Returns the end join.</summary>
    private int AddAlone(RankState r, Lowered low, int entry)
    {
        var alone = low.Alone(r.Device);
        var k = _process.Add(_kernel, Kernel.NoEngine, 0, alone.Duration, entry >= 0 ? 1 : 0);
        if (entry >= 0) _process.Edge(entry, k);
        var kt = _process.KernelTask(k);
        var tiers = alone.Peak.Length;
        Span<int> transient = stackalloc int[tiers];
        Span<int> escaped = stackalloc int[tiers];
        for (var t = 0; t < tiers; t++)
        {
            transient[t] = escaped[t] = -1;
            var kept = alone.Final[t] - alone.Escaped[t];
            if (alone.Peak[t] > alone.Final[t]) _kernel.AllocateOnStart(kt, transient[t] = _kernel.NewBuffer(r.TierOffset + t, alone.Peak[t] - alone.Final[t], 1));
            if (kept > 0) _kernel.AllocateOnStart(kt, _kernel.NewBuffer(r.TierOffset + t, kept, 1));
            if (alone.Escaped[t] > 0) _kernel.AllocateOnStart(kt, escaped[t] = _kernel.NewBuffer(r.TierOffset + t, alone.Escaped[t], 1));
        }
        for (var t = 0; t < tiers; t++)
            if (transient[t] >= 0) _kernel.ReleaseOnEnd(kt, transient[t]);
        var end = _process.Add(_kernel, Kernel.NoEngine, 0, 0, 1);
        _process.Edge(k, end);
        if (r.Program.Memory.Count > 0)
            for (var t = 0; t < tiers; t++)
                if (escaped[t] >= 0) _kernel.ReleaseOnEnd(_process.KernelTask(end), escaped[t]);
        for (var c = 0; c < alone.ChannelBytes.Length; c++)
        {
            r.ChannelBytes[c] += alone.ChannelBytes[c];
            r.ChannelBusy[c] += alone.ChannelBusy[c];
        }
        for (var e = 0; e < alone.EngineBusy.Length; e++) r.EngineBusy[e] += alone.EngineBusy[e];
        // The task's own launch and end are two events; its program alone had its events.
        _eventsInSegments += alone.Events - 2;
        return end;
    }

    private int Buffer(int[] buffer, Lowered low, RankState r, int id) =>
        buffer[id] >= 0 ? buffer[id] : buffer[id] = _kernel.NewBuffer(r.TierOffset + low.TensorTier[id], low.TensorBytes[id], low.Refs[id] == 0 ? 1 : low.Refs[id]);

    /// <summary>Distinct lowerings of the program's collectives: collectives of one shape share one.</summary>
    public int CollectiveLowerings { get; }

    /// <summary>The kernel the program runs on (its topology names each rank's resources <c>r{rank}.{name}</c>).
    /// A compute segment instance run as one task is one task here, not its program's tasks.</summary>
    public Kernel Kernel => _kernel;

    /// <summary>Events processed: the kernel's, plus the events of each compute segment instance run as one task
    /// that its program had alone, less the two of that task (the same count as when every instance's tasks run
    /// in the kernel).</summary>
    public long EventCount => _kernel.EventCount + _eventsInSegments;

    /// <summary>Runs <paramref name="program"/> on <paramref name="fabric"/>, each compute graph mapped by
    /// <paramref name="schedule"/>: the one call from a program, a system, its devices and a schedule to a result.</summary>
    public static SystemResult Run(SystemProgram program, ICommFabric fabric, Func<int, IDeviceModel> deviceOf, ISchedule schedule,
        CollectiveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return new SystemSimulator(program, fabric, deviceOf, (d, g) => schedule.Map(g, d), options).Run();
    }

    /// <summary>Runs the program to completion. A simulator runs once.</summary>
    public SystemResult Run()
    {
        if (_ran) throw new InvalidOperationException("a system simulator runs once; create another for another run");
        _ran = true;
        _kernel.Run();
        var stuck = _process.FirstUnfinished(_kernel);
        if (stuck >= 0) throw new InvalidOperationException($"task {stuck} never finished: the program has a dependency it cannot satisfy");
        return Collect();
    }

    // Results.

    private SystemResult Collect()
    {
        var makespan = _kernel.Now;
        var transfers = _kernel.TransferCount;

        var collectives = new CollectiveResult[_collectives.Length];
        for (var c = 0; c < collectives.Length; c++)
        {
            var x = _collectives[c];
            collectives[c] = new CollectiveResult(_keys[c], x.Kind, x.Algorithm, x.Bytes, _groups[c], x.BytesOnWire, x.StartPs, x.EndPs,
                x.AlgorithmBandwidth_Bps, x.BusBandwidth_Bps);
        }

        var ranks = new RankResult[_ranks.Length];
        for (var i = 0; i < _ranks.Length; i++) ranks[i] = CollectRank(_ranks[i], makespan);

        // The network's flows, in issue order: the kernel's transfers on routes, read from the kernel when asked
        // (a flow record per send would be the largest thing a large run keeps).
        var net = _fabric.Network;
        var names = LinkNames(_fabric);
        var flowCount = 0;
        for (var k = 0; k < transfers; k++)
            if (_kernel.TransferPath(k) < 0) flowCount++;
        // Flow f is transfer f when every transfer is a flow (compute segments run as one task each move nothing).
        var flowIndex = flowCount == transfers ? null : new int[flowCount];
        var routeLinks = new int[]?[net.RouteCount];
        var order = new int[flowCount];
        for (int k = 0, f = 0; k < transfers; k++)
        {
            var path = _kernel.TransferPath(k);
            if (path >= 0) continue;
            routeLinks[~path] ??= net.RouteLinks(~path).ToArray();
            if (flowIndex is not null) flowIndex[f] = k;
            order[f] = f;
            f++;
        }
        // Each link's busy time is the length of the union of its flows' spans: swept in order of start, each
        // link's current run extended or closed (the same union, whatever the order among equal starts, so the
        // flows are sorted by their start read from the kernel, not copied out: tens of millions of them).
        Array.Sort(order, new ByStart(_kernel, flowIndex));
        var busy = new long[net.LinkCount];
        var runStart = new long[net.LinkCount];
        var runEnd = new long[net.LinkCount];
        Array.Fill(runEnd, -1);
        foreach (var f in order)
        {
            var k = flowIndex is null ? f : flowIndex[f];
            var (start, end) = _kernel.TransferTimes(k);
            if (end <= start) continue;
            foreach (var l in routeLinks[~_kernel.TransferPath(k)]!)
            {
                if (runEnd[l] < start)
                {
                    if (runEnd[l] > runStart[l]) busy[l] += runEnd[l] - runStart[l];
                    runStart[l] = start;
                    runEnd[l] = end;
                }
                else if (end > runEnd[l]) runEnd[l] = end;
            }
        }
        var links = new LinkResult[net.LinkCount];
        var seconds = Time.Ps.ToSeconds(makespan);
        for (var l = 0; l < links.Length; l++)
        {
            if (runEnd[l] > runStart[l]) busy[l] += runEnd[l] - runStart[l];
            var bytes = net.LinkBytes(l);
            var bw = net.Bandwidth(l);
            links[l] = new LinkResult(l, names[l], bw, bytes, busy[l], seconds > 0 ? bytes / (bw * seconds) : 0, net.LinkEnergy_pJ(l) * 1e-12);
        }
        var systemName = _fabric is SystemFabric sf ? sf.Spec.Name : _fabric.GetType().Name;
        return new SystemResult(_program.Name, systemName, _fabric.Ranks, _schedule, makespan, EventCount, ranks, links, collectives)
        {
            Flows = new FlowList(_kernel, flowIndex, flowCount, routeLinks),
        };
    }

    private RankResult CollectRank(RankState r, long makespan)
    {
        var segs = r.Program.Segments;
        var device = r.Device;
        var topo = device.Topology;

        // The rank's compute, flattened in run-length form: one run per compute segment instance, its tasks its
        // mapped program's renumbered by the run's offset, its times read from the kernel when asked. Nothing per
        // task is copied: a rank of a large run keeps its segment runs, not its millions of tasks.
        var compute = 0;
        for (var si = 0; si < segs.Count; si++)
            if (r.Instance[si] is not null) compute++;
        var flat = new FlatRuns(_kernel, _process, compute);
        var counts = new int[segs.Count];
        WorkloadGraph? graph = null;
        var schedule = _schedule;
        var commSpans = new List<(long, long)>();
        var computeSpans = new List<(long, long)>();
        int count = 0, transferCount = 0, run = 0;
        for (var si = 0; si < segs.Count; si++)
        {
            var s = segs[si];
            counts[si] = count;
            if (s.IsComm)
            {
                var x = _collectives[~r.FirstTask[si]];
                commSpans.Add((x.StartPs, x.EndPs));
                continue;
            }
            var low = r.Instance[si]!;
            graph ??= low.Program.Graph;
            schedule = low.Program.Schedule;
            var n = low.Program.Tasks.Count;
            var alone = r.Compact && n > 0 ? low.Alone(device) : null;
            flat.Add(run, low, count, transferCount, r.FirstTask[si], r.FirstTransfer[si], alone);
            for (var i = 0; i < n; i++)
            {
                var t = flat.Times(run, i);
                // Compute is the device's own work: not a host dispatch, not a copy between tiers or a host CPU's step.
                var task = low.Program.Tasks[i];
                if (!task.HostOnly && t.EndPs > t.StartPs && !MovesOrHostComputes(task)) computeSpans.Add((t.StartPs, t.EndPs));
            }
            run++;
            count += n;
            transferCount += low.TransferCount;
        }
        flat.Seal(count, transferCount);
        graph ??= new WorkloadGraph(new WorkloadInfo(_program.Name, "system", 0, 0, 0, 0), []);
        var flatProgram = SimProgram.Assembled(schedule, graph, new FlatTasks(flat), new FlatPredecessors(flat));
        var channels = topo.Channels.Count;
        long[] chBytes = new long[channels], chBusy = new long[channels];
        for (var c = 0; c < channels; c++)
        {
            chBytes[c] = _kernel.ChannelBytes(r.ChannelOffset + c) + r.ChannelBytes[c];
            chBusy[c] = _kernel.ChannelBusyPs(r.ChannelOffset + c) + r.ChannelBusy[c];
        }
        var engineBusy = new long[topo.Engines.Count];
        for (var e = 0; e < engineBusy.Length; e++) engineBusy[e] = _kernel.EngineBusyPs(r.EngineOffset + e) + r.EngineBusy[e];
        long[] peak = new long[topo.Tiers.Count], resident = new long[topo.Tiers.Count];
        var memory = new TierUse[topo.Tiers.Count];
        for (var t = 0; t < peak.Length; t++)
        {
            peak[t] = _kernel.TierPeakBytes(r.TierOffset + t);
            resident[t] = _kernel.TierResidentBytes(r.TierOffset + t);
            memory[t] = new TierUse(topo.Tiers[t].Name, topo.Tiers[t].CapacityBytes, peak[t]);
        }
        var result = new SimulationResult(flatProgram, makespan, EventCount,
            new FlatTimes(flat, 0), new FlatTimes(flat, 1), new FlatTimes(flat, 2), new FlatTimes(flat, 3), new FlatTimes(flat, 4),
            new FlatTransferInts(flat, 0), new FlatTransferInts(flat, 1), new FlatTransferLongs(flat, 0),
            new FlatTransferLongs(flat, 1), new FlatTransferLongs(flat, 2),
            chBytes, chBusy, engineBusy, peak, resident);
        var metrics = MetricsCalculator.Compute(result, device);
        var computeBusy = Union(computeSpans);
        var commPs = Union(commSpans);
        var hidden = Overlap(commSpans, computeSpans);
        return new RankResult(r.Program.Rank, device, metrics, result, new SegmentList(this, r, counts), memory, r.HeldBytes, computeBusy,
            chBusy[device.MainMemoryChannel], commPs, hidden);
    }

    /// <summary>Segment <paramref name="si"/> of rank <paramref name="r"/> as it ran, its first task
    /// <paramref name="first"/> of the rank's flattened compute: read from the kernel when asked.</summary>
    private SegmentResult Segment(RankState r, int si, int first)
    {
        var s = r.Program.Segments[si];
        var ready = r.Entry[si] >= 0 ? _kernel.Times(_process.KernelTask(r.Entry[si])).EndPs : 0;
        var end = _kernel.Times(_process.KernelTask(r.Exit[si])).EndPs;
        if (s.IsComm) return new SegmentResult(si, s.Label, true, s.Key, ready, _collectives[~r.FirstTask[si]].StartPs, end, first, 0);
        var low = r.Instance[si]!;
        var n = low.Program.Tasks.Count;
        // Its first task's start: the earliest of its tasks' starts (its end when it has none).
        var start = end;
        if (n > 0 && r.Compact) start = _kernel.Times(_process.KernelTask(r.FirstTask[si])).StartPs + low.Alone(r.Device).FirstStart;
        else
            for (var i = 0; i < n; i++) start = Math.Min(start, _kernel.Times(_process.KernelTask(r.FirstTask[si] + i)).StartPs);
        return new SegmentResult(si, s.Label, false, null, ready, start, end, first, n);
    }

    /// <summary>A rank's segments as they ran, each record made when asked (a large run has millions).</summary>
    private sealed class SegmentList(SystemSimulator sim, RankState r, int[] first) : IReadOnlyList<SegmentResult>
    {
        public int Count => first.Length;

        public SegmentResult this[int index] => (uint)index < (uint)first.Length
            ? sim.Segment(r, index, first[index])
            : throw new ArgumentOutOfRangeException(nameof(index), $"index {index} is not below {first.Length}");

        public IEnumerator<SegmentResult> GetEnumerator()
        {
            for (var i = 0; i < first.Length; i++) yield return sim.Segment(r, i, first[i]);
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>A task whose every op moves bytes between tiers or runs on the host CPU (<see cref="Op.Transfer"/>).</summary>
    private static bool MovesOrHostComputes(SimTask task)
    {
        foreach (var op in task.Ops)
            if (op.Transfer is null) return false;
        return task.Ops.Count > 0;
    }

    /// <summary>Length of the union of spans (sorts the list).</summary>
    private static long Union(List<(long Start, long End)> spans)
    {
        spans.Sort();
        long total = 0, curS = 0, curE = -1;
        foreach (var (s, e) in spans)
        {
            if (e <= s) continue;
            if (curE < s)
            {
                if (curE > curS) total += curE - curS;
                curS = s;
                curE = e;
            }
            else if (e > curE) curE = e;
        }
        if (curE > curS) total += curE - curS;
        return total;
    }

    private static List<(long Start, long End)> Merged(List<(long Start, long End)> spans)
    {
        spans.Sort();
        var merged = new List<(long Start, long End)>();
        foreach (var (s, e) in spans)
        {
            if (e <= s) continue;
            if (merged.Count > 0 && merged[^1].End >= s)
            {
                if (e > merged[^1].End) merged[^1] = (merged[^1].Start, e);
            }
            else merged.Add((s, e));
        }
        return merged;
    }

    /// <summary>Length of the intersection of the unions of two span lists.</summary>
    private static long Overlap(List<(long Start, long End)> a, List<(long Start, long End)> b)
    {
        var x = Merged(a);
        var y = Merged(b);
        long total = 0;
        int i = 0, j = 0;
        while (i < x.Count && j < y.Count)
        {
            var s = Math.Max(x[i].Start, y[j].Start);
            var e = Math.Min(x[i].End, y[j].End);
            if (e > s) total += e - s;
            if (x[i].End < y[j].End) i++;
            else j++;
        }
        return total;
    }

    /// <summary>A name for each link of the fabric's network: a <see cref="SystemFabric"/>'s switch links
    /// <c>node{n}.dev{i}.up|down</c>, mesh links <c>node{n}.dev{i}-dev{j}</c>, NIC ports <c>node{n}.nic{k}.up|down</c>,
    /// the scale-out fabric's other links <c>fabric.link{l}</c>; any other fabric's links <c>link{l}</c>.</summary>
    public static string[] LinkNames(ICommFabric fabric)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        var net = fabric.Network;
        var names = new string?[net.LinkCount];
        if (fabric is SystemFabric sf)
        {
            for (var r = 0; r < sf.Ranks; r++)
            {
                // Node groups may differ in size and fabric (a mixed system): each rank by its own node.
                int node = sf.NodeOf(r), local = sf.LocalRank(r), first = r - local;
                var d = sf.GroupOf(r).Node.Devices;
                if (sf.GroupOf(r).Node.Fabric != IntraNodeFabricKind.Direct)
                {
                    var (up, down) = sf.SwitchLinks(r);
                    names[up] = $"node{node}.dev{local}.up";
                    names[down] = $"node{node}.dev{local}.down";
                }
                else
                {
                    for (var j = 0; j < d; j++)
                    {
                        if (j == local) continue;
                        var links = net.RouteLinks(sf.Route(r, first + j));
                        if (links.Length == 1) names[links[0]] = $"node{node}.dev{local}-dev{j}";
                    }
                }
                if (sf.ScaleOut is not null)
                {
                    var (up, down) = sf.NicLinks(r);
                    names[up] = $"node{node}.nic{sf.NicOf(r)}.up";
                    names[down] = $"node{node}.nic{sf.NicOf(r)}.down";
                }
            }
            for (var l = 0; l < names.Length; l++) names[l] ??= $"fabric.link{l}";
        }
        for (var l = 0; l < names.Length; l++) names[l] ??= $"link{l}";
        return names!;
    }

    // Validation.

    /// <summary>Checks <paramref name="program"/> against <paramref name="fabric"/> and returns each collective
    /// key's call: every rank is one of the fabric's and appears once; a segment waits only for earlier
    /// segments of its rank; a key names the same call (kind, bytes, group, algorithm) wherever it appears,
    /// at most once per rank; a group names each of the fabric's ranks at most once, includes the rank whose
    /// segment uses it, and every simulated member of a group has a segment with its key; and no wait cycle
    /// runs across ranks (rank 0 waits in A before B while rank 1 waits in B before A). Throws
    /// <see cref="ArgumentException"/> naming the rank, segment and key.</summary>
    public static IReadOnlyDictionary<string, CommCall> Validate(SystemProgram program, ICommFabric fabric)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(fabric);
        var simulated = new Dictionary<int, int>();
        for (var i = 0; i < program.Ranks.Count; i++)
        {
            var rp = program.Ranks[i] ?? throw new ArgumentException($"rank program {i} is null", nameof(program));
            if ((uint)rp.Rank >= (uint)fabric.Ranks) throw new ArgumentException($"rank {rp.Rank} is not one of the system's ranks 0..{fabric.Ranks - 1}", nameof(program));
            if (!simulated.TryAdd(rp.Rank, i)) throw new ArgumentException($"rank {rp.Rank} has two programs", nameof(program));
        }
        var calls = new Dictionary<string, CommCall>(StringComparer.Ordinal);
        var holders = new Dictionary<string, HashSet<int>>(StringComparer.Ordinal);
        foreach (var rp in program.Ranks)
        {
            for (var si = 0; si < rp.Segments.Count; si++)
            {
                var s = rp.Segments[si];
                foreach (var a in s.After)
                    if (a < 0 || a >= si) throw new ArgumentException($"{Where(rp, si)} waits for segment {a}; a segment waits only for earlier segments of its rank", nameof(program));
                if (s.Key is not { } key) continue;
                var call = s.Comm!;
                if (calls.TryGetValue(key, out var known))
                {
                    if (!ReferenceEquals(known, call) && !SameCall(known, call))
                        throw new ArgumentException($"{Where(rp, si)}: collective '{key}' is {Describe(call)} here but {Describe(known)} elsewhere", nameof(program));
                }
                else
                {
                    if (call.Bytes < 0) throw new ArgumentException($"{Where(rp, si)}: collective '{key}' has negative bytes", nameof(program));
                    if (call.Group.Count == 0) throw new ArgumentException($"{Where(rp, si)}: collective '{key}' has an empty group", nameof(program));
                    if (!Collective.Supports(call.Kind, call.Algorithm, call.Group.Count))
                        throw new ArgumentException($"{Where(rp, si)}: collective '{key}': {call.Algorithm} does not implement {call.Kind} over {call.Group.Count} ranks", nameof(program));
                    var seen = new HashSet<int>();
                    foreach (var g in call.Group)
                    {
                        if ((uint)g >= (uint)fabric.Ranks) throw new ArgumentException($"{Where(rp, si)}: collective '{key}' names rank {g}, not one of the system's ranks 0..{fabric.Ranks - 1}", nameof(program));
                        if (!seen.Add(g)) throw new ArgumentException($"{Where(rp, si)}: collective '{key}' names rank {g} twice", nameof(program));
                    }
                    calls[key] = call;
                    holders[key] = [];
                }
                if (!call.Group.Contains(rp.Rank)) throw new ArgumentException($"{Where(rp, si)}: rank {rp.Rank} takes part in collective '{key}' but is not in its group", nameof(program));
                if (!holders[key].Add(rp.Rank)) throw new ArgumentException($"{Where(rp, si)}: rank {rp.Rank} takes part in collective '{key}' twice", nameof(program));
            }
        }
        foreach (var (key, call) in calls)
            foreach (var g in call.Group)
                if (simulated.ContainsKey(g) && !holders[key].Contains(g))
                    throw new ArgumentException($"collective '{key}': rank {g} is in its group and simulated but has no segment with that key", nameof(program));
        CheckAcyclic(program, calls);
        return calls;
    }

    /// <summary>Kahn's algorithm over segments, a collective's members merged into one node.</summary>
    private static void CheckAcyclic(SystemProgram program, Dictionary<string, CommCall> calls)
    {
        var keyNode = new Dictionary<string, int>(StringComparer.Ordinal);
        var keys = calls.Keys.Order(StringComparer.Ordinal).ToArray();
        var node = new int[program.Ranks.Count][];
        var count = 0;
        foreach (var key in keys) keyNode[key] = count++;
        // Labels are made only for an error: a node past the keys is a segment (rank index, segment index).
        var where = new List<(int Rank, int Segment)>();
        for (var i = 0; i < node.Length; i++)
        {
            var segs = program.Ranks[i].Segments;
            node[i] = new int[segs.Count];
            for (var si = 0; si < segs.Count; si++)
            {
                if (segs[si].Key is { } key) node[i][si] = keyNode[key];
                else
                {
                    node[i][si] = count++;
                    where.Add((i, si));
                }
            }
        }
        string Label(int v)
        {
            if (v < keys.Length) return $"collective '{keys[v]}'";
            var (i, si) = where[v - keys.Length];
            return $"rank {program.Ranks[i].Rank} segment {si} '{program.Ranks[i].Segments[si].Label}'";
        }
        // Edges in compressed rows: counted, then filled.
        var indeg = new int[count];
        var start = new int[count + 1];
        for (var i = 0; i < node.Length; i++)
        {
            var segs = program.Ranks[i].Segments;
            for (var si = 0; si < segs.Count; si++)
                foreach (var a in segs[si].After)
                {
                    int from = node[i][a], to = node[i][si];
                    if (from == to) throw new ArgumentException($"{Label(to)} waits for itself", nameof(program));
                    start[from + 1]++;
                    indeg[to]++;
                }
        }
        for (var v = 0; v < count; v++) start[v + 1] += start[v];
        var succ = new int[start[count]];
        var fill = start.AsSpan(0, count).ToArray();
        for (var i = 0; i < node.Length; i++)
        {
            var segs = program.Ranks[i].Segments;
            for (var si = 0; si < segs.Count; si++)
                foreach (var a in segs[si].After) succ[fill[node[i][a]]++] = node[i][si];
        }
        var queue = new Queue<int>();
        for (var v = 0; v < count; v++) if (indeg[v] == 0) queue.Enqueue(v);
        var done = 0;
        while (queue.Count > 0)
        {
            var v = queue.Dequeue();
            done++;
            for (var e = start[v]; e < start[v + 1]; e++) if (--indeg[succ[e]] == 0) queue.Enqueue(succ[e]);
        }
        if (done == count) return;
        var stuck = Enumerable.Range(0, count).Where(v => indeg[v] > 0).Take(4).Select(Label);
        throw new ArgumentException($"the program deadlocks: its ranks wait for each other in a cycle ({string.Join(", ", stuck)}, ...)", nameof(program));
    }

    private static string Where(RankProgram rp, int segment) => $"rank {rp.Rank} segment {segment} '{rp.Segments[segment].Label}'";

    private static bool SameCall(CommCall a, CommCall b) =>
        a.Kind == b.Kind && a.Bytes == b.Bytes && a.Algorithm == b.Algorithm && a.Group.SequenceEqual(b.Group);

    private static string Describe(CommCall c) => $"{c.Kind} of {c.Bytes} B over [{string.Join(",", c.Group)}] ({c.Algorithm})";

    // Build-time state.

    private sealed class RankState(RankProgram program, IDeviceModel device, int engineOffset, int channelOffset, int tierOffset)
    {
        public RankProgram Program { get; } = program;
        public IDeviceModel Device { get; } = device;
        public int EngineOffset { get; } = engineOffset;
        public int ChannelOffset { get; } = channelOffset;
        public int TierOffset { get; } = tierOffset;
        public long HeldBytes;
        public int[] Entry = [], Exit = [], FirstTask = [], FirstTransfer = [];
        public Lowered?[] Instance = [];

        /// <summary>Whether its compute segment instances run as one task each (<see cref="RunsOneAtATime"/>).</summary>
        public bool Compact;

        /// <summary>What its compute segments run as one task each moved and kept busy, summed (the kernel sees none of it).</summary>
        public readonly long[] ChannelBytes = new long[device.Topology.Channels.Count];
        public readonly long[] ChannelBusy = new long[device.Topology.Channels.Count];
        public readonly long[] EngineBusy = new long[device.Topology.Engines.Count];
    }

    /// <summary>A mapped program run alone on its device from time 0, as a compute segment instance runs on a
    /// rank whose compute segments run one at a time: its tasks' and transfers' times, what its channels moved
    /// and its engines computed, and per tier the peak of what its tasks took, what they keep at the end and
    /// how much of that is activations no task read.</summary>
    private sealed class AloneRun
    {
        public long Duration, Events;

        /// <summary>The earliest of its tasks' starts.</summary>
        public long FirstStart;
        public long[] Ready = [], Start = [], Launch = [], ComputeEnd = [], End = [];
        public long[] TransferStart = [], TransferEnd = [];
        public long[] ChannelBytes = [], ChannelBusy = [], EngineBusy = [];
        public long[] Peak = [], Final = [], Escaped = [];
    }

    /// <summary>Readies a program's tasks as <see cref="SystemProcess"/> does: roots at the start, every other
    /// task when its last predecessor ends, successors signalled in the order of their edges.</summary>
    private sealed class AloneProcess : KernelProcess
    {
        private readonly int[] _kernelTask;
        private readonly int[] _prereq;
        private readonly int[] _succStart, _succ;

        public AloneProcess(int[] kernelTask, int[] prereq, int[] succStart, int[] succ)
        {
            _kernelTask = kernelTask;
            _prereq = prereq;
            _succStart = succStart;
            _succ = succ;
        }

        protected override void OnStart(Kernel kernel)
        {
            for (var i = 0; i < _prereq.Length; i++)
                if (_prereq[i] == 0) kernel.Ready(_kernelTask[i]);
        }

        protected override void OnTaskEnd(Kernel kernel, int task)
        {
            var index = kernel.Tag(task);
            for (int k = _succStart[index], end = _succStart[index + 1]; k < end; k++) kernel.SignalOwned(_kernelTask[_succ[k]]);
        }
    }

    /// <summary>A mapped program and its tensors, lowered once per (device, graph) as <see cref="Simulator"/> does.</summary>
    private sealed class Lowered
    {
        public Lowered(SimProgram program, IDeviceModel device)
        {
            Program = program;
            var topology = device.Topology;
            var tasks = program.Tasks;
            var n = tasks.Count;
            for (var i = 0; i < n; i++)
            {
                var c = tasks[i].Cost;
                if (c.Engine < 0 || c.Engine >= topology.Engines.Count) throw new ArgumentException($"task '{tasks[i].Name}' uses unknown engine {c.Engine} of {device.Name}");
                foreach (var t in c.Transfers)
                    if (t.Channel < 0 || t.Channel >= topology.Channels.Count) throw new ArgumentException($"task '{tasks[i].Name}' uses unknown channel {t.Channel} of {device.Name}");
                TransferCount += c.Transfers.Count;
            }
            TransferTask = new int[TransferCount];
            TransferChannel = new int[TransferCount];
            TransferBytes = new long[TransferCount];
            for (int i = 0, k = 0; i < n; i++)
                foreach (var t in tasks[i].Cost.Transfers)
                {
                    TransferTask[k] = i;
                    TransferChannel[k] = t.Channel;
                    TransferBytes[k] = t.Bytes;
                    k++;
                }
            // Tensors are indexed densely (a block of a large model names a few of its many tensor ids), in id
            // order, so every list below keeps the order of ids. A tensor an op names that the graph does not
            // list holds nothing (tier 0, no bytes) and is not resident.
            var graph = program.Graph;
            var ids = new List<int>(graph.Tensors.Count);
            foreach (var t in graph.Tensors) ids.Add(t.Id);
            foreach (var task in tasks)
                foreach (var op in task.Ops)
                {
                    foreach (var t in op.Inputs) ids.Add(t.Id);
                    foreach (var t in op.Outputs) ids.Add(t.Id);
                }
            ids.Sort();
            var local = new Dictionary<int, int>();
            foreach (var id in ids) local.TryAdd(id, local.Count);
            var count = local.Count;
            TensorTier = new int[count];
            TensorBytes = new long[count];
            Resident = new bool[count];
            Refs = new int[count];
            foreach (var t in graph.Tensors)
            {
                var tier = graph.TierOf.TryGetValue(t.Id, out var named) ? topology.TierIndex(named) : device.PlaceTensor(t);
                if (tier < 0 || tier >= topology.Tiers.Count) throw new ArgumentException($"tensor '{t.Name}' placed in unknown tier {tier} of {device.Name}");
                var x = local[t.Id];
                TensorTier[x] = tier;
                TensorBytes[x] = t.Bytes;
                Resident[x] = t.Role != TensorRole.Activation || !graph.Producer.ContainsKey(t.Id);
            }
            Ins = new int[n][];
            Outs = new int[n][];
            Locals = new int[n][];
            Preds = new int[n][];
            IsSink = new bool[n];
            Array.Fill(IsSink, true);
            var produced = new HashSet<int>();
            var seen = new HashSet<int>();
            var ins = new List<int>();
            for (var i = 0; i < n; i++)
            {
                produced.Clear();
                seen.Clear();
                ins.Clear();
                foreach (var op in tasks[i].Ops) foreach (var t in op.Outputs) produced.Add(local[t.Id]);
                foreach (var op in tasks[i].Ops)
                    foreach (var t in op.Inputs)
                        if (!produced.Contains(local[t.Id]) && seen.Add(local[t.Id])) ins.Add(local[t.Id]);
                Ins[i] = [.. ins];
                Outs[i] = [.. produced.Order()];
                foreach (var x in Ins[i]) Refs[x]++;
                Preds[i] = [.. program.Predecessors[i]];
                foreach (var p in Preds[i]) IsSink[p] = false;
            }
            var consumed = new HashSet<int>();
            for (var i = 0; i < n; i++)
            {
                consumed.Clear();
                foreach (var op in tasks[i].Ops) foreach (var t in op.Inputs) consumed.Add(local[t.Id]);
                Locals[i] = [.. Outs[i].Where(x => Refs[x] == 0 && consumed.Contains(x) && !Resident[x])];
            }
            var freedByOwnTask = new HashSet<int>(Locals.SelectMany(l => l));
            Escapes = [.. Outs.SelectMany(o => o).Where(x => Refs[x] == 0 && !Resident[x] && !freedByOwnTask.Contains(x)).Distinct().Order()];
        }

        public SimProgram Program { get; }

        private AloneRun? _alone;

        /// <summary>The program run alone on <paramref name="device"/> (its device), once: its tasks built as a
        /// segment instance's are, with the segment's end join.</summary>
        public AloneRun Alone(IDeviceModel device)
        {
            if (_alone is not null) return _alone;
            var tasks = Program.Tasks;
            var n = tasks.Count;
            var topology = device.Topology;
            var kernel = new Kernel(topology, null, null, n + 1, Math.Max(4, TransferCount));
            // Edges as the system adds them: each task's predecessors in task order, then the sinks to the end join.
            var from = new List<int>();
            var to = new List<int>();
            var prereq = new int[n + 1];
            for (var i = 0; i < n; i++)
            {
                prereq[i] = Preds[i].Length;
                foreach (var p in Preds[i]) { from.Add(p); to.Add(i); }
            }
            for (var i = 0; i < n; i++)
                if (IsSink[i]) { from.Add(i); to.Add(n); prereq[n]++; }
            var succStart = new int[n + 2];
            foreach (var f in from) succStart[f + 1]++;
            for (var i = 0; i <= n; i++) succStart[i + 1] += succStart[i];
            var succ = new int[from.Count];
            var fill = succStart.AsSpan(0, n + 1).ToArray();
            for (var e = 0; e < from.Count; e++) succ[fill[from[e]]++] = to[e];
            var kernelTask = new int[n + 1];
            var process = new AloneProcess(kernelTask, prereq, succStart, succ);
            kernel.Attach(process);
            var buffer = new int[TensorBytes.Length];
            Array.Fill(buffer, -1);
            int Buffer(int id) => buffer[id] >= 0 ? buffer[id] : buffer[id] = kernel.NewBuffer(TensorTier[id], TensorBytes[id], Refs[id] == 0 ? 1 : Refs[id]);
            for (var i = 0; i < n; i++)
            {
                var cost = tasks[i].Cost;
                var kt = kernelTask[i] = kernel.NewTask(process, cost.Engine, cost.LatencyPs, cost.ComputePs, tag: i, prerequisites: prereq[i]);
                foreach (var t in cost.Transfers) kernel.AddTransfer(kt, t.Channel, t.Bytes, t.RateCap_Bps);
                foreach (var id in Outs[i])
                    if (!Resident[id]) kernel.AllocateOnStart(kt, Buffer(id));
                foreach (var id in Ins[i])
                    if (!Resident[id]) kernel.ReleaseOnEnd(kt, Buffer(id));
                foreach (var id in Locals[i]) kernel.ReleaseOnEnd(kt, Buffer(id));
            }
            kernelTask[n] = kernel.NewTask(process, Kernel.NoEngine, 0, 0, tag: n, prerequisites: prereq[n]);
            kernel.Run();
            var run = new AloneRun
            {
                Ready = new long[n], Start = new long[n], Launch = new long[n], ComputeEnd = new long[n], End = new long[n],
                TransferStart = new long[TransferCount], TransferEnd = new long[TransferCount],
                ChannelBytes = new long[topology.Channels.Count], ChannelBusy = new long[topology.Channels.Count],
                EngineBusy = new long[topology.Engines.Count],
                Peak = new long[topology.Tiers.Count], Final = new long[topology.Tiers.Count], Escaped = new long[topology.Tiers.Count],
            };
            for (var i = 0; i < n; i++)
            {
                var x = kernel.Times(kernelTask[i]);
                if (x.EndPs < 0) throw new InvalidOperationException($"task '{tasks[i].Name}' of graph '{Program.Graph.Info.Name}' never finished alone");
                (run.Ready[i], run.Start[i], run.Launch[i], run.ComputeEnd[i], run.End[i]) = (x.ReadyPs, x.StartPs, x.LaunchPs, x.ComputeEndPs, x.EndPs);
            }
            for (var k = 0; k < TransferCount; k++) (run.TransferStart[k], run.TransferEnd[k]) = kernel.TransferTimes(k);
            for (var c = 0; c < run.ChannelBytes.Length; c++)
            {
                run.ChannelBytes[c] = kernel.ChannelBytes(c);
                run.ChannelBusy[c] = kernel.ChannelBusyPs(c);
            }
            for (var e = 0; e < run.EngineBusy.Length; e++) run.EngineBusy[e] = kernel.EngineBusyPs(e);
            for (var t = 0; t < run.Peak.Length; t++)
            {
                run.Peak[t] = kernel.TierPeakBytes(t);
                run.Final[t] = kernel.TierOccupancy(t);
            }
            foreach (var id in Escapes) run.Escaped[TensorTier[id]] += TensorBytes[id];
            run.Duration = kernel.Times(kernelTask[n]).EndPs;
            run.FirstStart = n == 0 ? run.Duration : run.Start.Min();
            // The end join's launch and end are the system's own events, not the program's.
            run.Events = kernel.EventCount - 2;
            return _alone = run;
        }

        /// <summary>Transfers of all its tasks.</summary>
        public int TransferCount { get; }

        /// <summary>Per transfer of its tasks, in task order: the task, the device channel, the bytes.</summary>
        public int[] TransferTask { get; }
        public int[] TransferChannel { get; }
        public long[] TransferBytes { get; }

        /// <summary>Per tensor, densely indexed in id order: its tier, bytes, whether it is resident, and how many tasks read it.</summary>
        public int[] TensorTier { get; }
        public long[] TensorBytes { get; }
        public bool[] Resident { get; }
        public int[] Refs { get; }
        public int[][] Ins { get; }
        public int[][] Outs { get; }
        public int[][] Locals { get; }

        /// <summary>Activations the program writes and none of its tasks reads (a block's outputs that a later
        /// segment consumes, a graph's final outputs).</summary>
        public int[] Escapes { get; }
        public int[][] Preds { get; }

        /// <summary>Tasks no other task of the program waits for: the segment's end join waits for them.</summary>
        public bool[] IsSink { get; }
    }

    /// <summary>A rank's compute segment instances as runs: run j is mapped program <see cref="Low"/>[j], its tasks
    /// flat indexes <see cref="TaskOffset"/>[j].. and its transfers <see cref="TransferOffset"/>[j].., their times
    /// in the kernel from process task <see cref="FirstTask"/>[j] and kernel transfer <see cref="FirstTransfer"/>[j].</summary>
    private sealed class FlatRuns(Kernel kernel, SystemProcess process, int runs)
    {
        public readonly Kernel Kernel = kernel;
        public readonly Lowered[] Low = new Lowered[runs];
        public readonly int[] TaskOffset = new int[runs + 1];
        public readonly int[] TransferOffset = new int[runs + 1];
        public readonly int[] FirstTask = new int[runs];
        public readonly int[] FirstTransfer = new int[runs];

        /// <summary>Per run, its program alone when it ran as one task (process task <see cref="FirstTask"/>, whose
        /// start shifts the times alone); null when its tasks ran in the kernel.</summary>
        public readonly AloneRun?[] Alone = new AloneRun?[runs];
        public int Tasks, Transfers;

        public int Runs => Low.Length;

        public void Add(int run, Lowered low, int taskOffset, int transferOffset, int firstTask, int firstTransfer, AloneRun? alone)
        {
            Low[run] = low;
            TaskOffset[run] = taskOffset;
            TransferOffset[run] = transferOffset;
            FirstTask[run] = firstTask;
            FirstTransfer[run] = firstTransfer;
            Alone[run] = alone;
        }

        private long Shift(int run) => Kernel.Times(process.KernelTask(FirstTask[run])).StartPs;

        /// <summary>Task <paramref name="local"/> of run <paramref name="run"/>: its times.</summary>
        public TaskTimes Times(int run, int local)
        {
            if (Alone[run] is not { } a) return Kernel.Times(KernelTask(run, local));
            var at = Shift(run);
            return new TaskTimes(at + a.Ready[local], at + a.Start[local], at + a.Launch[local], at + a.ComputeEnd[local], at + a.End[local]);
        }

        /// <summary>Transfer <paramref name="local"/> of run <paramref name="run"/>: when its bytes began to move and when they arrived.</summary>
        public (long StartPs, long EndPs) TransferTimes(int run, int local)
        {
            if (Alone[run] is not { } a) return Kernel.TransferTimes(FirstTransfer[run] + local);
            var at = Shift(run);
            return (at + a.TransferStart[local], at + a.TransferEnd[local]);
        }

        public void Seal(int tasks, int transfers)
        {
            Tasks = tasks;
            Transfers = transfers;
            TaskOffset[^1] = tasks;
            TransferOffset[^1] = transfers;
        }

        /// <summary>The run holding flat index <paramref name="x"/> of <paramref name="offsets"/>: the last run
        /// starting at or before it (runs with nothing share their offset with the next and are never it).</summary>
        public int Find(int[] offsets, int x, int total)
        {
            if ((uint)x >= (uint)total) throw new ArgumentOutOfRangeException(nameof(x), $"index {x} is not below {total}");
            int lo = 0, hi = Runs - 1;
            while (lo < hi)
            {
                var mid = (lo + hi + 1) >> 1;
                if (offsets[mid] <= x) lo = mid;
                else hi = mid - 1;
            }
            return lo;
        }

        public int KernelTask(int run, int local) => process.KernelTask(FirstTask[run] + local);
    }

    /// <summary>A read-only list over a rank's runs, by task (or by transfer): each element made when asked.</summary>
    private abstract class FlatList<T>(FlatRuns flat, bool byTransfer) : IReadOnlyList<T>
    {
        protected FlatRuns Flat { get; } = flat;

        private int[] Offsets => byTransfer ? Flat.TransferOffset : Flat.TaskOffset;

        public int Count => byTransfer ? Flat.Transfers : Flat.Tasks;

        public T this[int index]
        {
            get
            {
                var run = Flat.Find(Offsets, index, Count);
                return At(run, index - Offsets[run], index);
            }
        }

        protected abstract T At(int run, int local, int index);

        public IEnumerator<T> GetEnumerator()
        {
            var offsets = Offsets;
            for (var run = 0; run < Flat.Runs; run++)
                for (var i = offsets[run]; i < offsets[run + 1]; i++) yield return At(run, i - offsets[run], i);
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class FlatTasks(FlatRuns flat) : FlatList<SimTask>(flat, false)
    {
        protected override SimTask At(int run, int local, int index) => Flat.Low[run].Program.Tasks[local] with { Id = index };
    }

    /// <summary>Each task's predecessors: its mapped program's (sorted, distinct), shifted by its run's offset.</summary>
    private sealed class FlatPredecessors(FlatRuns flat) : FlatList<IReadOnlyList<int>>(flat, false)
    {
        protected override IReadOnlyList<int> At(int run, int local, int index)
        {
            var p = Flat.Low[run].Preds[local];
            if (p.Length == 0) return Array.Empty<int>();
            var shifted = new int[p.Length];
            var offset = Flat.TaskOffset[run];
            for (var j = 0; j < p.Length; j++) shifted[j] = p[j] + offset;
            return shifted;
        }
    }

    /// <summary>One of a task's times (0 ready, 1 start, 2 launch, 3 compute end, 4 end), read from the kernel.</summary>
    private sealed class FlatTimes(FlatRuns flat, int field) : FlatList<long>(flat, false)
    {
        protected override long At(int run, int local, int index)
        {
            var t = Flat.Times(run, local);
            return field switch { 0 => t.ReadyPs, 1 => t.StartPs, 2 => t.LaunchPs, 3 => t.ComputeEndPs, _ => t.EndPs };
        }
    }

    /// <summary>A transfer's flat task (0) or device channel (1).</summary>
    private sealed class FlatTransferInts(FlatRuns flat, int field) : FlatList<int>(flat, true)
    {
        protected override int At(int run, int local, int index) =>
            field == 0 ? Flat.TaskOffset[run] + Flat.Low[run].TransferTask[local] : Flat.Low[run].TransferChannel[local];
    }

    /// <summary>A transfer's bytes (0), start (1) or end (2), its times read from the kernel.</summary>
    private sealed class FlatTransferLongs(FlatRuns flat, int field) : FlatList<long>(flat, true)
    {
        protected override long At(int run, int local, int index)
        {
            if (field == 0) return Flat.Low[run].TransferBytes[local];
            var (start, end) = Flat.TransferTimes(run, local);
            return field == 1 ? start : end;
        }
    }

    /// <summary>Flows by their start, read from the kernel.</summary>
    private sealed class ByStart(Kernel kernel, int[]? transfers) : IComparer<int>
    {
        public int Compare(int x, int y) =>
            kernel.TransferTimes(transfers is null ? x : transfers[x]).StartPs.CompareTo(kernel.TransferTimes(transfers is null ? y : transfers[y]).StartPs);
    }

    /// <summary>The network's flows, each record made from the kernel's transfer when asked; flow f is
    /// transfer <paramref name="transfers"/>[f] (transfer f when null).</summary>
    private sealed class FlowList(Kernel kernel, int[]? transfers, int count, int[]?[] routeLinks) : IReadOnlyList<FlowRecord>
    {
        public int Count => count;

        public FlowRecord this[int index]
        {
            get
            {
                if ((uint)index >= (uint)count) throw new ArgumentOutOfRangeException(nameof(index), $"index {index} is not below {count}");
                var k = transfers is null ? index : transfers[index];
                var (start, end) = kernel.TransferTimes(k);
                return new FlowRecord(routeLinks[~kernel.TransferPath(k)]!, kernel.TransferBytes(k), start, end);
            }
        }

        public IEnumerator<FlowRecord> GetEnumerator()
        {
            for (var i = 0; i < count; i++) yield return this[i];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class PairComparer : IEqualityComparer<(IDeviceModel, WorkloadGraph)>
    {
        public static readonly PairComparer Instance = new();

        public bool Equals((IDeviceModel, WorkloadGraph) x, (IDeviceModel, WorkloadGraph) y) =>
            ReferenceEquals(x.Item1, y.Item1) && ReferenceEquals(x.Item2, y.Item2);

        public int GetHashCode((IDeviceModel, WorkloadGraph) obj) =>
            HashCode.Combine(RuntimeHelpers.GetHashCode(obj.Item1), RuntimeHelpers.GetHashCode(obj.Item2));
    }

    /// <summary>Every task of the program as one kernel process: tasks wait for counted prerequisites; when one
    /// ends its successors are signalled (in the order their edges were added); when a collective's member is
    /// ready and it was the last simulated member, the collective starts. Nothing allocates per event.</summary>
    private sealed class SystemProcess : KernelProcess
    {
        // A task's kernel index is its index here: the process makes the kernel's first tasks, before the run.
        private readonly List<int> _roots = [];
        private int[] _comm;
        private List<int> _from = [], _to = [];
        private int _count;
        private int[] _succStart = [], _succ = [];
        private int[] _pending = [];
        private Collective[] _collectives = [];

        public SystemProcess(int expected)
        {
            _comm = new int[Math.Max(16, expected)];
        }

        public int Count => _count;

        public int KernelTask(int index) => index;

        /// <summary>A task waiting for <paramref name="prerequisites"/> signals: edges from this process's
        /// tasks, or (<paramref name="external"/>) from a collective.</summary>
        public int Add(Kernel kernel, int engine, long latencyPs, long computePs, int prerequisites, bool external = false)
        {
            var index = _count++;
            if (index == _comm.Length) Array.Resize(ref _comm, index * 2);
            if (kernel.NewTask(this, engine, latencyPs, computePs, tag: index, prerequisites: prerequisites) != index)
                throw new InvalidOperationException("the system's tasks are the kernel's first");
            if (prerequisites == 0 && !external) _roots.Add(index);
            _comm[index] = -1;
            return index;
        }

        public void Edge(int from, int to)
        {
            _from.Add(from);
            _to.Add(to);
        }

        public void CommOf(int index, int collective) => _comm[index] = collective;

        public void Seal(Kernel kernel, Collective[] collectives, int[] pending)
        {
            _collectives = collectives;
            _pending = pending;
            var n = _count;
            _succStart = new int[n + 1];
            foreach (var f in _from) _succStart[f + 1]++;
            for (var i = 0; i < n; i++) _succStart[i + 1] += _succStart[i];
            _succ = new int[_from.Count];
            var fill = _succStart.AsSpan(0, n).ToArray();
            for (var e = 0; e < _from.Count; e++) _succ[fill[_from[e]]++] = _to[e];
            // Dropped, not cleared: the edge lists of a large program are hundreds of megabytes.
            _from = [];
            _to = [];
        }

        protected override void OnStart(Kernel kernel)
        {
            foreach (var i in _roots) kernel.Ready(i);
        }

        protected override void OnTaskEnd(Kernel kernel, int task)
        {
            var index = kernel.Tag(task);
            var succ = _succ;
            for (int k = _succStart[index], end = _succStart[index + 1]; k < end; k++) kernel.SignalOwned(succ[k]);
            var c = _comm[index];
            if (c >= 0 && --_pending[c] == 0) _collectives[c].Start();
        }

        public int FirstUnfinished(Kernel kernel)
        {
            for (var i = 0; i < _count; i++)
                if (!kernel.HasEnded(i)) return i;
            return -1;
        }
    }
}
