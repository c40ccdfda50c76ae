using AccelSim.Core.Devices;
using AccelSim.Core.Graph;

namespace AccelSim.Core.Simulation;

/// <summary>The discrete-event kernel. Time is integer picoseconds; the queue is ordered by
/// (time, insertion sequence), so equal-time events run in the order they were scheduled and every
/// run is deterministic. Tasks hold one unit of an engine; their transfers share channel bandwidth
/// max-min fairly (fluid), re-solved whenever a transfer starts or ends. All state lives in arrays
/// sized before time zero: the loop allocates nothing per event.</summary>
public sealed class Simulator
{
    // An event's payload is its index shifted left by two bits over its kind. Channel completions
    // are not in the queue: each channel has at most one, kept in _timers.
    private const int EvLaunch = 0;
    private const int EvComputeDone = 1;
    private const int EvTransferFlow = 2;
    private const int KindBits = 2;
    private const int KindMask = (1 << KindBits) - 1;
    private const int MaxIndex = int.MaxValue >> KindBits;

    private readonly SimProgram _program;
    private readonly DeviceTopology _topology;
    private readonly SimulationEventBus? _bus;

    // Tasks.
    private readonly int _n;
    private readonly int[] _pendingPreds;
    private readonly int[] _succStart, _succ;
    private readonly int[] _taskEngine;
    private readonly long[] _taskLatency, _taskCompute;
    private readonly int[] _taskTrStart;
    private readonly int[] _partsLeft;
    private readonly long[] _readyPs, _startPs, _launchPs, _computeEndPs, _endPs;
    private readonly int[] _inStart, _inTensors, _outStart, _outTensors;

    // Tensors a task produces and only its own ops consume (a fused region's intermediates): they
    // live while the task runs and are freed when it ends.
    private readonly int[] _localStart, _localTensors;

    // Engines: free units and a FIFO ring of waiting tasks each.
    private readonly int[] _freeUnits;
    private readonly int[][] _waitQueue;
    private readonly int[] _waitHead, _waitCount;
    private readonly long[] _engineBusy;

    // Transfers.
    private readonly int[] _trChannel, _trTask;
    private readonly long[] _trBytes, _trStartPs, _trEndPs;
    private readonly double[] _trCap;

    // Channels: bandwidth shared by the flowing transfers. Each channel has at most one pending
    // completion, at its earliest due transfer; a re-solve that moves it moves its key in _timers
    // (with a fresh sequence number, as a newly scheduled event would get).
    private readonly FairShareChannels _sharing;
    private readonly long[] _chLatency;
    private readonly long[] _chBytes, _chBusy, _chBusySince;
    private readonly int[] _done;

    // Tiers and tensors.
    private readonly long[] _tierOcc, _tierPeak, _tierResident;
    private readonly int[] _tensorTier, _tensorRefs;
    private readonly long[] _tensorBytes;
    private readonly bool[] _tensorResident;

    private readonly EventQueue _queue;
    private readonly ChannelTimers _timers;

    // True while the event being processed still occupies the queue's root: the first event it
    // schedules takes that slot (one sift instead of a pop and a push).
    private bool _holdingTop;
    private long _seq;
    private long _now;
    private long _events;
    private bool _ran;

