using System.Globalization;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Reports.Internal;

namespace AccelSim.Reports;

/// <summary>Chrome/Perfetto trace-event JSON of one run (open it in ui.perfetto.dev or chrome://tracing).
/// One process (pid 1) for the device; one thread track per engine and per channel that sees an event, with
/// extra lanes ("sm #2") only where tasks or transfers overlap on the same resource; "X" complete events for
/// tasks and transfers; "C" counter tracks for memory occupancy per tier that changes, for power and for the
/// bandwidth of each channel that moves bytes. Timestamps
/// are microseconds, written exactly from integer picoseconds (up to 6 decimals). Output is
/// deterministic: one event per line, in the order the simulator published them.</summary>
public static class PerfettoTimeline
{
    public const string Schema = "accelsim.timeline/1";
    private const int Pid = 1;

    /// <summary>Writes the timeline of <paramref name="events"/> (recorded from <paramref name="result"/>'s
    /// run, usually by a <see cref="TimelineRecorder"/>).</summary>
    public static void Write(TextWriter w, ReadOnlySpan<SimEvent> events, SimulationResult result, IDeviceModel device)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(device);
        var program = result.Program;
        var topo = device.Topology;
        var nTasks = program.Tasks.Count;
        var nTransfers = result.TransferTask.Count;
        var nTiers = topo.Tiers.Count;

        // Pass 1: lanes. A start takes the lowest free lane of its resource; an end frees it. A resource
        // gets a track only when something happens on it (an engine with no task, a channel with no byte
        // moved, declares none), and a tier's counter only when its occupancy changes.
        var taskLane = new int[nTasks];
        var trLane = new int[nTransfers];
        var trStartPs = new long[nTransfers];
        var trEndPs = new long[nTransfers];
        var engineLanes = new List<bool>[topo.Engines.Count];
        var channelLanes = new List<bool>[topo.Channels.Count];
        var tierUsed = new bool[nTiers];
        for (var e = 0; e < engineLanes.Length; e++) engineLanes[e] = [];
        for (var c = 0; c < channelLanes.Length; c++) channelLanes[c] = [];
        foreach (var ev in events)
        {
            switch (ev.Kind)
            {
                case SimEventKind.TaskStart:
                    Check(ev.Index, nTasks, "task");
                    taskLane[ev.Index] = Take(engineLanes[program.Tasks[ev.Index].Cost.Engine]);
                    break;
                case SimEventKind.TaskEnd:
                    Check(ev.Index, nTasks, "task");
                    engineLanes[program.Tasks[ev.Index].Cost.Engine][taskLane[ev.Index]] = false;
                    break;
                case SimEventKind.TransferStart:
                    Check(ev.Index, nTransfers, "transfer");
                    trStartPs[ev.Index] = ev.TimePs;
                    if (ev.Value > 0) trLane[ev.Index] = Take(channelLanes[result.TransferChannel[ev.Index]]);
                    break;
                case SimEventKind.TransferEnd:
                    Check(ev.Index, nTransfers, "transfer");
                    trEndPs[ev.Index] = ev.TimePs;
                    if (ev.Value > 0) channelLanes[result.TransferChannel[ev.Index]][trLane[ev.Index]] = false;
                    break;
                case SimEventKind.MemoryChange:
                    Check(ev.Index, nTiers, "tier");
                    tierUsed[ev.Index] = true;
                    break;
            }
        }

        // Thread ids: engines first, then channels, each resource's lanes together.
        var engineTid = new int[topo.Engines.Count];
        var channelTid = new int[topo.Channels.Count];
        var tid = 1;
        for (var e = 0; e < engineTid.Length; e++) { engineTid[e] = tid; tid += engineLanes[e].Count; }
        for (var c = 0; c < channelTid.Length; c++) { channelTid[c] = tid; tid += channelLanes[c].Count; }

