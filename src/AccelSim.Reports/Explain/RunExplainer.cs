using System.Globalization;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Reports.Internal;

namespace AccelSim.Reports.Explain;

/// <summary>What the explanation needs of a device: its name, its dense peak per data type, the bandwidth
/// of the channels behind each traffic name (tier or link) and which tier is main memory. A plain snapshot,
/// so the explanation is a pure function of it and the run's metrics.</summary>
public sealed record ExplainDevice(
    string Name,
    IReadOnlyDictionary<string, double> PeakFlopsByDType,
    IReadOnlyDictionary<string, double> BandwidthByTraffic,
    string MainTraffic,
    double MainBandwidth_Bps)
{
    /// <summary>The snapshot of <paramref name="device"/>. A traffic name served by several channels (host
    /// memory behind PCIe and behind its own DDR) takes the slowest of them: the path bytes from a device
    /// wait on.</summary>
    public static ExplainDevice From(IDeviceModel device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var peaks = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var d in DTypes.All)
            if (device.PeakFlops(d) is var p and > 0) peaks[d.Name()] = p;
        var bw = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var c in device.Topology.Channels)
            bw[c.TrafficName] = bw.TryGetValue(c.TrafficName, out var b) ? Math.Min(b, c.Bandwidth_Bps) : c.Bandwidth_Bps;
        var main = device.Topology.Channels[device.MainMemoryChannel];
        return new ExplainDevice(device.Name, peaks, bw, main.TrafficName, main.Bandwidth_Bps);
    }
}

/// <summary>What a change of the hardware would do to an explained op, estimated from its isolated times: the
/// op takes about latency + max(compute, memory) (its start-up, then its math and its bytes overlapped), and
/// the change divides one of them by two. <see cref="TimeFactor"/> is new time / old time (1: no help). An
/// estimate: rerun with <c>--set</c> for the simulated figure.</summary>
public sealed record ExplainLever(string Change, double TimeFactor);

/// <summary>One explained entry: an op, or a dataflow region (several ops in one task), together with the
/// alike ops of the other layers (<see cref="Count"/>).</summary>
public sealed record OpExplanation(
    int Rank,
    string Name,
    string Kinds,
    int Count,
    int OpsPerEntry,
    IReadOnlyList<int> OpIds,
    Bound Bound,
    double TimeS,
    double TotalTimeS,
    double ShareOfBusyTime,
    double IntensityFlopPerByte,
    string? Tier,
    double TierBandwidth_Bps,
    string DType,
    double PeakFlops,
    double RidgeFlopPerByte,
    double WaitFraction,
    IReadOnlyList<ExplainLever> Levers,
    string Text);

/// <summary>A run explained in plain words: a summary paragraph and the top entries by time.</summary>
public sealed record RunExplanation(
    string Summary,
    double MemoryBoundShare,
    double ComputeBoundShare,
    double LatencyBoundShare,
    double PowerBoundShare,
    double EnergyComputeShare,
    double EnergyMemoryShare,
    double EnergyStaticShare,
    IReadOnlyList<OpExplanation> Ops);

/// <summary>Builds <see cref="RunExplanation"/>s (<c>accelsim run --explain</c>): for the ops that take the
/// most time, why each is bound as it is (its arithmetic intensity against the ridge point of the memory it
/// waited on, its wait for bytes, start-up latency, a power-capped clock, a spill to a slower tier, a dataflow
/// region) and what would move it; and a paragraph on the whole run. Pure and deterministic: every figure
/// comes from the run's metrics and the device snapshot, and ties break by op id.</summary>
public static class RunExplainer
{
    public const int DefaultTop = 5;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Explains <paramref name="m"/>, a run on <paramref name="device"/>, with its
    /// <paramref name="top"/> entries by time. Ops alike across layers (same name after the layer prefix, same
    /// kind and bound) form one entry; a task of several ops (a dataflow region) is one unit.</summary>
    public static RunExplanation Explain(RunMetrics m, ExplainDevice device, int top = DefaultTop)
    {
        ArgumentNullException.ThrowIfNull(m);
        ArgumentNullException.ThrowIfNull(device);
        var facts = ReportFacts.From(m);
        var units = Units(m, facts);
        var groups = units
            .GroupBy(u => (u.Stem, u.Kinds, u.Bound))
            .Select(g => g.OrderBy(u => u.FirstId).ToArray())
            .OrderByDescending(g => g.Sum(u => u.TimeS)).ThenBy(g => g[0].FirstId)
            .Take(Math.Max(0, top))
            .ToArray();
        var busy = facts.TotalOpTimeS;
        var entries = new List<OpExplanation>(groups.Length);
        for (var i = 0; i < groups.Length; i++) entries.Add(ExplainGroup(i + 1, groups[i], m, device, busy));

        double Share(double t) => busy > 0 ? t / busy : 0;
        var e = m.Energy;
        double memJ = 0;
        foreach (var v in e.MemoryJ.Values) memJ += v;
        double EShare(double j) => e.TotalJ > 0 ? j / e.TotalJ : 0;
        return new RunExplanation(Summary(m, facts, device), Share(facts.MemoryBoundS), Share(facts.ComputeBoundS),
            Share(facts.LatencyBoundS), Share(facts.PowerBoundS), EShare(e.ComputeJ), EShare(memJ), EShare(e.StaticJ), entries);
    }