    public Simulator(SimProgram program, IDeviceModel device, SimulationEventBus? bus = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(device);
        _program = program;
        _topology = device.Topology;
        _bus = bus;
        var tasks = program.Tasks;
        _n = tasks.Count;

        // Successor lists in compressed form.
        _pendingPreds = new int[_n];
        var succCount = new int[_n];
        for (var i = 0; i < _n; i++)
        {
            _pendingPreds[i] = program.Predecessors[i].Count;
            foreach (var p in program.Predecessors[i]) succCount[p]++;
        }
        _succStart = new int[_n + 1];
        for (var i = 0; i < _n; i++) _succStart[i + 1] = _succStart[i] + succCount[i];
        _succ = new int[_succStart[_n]];
        var fill = new int[_n];
        for (var i = 0; i < _n; i++)
            foreach (var p in program.Predecessors[i]) _succ[_succStart[p] + fill[p]++] = i;

        var engines = _topology.Engines.Count;
        var channels = _topology.Channels.Count;
        _taskEngine = new int[_n];
        _taskLatency = new long[_n];
        _taskCompute = new long[_n];
        _taskTrStart = new int[_n + 1];
        _partsLeft = new int[_n];
        _readyPs = new long[_n];
        _startPs = new long[_n];
        _launchPs = new long[_n];
        _computeEndPs = new long[_n];
        _endPs = new long[_n];
        var totalTransfers = 0;
        for (var i = 0; i < _n; i++)
        {
            var c = tasks[i].Cost;
            if (c.Engine < 0 || c.Engine >= engines) throw new ArgumentException($"task '{tasks[i].Name}' uses unknown engine {c.Engine}");
            _taskEngine[i] = c.Engine;
            _taskLatency[i] = c.LatencyPs;
            _taskCompute[i] = c.ComputePs;
            _taskTrStart[i] = totalTransfers;
            totalTransfers += c.Transfers.Count;
        }
        _taskTrStart[_n] = totalTransfers;
        if (_n > MaxIndex || totalTransfers > MaxIndex) throw new ArgumentException($"a program has at most {MaxIndex} tasks and {MaxIndex} transfers");

        _trChannel = new int[totalTransfers];
        _trTask = new int[totalTransfers];
        _trBytes = new long[totalTransfers];
        _trStartPs = new long[totalTransfers];
        _trEndPs = new long[totalTransfers];
        _trCap = new double[totalTransfers];
        var perChannel = new int[channels];
        for (var i = 0; i < _n; i++)
        {
            var k = _taskTrStart[i];
            foreach (var t in tasks[i].Cost.Transfers)
            {
                if (t.Channel < 0 || t.Channel >= channels) throw new ArgumentException($"task '{tasks[i].Name}' uses unknown channel {t.Channel}");
                _trChannel[k] = t.Channel;
                _trTask[k] = i;
                _trBytes[k] = t.Bytes;
                _trCap[k] = t.RateCap_Bps;
                _trStartPs[k] = -1;
                _trEndPs[k] = -1;
                perChannel[t.Channel]++;
                k++;
            }
        }

        _freeUnits = new int[engines];
        _waitQueue = new int[engines][];
        _waitHead = new int[engines];
        _waitCount = new int[engines];
        _engineBusy = new long[engines];
        for (var e = 0; e < engines; e++)
        {
            _freeUnits[e] = _topology.Engines[e].Units;
            _waitQueue[e] = new int[Math.Max(1, _n)];
        }

        var bandwidth = new double[channels];
        _chLatency = new long[channels];
        _chBytes = new long[channels];
        _chBusy = new long[channels];
        _chBusySince = new long[channels];
        _done = new int[Math.Max(1, channels == 0 ? 0 : perChannel.Max())];
        for (var c = 0; c < channels; c++)
        {
            bandwidth[c] = _topology.Channels[c].Bandwidth_Bps;
            _chLatency[c] = _topology.Channels[c].LatencyPs;
        }
        _sharing = new FairShareChannels(bandwidth, perChannel);

        // Tensors: resident ones (no producer, or weights/caches) occupy their tier all run;
        // produced activations live from their producer's start to their last consumer's end.
        var tiers = _topology.Tiers.Count;
        _tierOcc = new long[tiers];
        _tierPeak = new long[tiers];
        _tierResident = new long[tiers];
        var graph = program.Graph;
        var maxTensorId = graph.Tensors.Count == 0 ? -1 : graph.Tensors.Max(t => t.Id);
        _tensorTier = new int[maxTensorId + 1];
        _tensorRefs = new int[maxTensorId + 1];
        _tensorBytes = new long[maxTensorId + 1];
        _tensorResident = new bool[maxTensorId + 1];
        foreach (var t in graph.Tensors)
        {
            var tier = graph.TierOf.TryGetValue(t.Id, out var named) ? TierIndexOrThrow(named, t) : device.PlaceTensor(t);
            if (tier < 0 || tier >= tiers) throw new ArgumentException($"tensor '{t.Name}' placed in unknown tier {tier}");
            _tensorTier[t.Id] = tier;
            _tensorBytes[t.Id] = t.Bytes;
            _tensorResident[t.Id] = t.Role != TensorRole.Activation || !graph.Producer.ContainsKey(t.Id);
            if (_tensorResident[t.Id]) _tierResident[tier] += t.Bytes;
        }
        var ins = new List<int>[_n];
        var outs = new List<int>[_n];
        for (var i = 0; i < _n; i++)
        {
            var produced = new HashSet<int>();
            foreach (var op in tasks[i].Ops) foreach (var t in op.Outputs) produced.Add(t.Id);
            var seen = new HashSet<int>();
            ins[i] = [];
            foreach (var op in tasks[i].Ops)
                foreach (var t in op.Inputs)
                    if (!produced.Contains(t.Id) && seen.Add(t.Id)) ins[i].Add(t.Id);
            outs[i] = produced.Order().ToList();
            foreach (var id in ins[i]) _tensorRefs[id]++;
        }
        var locals = new List<int>[_n];
        for (var i = 0; i < _n; i++)
        {
            var consumed = new HashSet<int>();
            foreach (var op in tasks[i].Ops) foreach (var t in op.Inputs) consumed.Add(t.Id);
            locals[i] = outs[i].Where(id => _tensorRefs[id] == 0 && consumed.Contains(id) && !_tensorResident[id]).ToList();
        }
        (_inStart, _inTensors) = Compress(ins);
        (_outStart, _outTensors) = Compress(outs);
        (_localStart, _localTensors) = Compress(locals);

        _queue = new EventQueue(Math.Max(16, 2 * (_n + totalTransfers)));
        _timers = new ChannelTimers(channels);
    }

