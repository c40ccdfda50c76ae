using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;

namespace AccelSim.Core.Metrics;

/// <summary>Turns a simulation result into the report metrics: utilisation, energy, memory and the
/// memory wall. Observes only; never changes timing.</summary>
public static class MetricsCalculator
{
    /// <summary>The isolated times of a task's parts: compute, the slowest channel's transfers as the
    /// task alone would see them (plus that channel's latency), and start-up latency. A task's transfers
    /// on one channel flow concurrently: they take the longer of all their bytes at the channel's
    /// bandwidth and the slowest one at its own cap, after the channel's latency once.</summary>
    public static (long ComputePs, long MemoryPs, long LatencyPs) PartTimes(OpCost cost, DeviceTopology topology)
    {
        var channels = topology.Channels.Count;
        Span<double> bytes = stackalloc double[channels];
        Span<double> slowest = stackalloc double[channels];
        bytes.Clear();
        slowest.Clear();
        foreach (var t in cost.Transfers)
        {
            if (t.Bytes == 0) continue;
            var ch = topology.Channels[t.Channel];
            bytes[t.Channel] += t.Bytes;
            slowest[t.Channel] = Math.Max(slowest[t.Channel], t.Bytes / Math.Min(t.RateCap_Bps, ch.Bandwidth_Bps));
        }
        double mem = 0;
        for (var c = 0; c < channels; c++)
        {
            if (bytes[c] == 0) continue;
            var ch = topology.Channels[c];
            mem = Math.Max(mem, Math.Max(bytes[c] / ch.Bandwidth_Bps, slowest[c]) * Ps.PerSecond + ch.LatencyPs);
        }
        return (cost.ComputePs, (long)Math.Ceiling(mem), cost.LatencyPs);
    }

    /// <summary>What limits a task, each part alone: its math (<see cref="OpCost.MathPs"/> where the device
    /// separates it from phases paced by bytes), its traffic, its start-up latency. Reports and the bound
    /// classification use these; <see cref="PartTimes"/> is the time the simulator spends.</summary>
    public static (long ComputePs, long MemoryPs, long LatencyPs) IsolatedTimes(OpCost cost, DeviceTopology topology)
    {
        var (c, m, l) = PartTimes(cost, topology);
        return (cost.MathPs ?? c, m, l);
    }

    /// <summary>The bound of a task: <see cref="Classify(long, long, long)"/>, with a compute bound set
    /// by the device's power limit (<see cref="OpCost.PowerLimit"/>) reported as <see cref="Bound.Power"/>.</summary>
    public static Bound Classify(OpCost cost, long computePs, long memoryPs, long latencyPs)
    {
        ArgumentNullException.ThrowIfNull(cost);
        var bound = Classify(computePs, memoryPs, latencyPs);
        return bound == Bound.Compute && cost.PowerLimit is not null ? Bound.Power : bound;
    }

    public static Bound Classify(long computePs, long memoryPs, long latencyPs)
    {
        if (latencyPs >= computePs && latencyPs >= memoryPs) return Bound.Latency;
        return memoryPs > computePs ? Bound.Memory : Bound.Compute;
    }

