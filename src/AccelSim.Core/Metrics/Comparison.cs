namespace AccelSim.Core.Metrics;

/// <summary>A tier whose peak occupancy exceeded its capacity in a run.</summary>
public readonly record struct TierOverflow(string Tier, long PeakBytes, long CapacityBytes, long OverBytes);

/// <summary>One run of a <see cref="Comparison"/>, with the figures a side-by-side view derives from it.</summary>
public sealed record ComparedRun(RunMetrics Run)
{
    /// <summary>Whether the run's peak occupancy stayed within every tier's capacity.</summary>
    public bool Fits => Comparison.Fits(Run);

    /// <summary>Bytes a placement put in slower tiers, all tiers together.</summary>
    public long SpilledBytes => Run.Memory.SpilledBytes.Values.Sum();

    /// <summary>Every tier the run overflowed, by tier name (ordinal).</summary>
    public IReadOnlyList<TierOverflow> Overflows => Run.Memory.OverCapacityBytes
        .Where(kv => kv.Value > 0).OrderBy(kv => kv.Key, StringComparer.Ordinal)
        .Select(kv => new TierOverflow(kv.Key, Run.Memory.PeakBytes.GetValueOrDefault(kv.Key), Run.Memory.CapacityBytes.GetValueOrDefault(kv.Key), kv.Value))
        .ToArray();

    /// <summary>Tokens per joule of the run's whole energy (0 when it used none).</summary>
    public double TokensPerJ => Run.Energy.TotalJ > 0 ? Run.Workload.Tokens / Run.Energy.TotalJ : 0;

    /// <summary>How many times slower than <paramref name="reference"/> the run is (its latency over the
    /// reference's; 1 for the reference itself, NaN when the reference took no time).</summary>
    public double SlowdownOver(RunMetrics reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return reference.LatencyS > 0 ? Run.LatencyS / reference.LatencyS : double.NaN;
    }
}

/// <summary>Runs of one workload on several devices and schedules, side by side: which fit in their
/// device's memory and which of those is fastest.</summary>
public sealed class Comparison
{
    public Comparison(IEnumerable<RunMetrics> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        Runs = runs.Select(r => new ComparedRun(r ?? throw new ArgumentException("a comparison holds no null run", nameof(runs)))).ToArray();
        Fastest = FastestThatFits(Runs.Select(r => r.Run));
    }

    /// <summary>The runs in the order given.</summary>
    public IReadOnlyList<ComparedRun> Runs { get; }

    /// <summary>The fastest run that fits (the first on a tie), or null when none fits.</summary>
    public RunMetrics? Fastest { get; }

    /// <summary>Whether some run does not fit (the fastest is then the fastest of those that do).</summary>
    public bool AnyDoesNotFit => Runs.Any(r => !r.Fits);

    /// <summary>Whether the run's peak occupancy stayed within every tier's capacity.</summary>
    public static bool Fits(RunMetrics run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return run.Memory.OverCapacityBytes.Values.All(b => b <= 0);
    }

    /// <summary>The fastest run that fits (the first on a tie), or null when none fits.</summary>
    public static RunMetrics? FastestThatFits(IEnumerable<RunMetrics> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        RunMetrics? best = null;
        foreach (var r in runs)
            if (Fits(r) && (best is null || r.LatencyS < best.LatencyS)) best = r;
        return best;
    }
}
