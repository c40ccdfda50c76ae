using System.Globalization;
using AccelSim.Core.Systems;
using AccelSim.Reports.Internal;

namespace AccelSim.Reports;

/// <summary>Chrome/Perfetto trace-event JSON of a system run (<see cref="SystemResult"/>). One process per
/// simulated device (pid 1.., named <c>r{rank} {device}</c>): a track per engine with its tasks, a track
/// <c>segments</c> with the rank's segments (compute and communication, by label), extra lanes
/// (<c>#2</c>) only where spans overlap. One process <c>network</c> (the last pid): a track per collective
/// lane with each collective from start to end, and a counter track per link that carried bytes with the
/// flows moving on it. Timestamps are microseconds written exactly from integer picoseconds; events are
/// written in a fixed order, so the same result gives byte-identical text.</summary>
public static class SystemTimeline
{
    public const string Schema = "accelsim.timeline/1";

    public static void Write(TextWriter w, SystemResult result)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(result);
        var j = new Emitter(w);
        w.Write("{\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{");
        w.Write("\"schema\":"); j.Str(Schema);
        w.Write(",\"system\":"); j.Str(result.SystemName);
        w.Write(",\"workload\":"); j.Str(result.Name);
        w.Write(",\"schedule\":"); j.Str(result.Schedule);
        w.Write(",\"makespan_ps\":"); j.Long(result.MakespanPs);
        w.Write(",\"time_unit\":\"us\"},\n\"traceEvents\":[\n");

        for (var i = 0; i < result.Ranks.Count; i++)
        {
            var r = result.Ranks[i];
            var pid = i + 1;
            var topo = r.Device.Topology;
            j.Meta(pid, "process_name", 0, "name", $"r{r.Rank} {r.DeviceName}");
            j.Meta(pid, "process_labels", 0, "labels", r.DeviceKind);
            j.Meta(pid, "process_sort_index", 0, "sort_index", pid);

            // Segments first (tid 1..), then each engine's lanes.
            var segs = r.Segments;
            var segLane = Lanes(segs.Count, k => segs[k].StartPs, k => segs[k].EndPs, out var segLanes);
            var program = r.Result.Program;
            var tasks = program.Tasks.Count;
            var engines = topo.Engines.Count;
            var taskLane = new int[tasks];
            var engineLanes = new int[engines];
            for (var e = 0; e < engines; e++)
            {
                var mine = Enumerable.Range(0, tasks).Where(t => program.Tasks[t].Cost.Engine == e).ToArray();
                var lanes = Lanes(mine.Length, k => r.Result.TaskStartPs[mine[k]], k => r.Result.TaskEndPs[mine[k]], out engineLanes[e]);
                for (var k = 0; k < mine.Length; k++) taskLane[mine[k]] = lanes[k];
            }
            var engineTid = new int[engines];
            // A track only where spans fall: an engine with no task and a rank with no segment declare none.
            var tid = 1 + segLanes;
            for (var e = 0; e < engines; e++) { engineTid[e] = tid; tid += engineLanes[e]; }
            for (var l = 0; l < segLanes; l++) j.Thread(pid, 1 + l, LaneName("segments", l));
            for (var e = 0; e < engines; e++)
                for (var l = 0; l < engineLanes[e]; l++) j.Thread(pid, engineTid[e] + l, LaneName("engine " + topo.Engines[e].Name, l));

            for (var k = 0; k < segs.Count; k++)
            {
                var s = segs[k];
                j.BeginX(s.Label, s.IsComm ? "communication" : "compute", pid, 1 + segLane[k], s.StartPs, s.EndPs - s.StartPs);
                w.Write("\"segment\":"); j.Long(s.Index);
                if (s.Key is not null) { w.Write(",\"key\":"); j.Str(s.Key); }
                w.Write(",\"ready_us\":"); j.Us(s.ReadyPs);
                j.EndX();
            }
            for (var t = 0; t < tasks; t++)
            {
                var task = program.Tasks[t];
                long flops = 0, bytes = 0;
                foreach (var op in task.Ops) flops += op.Flops;
                foreach (var x in task.Cost.Transfers) bytes += x.Bytes;
                var start = r.Result.TaskStartPs[t];
                j.BeginX(task.Name, "task", pid, engineTid[task.Cost.Engine] + taskLane[t], start, r.Result.TaskEndPs[t] - start);
                w.Write("\"task\":"); j.Long(t);
                w.Write(",\"flops\":"); j.Long(flops);
                w.Write(",\"bytes\":"); j.Long(bytes);
                j.EndX();
            }
        }

