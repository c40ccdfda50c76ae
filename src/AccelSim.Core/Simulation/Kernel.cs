using System.Runtime.CompilerServices;
using AccelSim.Core.Devices;
using AccelSim.Core.Network;

namespace AccelSim.Core.Simulation;

/// <summary>When a task became ready, got its engine unit, launched, finished computing and ended (ps).</summary>
public readonly record struct TaskTimes(long ReadyPs, long StartPs, long LaunchPs, long ComputeEndPs, long EndPs);

/// <summary>The open-world discrete-event kernel. Time is integer picoseconds; events are ordered by
/// (time, insertion sequence), so equal-time events run in the order they were scheduled and every run
/// is deterministic.
///
/// <para>Work. A task holds one unit of an engine (or none: <see cref="NoEngine"/>) for a start-up
/// latency, then computes for its compute time while its transfers move; it ends when all of them are
/// done. A transfer crosses either one channel of the device (HBM, SRAM, a PCIe link: shared max-min
/// fairly by the transfers on it, after the channel's latency) or a route of network links
/// (<see cref="FlowNetwork"/>: a max-min fair rate over every link of the route). A task may allocate
/// buffers in memory tiers when it starts and release them when it ends (a buffer is freed when its last
/// holder releases it), which is how tier occupancy and its peak are tracked.</para>
///
/// <para>Open world. <see cref="KernelProcess"/>es add tasks, flows and timers at any time, from
/// <see cref="KernelProcess.OnStart"/> or from the callbacks of their tasks and timers; the work is
/// stamped with the current time. A static program is one such process.</para>
///
/// <para>Storage. Tasks, transfers, buffers and timers live in arrays of structs that grow by doubling
/// (O(work), nothing sized engines × tasks); the event queue holds only pending events. Once storage has
/// grown to a run's size, processing an event allocates nothing.</para></summary>
public sealed class Kernel
{
    /// <summary>The engine of a task that needs no engine unit: a message, a delay, a copy the network does.</summary>
    public const int NoEngine = -1;

    // An event's payload is its index shifted left by two bits over its kind. Channel and network
    // events are not in the queue: a channel's next event is the earlier of its pending completion and
    // its first pending join (transfers waiting out its latency join in launch order), one timer per
    // channel in _timers; the network has one more, at its next flow event.
    private const int EvLaunch = 0;
    private const int EvComputeDone = 1;
    private const int EvTimer = 2;
    private const int KindBits = 2;
    private const int KindMask = (1 << KindBits) - 1;

    /// <summary>The most tasks, transfers or pending timers a kernel holds.</summary>
    public const int MaxIndex = int.MaxValue >> KindBits;

    // What the loop reads, kept small (48 bytes); the times it only writes are in _times.
    private struct TaskState
    {
        public long Latency, Compute;
        public int Engine, Owner, Tag;
        public int TrStart, EffStart;
        public int PartsLeft; // prerequisites outstanding before ready, 0 until launch, parts outstanding while running, -1 once ended
        public ushort TrCount, Allocs, Releases;
        public bool IsReady;
    }

    private struct TimesState
    {
        public long Ready, Start, Launch, ComputeEnd, End;
    }

    private struct TransferState
    {
        public long Bytes;
        public double Cap;
        public long Start, End;
        public int Task;
        public int Path; // a channel (>= 0) or a network route (~route)
    }

    private struct BufferState
    {
        public long Bytes;
        public int Tier;
        public int Refs;
    }

    private struct TimerSlot
    {
        public long Token;
        public int Owner;
    }

    private readonly DeviceTopology _topology;
    private readonly SimulationEventBus? _bus;
    private readonly FlowNetwork? _net;
    private KernelProcess[] _processes = [];
    private int _processCount;

    private TaskState[] _tasks;
    private TimesState[] _times;
    private int _taskCount;
    private int _newest = -1;
    private int[] _freeTasks = [];
    private int _freeTaskCount;
    private TransferState[] _transfers;
    private int _transferCount;
    private int[] _effects;
    private int _effectCount;
    private BufferState[] _buffers = new BufferState[16];
    private int _bufferCount;
    private TimerSlot[] _timerSlots = new TimerSlot[16];
    private int[] _freeTimerSlots = new int[16];
    private int _timerSlotsUsed, _freeTimerCount;
    private int[] _flowTransfer = new int[16];

    // Engines: free units and a FIFO ring of waiting tasks each (grown by doubling).
    private readonly int[] _freeUnits;
    private readonly int[][] _waitQueue;
    private readonly int[] _waitHead, _waitCount;
    private readonly long[] _engineBusy;

    // Channels: bandwidth shared by the flowing transfers. Each channel has at most one pending
    // completion, at its earliest due transfer; a re-solve that moves it moves its key in _timers
    // (with a fresh sequence number, as a newly scheduled event would get). The network is one more
    // timer, at its next flow event.
    private readonly FairShareChannels _sharing;
    private readonly long[] _chLatency;
    private readonly long[] _chBytes, _chBusy, _chBusySince;
    private int[] _done = new int[16], _netDone = new int[16];
    private readonly int _channels, _netSlot;