    public static RunMetrics Compute(SimulationResult result, IDeviceModel device)
    {
        var program = result.Program;
        var topo = device.Topology;
        var makespan = result.MakespanPs;
        var makespanS = Ps.ToSeconds(makespan);
        var tierNames = topo.Tiers.Select(t => t.Name).ToArray();

        // Traffic and its energy are accounted per tier, and per link under the link's own name.
        var trafficNames = topo.TrafficNames;
        var memoryEnergyPj = new double[trafficNames.Count];
        double computeEnergyPj = 0;
        double flopTime = 0;
        long totalFlops = 0;
        var memoryBoundOps = 0;
        var memoryBoundSpans = new List<(long Start, long End)>();
        long stallPs = 0;
        var flopsByDType = new Dictionary<DType, long>();
        // Every op instance, by task and place in its task, with its start and id to sort by: the records
        // themselves are made when asked (a system rank runs millions of op instances).
        var opTask = new List<int>(program.Graph.Ops.Count);
        var opIndex = new List<int>(program.Graph.Ops.Count);
        var opStart = new List<long>(program.Graph.Ops.Count);
        var opId = new List<int>(program.Graph.Ops.Count);
        var accountOfChannel = topo.Channels.Select(c => IndexOf(trafficNames, c.TrafficName)).ToArray();

        var facts = new Dictionary<OpCost, CostFacts>(ReferenceEqualityComparer.Instance);
        long hostBusyPs = 0;
        var deviceSpans = new List<(long Start, long End)>(program.Tasks.Count);
        for (var i = 0; i < program.Tasks.Count; i++)
        {
            var task = program.Tasks[i];
            var cost = task.Cost;
            if (task.HostOnly)
            {
                hostBusyPs += result.TaskEndPs[i] - result.TaskStartPs[i];
                continue;
            }
            deviceSpans.Add((result.TaskStartPs[i], result.TaskEndPs[i]));
            // Tasks that share a cost (instances of one mapped task in a system run) share what depends on it alone.
            if (!facts.TryGetValue(cost, out var fact))
            {
                var (c0, m0, l0) = IsolatedTimes(cost, topo);
                var tierBytes = new SortedDictionary<string, long>(StringComparer.Ordinal);
                foreach (var t in cost.Transfers)
                {
                    var account = accountOfChannel[t.Channel];
                    tierBytes[trafficNames[account]] = checked(tierBytes.GetValueOrDefault(trafficNames[account]) + t.Bytes);
                }
                facts[cost] = fact = new CostFacts(c0, m0, l0, Classify(cost, c0, m0, l0), tierBytes);
            }
            var (_, _, _, bound, _) = fact;
            var start = result.TaskStartPs[i];
            var end = result.TaskEndPs[i];
            if (bound == Bound.Memory)
            {
                memoryBoundOps += task.Ops.Count;
                memoryBoundSpans.Add((start, end));
            }
            var wait = end - result.TaskLaunchPs[i] - (cost.MathPs ?? cost.ComputePs);
            if (wait > 0) stallPs += wait;

            computeEnergyPj += cost.ComputeEnergyPj;
            foreach (var t in cost.Transfers)
            {
                var account = accountOfChannel[t.Channel];
                memoryEnergyPj[account] += t.EnergyPj;
            }

            for (var k = 0; k < task.Ops.Count; k++)
            {
                var op = task.Ops[k];
                var dtype = device.ComputeDType(op);
                var peak = device.PeakFlops(dtype);
                if (peak > 0) flopTime += op.Flops / peak;
                // Totals are checked: a sum past 2^63 - 1 stops the run rather than wrapping.
                totalFlops = checked(totalFlops + op.Flops);
                flopsByDType[dtype] = checked(flopsByDType.GetValueOrDefault(dtype) + op.Flops);
                opTask.Add(i);
                opIndex.Add(k);
                opStart.Add(start);
                opId.Add(op.Id);
            }
        }
        // In order of start, then op id.
        var order = new int[opTask.Count];
        for (var j = 0; j < order.Length; j++) order[j] = j;
        Array.Sort(order, (a, b) => opStart[a] != opStart[b] ? opStart[a].CompareTo(opStart[b]) : opId[a] != opId[b] ? opId[a].CompareTo(opId[b]) : a.CompareTo(b));
        var sortedTask = new int[order.Length];
        var sortedIndex = new int[order.Length];
        for (var j = 0; j < order.Length; j++)
        {
            sortedTask[j] = opTask[order[j]];
            sortedIndex[j] = opIndex[order[j]];
        }
        var ops = new OpList(result, device, facts, sortedTask, sortedIndex);

        // Memory-bound time is the union of the memory-bound tasks' spans, so that tasks running at
        // the same time on several units count once and the fraction stays within [0, 1].
        var memoryBoundPs = UnionLength(memoryBoundSpans);
        var deviceIdlePs = makespan - UnionLength(deviceSpans);

        var main = device.MainMemoryChannel;
        var mainCh = topo.Channels[main];
        long offChipBytes = 0;
        var bytesMoved = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (var c = 0; c < topo.Channels.Count; c++)
        {
            if (topo.Channels[c].OffChip) offChipBytes = checked(offChipBytes + result.ChannelBytes[c]);
            var account = topo.Channels[c].TrafficName;
            bytesMoved[account] = checked(bytesMoved.GetValueOrDefault(account) + result.ChannelBytes[c]);
        }
        var byChannel = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (var c = 0; c < topo.Channels.Count; c++) byChannel[topo.Channels[c].Name] = result.ChannelBytes[c];
        var dominant = flopsByDType.Count == 0 ? DType.Bf16 : flopsByDType.MaxBy(kv => kv.Value).Key;
        var ridge = device.PeakFlops(dominant) / mainCh.Bandwidth_Bps;

        var capacity = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var peakBytes = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var spilled = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var over = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var tensorsById = program.Graph.Tensors.ToDictionary(t => t.Id);
        for (var t = 0; t < topo.Tiers.Count; t++)
        {
            capacity[tierNames[t]] = topo.Tiers[t].CapacityBytes;
            peakBytes[tierNames[t]] = result.TierPeakBytes[t];
            over[tierNames[t]] = Math.Max(0, result.TierPeakBytes[t] - topo.Tiers[t].CapacityBytes);
            spilled[tierNames[t]] = 0;
        }

        // Spilled: put in a slower tier because it did not fit in a faster one. Nothing spills into the
        // fastest placement tier (an expert switched into main memory is a copy, not a spill).
        var top = Memory.Placement.Tiers(device)[0];
        foreach (var (id, tier) in program.Graph.TierOf)
            if (tier != top && tensorsById.TryGetValue(id, out var tensor) && spilled.ContainsKey(tier)) spilled[tier] = checked(spilled[tier] + tensor.Bytes);

        var memJ = new SortedDictionary<string, double>(StringComparer.Ordinal);
        for (var t = 0; t < trafficNames.Count; t++) memJ[trafficNames[t]] = memoryEnergyPj[t] * 1e-12;
        var staticJ = device.StaticPowerW * makespanS;
        var energy = new EnergyMetrics(computeEnergyPj * 1e-12 + memJ.Values.Sum() + staticJ, computeEnergyPj * 1e-12, memJ, staticJ);

        var info = program.Graph.Info;
        var peakPowerW = PeakPower(program, result, device);
        return new RunMetrics(
            device.Name, device.Kind, info, program.Graph.Ops.Count, program.Schedule,
            makespanS,
            makespanS > 0 ? info.Tokens / makespanS : 0,
            makespanS > 0 ? flopTime / makespanS : 0,
            makespanS > 0 ? result.ChannelBytes[main] / (mainCh.Bandwidth_Bps * makespanS) : 0,
            totalFlops,
            offChipBytes,
            energy,
            new MemoryMetrics(capacity, peakBytes, spilled, bytesMoved, over)
            {
                BytesMovedByChannel = byChannel,
                StallSByChannel = ChannelStalls(result, topo),
            },
            new MemoryWallMetrics(memoryBoundOps, makespan > 0 ? memoryBoundPs / (double)makespan : 0, Ps.ToSeconds(stallPs),
                offChipBytes > 0 ? totalFlops / (double)offChipBytes : totalFlops > 0 ? double.PositiveInfinity : 0, ridge),
            ops,
            Ps.ToSeconds(hostBusyPs),
            Ps.ToSeconds(deviceIdlePs),
            peakPowerW);
    }

