using System.Globalization;
using AccelSim.Core.Metrics;
using AccelSim.Reports.Internal;
using Spectre.Console;

namespace AccelSim.Reports;

/// <summary>The table of a run over a list of one shape option (<c>accelsim run --batch 1,2,4,8</c>): one row
/// per value with latency, tokens/s, tokens/J, the memory-bound share, the utilisation of compute and of the
/// main-memory channel, the run's verdict, the main tier's peak occupancy and whether it fits.</summary>
public static class RunListReport
{
    public const string Schema = "accelsim.runs/1";

    /// <summary>Renders the rows; <paramref name="mainTier"/> names the main-memory tier in the headers.</summary>
    public static void Render(string axis, IReadOnlyList<(long Value, RunMetrics Run)> runs, string mainTier, IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(console);
        if (runs.Count == 0) return;
        var first = runs[0].Run;
        var wl = first.Workload;
        console.MarkupLine(Markup.Escape($"{first.DisplayName} ({first.HardwareKind}) | {wl.Name} | phase {wl.Phase} | schedule {first.Schedule} | {axis} {string.Join(',', runs.Select(r => r.Value.ToString(CultureInfo.InvariantCulture)))}"));
        var t = TableReport.NewTable($"One run per {axis}", (axis, true), ("Latency", true), ("Tokens/s", true), ("Tokens/J", true),
            ("Memory-bound time", true), ("Compute util", true), ($"{mainTier} bw util", true), ("Verdict", false),
            ($"Peak {mainTier}", true), ("Fits", false));
        foreach (var (value, m) in runs)
        {
            var facts = ReportFacts.From(m);
            t.AddRow(
                value.ToString(CultureInfo.InvariantCulture),
                Units.Time(m.LatencyS),
                Units.Count(m.TokensPerS),
                Units.Count(m.TokensPerJ),
                Units.Percent(m.MemoryWall.MemoryBoundTimeFraction),
                Units.Percent(m.ComputeUtilisation),
                Units.Percent(m.MemoryBandwidthUtilisation),
                JsonReport.Verdict(facts),
                Units.Bytes(m.Memory.PeakBytes.GetValueOrDefault(mainTier)),
                Comparison.Fits(m) ? "yes" : "no");
        }
        console.Write(t);
        foreach (var (value, m) in runs)
        {
            foreach (var (tier, over) in m.Memory.OverCapacityBytes.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                if (over > 0)
                    console.WriteLine($"{axis} {value.ToString(CultureInfo.InvariantCulture)} does not fit: needs {Units.Bytes(m.Memory.PeakBytes.GetValueOrDefault(tier))} of {tier}, has {Units.Bytes(m.Memory.CapacityBytes.GetValueOrDefault(tier))}");
            }
        }
    }
}