    // Per channel, the transfers waiting out its latency: a FIFO ring of (due time, sequence, transfer).
    // A channel's latency is fixed, so launch order is join order.
    private struct Join
    {
        public long Time, Seq;
        public int Transfer;
    }

    /// <summary>A channel's timer state in one record: its joins waiting out the latency (a ring) and its
    /// completion's key. The loop reads them together on every channel event.</summary>
    private struct ChannelTimerState
    {
        public Join[] Joins;
        public int JoinHead, JoinCount;
        public long CompTime, CompSeq;
    }

    private readonly ChannelTimerState[] _ch;

    // Per channel, its pending completion's (time, sequence); time long.MaxValue when it has none.
    private long _netTimer = long.MaxValue;

    private readonly long[] _tierOcc, _tierPeak, _tierResident;

    private readonly EventQueue _queue = new(64);
    private readonly ChannelTimers _timers;

    // True while the event being processed still occupies the queue's root: the first event it
    // schedules takes that slot (one sift instead of a pop and a push).
    private bool _holdingTop;
    private long _seq;
    private long _now;
    private long _events;
    private bool _running, _ran;

    /// <param name="topology">The engines, channels and tiers tasks name by index.</param>
    /// <param name="network">Links and routes for flows between devices; null when there are none.</param>
    /// <param name="bus">Where task, transfer and memory events are published (observers only).</param>
    /// <param name="expectedTasks">Tasks the run is expected to hold (storage grows beyond it).</param>
    /// <param name="expectedTransfers">Transfers and flows it is expected to hold; as many as tasks when negative.</param>
    public Kernel(DeviceTopology topology, FlowNetwork? network = null, SimulationEventBus? bus = null, int expectedTasks = 64, int expectedTransfers = -1)
    {
        ArgumentNullException.ThrowIfNull(topology);
        _topology = topology;
        _net = network;
        _bus = bus;
        var n = Math.Max(4, expectedTasks);
        _tasks = LargeArrays.New<TaskState>(n);
        _times = LargeArrays.New<TimesState>(n);
        _transfers = LargeArrays.New<TransferState>(expectedTransfers < 0 ? n : Math.Max(4, expectedTransfers));
        _effects = new int[n];

        var engines = topology.Engines.Count;
        _freeUnits = new int[engines];
        _waitQueue = new int[engines][];
        _waitHead = new int[engines];
        _waitCount = new int[engines];
        _engineBusy = new long[engines];
        for (var e = 0; e < engines; e++)
        {
            _freeUnits[e] = topology.Engines[e].Units;
            _waitQueue[e] = new int[16];
        }

        var channels = topology.Channels.Count;
        var bandwidth = new double[channels];
        var room = new int[channels];
        _chLatency = new long[channels];
        _chBytes = new long[channels];
        _chBusy = new long[channels];
        _chBusySince = new long[channels];
        for (var c = 0; c < channels; c++)
        {
            bandwidth[c] = topology.Channels[c].Bandwidth_Bps;
            _chLatency[c] = topology.Channels[c].LatencyPs;
            room[c] = 8;
        }
        _sharing = new FairShareChannels(bandwidth, room);
        _channels = channels;
        _ch = new ChannelTimerState[channels];
        for (var c = 0; c < channels; c++)
        {
            _ch[c].Joins = new Join[8];
            _ch[c].CompTime = long.MaxValue;
        }
        // Timer slots: one per channel, then the network.
        _netSlot = channels;
        _timers = new ChannelTimers(channels + 1);

        var tiers = topology.Tiers.Count;
        _tierOcc = new long[tiers];
        _tierPeak = new long[tiers];
        _tierResident = new long[tiers];
    }

    /// <summary>A kernel for network traffic alone (collectives, messages): its tasks need no engine
    /// (<see cref="NoEngine"/>), its flows cross <paramref name="network"/>'s routes.</summary>
    public Kernel(FlowNetwork network, SimulationEventBus? bus = null, int expectedTasks = 64)
        : this(NetworkOnly, network ?? throw new ArgumentNullException(nameof(network)), bus, expectedTasks)
    {
    }

    /// <summary>The topology of a network-only kernel: one host engine, no channel, no tier.</summary>
    private static readonly DeviceTopology NetworkOnly = new([new EngineSpec("host", 1)], [], []);

    public DeviceTopology Topology => _topology;

    /// <summary>The network flows cross, if any.</summary>
    public FlowNetwork? Network => _net;

    /// <summary>Simulated time now (the time of the event being processed).</summary>
    public long Now => _now;

    /// <summary>Events processed so far.</summary>
    public long EventCount => _events;

    /// <summary>Task slots in use: every task created, less the slots recycled and reused.</summary>
    public int TaskCount => _taskCount;
    public int TransferCount => _transferCount;

    /// <summary>Pending events: the queue plus the channels' and the network's completions.</summary>
    internal int PendingEvents
    {
        get
        {
            var pending = _queue.Count + (_netTimer != long.MaxValue ? 1 : 0);
            for (var c = 0; c < _channels; c++) pending += _ch[c].JoinCount + (_ch[c].CompTime != long.MaxValue ? 1 : 0);
            return pending;
        }
    }