        var j = new Emitter(w);
        w.Write("{\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{");
        w.Write("\"schema\":"); j.Str(Schema);
        w.Write(",\"hardware\":"); j.Str(device.Name);
        w.Write(",\"kind\":"); j.Str(device.Kind);
        w.Write(",\"workload\":"); j.Str(program.Graph.Info.Name);
        w.Write(",\"phase\":"); j.Str(program.Graph.Info.Phase);
        w.Write(",\"schedule\":"); j.Str(program.Schedule);
        w.Write(",\"makespan_ps\":"); j.Long(result.MakespanPs);
        w.Write(",\"time_unit\":\"us\"},\n\"traceEvents\":[\n");

        // Metadata.
        j.Meta("process_name", 0, "name", device.Name);
        j.Meta("process_labels", 0, "labels", device.Kind);
        for (var e = 0; e < engineTid.Length; e++)
            for (var l = 0; l < engineLanes[e].Count; l++)
                j.Thread(engineTid[e] + l, LaneName("engine ", topo.Engines[e].Name, l));
        for (var c = 0; c < channelTid.Length; c++)
            for (var l = 0; l < channelLanes[c].Count; l++)
                j.Thread(channelTid[c] + l, LaneName("channel ", topo.Channels[c].Name, l));

        // Counters at time zero: power starts at the static draw; tiers whose occupancy changes but that
        // the simulator does not announce (nothing resident) start empty; every channel that carries bytes
        // starts its bandwidth counter at 0.
        var tierCounter = new string[nTiers];
        for (var t = 0; t < nTiers; t++)
        {
            tierCounter[t] = "memory " + topo.Tiers[t].Name;
            if (tierUsed[t] && result.TierResidentBytes[t] == 0) j.Counter(tierCounter[t], 0, "bytes", 0);
        }
        var staticW = device.StaticPowerW;
        j.Counter("power", 0, "W", staticW);
        var bandwidth = new ChannelBandwidth(topo, TransferCaps(result), trStartPs, trEndPs);
        for (var c = 0; c < channelLanes.Length; c++)
            if (channelLanes[c].Count > 0) j.Counter(bandwidth.Name(c, topo.Channels[c].Name), 0, "B_per_s", 0.0);