    /// <summary>A task of the run: one op, or a region of several.</summary>
    private sealed record Unit(string Stem, string Kinds, Bound Bound, int FirstId, int[] OpIndices, double TimeS);

    private static List<Unit> Units(RunMetrics m, ReportFacts facts)
    {
        var byTask = new Dictionary<int, List<int>>();
        var order = new List<int>();
        for (var i = 0; i < m.Ops.Count; i++)
        {
            if (!byTask.TryGetValue(m.Ops[i].Task, out var list))
            {
                byTask[m.Ops[i].Task] = list = [];
                order.Add(m.Ops[i].Task);
            }
            list.Add(i);
        }
        var units = new List<Unit>(order.Count);
        foreach (var task in order)
        {
            var idx = byTask[task].OrderBy(i => m.Ops[i].Id).ToArray();
            var first = m.Ops[idx[0]];
            var last = m.Ops[idx[^1]];
            double t = 0;
            foreach (var i in idx) t += facts.OpTimeS[i];
            var stem = idx.Length == 1 ? Stem(first) : Stem(first) + ".." + Stem(last);
            var kinds = string.Join('+', idx.Select(i => m.Ops[i].Kind).Distinct());
            // A region's ops share one task, so its bound is the task's: that of its first op.
            units.Add(new Unit(stem, kinds, first.Bound, first.Id, idx, t));
        }
        return units;
    }

    /// <summary>The op's name without its layer prefix (<c>layer3.gate_up</c> becomes <c>layer*.gate_up</c>).</summary>
    private static string Stem(OpMetrics o)
    {
        var prefix = "layer" + o.Layer.ToString(Inv) + ".";
        return o.Layer >= 0 && o.Name.StartsWith(prefix, StringComparison.Ordinal) ? "layer*." + o.Name[prefix.Length..] : o.Name;
    }

    private static OpExplanation ExplainGroup(int rank, Unit[] group, RunMetrics m, ExplainDevice device, double busy)
    {
        // The longest unit of the group speaks for it (the first on a tie).
        var u = group.OrderByDescending(x => x.TimeS).ThenBy(x => x.FirstId).First();
        var ops = u.OpIndices.Select(i => m.Ops[i]).ToArray();
        var head = ops[0];
        var total = group.Sum(x => x.TimeS);
        var duration = head.DurationS;
        var (c, mem, lat) = (head.ComputeTimeS, head.MemoryTimeS, head.LatencyS);

        long flops = 0;
        var bytes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var o in ops)
        {
            flops += o.Flops;
            foreach (var (tier, b) in o.BytesByTier) bytes[tier] = bytes.GetValueOrDefault(tier) + b;
        }
        // The tier it waited on: the one whose bytes take longest at its bandwidth (ties by name).
        string? tierName = null;
        double tierTime = -1, tierBw = 0;
        foreach (var (tier, b) in bytes.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (b <= 0 || !device.BandwidthByTraffic.TryGetValue(tier, out var bw) || bw <= 0) continue;
            if (b / bw > tierTime) (tierName, tierTime, tierBw) = (tier, b / bw, bw);
        }
        var dtype = ops.OrderByDescending(o => o.Flops).ThenBy(o => o.Id).First().DType;
        var peak = device.PeakFlopsByDType.GetValueOrDefault(dtype);
        var ridge = tierBw > 0 ? peak / tierBw : 0;
        // One op: the intensity the report shows (FLOPs over the bytes it reads and writes). A region: its
        // FLOPs over the bytes it moved on that tier (its intermediates stay on chip).
        var intensity = ops.Length == 1 ? head.ArithmeticIntensity
            : tierName is not null && bytes[tierName] > 0 ? flops / (double)bytes[tierName] : 0;