    /// <summary>Runs the program to completion. A simulator runs once.</summary>
    public SimulationResult Run()
    {
        if (_ran) throw new InvalidOperationException("a simulator runs once; create another for another run");
        _ran = true;

        for (var t = 0; t < _tierOcc.Length; t++)
        {
            _tierOcc[t] = _tierResident[t];
            _tierPeak[t] = _tierResident[t];
            if (_tierResident[t] > 0) Publish(SimEventKind.MemoryChange, t, _tierOcc[t]);
        }
        try
        {
            for (var i = 0; i < _n; i++)
                if (_pendingPreds[i] == 0) Ready(i);

            Loop();
        }
        catch (OverflowException)
        {
            // A due time past 2^63 ps (a checked add in Schedule or a channel's due time).
            throw Time.Ps.OutOfRange();
        }

        for (var i = 0; i < _n; i++)
            if (_partsLeft[i] != -1)
                throw new InvalidOperationException($"task {i} never finished: the program has a dependency it cannot satisfy");

        Publish(SimEventKind.SimulationEnd, -1, 0);
        return new SimulationResult(_program, _now, _events,
            _readyPs, _startPs, _launchPs, _computeEndPs, _endPs,
            _trTask, _trChannel, _trBytes, _trStartPs, _trEndPs,
            _chBytes, _chBusy, _engineBusy, _tierPeak, _tierResident);
    }