    /// <summary>Registers a process; its <see cref="KernelProcess.OnStart"/> runs at time zero, in
    /// the order processes were attached.</summary>
    public void Attach(KernelProcess process)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (process.AttachedTo is not null) throw new InvalidOperationException("a process is attached to one kernel");
        if (_running || _ran) throw new InvalidOperationException("processes are attached before the run");
        process.AttachedTo = this;
        // Grown by doubling: a system run attaches one process per collective, tens of thousands.
        if (_processCount == _processes.Length) Array.Resize(ref _processes, Math.Max(4, _processes.Length * 2));
        process.Id = _processCount;
        _processes[_processCount++] = process;
    }

    /// <summary>Creates a task owned by <paramref name="owner"/> (which hears when it ends), carrying
    /// <paramref name="tag"/> for the owner's own bookkeeping. It waits until <see cref="Ready"/>; its
    /// transfers and buffers are added right after it is created, before the next task is. With
    /// <paramref name="prerequisites"/> above zero it becomes ready by itself when <see cref="Signal"/>
    /// has been called that many times (a join: the tasks it depends on). Returns its index.</summary>
    public int NewTask(KernelProcess owner, int engine, long latencyPs, long computePs, int tag = 0, int prerequisites = 0)
    {
        if (prerequisites < 0) throw new ArgumentOutOfRangeException(nameof(prerequisites), "prerequisites must not be negative");
        if (owner.AttachedTo != this) throw new InvalidOperationException("the owner of a task must be attached to this kernel");
        if (engine != NoEngine && (uint)engine >= (uint)_freeUnits.Length) throw new ArgumentOutOfRangeException(nameof(engine), $"engine {engine} does not exist");
        if (latencyPs < 0 || computePs < 0) throw new ArgumentOutOfRangeException(nameof(computePs), "durations must not be negative");
        int id;
        if (_freeTaskCount > 0) id = _freeTasks[--_freeTaskCount];
        else
        {
            if (_taskCount == MaxIndex) throw new InvalidOperationException($"a kernel holds at most {MaxIndex} tasks");
            if (_taskCount == _tasks.Length)
            {
                LargeArrays.Resize(ref _tasks, Grown(_tasks.Length));
                LargeArrays.Resize(ref _times, _tasks.Length);
            }
            id = _taskCount++;
        }
        _newest = id;
        _times[id] = new TimesState { Ready = -1, Start = -1, Launch = -1, ComputeEnd = -1, End = -1 };
        _tasks[id] = new TaskState
        {
            Latency = latencyPs,
            Compute = computePs,
            Engine = engine,
            Owner = owner.Id,
            Tag = tag,
            TrStart = _transferCount,
            EffStart = _effectCount,
            PartsLeft = prerequisites,
        };
        return id;
    }

    /// <summary>Grows storage, before the run, to hold <paramref name="tasks"/> tasks and
    /// <paramref name="transfers"/> transfers in all, so that work a process adds while the kernel runs
    /// (a collective's sends) does not grow it then.</summary>
    public void EnsureCapacity(int tasks, int transfers)
    {
        if (_running || _ran) throw new InvalidOperationException("storage is sized before the run");
        if (tasks > _tasks.Length)
        {
            LargeArrays.Resize(ref _tasks, Math.Min(tasks, MaxIndex));
            LargeArrays.Resize(ref _times, _tasks.Length);
        }
        if (transfers > _transfers.Length) LargeArrays.Resize(ref _transfers, Math.Min(transfers, MaxIndex));
    }

    /// <summary>Adds to the newest task a transfer of <paramref name="bytes"/> on device channel
    /// <paramref name="channel"/>, at most <paramref name="cap_Bps"/> on its own. Returns its index.</summary>
    public int AddTransfer(int task, int channel, long bytes, double cap_Bps)
    {
        if ((uint)channel >= (uint)_chLatency.Length) throw new ArgumentOutOfRangeException(nameof(channel), $"channel {channel} does not exist");
        return AddPath(task, channel, bytes, cap_Bps);
    }

    /// <summary>Adds to the newest task a flow of <paramref name="bytes"/> over network route
    /// <paramref name="route"/>, at most <paramref name="cap_Bps"/> on its own. It starts when the task
    /// launches, waits out the route's latency and then shares every link of the route max-min fairly.
    /// A flow of zero bytes is a message: it ends after the latency. Returns its index.</summary>
    public int AddFlow(int task, int route, long bytes, double cap_Bps)
    {
        if (_net is null) throw new InvalidOperationException("this kernel has no network");
        if ((uint)route >= (uint)_net.RouteCount) throw new ArgumentOutOfRangeException(nameof(route), $"route {route} does not exist");
        return AddPath(task, ~route, bytes, cap_Bps);
    }

    private int AddPath(int task, int path, long bytes, double cap_Bps)
    {
        CheckNewest(task);
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes), "bytes must not be negative");
        if (!(cap_Bps > 0)) throw new ArgumentOutOfRangeException(nameof(cap_Bps), "a rate cap must be positive");
        if (_transferCount == MaxIndex) throw new InvalidOperationException($"a kernel holds at most {MaxIndex} transfers");
        if (_transferCount == _transfers.Length) LargeArrays.Resize(ref _transfers, Grown(_transfers.Length));
        var k = _transferCount++;
        _transfers[k] = new TransferState { Bytes = bytes, Cap = cap_Bps, Start = -1, End = -1, Task = task, Path = path };
        if (_tasks[task].TrCount == ushort.MaxValue) throw new InvalidOperationException($"a task has at most {ushort.MaxValue} transfers");
        _tasks[task].TrCount++;
        return k;
    }

    /// <summary>A buffer of <paramref name="bytes"/> in tier <paramref name="tier"/>, freed when
    /// <paramref name="holders"/> releases have been made (tasks that release it when they end). Returns its index.</summary>
    public int NewBuffer(int tier, long bytes, int holders)
    {
        if ((uint)tier >= (uint)_tierOcc.Length) throw new ArgumentOutOfRangeException(nameof(tier), $"tier {tier} does not exist");
        if (bytes < 0 || holders < 0) throw new ArgumentOutOfRangeException(nameof(bytes), "bytes and holders must not be negative");
        if (_bufferCount == _buffers.Length) Array.Resize(ref _buffers, Grown(_buffers.Length));
        _buffers[_bufferCount] = new BufferState { Bytes = bytes, Tier = tier, Refs = holders };
        return _bufferCount++;
    }

    /// <summary>The newest task allocates <paramref name="buffer"/> when it starts. All of a task's
    /// allocations come before its releases.</summary>
    public void AllocateOnStart(int task, int buffer)
    {
        CheckNewest(task);
        if (_tasks[task].Releases > 0) throw new InvalidOperationException("a task's allocations come before its releases");
        if (_tasks[task].Allocs == ushort.MaxValue) throw new InvalidOperationException($"a task allocates at most {ushort.MaxValue} buffers");
        AddEffect(buffer);
        _tasks[task].Allocs++;
    }

    /// <summary>The newest task releases its hold on <paramref name="buffer"/> when it ends.</summary>
    public void ReleaseOnEnd(int task, int buffer)
    {
        CheckNewest(task);
        if (_tasks[task].Releases == ushort.MaxValue) throw new InvalidOperationException($"a task releases at most {ushort.MaxValue} buffers");
        AddEffect(buffer);
        _tasks[task].Releases++;
    }

    private void AddEffect(int buffer)
    {
        if ((uint)buffer >= (uint)_bufferCount) throw new ArgumentOutOfRangeException(nameof(buffer), $"buffer {buffer} does not exist");
        if (_effectCount == _effects.Length) Array.Resize(ref _effects, Grown(_effects.Length));
        _effects[_effectCount++] = buffer;
    }

    /// <summary>Gives the slot of ended task <paramref name="task"/> back for a later <see cref="NewTask"/>: its
    /// owner will never ask about it again (a collective's send, whose flow keeps its own record). Its times are
    /// lost; its transfers stay. Slots are reused last in, first out, so a run reuses them the same way every time.</summary>
    internal void Recycle(int task)
    {
        if (_tasks[task].PartsLeft != -1) throw new InvalidOperationException($"task {task} has not ended");
        if (_freeTaskCount == _freeTasks.Length) Array.Resize(ref _freeTasks, Math.Max(1024, _freeTasks.Length * 2));
        _freeTasks[_freeTaskCount++] = task;
    }

    private void CheckNewest(int task)
    {
        if (task != _newest || _tasks[task].IsReady)
            throw new InvalidOperationException("transfers and buffers are added to the newest task, before it is ready");
    }

    /// <summary>Bytes that occupy <paramref name="tier"/> for the whole run (weights, caches, inputs).
    /// Before the run only.</summary>
    public void Reserve(int tier, long bytes)
    {
        if (_running || _ran) throw new InvalidOperationException("resident bytes are reserved before the run; use Allocate while it runs");
        if ((uint)tier >= (uint)_tierOcc.Length) throw new ArgumentOutOfRangeException(nameof(tier), $"tier {tier} does not exist");
        _tierResident[tier] = checked(_tierResident[tier] + bytes);
    }

    /// <summary>Takes <paramref name="bytes"/> of <paramref name="tier"/> now (a process's own memory: a
    /// KV cache block, a staging buffer).</summary>
    public void Allocate(int tier, long bytes)
    {
        _tierOcc[tier] = checked(_tierOcc[tier] + bytes);
        if (_tierOcc[tier] > _tierPeak[tier]) _tierPeak[tier] = _tierOcc[tier];
        Publish(SimEventKind.MemoryChange, tier, _tierOcc[tier]);
    }

    /// <summary>Gives back <paramref name="bytes"/> of <paramref name="tier"/> now.</summary>
    public void Free(int tier, long bytes)
    {
        _tierOcc[tier] -= bytes;
        Publish(SimEventKind.MemoryChange, tier, _tierOcc[tier]);
    }

    /// <summary>Task <paramref name="task"/>'s dependencies are met: it queues for its engine now (FIFO
    /// per engine) and starts when a unit is free.</summary>
    public void Ready(int task)
    {
        if ((uint)task >= (uint)_taskCount) throw new ArgumentOutOfRangeException(nameof(task), $"task {task} does not exist");
        if (_tasks[task].IsReady) throw new InvalidOperationException($"task {task} is already ready");
        if (_tasks[task].PartsLeft != 0) throw new InvalidOperationException($"task {task} still waits for {_tasks[task].PartsLeft} prerequisites; it becomes ready when they are signalled");
        if (!_running) throw new InvalidOperationException("tasks become ready while the kernel runs: from OnStart or a callback");
        MakeReady(task);
    }

    /// <summary>One prerequisite of <paramref name="task"/> is met; when it was the last, the task is
    /// ready now (<see cref="Ready"/>).</summary>
    public void Signal(int task)
    {
        if ((uint)task >= (uint)_taskCount) throw new ArgumentOutOfRangeException(nameof(task), $"task {task} does not exist");
        ref var t = ref _tasks[task];
        if (t.IsReady || t.PartsLeft <= 0) throw new InvalidOperationException($"task {task} waits for no prerequisite");
        if (!_running) throw new InvalidOperationException("prerequisites are signalled while the kernel runs: from OnStart or a callback");
        if (--t.PartsLeft == 0) MakeReady(task);
    }

    /// <summary><see cref="Signal"/> for a task graph of this assembly, which signals only tasks it
    /// created with prerequisites, while the kernel runs.</summary>
    internal void SignalOwned(int task)
    {
        if (--_tasks[task].PartsLeft == 0) MakeReady(task);
    }

    /// <summary>Calls <paramref name="owner"/>'s <see cref="KernelProcess.OnTimer"/> with
    /// <paramref name="token"/> at <paramref name="timePs"/> (not before now).</summary>
    public void At(long timePs, KernelProcess owner, long token)
    {
        if (owner.AttachedTo != this) throw new InvalidOperationException("the owner of a timer must be attached to this kernel");
        if (timePs < _now) throw new ArgumentOutOfRangeException(nameof(timePs), $"a timer at {timePs} ps is before now ({_now} ps)");
        int slot;
        if (_freeTimerCount > 0) slot = _freeTimerSlots[--_freeTimerCount];
        else
        {
            if (_timerSlotsUsed == MaxIndex) throw new InvalidOperationException($"a kernel holds at most {MaxIndex} pending timers");
            if (_timerSlotsUsed == _timerSlots.Length)
            {
                Array.Resize(ref _timerSlots, Grown(_timerSlots.Length));
                Array.Resize(ref _freeTimerSlots, _timerSlots.Length);
            }
            slot = _timerSlotsUsed++;
        }
        _timerSlots[slot] = new TimerSlot { Token = token, Owner = owner.Id };
        Schedule(timePs, EvTimer, slot);
    }

    /// <summary>Runs until no event is left. A kernel runs once.</summary>
    public void Run()
    {
        if (_running || _ran) throw new InvalidOperationException("a kernel runs once; create another for another run");
        _running = true;
        for (var t = 0; t < _tierOcc.Length; t++)
        {
            _tierOcc[t] = _tierResident[t];
            _tierPeak[t] = _tierResident[t];
            if (_tierResident[t] > 0) Publish(SimEventKind.MemoryChange, t, _tierOcc[t]);
        }
        try
        {
            for (var i = 0; i < _processCount; i++) _processes[i].DispatchStart(this);
            Loop();
        }
        catch (OverflowException)
        {
            // A due time past 2^63 ps (a checked add in Schedule or a channel's due time).
            throw Time.Ps.OutOfRange();
        }
        finally
        {
            _running = false;
            _ran = true;
        }
        Publish(SimEventKind.SimulationEnd, -1, 0);
    }

    /// <summary>The event loop. A kernel runs once, so the loop is compiled fully optimised at once
    /// rather than left to on-stack replacement of a method that is never called again.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Loop()
    {
        var queue = _queue;
        var timers = _timers;
        while (true)
        {
            // The earlier of the queue's first event and the first channel completion, by (time, sequence).
            if (queue.Count > 0)
            {
                ref readonly var top = ref queue.Top;
                if (timers.Count == 0 || top.Time < timers.TopTime || (top.Time == timers.TopTime && top.Seq < timers.TopSeq))
                {
                    _now = top.Time;
                    var payload = top.Payload;
                    _events++;
                    _holdingTop = true;
                    var index = payload >> KindBits;
                    switch (payload & KindMask)
                    {
                        case EvLaunch: Launch(index); break;
                        case EvComputeDone:
                            _times[index].ComputeEnd = _now;
                            PartDone(index);
                            break;
                        default: Timer(index); break;
                    }
                    if (_holdingTop)
                    {
                        _holdingTop = false;
                        queue.Pop();
                    }
                    continue;
                }
            }
            else if (timers.Count == 0) break;
            _now = timers.TopTime;
            _events++;
            var c = timers.TopChannel;
            if (c == _netSlot) NetworkDue();
            else if (_ch[c].JoinCount > 0 && _ch[c].Joins[_ch[c].JoinHead].Seq == timers.TopSeq) JoinDue(c);
            else ChannelDone(c);
        }
    }

    /// <summary>Queues an event at <paramref name="time"/>; callers add durations to now with checked
    /// arithmetic, so a run past the clock's range stops (<see cref="Time.Ps.OutOfRange"/>) instead of wrapping.</summary>
    private void Schedule(long time, int kind, int index)
    {
        var payload = (index << KindBits) | kind;
        if (_holdingTop)
        {
            _holdingTop = false;
            _queue.ReplaceTop(time, _seq++, payload);
        }
        else _queue.Push(time, _seq++, payload);
    }

    private void MakeReady(int task)
    {
        ref var t = ref _tasks[task];
        t.IsReady = true;
        _times[task].Ready = _now;
        var e = t.Engine;
        if (e < 0 || _freeUnits[e] > 0)
        {
            Start(task);
            return;
        }
        var q = _waitQueue[e];
        var count = _waitCount[e];
        if (count == q.Length) q = GrowWaitQueue(e);
        var tail = _waitHead[e] + count;
        if (tail >= q.Length) tail -= q.Length;
        q[tail] = task;
        _waitCount[e] = count + 1;
    }

    private int[] GrowWaitQueue(int e)
    {
        var q = _waitQueue[e];
        var grown = new int[q.Length * 2];
        var head = _waitHead[e];
        Array.Copy(q, head, grown, 0, q.Length - head);
        Array.Copy(q, 0, grown, q.Length - head, head);
        _waitHead[e] = 0;
        _waitQueue[e] = grown;
        return grown;
    }

    private void Start(int task)
    {
        ref var t = ref _tasks[task];
        if (t.Engine >= 0) _freeUnits[t.Engine]--;
        _times[task].Start = _now;
        for (int k = t.EffStart, end = t.EffStart + t.Allocs; k < end; k++)
        {
            ref var b = ref _buffers[_effects[k]];
            var tier = b.Tier;
            _tierOcc[tier] += b.Bytes;
            if (_tierOcc[tier] > _tierPeak[tier]) _tierPeak[tier] = _tierOcc[tier];
            Publish(SimEventKind.MemoryChange, tier, _tierOcc[tier]);
        }
        Publish(SimEventKind.TaskStart, task, 0);
        Schedule(checked(_now + t.Latency), EvLaunch, task);
        // Its transfers are read when it launches; the tasks its owner readies when it ends, then.
        if (t.TrCount > 0) Prefetch.Read(ref _transfers[t.TrStart]);
        if (_processes[t.Owner].HintsSuccessors) _processes[t.Owner].OnTaskStartHint(this, task);
    }

    private void Launch(int task)
    {
        ref var t = ref _tasks[task];
        _times[task].Launch = _now;
        var parts = 0;
        for (int k = t.TrStart, end = t.TrStart + t.TrCount; k < end; k++)
        {
            ref var tr = ref _transfers[k];
            var path = tr.Path;
            if (path < 0)
            {
                parts++;
                StartNetworkFlow(k);
                continue;
            }
            if (tr.Bytes == 0)
            {
                tr.Start = _now;
                tr.End = _now;
                continue;
            }
            parts++;
            var lat = _chLatency[path];
            if (lat == 0) Flow(k);
            else QueueJoin(path, checked(_now + lat), k);
        }
        // A task without an engine and without compute is done when its transfers are.
        if (t.Engine >= 0 || t.Compute > 0 || parts == 0)
        {
            t.PartsLeft = parts + 1;
            Schedule(checked(_now + t.Compute), EvComputeDone, task);
        }
        else
        {
            _times[task].ComputeEnd = _now;
            t.PartsLeft = parts;
        }
    }

    /// <summary>Transfer <paramref name="tr"/> joins channel <paramref name="c"/> at <paramref name="time"/>,
    /// once its latency has passed: queued with a sequence number taken now, as a scheduled event would be.</summary>
    private void QueueJoin(int c, long time, int tr)
    {
        ref var ch = ref _ch[c];
        var ring = ch.Joins;
        var count = ch.JoinCount;
        if (count == ring.Length)
        {
            var grown = new Join[ring.Length * 2];
            var head = ch.JoinHead;
            Array.Copy(ring, head, grown, 0, ring.Length - head);
            Array.Copy(ring, 0, grown, ring.Length - head, head);
            ch.JoinHead = 0;
            ch.Joins = ring = grown;
        }
        var tail = ch.JoinHead + count;
        if (tail >= ring.Length) tail -= ring.Length;
        var seq = _seq++;
        ring[tail] = new Join { Time = time, Seq = seq, Transfer = tr };
        ch.JoinCount = count + 1;
        if (count == 0) Refresh(c);
    }

    /// <summary>The first transfer waiting on channel <paramref name="c"/>'s latency joins the sharing.</summary>
    private void JoinDue(int c)
    {
        ref var ch = ref _ch[c];
        var ring = ch.Joins;
        var head = ch.JoinHead;
        var tr = ring[head].Transfer;
        head++;
        ch.JoinHead = head == ring.Length ? 0 : head;
        ch.JoinCount--;
        // The channel's timer moves to its next event: Flow moves it when the completion moved.
        if (!Flow(tr)) Refresh(c);
    }

    /// <summary>Transfer <paramref name="tr"/> starts flowing on its channel. Returns whether the
    /// channel's timer was moved (its completion moved).</summary>
    private bool Flow(int tr)
    {
        ref var x = ref _transfers[tr];
        var c = x.Path;
        x.Start = _now;
        Publish(SimEventKind.TransferStart, tr, x.Bytes);
        if (_sharing.Count(c) == 0) _chBusySince[c] = _now;
        // The channel's completion moves only when its earliest due time did.
        if (!_sharing.Start(c, tr, x.Bytes, x.Cap, _now)) return false;
        SetTimer(c);
        return true;
    }

    /// <summary>The channel's earliest due transfers have arrived: every transfer due now ends (in the
    /// channel's order), the survivors are re-solved, then the ended transfers' tasks move on.</summary>
    private void ChannelDone(int c)
    {
        if (_done.Length < _sharing.Count(c)) _done = new int[Math.Max(_done.Length * 2, _sharing.Count(c))];
        var done = _sharing.Finish(c, _now, _done);
        for (var i = 0; i < done; i++)
        {
            var tr = _done[i];
            ref var x = ref _transfers[tr];
            x.End = _now;
            _chBytes[c] = checked(_chBytes[c] + x.Bytes);
            Publish(SimEventKind.TransferEnd, tr, x.Bytes);
        }
        if (done > 0 && _sharing.Count(c) == 0) _chBusy[c] += _now - _chBusySince[c];
        SetTimer(c);
        // A task's end (and whatever its owner adds then) never touches a channel synchronously: a
        // started task launches through an event. So the scratch list stays intact while they run.
        for (var i = 0; i < done; i++) PartDone(_transfers[_done[i]].Task);
    }

    /// <summary>Points channel <paramref name="c"/>'s completion at its earliest due transfer, as a
    /// newly scheduled event (a fresh sequence number), or drops it when the channel is idle.</summary>
    private void SetTimer(int c)
    {
        var next = _sharing.Next(c);
        ref var ch = ref _ch[c];
        ch.CompTime = next;
        if (next != long.MaxValue) ch.CompSeq = _seq++;
        Refresh(c);
    }

    /// <summary>Points channel <paramref name="c"/>'s timer at the earlier, by (time, sequence), of its
    /// completion and its first pending join, or drops it when it has neither.</summary>
    private void Refresh(int c)
    {
        ref var ch = ref _ch[c];
        long time = ch.CompTime, seq = ch.CompSeq;
        if (ch.JoinCount > 0)
        {
            ref var j = ref ch.Joins[ch.JoinHead];
            if (j.Time < time || (j.Time == time && j.Seq < seq))
            {
                time = j.Time;
                seq = j.Seq;
            }
        }
        if (time != long.MaxValue) _timers.Set(c, time, seq);
        else _timers.Remove(c);
    }

    private void StartNetworkFlow(int tr)
    {
        var net = _net!;
        ref var x = ref _transfers[tr];
        var route = ~x.Path;
        // Bytes begin to move once the route's latency has passed.
        x.Start = checked(_now + net.RouteLatency(route));
        var slot = net.Start(route, x.Bytes, x.Cap, _now);
        if (slot >= _flowTransfer.Length) Array.Resize(ref _flowTransfer, Math.Max(_flowTransfer.Length * 2, slot + 1));
        _flowTransfer[slot] = tr;
        Publish(SimEventKind.TransferStart, tr, x.Bytes);
        SetNetworkTimer();
    }

    private void SetNetworkTimer()
    {
        var next = _net!.NextEventTime;
        if (next == _netTimer) return;
        _netTimer = next;
        if (next != long.MaxValue) _timers.Set(_netSlot, next, _seq++);
        else _timers.Remove(_netSlot);
    }

    /// <summary>The network's next flow event is due: flows join the sharing or end; ended flows' tasks move on.</summary>
    private void NetworkDue()
    {
        var net = _net!;
        var ended = net.AdvanceTo(_now);
        _netTimer = long.MaxValue;
        _timers.Remove(_netSlot);
        if (ended == 0)
        {
            SetNetworkTimer();
            return;
        }
        // The tasks are copied out of the network's completion list, which its next advance reuses.
        if (_netDone.Length < ended) _netDone = new int[Math.Max(_netDone.Length * 2, ended)];
        var tasks = _netDone;
        var completed = net.Completed;
        for (var i = 0; i < ended; i++)
        {
            var tr = _flowTransfer[completed[i].Flow];
            ref var x = ref _transfers[tr];
            x.End = _now;
            tasks[i] = x.Task;
            Publish(SimEventKind.TransferEnd, tr, x.Bytes);
        }
        SetNetworkTimer();
        // Work the owners add from here starts its flows when its tasks launch (an event), so the
        // network does not move while these run.
        for (var i = 0; i < ended; i++) PartDone(tasks[i]);
    }

    private void Timer(int slot)
    {
        var s = _timerSlots[slot];
        _freeTimerSlots[_freeTimerCount++] = slot;
        // The slot is free before the callback runs: the callback may set another timer.
        _processes[s.Owner].DispatchTimer(this, s.Token);
    }

    private void PartDone(int task)
    {
        ref var t = ref _tasks[task];
        if (--t.PartsLeft > 0) return;
        t.PartsLeft = -1;
        _times[task].End = _now;
        var e = t.Engine;
        if (e >= 0)
        {
            // Its compute ended exactly its compute time after its launch.
            _engineBusy[e] += t.Compute;
            _freeUnits[e]++;
        }
        for (int k = t.EffStart + t.Allocs, end = t.EffStart + t.Allocs + t.Releases; k < end; k++)
        {
            ref var b = ref _buffers[_effects[k]];
            if (--b.Refs > 0) continue;
            var tier = b.Tier;
            _tierOcc[tier] -= b.Bytes;
            Publish(SimEventKind.MemoryChange, tier, _tierOcc[tier]);
        }
        Publish(SimEventKind.TaskEnd, task, 0);
        var owner = t.Owner;
        // The owner may add work (and grow the task table): t is not used past this call.
        _processes[owner].DispatchTaskEnd(this, task);
        if (e < 0) return;
        while (_freeUnits[e] > 0 && _waitCount[e] > 0)
        {
            var q = _waitQueue[e];
            var next = q[_waitHead[e]];
            var head = _waitHead[e] + 1;
            _waitHead[e] = head == q.Length ? 0 : head;
            _waitCount[e]--;
            Start(next);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Publish(SimEventKind kind, int index, long value)
    {
        if (_bus is { HasSubscribers: true } bus) bus.Publish(new SimEvent(kind, _now, index, value));
    }

    private static int Grown(int length) => length >= MaxIndex / 2 ? MaxIndex : length * 2;

    // Results.

    public TaskTimes Times(int task)
    {
        ref var t = ref _times[task];
        return new TaskTimes(t.Ready, t.Start, t.Launch, t.ComputeEnd, t.End);
    }

    /// <summary>Asks the processor for <paramref name="task"/>'s record and its first transfer
    /// <paramref name="transfer"/> (-1: none) ahead of use (a hint only).</summary>
    internal void PrefetchTask(int task, int transfer)
    {
        Prefetch.Read(ref _tasks[task]);
        Prefetch.Read(ref _times[task]);
        if ((uint)transfer < (uint)_transfers.Length) Prefetch.Read(ref _transfers[transfer]);
    }

    /// <summary><paramref name="task"/>'s first transfer; -1 when it has none.</summary>
    internal int FirstTransfer(int task) => _tasks[task].TrCount > 0 ? _tasks[task].TrStart : -1;

    /// <summary>Gives <paramref name="task"/> another tag (its owner's own bookkeeping, set before the run).</summary>
    internal void SetTag(int task, int tag) => _tasks[task].Tag = tag;

    /// <summary>The tag its owner gave <paramref name="task"/>.</summary>
    public int Tag(int task) => _tasks[task].Tag;

    /// <summary>Whether <paramref name="task"/> has ended.</summary>
    public bool HasEnded(int task) => _tasks[task].PartsLeft == -1;

    /// <summary>When a transfer's bytes began to move (after its channel's or route's latency) and
    /// when its last byte arrived; -1 until then.</summary>
    public (long StartPs, long EndPs) TransferTimes(int transfer) => (_transfers[transfer].Start, _transfers[transfer].End);

    /// <summary>A transfer's path: a device channel (&gt;= 0) or a network route r written as ~r.</summary>
    internal int TransferPath(int transfer) => _transfers[transfer].Path;

    /// <summary>A transfer's bytes.</summary>
    internal long TransferBytes(int transfer) => _transfers[transfer].Bytes;

    public long ChannelBytes(int channel) => _chBytes[channel];
    public long ChannelBusyPs(int channel) => _chBusy[channel];
    public long EngineBusyPs(int engine) => _engineBusy[engine];
    public long TierOccupancy(int tier) => _tierOcc[tier];
    public long TierPeakBytes(int tier) => _tierPeak[tier];
    public long TierResidentBytes(int tier) => _tierResident[tier];

    /// <summary>Copies every task's times into arrays of at least <see cref="TaskCount"/> entries.</summary>
    internal void ExportTasks(long[] ready, long[] start, long[] launch, long[] computeEnd, long[] end)
    {
        for (var i = 0; i < _taskCount; i++)
        {
            ref var t = ref _times[i];
            ready[i] = t.Ready;
            start[i] = t.Start;
            launch[i] = t.Launch;
            computeEnd[i] = t.ComputeEnd;
            end[i] = t.End;
        }
    }

    /// <summary>Copies every transfer's task, path, bytes and times into arrays of at least
    /// <see cref="TransferCount"/> entries (a network route r is written as ~r).</summary>
    internal void ExportTransfers(int[] task, int[] path, long[] bytes, long[] start, long[] end)
    {
        for (var i = 0; i < _transferCount; i++)
        {
            ref var x = ref _transfers[i];
            task[i] = x.Task;
            path[i] = x.Path;
            bytes[i] = x.Bytes;
            start[i] = x.Start;
            end[i] = x.End;
        }
    }

    internal long[] ChannelBytesArray() => (long[])_chBytes.Clone();
    internal long[] ChannelBusyArray() => (long[])_chBusy.Clone();
    internal long[] EngineBusyArray() => (long[])_engineBusy.Clone();
    internal long[] TierPeakArray() => (long[])_tierPeak.Clone();
    internal long[] TierResidentArray() => (long[])_tierResident.Clone();
}