        var t0 = lat + Math.Max(c, mem);
        double F(double nc, double nm, double nl) => t0 > 0 ? (nl + Math.Max(nc, nm)) / t0 : 1;
        var levers = new List<ExplainLever>();
        if (tierName is not null) levers.Add(new ExplainLever($"double {tierName} bandwidth", F(c, mem / 2, lat)));
        levers.Add(new ExplainLever($"double {dtype} FLOP/s", F(c / 2, mem, lat)));
        levers.Add(new ExplainLever("halve start-up latency", F(c, mem, lat / 2)));
        var bwLever = tierName is null ? null : levers[0];
        var flLever = levers[tierName is null ? 0 : 1];
        var latLever = levers[^1];

        var name = group.Length > 1 ? $"{u.Stem} (x{group.Length})" : ops.Length == 1 ? head.Name : $"{head.Name}..{ops[^1].Name}";
        var s = new List<string>();
        var ai = Fmt(intensity);
        var from = tierName is null ? "" : $" from {tierName} ({Internal.Units.Rate(tierBw)})";
        var ridgeText = ridge > 0 ? $"the {device.Name}'s {dtype} ridge of {Fmt(ridge)} FLOP/byte{from}" : $"the {device.Name}'s ridge{from}";
        var intensityText = ops.Length == 1 ? $"{ai} FLOP/byte" : $"{ai} FLOP/byte of {tierName ?? "off-chip"} traffic";
        var wait = duration > 0 ? Math.Clamp(1 - c / duration, 0, 1) : 0;
        switch (u.Bound)
        {
            case Bound.Memory when flops == 0 && tierName is not null:
                s.Add($"{name}: moves {Internal.Units.Bytes(bytes.Values.Sum())} and does no arithmetic, so only bandwidth can set its pace: {tierName} at {Internal.Units.Rate(tierBw)}; it waits {Pct(wait)} of its {Internal.Units.Time(duration)} for bytes.");
                s.Add(Capitalise(Lever(bwLever!, "doubling " + tierName + " bandwidth", "start-up latency")) + "; more FLOP/s would not help.");
                break;
            case Bound.Memory:
                s.Add($"{name}: {intensityText}, {Compare(intensity, ridge)} {ridgeText}: memory-bound; it waits {Pct(wait)} of its {Internal.Units.Time(duration)} for bytes.");
                if (ridge > 0 && intensity >= ridge && tierName is not null && mem > 0)
                {
                    // Above the ridge yet memory-bound: its traffic on that tier is more than its own bytes, or
                    // flows slower than the tier's peak (hops across a mesh, a share of the channels).
                    var moved = bytes[tierName];
                    var own = ops.Length == 1 && head.ArithmeticIntensity > 0 ? head.Flops / head.ArithmeticIntensity : 0;
                    var times = own > 0 ? $" ({Fmt(moved / own)} times the bytes it reads and writes)" : "";
                    var effective = moved / mem;
                    s.Add($"Above the ridge, yet its bytes take longer than its math: it moves {Internal.Units.Bytes(moved)} over {tierName}{times} at an effective {Internal.Units.Rate(effective)}, {Pct(effective / tierBw)} of the peak.");
                }
                if (bwLever is not null) s.Add(Capitalise(Lever(bwLever, "doubling " + tierName + " bandwidth", "compute or start-up latency")) + "; " + Lever(flLever, "more FLOP/s", null) + ".");
                break;
            case Bound.Compute:
                s.Add($"{name}: {intensityText}, {Compare(intensity, ridge)} {ridgeText}: compute-bound; its math takes {Internal.Units.Time(c)} of its {Internal.Units.Time(duration)} at the {dtype} peak of {Internal.Units.FlopRate(peak)}.");
                s.Add(Capitalise(Lever(flLever, $"doubling the {dtype} FLOP/s", "bytes or start-up latency")) + (bwLever is null ? "." : "; " + Lever(bwLever, "more " + tierName + " bandwidth", null) + "."));
                break;
            case Bound.Power:
            {
                var pl = head.PowerLimit;
                var achieved = duration > 0 ? flops / duration : 0;
                var held = pl is { } p ? $"the {Fmt(p.CapW)} W power cap holds the {p.Clock} at {p.ClockHz / 1e6:#,0} MHz" : "the device's power limit lowers its clock";
                s.Add($"{name}: {intensityText}, {Compare(intensity, ridge)} {ridgeText}: compute-bound, and {held}, so it achieves {Internal.Units.FlopRate(achieved)}, {Pct(peak > 0 ? achieved / peak : 0)} of the {dtype} peak of {Internal.Units.FlopRate(peak)}.");
                s.Add("A higher power cap, or fewer joules per FLOP, would speed it; a higher peak at the same power would not" + (bwLever is null ? "." : ", nor " + Lever(bwLever, "more " + tierName + " bandwidth", null, bare: true) + "."));
                break;
            }
            default:
                s.Add($"{name}: latency-bound: its fixed start-up ({Internal.Units.Time(lat)}: a kernel launch, a pipeline's fill and drain) is longer than its math ({Internal.Units.Time(c)}) and its bytes ({Internal.Units.Time(mem)}), {Pct(duration > 0 ? lat / duration : 0)} of its {Internal.Units.Time(duration)}.");
                var fix = ops.Length > 1 ? "fewer, larger regions or a faster fill and drain" : "fuse it with its neighbours into one kernel or dataflow region, or start it faster";
                s.Add(Capitalise(Lever(latLever, "halving the start-up", "math or bytes")) + $" ({fix}); " +
                      (bwLever is null ? "" : Lever(bwLever, "doubling " + tierName + " bandwidth", null) + "; ") + Lever(flLever, "doubling FLOP/s", null) + ".");
                break;
        }
        if (group.Length > 1)
            s.Add($"{group.Length} alike, {Internal.Units.Time(total)} in all, {Pct(busy > 0 ? total / busy : 0)} of busy time.");
        else
            s.Add($"{Pct(busy > 0 ? total / busy : 0)} of busy time.");
        if (ops.Length > 1)
            s.Add($"It runs as one dataflow region of {ops.Length} ops ({head.Name} to {ops[^1].Name}) on {head.Engine}: their intermediates stay on chip, and the region's time is shared among them by FLOPs.");
        foreach (var (tier, b) in bytes.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (b <= 0 || tier == device.MainTraffic || m.Memory.SpilledBytes.GetValueOrDefault(tier) <= 0) continue;
            var bw = device.BandwidthByTraffic.GetValueOrDefault(tier);
            var r = bw > 0 && peak > 0 ? $"; the ridge there is {Fmt(peak / bw)} FLOP/byte" : "";
            s.Add($"{Internal.Units.Bytes(b)} of its bytes come from {tier}, where the placement put what did not fit in {device.MainTraffic} ({Internal.Units.Rate(bw)} against {Internal.Units.Rate(device.MainBandwidth_Bps)}{r}).");
        }
        if (head.Note is { Length: > 0 } note) s.Add($"Device model: {note}.");