    /// <summary>The event loop. A simulator runs once, so the loop is compiled fully optimised at
    /// once rather than left to on-stack replacement of a method that is never called again.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
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
                            _computeEndPs[index] = _now;
                            PartDone(index);
                            break;
                        default: Flow(index); break;
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
            ChannelDone(timers.TopChannel);
        }
    }

    /// <summary>The kernel's pending events: the queue plus the channels' completions.</summary>
    private int PendingEvents => _queue.Count + _timers.Count;

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

    private void Ready(int task)
    {
        _readyPs[task] = _now;
        var e = _taskEngine[task];
        if (_freeUnits[e] > 0)
        {
            Start(task);
            return;
        }
        var q = _waitQueue[e];
        var tail = _waitHead[e] + _waitCount[e];
        if (tail >= q.Length) tail -= q.Length;
        q[tail] = task;
        _waitCount[e]++;
    }

    private void Start(int task)
    {
        _freeUnits[_taskEngine[task]]--;
        _startPs[task] = _now;
        for (var k = _outStart[task]; k < _outStart[task + 1]; k++)
        {
            var id = _outTensors[k];
            if (_tensorResident[id]) continue;
            var tier = _tensorTier[id];
            _tierOcc[tier] += _tensorBytes[id];
            if (_tierOcc[tier] > _tierPeak[tier]) _tierPeak[tier] = _tierOcc[tier];
            Publish(SimEventKind.MemoryChange, tier, _tierOcc[tier]);
        }
        Publish(SimEventKind.TaskStart, task, 0);
        Schedule(checked(_now + _taskLatency[task]), EvLaunch, task);
    }

    private void Launch(int task)
    {
        _launchPs[task] = _now;
        var parts = 1;
        for (var k = _taskTrStart[task]; k < _taskTrStart[task + 1]; k++)
        {
            if (_trBytes[k] == 0)
            {
                _trStartPs[k] = _now;
                _trEndPs[k] = _now;
                continue;
            }
            parts++;
            var lat = _chLatency[_trChannel[k]];
            if (lat == 0) Flow(k);
            else Schedule(checked(_now + lat), EvTransferFlow, k);
        }
        _partsLeft[task] = parts;
        Schedule(checked(_now + _taskCompute[task]), EvComputeDone, task);
    }

    private void Flow(int tr)
    {
        var c = _trChannel[tr];
        _trStartPs[tr] = _now;
        Publish(SimEventKind.TransferStart, tr, _trBytes[tr]);
        if (_sharing.Count(c) == 0) _chBusySince[c] = _now;
        // The channel's completion moves only when its earliest due time did.
        if (_sharing.Start(c, tr, _trBytes[tr], _trCap[tr], _now)) SetTimer(c);
    }

    /// <summary>The channel's earliest due transfers have arrived: every transfer due now ends (in the
    /// channel's order), the survivors are re-solved, then the ended transfers' tasks move on.</summary>
    private void ChannelDone(int c)
    {
        var done = _sharing.Finish(c, _now, _done);
        for (var i = 0; i < done; i++)
        {
            var tr = _done[i];
            _trEndPs[tr] = _now;
            _chBytes[c] = checked(_chBytes[c] + _trBytes[tr]);
            Publish(SimEventKind.TransferEnd, tr, _trBytes[tr]);
        }
        if (done > 0 && _sharing.Count(c) == 0) _chBusy[c] += _now - _chBusySince[c];
        SetTimer(c);
        // PartDone never touches a channel synchronously (a started task launches through an event),
        // so the scratch list stays intact while it runs.
        for (var i = 0; i < done; i++) PartDone(_trTask[_done[i]]);
    }

    /// <summary>Points channel <paramref name="c"/>'s completion at its earliest due transfer, as a
    /// newly scheduled event (a fresh sequence number), or drops it when the channel is idle.</summary>
    private void SetTimer(int c)
    {
        var next = _sharing.Next(c);
        if (next != long.MaxValue) _timers.Set(c, next, _seq++);
        else _timers.Remove(c);
    }

    private void PartDone(int task)
    {
        if (--_partsLeft[task] > 0) return;
        _partsLeft[task] = -1;
        _endPs[task] = _now;
        var e = _taskEngine[task];
        _engineBusy[e] += _computeEndPs[task] - _launchPs[task];
        _freeUnits[e]++;
        for (var k = _inStart[task]; k < _inStart[task + 1]; k++)
        {
            var id = _inTensors[k];
            if (_tensorResident[id] || --_tensorRefs[id] > 0) continue;
            var tier = _tensorTier[id];
            _tierOcc[tier] -= _tensorBytes[id];
            Publish(SimEventKind.MemoryChange, tier, _tierOcc[tier]);
        }
        for (var k = _localStart[task]; k < _localStart[task + 1]; k++)
        {
            var id = _localTensors[k];
            var tier = _tensorTier[id];
            _tierOcc[tier] -= _tensorBytes[id];
            Publish(SimEventKind.MemoryChange, tier, _tierOcc[tier]);
        }
        Publish(SimEventKind.TaskEnd, task, 0);
        for (var k = _succStart[task]; k < _succStart[task + 1]; k++)
        {
            var s = _succ[k];
            if (--_pendingPreds[s] == 0) Ready(s);
        }
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

    private void Publish(SimEventKind kind, int index, long value)
    {
        if (_bus is { HasSubscribers: true } bus) bus.Publish(new SimEvent(kind, _now, index, value));
    }

    private int TierIndexOrThrow(string name, Tensor t)
    {
        for (var i = 0; i < _topology.Tiers.Count; i++)
            if (_topology.Tiers[i].Name == name) return i;
        throw new ArgumentException($"tensor '{t.Name}' is placed in tier '{name}', which this device does not have");
    }

    private static (int[] Start, int[] Items) Compress(List<int>[] lists)
    {
        var start = new int[lists.Length + 1];
        for (var i = 0; i < lists.Length; i++) start[i + 1] = start[i] + lists[i].Count;
        var items = new int[start[^1]];
        for (var i = 0; i < lists.Length; i++) lists[i].CopyTo(items, start[i]);
        return (start, items);
    }
}