        // The network: collectives in lanes, a counter of moving flows per link.
        var net = result.Ranks.Count + 1;
        j.Meta(net, "process_name", 0, "name", "network");
        j.Meta(net, "process_sort_index", 0, "sort_index", net);
        var colls = result.Collectives;
        var collLane = Lanes(colls.Count, k => colls[k].StartPs, k => colls[k].EndPs, out var collLanes);
        for (var l = 0; l < collLanes; l++) j.Thread(net, 1 + l, LaneName("collectives", l));
        for (var k = 0; k < colls.Count; k++)
        {
            var c = colls[k];
            j.BeginX(c.Key, "collective", net, 1 + collLane[k], c.StartPs, c.DurationPs);
            w.Write("\"kind\":"); j.Str(SystemReport.Kebab(c.Kind.ToString()));
            w.Write(",\"algorithm\":"); j.Str(SystemReport.Kebab(c.Algorithm.ToString()));
            w.Write(",\"bytes\":"); j.Long(c.Bytes);
            w.Write(",\"ranks\":"); j.Long(c.Group.Count);
            w.Write(",\"bus_bandwidth_GB_per_s\":"); j.Double(Math.Round(c.BusBandwidth_Bps / 1e9, 6));
            j.EndX();
        }
        // Per link: the flows moving on it, and the bytes per second it carries (each flow in flight counted
        // at its average rate, bytes over duration), sampled where a flow starts or ends. The rates are
        // summed in flow order, so the text is the same on every machine.
        var changes = new List<(long Time, int Delta, int Flow)>?[result.Links.Count];
        for (var fi = 0; fi < result.Flows.Count; fi++)
        {
            var f = result.Flows[fi];
            if (f.EndPs <= f.StartPs) continue;
            foreach (var l in f.Links)
            {
                var list = changes[l] ??= [];
                list.Add((f.StartPs, 1, fi));
                list.Add((f.EndPs, -1, fi));
            }
        }
        for (var l = 0; l < changes.Length; l++)
        {
            if (changes[l] is not { } list) continue;
            list.Sort();
            var name = "link " + result.Links[l].Name;
            var bwName = "bandwidth " + result.Links[l].Name;
            j.Counter(net, name, 0, "flows", 0);
            j.Counter(net, bwName, 0, "B_per_s", 0.0);
            var level = 0;
            var active = new SortedSet<int>();
            for (var k = 0; k < list.Count; k++)
            {
                level += list[k].Delta;
                if (list[k].Delta > 0) active.Add(list[k].Flow);
                else active.Remove(list[k].Flow);
                if (k + 1 < list.Count && list[k + 1].Time == list[k].Time) continue;
                j.Counter(net, name, list[k].Time, "flows", level);
                var bps = 0.0;
                foreach (var fi in active)
                {
                    var f = result.Flows[fi];
                    bps += f.Bytes / ((f.EndPs - f.StartPs) * 1e-12);
                }
                j.Counter(net, bwName, list[k].Time, "B_per_s", bps);
            }
        }
        w.Write("\n]}\n");
    }

    /// <summary>Lowest-free-lane assignment of spans in start order (ties by index); lanes used in <paramref name="count"/>.</summary>
    private static int[] Lanes(int n, Func<int, long> start, Func<int, long> end, out int count)
    {
        var order = Enumerable.Range(0, n).OrderBy(start).ThenBy(k => k).ToArray();
        var lane = new int[n];
        var busyUntil = new List<long>();
        foreach (var k in order)
        {
            var s = start(k);
            var free = busyUntil.FindIndex(u => u <= s);
            if (free < 0)
            {
                free = busyUntil.Count;
                busyUntil.Add(0);
            }
            busyUntil[free] = Math.Max(s, end(k));
            lane[k] = free;
        }
        count = busyUntil.Count;
        return lane;
    }

    private static string LaneName(string name, int lane) =>
        lane == 0 ? name : name + " #" + (lane + 1).ToString(CultureInfo.InvariantCulture);

    /// <summary>Writes trace events one per line, numbers in the invariant culture.</summary>
    private sealed class Emitter(TextWriter w) : TraceEventWriter(w)
    {
        public void Meta(int pid, string name, int tid, string arg, string value)
        {
            Next();
            Out.Write("{\"ph\":\"M\",\"pid\":"); Long(pid);
            Out.Write(",\"tid\":"); Long(tid);
            Out.Write(",\"name\":"); Str(name);
            OneArg(arg, value);
        }

        public void Meta(int pid, string name, int tid, string arg, long value)
        {
            Next();
            Out.Write("{\"ph\":\"M\",\"pid\":"); Long(pid);
            Out.Write(",\"tid\":"); Long(tid);
            Out.Write(",\"name\":"); Str(name);
            OneArg(arg, value);
        }

        public void Thread(int pid, int tid, string name)
        {
            Meta(pid, "thread_name", tid, "name", name);
            Meta(pid, "thread_sort_index", tid, "sort_index", tid);
        }

        public void BeginX(string name, string cat, int pid, int tid, long startPs, long durPs)
        {
            Next();
            Out.Write("{\"ph\":\"X\",\"pid\":"); Long(pid);
            Out.Write(",\"tid\":"); Long(tid);
            Out.Write(",\"name\":"); Str(name);
            Out.Write(",\"cat\":"); Str(cat);
            Out.Write(",\"ts\":"); Us(startPs);
            Out.Write(",\"dur\":"); Us(Math.Max(0, durPs));
            Out.Write(",\"args\":{");
        }

        public void EndX() => Out.Write("}}");

        public void Counter(int pid, string name, long timePs, string series, long value)
        {
            CounterHead(pid, name, timePs);
            OneArg(series, value);
        }

        public void Counter(int pid, string name, long timePs, string series, double value)
        {
            CounterHead(pid, name, timePs);
            OneArg(series, value);
        }

        private void CounterHead(int pid, string name, long timePs)
        {
            Next();
            Out.Write("{\"ph\":\"C\",\"pid\":"); Long(pid);
            Out.Write(",\"name\":"); Str(name);
            Out.Write(",\"ts\":"); Us(timePs);
        }
    }
}
