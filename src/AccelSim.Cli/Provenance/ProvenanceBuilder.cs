using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Plugins;
using AccelSim.Core.Simulation;

namespace AccelSim.Cli.Provenance;

/// <summary>Builds a report's <see cref="RunProvenance"/>: the hardware files and their hashes, the
/// overrides, stack and launch mode, parameter counts by tag, and the estimate share, measured by one
/// extra simulation of the same placed graph with every estimate-tagged parameter moved by
/// <see cref="EstimateFactor"/> (docs/validation.md, "What rests on estimates").</summary>
public static class ProvenanceBuilder
{
    /// <summary>The factor each estimate-tagged parameter is multiplied by (fractions that would pass 1
    /// are divided by it instead).</summary>
    public const double EstimateFactor = 1.1;

    /// <summary>The provenance of a run without the estimate share (for reports that run no simulation).</summary>
    public static RunProvenance Basic(HardwareConfig config, string scheduleName, WorkloadInfo? info = null)
    {
        var (stack, launch) = SoftwareStack.For(scheduleName, info);
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var path in config.NumericPaths())
        {
            var name = config.TagOf(path)?.Name() ?? "untagged";
            counts[name] = counts.GetValueOrDefault(name) + 1;
        }
        return new RunProvenance(config.Files, config.Overrides, stack, launch)
        {
            ParameterCounts = counts,
            EstimatePerturbation = EstimateFactor,
        };
    }

    /// <summary>The full provenance of a simulated run: <paramref name="baseline"/> is the run's metrics on
    /// <paramref name="graph"/> under <paramref name="schedule"/>.</summary>
    public static RunProvenance Build(HardwareConfig config, PluginRegistry registry, WorkloadGraph graph, ISchedule schedule,
        string scheduleName, RunMetrics baseline)
    {
        var basic = Basic(config, scheduleName, graph.Info);
        var estimates = ParameterPerturbation.Tagged(config, ParameterSource.Estimate);
        if (estimates.Count == 0) return basic with { EstimateTimeShare = 0, EstimateLatencyChange = 0 };

        // Every estimate up by the factor (fractions that would pass 1 go down); if that breaks a constraint
        // between parameters (a mesh larger than its cores), every estimate down instead.
        RunMetrics? perturbed = null;
        var used = EstimateFactor;
        foreach (var factor in new[] { EstimateFactor, 1 / EstimateFactor })
        {
            var moved = new List<KeyValuePair<string, double>>();
            foreach (var path in estimates)
            {
                var v = config.Values[path].Number!.Value;
                if (ParameterPerturbation.Scale(path, v, ParameterPerturbation.Direction(v, factor)) is { } p) moved.Add(new(path, p));
            }
            try
            {
                var device = registry.Create(config.WithNumbers(moved));
                var result = new Simulator(schedule.Map(graph, device), device).Run();
                perturbed = MetricsCalculator.Compute(result, device);
                used = factor;
                break;
            }
            catch (InputException)
            {
                // try the other direction; if neither binds there is no share rather than a wrong one
            }
        }
        if (perturbed is null) return basic;
        return basic with
        {
            EstimatePerturbation = used,
            EstimateTimeShare = ChangedBusyShare(baseline, perturbed),
            EstimateLatencyChange = baseline.LatencyS > 0 ? perturbed.LatencyS / baseline.LatencyS - 1 : 0,
        };
    }

    /// <summary>Busy time (sum of op durations) of the ops whose duration differs between the two runs,
    /// over the total busy time of <paramref name="a"/>. Ops are matched by id.</summary>
    public static double ChangedBusyShare(RunMetrics a, RunMetrics b)
    {
        var other = new Dictionary<int, long>();
        foreach (var op in b.Ops) other[op.Id] = op.EndPs - op.StartPs;
        long total = 0, changed = 0;
        foreach (var op in a.Ops)
        {
            var d = op.EndPs - op.StartPs;
            total += d;
            if (!other.TryGetValue(op.Id, out var d2) || d2 != d) changed += d;
        }
        return total > 0 ? (double)changed / total : 0;
    }
}