    /// <summary>Highest board power over the run: static power plus the dynamic power of every task
    /// running at that moment, each task's dynamic energy spread evenly over its span (the same
    /// power the timeline's power counter shows).</summary>
    public static double PeakPower(SimProgram program, SimulationResult result, IDeviceModel device)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(device);
        var edges = new List<(long T, int Order, double W)>();
        for (var i = 0; i < program.Tasks.Count; i++)
        {
            var task = program.Tasks[i];
            long s = result.TaskStartPs[i], e = result.TaskEndPs[i];
            if (task.HostOnly || e <= s) continue;
            var pj = task.Cost.ComputeEnergyPj;
            foreach (var t in task.Cost.Transfers) pj += t.EnergyPj;
            var w = pj / (e - s); // pJ per ps = W
            edges.Add((s, 1, w));
            edges.Add((e, 0, -w)); // ends before starts at the same instant
        }
        edges.Sort((a, b) => a.T != b.T ? a.T.CompareTo(b.T) : a.Order.CompareTo(b.Order));
        double now = 0, peak = 0;
        foreach (var (_, _, w) in edges)
        {
            now += w;
            if (now > peak) peak = now;
        }
        return device.StaticPowerW + peak;
    }

    /// <summary>Seconds engines waited on each channel (see <see cref="MemoryMetrics.StallSByChannel"/>).</summary>
    public static IReadOnlyDictionary<string, double> ChannelStalls(SimulationResult result, DeviceTopology topology)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(topology);
        var program = result.Program;
        var n = program.Tasks.Count;
        // The channel that held each task up: its last transfer to finish; when several finish together
        // (a copy's bytes crossing a link and landing in memory at the link's pace), the slowest channel.
        const long tiePs = 1000;
        var lastChannel = new int[n];
        var lastEnd = new long[n];
        Array.Fill(lastChannel, -1);
        for (var k = 0; k < result.TransferTask.Count; k++)
        {
            var t = result.TransferTask[k];
            if (result.TransferBytes[k] == 0) continue;
            var end = result.TransferEndPs[k];
            var ch = result.TransferChannel[k];
            var take = lastChannel[t] < 0 || end > lastEnd[t] + tiePs
                || (end >= lastEnd[t] - tiePs && topology.Channels[ch].Bandwidth_Bps < topology.Channels[lastChannel[t]].Bandwidth_Bps);
            if (take)
            {
                lastChannel[t] = ch;
                lastEnd[t] = Math.Max(end, lastChannel[t] < 0 ? end : lastEnd[t]);
            }
        }
        var stall = new long[topology.Channels.Count];
        for (var i = 0; i < n; i++)
        {
            var task = program.Tasks[i];
            if (task.HostOnly) continue;
            // Waiting for its own transfers after its compute.
            var own = result.TaskEndPs[i] - result.TaskLaunchPs[i] - (task.Cost.MathPs ?? task.Cost.ComputePs);
            if (own > 0 && lastChannel[i] >= 0 && task.Cost.ComputePs > 0) stall[lastChannel[i]] += own;

            // Idle, waiting for a copy on another engine.
            long sameEngineEnd = 0;
            var latest = -1;
            foreach (var p in program.Predecessors[i])
            {
                if (program.Tasks[p].Cost.Engine == task.Cost.Engine) sameEngineEnd = Math.Max(sameEngineEnd, result.TaskEndPs[p]);
                else if (latest < 0 || result.TaskEndPs[p] > result.TaskEndPs[latest]) latest = p;
            }
            if (latest < 0 || lastChannel[latest] < 0) continue;
            var copy = program.Tasks[latest];
            if (copy.HostOnly || copy.Cost.ComputePs > 0) continue;
            var waited = result.TaskEndPs[latest] - sameEngineEnd;
            if (waited > 0 && result.TaskStartPs[i] >= result.TaskEndPs[latest]) stall[lastChannel[latest]] += waited;
        }
        var map = new SortedDictionary<string, double>(StringComparer.Ordinal);
        for (var c = 0; c < stall.Length; c++) map[topology.Channels[c].Name] = Ps.ToSeconds(stall[c]);
        return map;
    }

    /// <summary>What a task's metrics take from its cost alone: isolated times, bound, bytes per traffic account
    /// (read-only once made, so ops of tasks that share a cost share it).</summary>
    /// <summary>Every op instance of a run as <see cref="OpMetrics"/>, each record made when asked from the task
    /// it ran in: a fused task's time, energy and bytes are shared by its ops in proportion to their FLOPs (or
    /// equally when it has none), so every op appears once and totals are conserved.</summary>
    private sealed class OpList(SimulationResult result, IDeviceModel device, Dictionary<OpCost, CostFacts> facts, int[] task, int[] index)
        : IReadOnlyList<OpMetrics>
    {
        public int Count => task.Length;

        public OpMetrics this[int j]
        {
            get
            {
                var i = task[j];
                var t = result.Program.Tasks[i];
                var cost = t.Cost;
                var (cPs, mPs, lPs, bound, bytesByTier) = facts[cost];
                var start = result.TaskStartPs[i];
                var end = result.TaskEndPs[i];
                double dynPj = cost.ComputeEnergyPj;
                foreach (var x in cost.Transfers) dynPj += x.EnergyPj;
                var taskFlops = t.Ops.Sum(o => o.Flops);
                var energyJ = dynPj * 1e-12 + device.StaticPowerW * Ps.ToSeconds(end - start);
                var op = t.Ops[index[j]];
                var dtype = device.ComputeDType(op);
                var share = t.Ops.Count == 1 ? 1.0 : taskFlops > 0 ? op.Flops / (double)taskFlops : 1.0 / t.Ops.Count;
                var opBytes = t.Ops.Count == 1
                    ? (IReadOnlyDictionary<string, long>)bytesByTier
                    : bytesByTier.ToDictionary(kv => kv.Key, kv => (long)Math.Round(kv.Value * share));
                return new OpMetrics(op.Id, op.Name, op.Kind.Name(), op.Layer, device.Topology.Engines[cost.Engine].Name, i,
                    start, end, op.Flops, dtype.Name(), opBytes, op.ArithmeticIntensity, bound,
                    Ps.ToSeconds(cPs), Ps.ToSeconds(mPs), Ps.ToSeconds(lPs), energyJ * share, cost.Note)
                { PowerLimit = bound == Bound.Power ? cost.PowerLimit : null };
            }
        }

        public IEnumerator<OpMetrics> GetEnumerator()
        {
            for (var j = 0; j < task.Length; j++) yield return this[j];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed record CostFacts(long ComputePs, long MemoryPs, long LatencyPs, Bound Bound, SortedDictionary<string, long> BytesByTier);

    /// <summary>Total length covered by a set of time spans (overlaps counted once).</summary>
    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++) if (names[i] == name) return i;
        throw new KeyNotFoundException($"no tier or link named '{name}'");
    }

    private static long UnionLength(List<(long Start, long End)> spans)
    {
        spans.Sort();
        long total = 0;
        var covered = long.MinValue;
        foreach (var (s, e) in spans)
        {
            var from = Math.Max(s, covered);
            if (e > from) total += e - from;
            if (e > covered) covered = e;
        }
        return total;
    }
}
