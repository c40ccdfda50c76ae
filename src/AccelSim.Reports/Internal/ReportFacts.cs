using AccelSim.Core.Devices;
using AccelSim.Core.Metrics;
using AccelSim.Core.Time;

namespace AccelSim.Reports.Internal;

/// <summary>Figures derived from <see cref="RunMetrics"/> that several report formats share: each op's
/// attributed time, time by op kind and by bound, and the overall verdict. A fused task's time is
/// shared by its ops in proportion to their FLOPs (equally when it has none), as the metrics share
/// energy and bytes, so attributed times add up to the tasks' busy time.</summary>
internal sealed class ReportFacts
{
    public sealed record KindTime(string Kind, int Ops, double TimeS, double Fraction, Bound DominantBound);

    private ReportFacts(double[] opTimeS, double totalOpTimeS, IReadOnlyList<KindTime> byKind,
        double computeS, double memoryS, double latencyS, double powerS, PowerLimit? power)
    {
        PowerBoundS = powerS;
        Power = power;
        OpTimeS = opTimeS;
        TotalOpTimeS = totalOpTimeS;
        ByKind = byKind;
        ComputeBoundS = computeS;
        MemoryBoundS = memoryS;
        LatencyBoundS = latencyS;
    }

    /// <summary>Attributed time of <c>m.Ops[i]</c>, seconds.</summary>
    public IReadOnlyList<double> OpTimeS { get; }

    /// <summary>Sum of attributed op times (the tasks' busy time), seconds.</summary>
    public double TotalOpTimeS { get; }

    /// <summary>Op kinds by descending time, ties by name.</summary>
    public IReadOnlyList<KindTime> ByKind { get; }

    public double ComputeBoundS { get; }
    public double MemoryBoundS { get; }
    public double LatencyBoundS { get; }

    /// <summary>Busy time in ops whose pace the device's power limit set.</summary>
    public double PowerBoundS { get; }

    /// <summary>The power limit of the power-bound ops and their clock, time-weighted over them (null
    /// when no op is power-bound).</summary>
    public PowerLimit? Power { get; }

    /// <summary>The bound that held for most of the busy time (ties: memory, then compute, then latency,
    /// then power).</summary>
    public Bound Dominant => DominantOf(ComputeBoundS, MemoryBoundS, LatencyBoundS, PowerBoundS);

    /// <summary>Busy time in ops of <paramref name="bound"/>.</summary>
    public double TimeS(Bound bound) => bound switch
    {
        Bound.Compute => ComputeBoundS,
        Bound.Memory => MemoryBoundS,
        Bound.Latency => LatencyBoundS,
        _ => PowerBoundS,
    };

    private static Bound DominantOf(double compute, double memory, double latency, double power) =>
        memory >= compute && memory >= latency && memory >= power ? Bound.Memory
        : compute >= latency && compute >= power ? Bound.Compute
        : latency >= power ? Bound.Latency
        : Bound.Power;

    public static ReportFacts From(RunMetrics m)
    {
        var ops = m.Ops;
        var opTime = new double[ops.Count];
        var taskFlops = new Dictionary<int, long>();
        var taskOps = new Dictionary<int, int>();
        foreach (var o in ops)
        {
            taskFlops[o.Task] = taskFlops.GetValueOrDefault(o.Task) + o.Flops;
            taskOps[o.Task] = taskOps.GetValueOrDefault(o.Task) + 1;
        }

        double total = 0, comp = 0, mem = 0, lat = 0, pow = 0, clockTime = 0;
        PowerLimit? limit = null;
        var kindTime = new Dictionary<string, double>(StringComparer.Ordinal);
        var kindOps = new Dictionary<string, int>(StringComparer.Ordinal);
        var kindBound = new Dictionary<string, double[]>(StringComparer.Ordinal);
        for (var i = 0; i < ops.Count; i++)
        {
            var o = ops[i];
            var n = taskOps[o.Task];
            var tf = taskFlops[o.Task];
            var share = n == 1 ? 1.0 : tf > 0 ? o.Flops / (double)tf : 1.0 / n;
            var t = Ps.ToSeconds(o.EndPs - o.StartPs) * share;
            opTime[i] = t;
            total += t;
            switch (o.Bound)
            {
                case Bound.Compute: comp += t; break;
                case Bound.Memory: mem += t; break;
                case Bound.Power:
                    pow += t;
                    if (o.PowerLimit is { } p)
                    {
                        clockTime += p.ClockHz * t;
                        limit ??= p;
                    }
                    break;
                default: lat += t; break;
            }
            kindTime[o.Kind] = kindTime.GetValueOrDefault(o.Kind) + t;
            kindOps[o.Kind] = kindOps.GetValueOrDefault(o.Kind) + 1;
            if (!kindBound.TryGetValue(o.Kind, out var b)) kindBound[o.Kind] = b = new double[4];
            b[(int)o.Bound] += t;
        }

        var byKind = new List<KindTime>(kindTime.Count);
        foreach (var (kind, t) in kindTime)
        {
            var b = kindBound[kind];
            var dom = DominantOf(b[(int)Bound.Compute], b[(int)Bound.Memory], b[(int)Bound.Latency], b[(int)Bound.Power]);
            byKind.Add(new KindTime(kind, kindOps[kind], t, total > 0 ? t / total : 0, dom));
        }
        byKind.Sort((a, c) => a.TimeS != c.TimeS ? c.TimeS.CompareTo(a.TimeS) : string.CompareOrdinal(a.Kind, c.Kind));
        var power = limit is { } l && pow > 0 ? l with { ClockHz = clockTime / pow } : (PowerLimit?)null;
        return new ReportFacts(opTime, total, byKind, comp, mem, lat, pow, power);
    }

    /// <summary>Indices into <c>m.Ops</c> by descending attributed time, ties by op id.</summary>
    public int[] OpsByTime(RunMetrics m)
    {
        var idx = new int[m.Ops.Count];
        for (var i = 0; i < idx.Length; i++) idx[i] = i;
        var t = OpTimeS;
        Array.Sort(idx, (a, b) => t[a] != t[b] ? t[b].CompareTo(t[a]) : m.Ops[a].Id.CompareTo(m.Ops[b].Id));
        return idx;
    }
}
