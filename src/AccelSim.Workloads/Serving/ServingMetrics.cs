using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Time;

namespace AccelSim.Workloads.Serving;

/// <summary>Mean and percentiles of a sample (percentiles interpolate linearly between order statistics).</summary>
public sealed record Distribution(double Mean, double P50, double P90, double P99, double Max)
{
    public static Distribution Of(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) return new Distribution(0, 0, 0, 0, 0);
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return new Distribution(sorted.Average(), Percentile(sorted, 0.50), Percentile(sorted, 0.90), Percentile(sorted, 0.99), sorted[^1]);
    }

    /// <summary>The <paramref name="q"/> quantile of sorted values.</summary>
    public static double Percentile(double[] sorted, double q)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        var pos = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(pos);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }
}

/// <summary>A service-level objective: targets on the 99th percentiles of TTFT, TPOT and the gaps between tokens
/// (ITL, Sarathi-Serve's time between tokens) and on the median queueing delay; any may be absent. A request
/// attains it when its own TTFT, TPOT, longest gap and queueing are within the targets. With
/// <see cref="Attainment"/> (DistServe's goodput criterion) the run meets it when at least that share of requests
/// attains the targets, whatever the percentiles. <see cref="NormLatencyMeanS"/> is the vLLM paper's criterion: the
/// mean over requests of the end-to-end latency divided by the output tokens (seconds per token); it bounds the run,
/// not each request.</summary>
public sealed record ServiceLevel(double? TtftP99S, double? TpotP99S, double? ItlP99S = null, double? QueueP50S = null, double? Attainment = null,
    double? NormLatencyMeanS = null)
{
    public const string Expected = "comma-separated targets in seconds among ttft_p99, tpot_p99, itl_p99, queue_p50 and norm_latency_mean (and optionally attainment, a share in (0, 1]), e.g. ttft_p99=2,tpot_p99=0.1";

    public static ServiceLevel Parse(string text, string option = RequestParameter.Slo)
    {
        ArgumentNullException.ThrowIfNull(text);
        double? ttft = null, tpot = null, itl = null, queue = null, attainment = null, norm = null;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            var key = eq > 0 ? part[..eq].Trim() : part;
            var ok = eq > 0 && double.TryParse(part[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && !double.IsInfinity(v);
            var value = ok ? double.Parse(part[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture) : 0;
            switch (key)
            {
                case "ttft_p99" when ok: ttft = value; break;
                case "tpot_p99" when ok: tpot = value; break;
                case "itl_p99" when ok: itl = value; break;
                case "queue_p50" when ok: queue = value; break;
                case "attainment" when ok && value <= 1: attainment = value; break;
                case "norm_latency_mean" when ok: norm = value; break;
                default: throw new InputException(null, option, $"expected {Expected}, got '{part}'");
            }
        }
        if (ttft is null && tpot is null && itl is null && queue is null && norm is null) throw new InputException(null, option, $"expected {Expected}, got '{text}'");
        return new ServiceLevel(ttft, tpot, itl, queue, attainment, norm);
    }

    public bool Attained(double ttftS, double? tpotS, double maxItlS = 0, double queueS = 0) =>
        (TtftP99S is not { } a || ttftS <= a) && (TpotP99S is not { } b || tpotS is not { } t || t <= b)
        && (ItlP99S is not { } c || maxItlS <= c) && (QueueP50S is not { } d || queueS <= d);

    public bool Met(ServingSummary s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (NormLatencyMeanS is { } n && !(s.PerRequest.Count > 0 && s.PerRequest.Average(r => r.E2eS / r.OutputTokens) <= n)) return false;
        if (Attainment is { } share) return s.SloAttainment >= share;
        return (TtftP99S is not { } a || s.TtftS.P99 <= a) && (TpotP99S is not { } b || s.TpotS.P99 <= b)
            && (ItlP99S is not { } c || s.ItlS.P99 <= c) && (QueueP50S is not { } d || s.QueueS.P50 <= d);
    }

    public override string ToString()
    {
        var parts = new List<string>();
        if (TtftP99S is { } a) parts.Add(FormattableString.Invariant($"ttft_p99={a}"));
        if (TpotP99S is { } b) parts.Add(FormattableString.Invariant($"tpot_p99={b}"));
        if (ItlP99S is { } c) parts.Add(FormattableString.Invariant($"itl_p99={c}"));
        if (QueueP50S is { } d) parts.Add(FormattableString.Invariant($"queue_p50={d}"));
        if (NormLatencyMeanS is { } f) parts.Add(FormattableString.Invariant($"norm_latency_mean={f}"));
        if (Attainment is { } e) parts.Add(FormattableString.Invariant($"attainment={e}"));
        return string.Join(",", parts);
    }
}

/// <summary>One request's measurements, seconds.</summary>
public sealed record RequestMetrics(int Id, double ArrivalS, int PromptTokens, int OutputTokens, double QueueS, double TtftS,
    double? TpotS, double MaxInterTokenS, double E2eS, int Preemptions, bool SloAttained);

/// <summary>The figures of a serving run (docs/serving.md, "Metrics").</summary>
public sealed record ServingSummary(
    int Requests,
    double DurationS,
    Distribution TtftS,
    Distribution TpotS,
    Distribution E2eS,
    Distribution QueueS,
    Distribution ItlS,
    double ThroughputTokensPerS,
    double ThroughputRequestsPerS,
    double GoodputRequestsPerS,
    double SloAttainment,
    double EnergyJPerRequest,
    double EnergyJ,
    long Iterations,
    double MeanBatch,
    double KvPeakFraction,
    int Preemptions,
    IReadOnlyList<RequestMetrics> PerRequest)
{
    public static ServingSummary Compute(ServingResult result, ServiceLevel? slo)
    {
        ArgumentNullException.ThrowIfNull(result);
        var per = new List<RequestMetrics>(result.Requests.Count);
        long first = long.MaxValue;
        long outTokens = 0;
        foreach (var r in result.Requests)
        {
            first = Math.Min(first, r.Spec.ArrivalPs);
            outTokens += r.Generated;
            var ttft = Ps.ToSeconds(r.FirstTokenPs - r.Spec.ArrivalPs);
            double? tpot = r.Spec.OutputTokens > 1 ? Ps.ToSeconds(r.FinishPs - r.FirstTokenPs) / (r.Spec.OutputTokens - 1) : null;
            var queue = Ps.ToSeconds(r.FirstScheduledPs - r.Spec.ArrivalPs);
            var itl = Ps.ToSeconds(r.MaxInterTokenPs);
            per.Add(new RequestMetrics(r.Spec.Id, Ps.ToSeconds(r.Spec.ArrivalPs), r.Spec.PromptTokens, r.Spec.OutputTokens,
                queue, ttft, tpot, itl, Ps.ToSeconds(r.FinishPs - r.Spec.ArrivalPs), r.Preemptions, slo is null || slo.Attained(ttft, tpot, itl, queue)));
        }
        var duration = Ps.ToSeconds(result.MakespanPs - first);
        var attained = per.Count(p => p.SloAttained);
        long batchSum = 0;
        foreach (var s in result.Iterations) batchSum += s.Sequences;
        var energy = result.IterationEnergyJ + result.IdleEnergyJ;
        return new ServingSummary(per.Count, duration,
            Distribution.Of(per.Select(p => p.TtftS).ToArray()),
            Distribution.Of(per.Where(p => p.TpotS is not null).Select(p => p.TpotS!.Value).ToArray()),
            Distribution.Of(per.Select(p => p.E2eS).ToArray()),
            Distribution.Of(per.Select(p => p.QueueS).ToArray()),
            Distribution.Of(result.InterTokenPs.Select(Ps.ToSeconds).ToArray()),
            duration > 0 ? outTokens / duration : 0,
            duration > 0 ? per.Count / duration : 0,
            duration > 0 ? attained / duration : 0,
            per.Count > 0 ? attained / (double)per.Count : 0,
            per.Count > 0 ? energy / per.Count : 0,
            energy,
            result.Iterations.Count,
            result.Iterations.Count > 0 ? batchSum / (double)result.Iterations.Count : 0,
            result.KvCapacityBlocks > 0 ? result.KvPeakBlocks / (double)result.KvCapacityBlocks : 0,
            result.Preemptions,
            per);
    }
}