        return new OpExplanation(rank, name, u.Kinds, group.Length, ops.Length, group.SelectMany(x => x.OpIndices.Select(i => m.Ops[i].Id)).ToArray(),
            u.Bound, duration, total, busy > 0 ? total / busy : 0, intensity, tierName, tierBw, dtype, peak, ridge, wait, levers,
            string.Join(' ', s));
    }

    private static string Summary(RunMetrics m, ReportFacts facts, ExplainDevice device)
    {
        var busy = facts.TotalOpTimeS;
        double Share(double t) => busy > 0 ? t / busy : 0;
        var wl = m.Workload;
        var s = new List<string>
        {
            $"{m.DisplayName} ran {wl.Name} ({wl.Phase}, batch {wl.Batch.ToString(Inv)}, {wl.Tokens.ToString("N0", Inv)} token{(wl.Tokens == 1 ? "" : "s")}) in {Internal.Units.Time(m.LatencyS)} under the {m.Schedule} schedule.",
            $"Of the busy time, {Pct(Share(facts.MemoryBoundS))} went to memory-bound ops, {Pct(Share(facts.ComputeBoundS))} to compute-bound, {Pct(Share(facts.PowerBoundS))} to power-bound and {Pct(Share(facts.LatencyBoundS))} to latency-bound ones.",
        };
        var mw = m.MemoryWall;
        if (double.IsPositiveInfinity(mw.ArithmeticIntensity))
            s.Add($"No byte left the chip, so the run is not held by off-chip bandwidth (the ridge from {device.MainTraffic} is {Fmt(mw.RidgePoint)} FLOP/byte).");
        else
            s.Add($"The whole run does {Fmt(mw.ArithmeticIntensity)} FLOP per off-chip byte, {Compare(mw.ArithmeticIntensity, mw.RidgePoint)} the ridge of {Fmt(mw.RidgePoint)} FLOP/byte from {device.MainTraffic}" +
                  (mw.ArithmeticIntensity < mw.RidgePoint ? ": more bandwidth would help it more than more FLOP/s." : ": more FLOP/s would help it more than more bandwidth."));
        if (facts.Power is { } p && facts.PowerBoundS > 0)
            s.Add($"The {Fmt(p.CapW)} W power cap holds the {p.Clock} at {p.ClockHz / 1e6:#,0} MHz in {Pct(Share(facts.PowerBoundS))} of the busy time.");
        if (m.HostDispatchS > 0 && m.LatencyS > 0)
            s.Add($"The host spent {Internal.Units.Time(m.HostDispatchS)} issuing ops and the device sat idle {Pct(m.DeviceIdleS / m.LatencyS)} of the run" +
                  (JsonReport.LaunchBound(m) ? ": the run is launch-bound, so a CUDA graph or fused kernels would help more than any faster hardware." : "."));
        var tasks = m.Ops.Select(o => o.Task).Distinct().Count();
        if (tasks < m.Ops.Count)
            s.Add($"The schedule fused its {m.Ops.Count.ToString("N0", Inv)} ops into {tasks.ToString("N0", Inv)} tasks: ops in one dataflow region pass intermediates on chip instead of through memory.");
        foreach (var (tier, b) in m.Memory.SpilledBytes.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            if (b > 0) s.Add($"{Internal.Units.Bytes(b)} did not fit in faster memory and were placed in {tier}.");
        foreach (var (tier, b) in m.Memory.OverCapacityBytes.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            if (b > 0) s.Add($"It does not fit: {tier} would need {Internal.Units.Bytes(b)} more than its {Internal.Units.Bytes(m.Memory.CapacityBytes.GetValueOrDefault(tier))} (simulated as if it did).");

        var e = m.Energy;
        if (e.TotalJ > 0)
        {
            double memJ = 0;
            foreach (var v in e.MemoryJ.Values) memJ += v;
            var top = e.MemoryJ.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).FirstOrDefault();
            var mostly = top.Value > 0 && memJ / e.TotalJ >= 0.005 ? $", mostly {top.Key}" : "";
            var staticShare = e.StaticJ / e.TotalJ;
            s.Add($"Of its {Internal.Units.Energy(e.TotalJ)}, {Pct(e.ComputeJ / e.TotalJ)} went to arithmetic, {Pct(memJ / e.TotalJ)} to moving bytes{mostly}, and {Pct(staticShare)} to static power" +
                  (staticShare >= 0.5 ? ": most of the energy is time, so a faster run is also a more frugal one." : "."));
        }
        return string.Join(' ', s);
    }

    /// <summary>"would roughly halve it", "would cut it by about 30 %", "would not help", for a lever's factor.</summary>
    private static string Lever(ExplainLever lever, string what, string? limit, bool bare = false)
    {
        var f = lever.TimeFactor;
        if (bare) return what;
        if (f >= 0.97) return what + " would not help";
        if (f <= 0.55) return what + " would roughly halve it";
        var cut = Math.Round((1 - f) * 100).ToString("0", Inv);
        return limit is null ? $"{what} would cut it by about {cut}%" : $"{what} would cut it by about {cut}%, until {limit} set the pace";
    }

    private static string Compare(double intensity, double ridge) =>
        ridge <= 0 ? "against" : intensity < ridge / 10 ? "far below" : intensity < ridge ? "below" : intensity < ridge * 10 ? "above" : "far above";

    private static string Fmt(double v) =>
        !double.IsFinite(v) ? "unbounded" : v >= 100 ? v.ToString("#,0", Inv) : v >= 0.1 ? v.ToString("0.0#", Inv) : v.ToString("0.###", Inv);

    private static string Pct(double f) => Math.Round(f * 100).ToString("0", Inv) + "%";

    private static string Capitalise(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