        // Pass 2: events in published order.
        var taskStart = new long[nTasks];
        var trStart = new long[nTransfers];
        var dynamicW = 0.0;
        var running = 0;
        foreach (var ev in events)
        {
            switch (ev.Kind)
            {
                case SimEventKind.TaskStart:
                {
                    var i = ev.Index;
                    taskStart[i] = ev.TimePs;
                    running++;
                    dynamicW += TaskPowerW(program.Tasks[i].Cost, result.TaskStartPs[i], result.TaskEndPs[i]);
                    j.Counter("power", ev.TimePs, "W", staticW + dynamicW);
                    break;
                }
                case SimEventKind.TaskEnd:
                {
                    var i = ev.Index;
                    var task = program.Tasks[i];
                    var cost = task.Cost;
                    var (cPs, mPs, lPs) = MetricsCalculator.IsolatedTimes(cost, topo);
                    long flops = 0, bytes = 0;
                    foreach (var op in task.Ops) flops += op.Flops;
                    foreach (var t in cost.Transfers) bytes += t.Bytes;
                    j.BeginX(task.Name, "task", engineTid[cost.Engine] + taskLane[i], taskStart[i], ev.TimePs - taskStart[i]);
                    w.Write("\"task\":"); j.Long(i);
                    w.Write(",\"kind\":"); j.Str(Kinds(task.Ops));
                    w.Write(",\"ops\":"); j.Long(task.Ops.Count);
                    w.Write(",\"flops\":"); j.Long(flops);
                    w.Write(",\"bytes\":"); j.Long(bytes);
                    w.Write(",\"bound\":"); j.Str(MetricsCalculator.Classify(cost, cPs, mPs, lPs).Name());
                    if (cost.Note is not null) { w.Write(",\"note\":"); j.Str(cost.Note); }
                    j.EndX();
                    running--;
                    if (running == 0) dynamicW = 0; // no drift once idle
                    else dynamicW -= TaskPowerW(cost, result.TaskStartPs[i], result.TaskEndPs[i]);
                    j.Counter("power", ev.TimePs, "W", staticW + dynamicW);
                    break;
                }
                case SimEventKind.TransferStart:
                    trStart[ev.Index] = ev.TimePs;
                    if (ev.Value > 0)
                    {
                        var c = result.TransferChannel[ev.Index];
                        bandwidth.Start(c, ev.Index, ev.Value);
                        j.Counter(bandwidth.Name(c, topo.Channels[c].Name), ev.TimePs, "B_per_s", bandwidth.Rate(c));
                    }
                    break;
                case SimEventKind.TransferEnd:
                {
                    var k = ev.Index;
                    var c = result.TransferChannel[k];
                    if (ev.Value <= 0) break;
                    bandwidth.End(c, k);
                    j.Counter(bandwidth.Name(c, topo.Channels[c].Name), ev.TimePs, "B_per_s", bandwidth.Rate(c));
                    var owner = result.TransferTask[k];
                    var dur = ev.TimePs - trStart[k];
                    j.BeginX(program.Tasks[owner].Name, "transfer", channelTid[c] + trLane[k], trStart[k], dur);
                    w.Write("\"task\":"); j.Long(owner);
                    w.Write(",\"channel\":"); j.Str(topo.Channels[c].Name);
                    w.Write(",\"bytes\":"); j.Long(ev.Value);
                    w.Write(",\"achieved_GB_per_s\":");
                    j.Double(dur > 0 ? Math.Round(ev.Value / (dur * 1e-12) / 1e9, 6) : 0);
                    j.EndX();
                    break;
                }
                case SimEventKind.MemoryChange:
                    j.Counter(tierCounter[ev.Index], ev.TimePs, "bytes", ev.Value);
                    break;
                case SimEventKind.SimulationEnd:
                    j.Counter("power", ev.TimePs, "W", 0);
                    break;
            }
        }
        w.Write("\n]}\n");
    }

    /// <summary>Each transfer's rate cap, from the op cost that asked for it: the kernel adds a task's transfers
    /// in its cost's order, so the k-th transfer of a task is the k-th demand of its cost. Null when a result's
    /// transfers do not line up with its program's demands (then the counter falls back to average rates).</summary>
    private static double[]? TransferCaps(SimulationResult result)
    {
        var program = result.Program;
        var n = result.TransferTask.Count;
        var caps = new double[n];
        var next = new int[program.Tasks.Count];
        for (var k = 0; k < n; k++)
        {
            var owner = result.TransferTask[k];
            if ((uint)owner >= (uint)next.Length) return null;
            var demands = program.Tasks[owner].Cost.Transfers;
            var at = next[owner]++;
            if (at >= demands.Count || demands[at].Channel != result.TransferChannel[k]) return null;
            caps[k] = demands[at].RateCap_Bps;
        }
        return caps;
    }

    /// <summary>The bytes per second each channel carries. A channel shares its bandwidth max-min fairly among
    /// the transfers flowing on it, each under its cap (water-filling), so between two of its events it carries
    /// exactly min(bandwidth, sum of the flowing transfers' caps): the counter is that figure, exact, and never
    /// above the channel's bandwidth. Sums run in the order transfers started, so the figure is the same on
    /// every machine; exactly 0 when none is in flight. Where caps are unknown it sums each transfer's average
    /// rate (bytes over duration), capped at the channel's bandwidth.</summary>
    private sealed class ChannelBandwidth(DeviceTopology topo, double[]? caps, long[] startPs, long[] endPs)
    {
        private readonly List<(int Transfer, double Bps)>[] _active = NewLists(topo.Channels.Count);
        private readonly string?[] _names = new string?[topo.Channels.Count];

        public string Name(int channel, string name) => _names[channel] ??= "bandwidth " + name;

        public void Start(int channel, int transfer, long bytes)
        {
            double bps;
            if (caps is not null) bps = caps[transfer];
            else
            {
                var dur = endPs[transfer] - startPs[transfer];
                bps = dur > 0 ? bytes / (dur * 1e-12) : 0;
            }
            _active[channel].Add((transfer, bps));
        }

        public void End(int channel, int transfer)
        {
            var list = _active[channel];
            for (var i = 0; i < list.Count; i++)
            {
                if (list[i].Transfer != transfer) continue;
                list.RemoveAt(i);
                return;
            }
        }

        public double Rate(int channel)
        {
            var sum = 0.0;
            foreach (var (_, bps) in _active[channel]) sum += bps;
            return Math.Min(sum, topo.Channels[channel].Bandwidth_Bps);
        }

        private static List<(int, double)>[] NewLists(int n)
        {
            var lists = new List<(int, double)>[n];
            for (var i = 0; i < n; i++) lists[i] = [];
            return lists;
        }
    }

    /// <summary>A task's dynamic energy spread evenly over its run, in watts (pJ per ps).</summary>
    private static double TaskPowerW(OpCost cost, long startPs, long endPs)
    {
        if (endPs <= startPs) return 0;
        var pj = cost.ComputeEnergyPj;
        foreach (var t in cost.Transfers) pj += t.EnergyPj;
        return pj / (endPs - startPs);
    }

    private static string Kinds(IReadOnlyList<Op> ops)
    {
        if (ops.Count == 1) return ops[0].Kind.Name();
        var seen = new List<OpKind>();
        foreach (var o in ops)
            if (!seen.Contains(o.Kind)) seen.Add(o.Kind);
        return string.Join('+', seen.Select(k => k.Name()));
    }

    private static string LaneName(string prefix, string name, int lane) =>
        lane == 0 ? prefix + name : prefix + name + " #" + (lane + 1).ToString(CultureInfo.InvariantCulture);

    private static int Take(List<bool> lanes)
    {
        for (var i = 0; i < lanes.Count; i++)
        {
            if (lanes[i]) continue;
            lanes[i] = true;
            return i;
        }
        lanes.Add(true);
        return lanes.Count - 1;
    }

    private static void Check(int index, int count, string what)
    {
        if (index < 0 || index >= count)
            throw new ArgumentException($"a recorded event names {what} {index}, which the result does not have: the events come from another run");
    }

    /// <summary>Writes trace events one per line, numbers in the invariant culture.</summary>
    private sealed class Emitter(TextWriter w) : TraceEventWriter(w)
    {
        public void Meta(string name, int tid, string key, string value)
        {
            Next();
            Out.Write("{\"name\":"); Str(name);
            Out.Write(",\"ph\":\"M\",\"pid\":"); Long(Pid);
            Out.Write(",\"tid\":"); Long(tid);
            OneArg(key, value);
        }

        public void Thread(int tid, string name)
        {
            Meta("thread_name", tid, "name", name);
            Next();
            Out.Write("{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":"); Long(Pid);
            Out.Write(",\"tid\":"); Long(tid);
            OneArg("sort_index", tid);
        }

        public void Counter(string name, long ps, string key, double value)
        {
            CounterHead(name, ps);
            OneArg(key, value);
        }

        public void Counter(string name, long ps, string key, long value)
        {
            CounterHead(name, ps);
            OneArg(key, value);
        }

        private void CounterHead(string name, long ps)
        {
            Next();
            Out.Write("{\"name\":"); Str(name);
            Out.Write(",\"ph\":\"C\",\"pid\":"); Long(Pid);
            Out.Write(",\"ts\":"); Us(ps);
        }

        public void BeginX(string name, string cat, int tid, long startPs, long durPs)
        {
            Next();
            Out.Write("{\"name\":"); Str(name);
            Out.Write(",\"cat\":"); Str(cat);
            Out.Write(",\"ph\":\"X\",\"pid\":"); Long(Pid);
            Out.Write(",\"tid\":"); Long(tid);
            Out.Write(",\"ts\":"); Us(startPs);
            Out.Write(",\"dur\":"); Us(durPs);
            Out.Write(",\"args\":{");
        }

        public void EndX() => Out.Write("}}");
    }
}
