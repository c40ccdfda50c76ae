using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Plugins;
using AccelSim.Core.Simulation;

namespace AccelSim.Core.Metrics;

/// <summary>The elasticity of latency and energy to one hardware parameter: d ln y / d ln p by a central
/// difference (one-sided where one side leaves the parameter's range).</summary>
public sealed record Elasticity(string Path, double Value, string Tag, double Latency, double Energy)
{
    public double Magnitude => Math.Max(Math.Abs(Latency), Math.Abs(Energy));
}

/// <summary>A sensitivity study: the base run, every parameter's elasticities (largest first) and the
/// parameters that were not perturbed, with the reason.</summary>
public sealed record SensitivityReport(
    string Hardware, double LatencyS, double EnergyJ, double Step,
    IReadOnlyList<Elasticity> Parameters, IReadOnlyList<KeyValuePair<string, string>> Skipped);

/// <summary>Which hardware parameters a result depends on: every numeric parameter of the device (product
/// and family) is moved by ±<see cref="Step"/> (<see cref="ParameterPerturbation"/>) and the workload is
/// placed and simulated again on the device built from the moved description.</summary>
public static class SensitivityAnalysis
{
    /// <summary>Relative step of the central difference: small enough to stay local (a GEMM's tile choice
    /// or a power cap's throttling is piecewise), large enough that integer picosecond rounding does not
    /// dominate (a 1% change of a 1 us op is 10,000 ps).</summary>
    public const double Step = 0.01;

    /// <summary>Runs the study: one base run, then two runs per perturbable parameter. Each run places
    /// <paramref name="graph"/> on its own device under <paramref name="placement"/> and <paramref name="kv"/>.</summary>
    public static SensitivityReport Run(HardwareConfig config, PluginRegistry registry, WorkloadGraph graph,
        ISchedule schedule, PlacementPolicy placement, KvPolicy kv)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(schedule);
        var (baseLatency, baseEnergy) = Measure(registry.Create(config), graph, schedule, placement, kv);
        var list = new List<Elasticity>();
        var skipped = new List<KeyValuePair<string, string>>();
        foreach (var path in config.NumericPaths())
        {
            var v = config.Values[path].Number!.Value;
            if (v == 0) { skipped.Add(new(path, "zero (unsupported or off)")); continue; }
            if (ParameterPerturbation.IsStructural(path, v)) { skipped.Add(new(path, "structural (a tile shape)")); continue; }
            var up = Try(config, registry, graph, schedule, placement, kv, path, ParameterPerturbation.Scale(path, v, 1 + Step)!.Value);
            var down = Try(config, registry, graph, schedule, placement, kv, path, ParameterPerturbation.Scale(path, v, 1 - Step)!.Value);
            var hi = up ?? (v, baseLatency, baseEnergy);
            var lo = down ?? (v, baseLatency, baseEnergy);
            if (up is null && down is null || hi.Item1 == lo.Item1) { skipped.Add(new(path, "no perturbed value is valid")); continue; }
            var dlnp = Math.Log(hi.Item1 / lo.Item1);
            list.Add(new Elasticity(path, v, config.TagOf(path)?.Name() ?? "untagged",
                Clean(Math.Log(hi.Item2 / lo.Item2) / dlnp), Clean(Math.Log(hi.Item3 / lo.Item3) / dlnp)));
        }
        var ordered = list.OrderByDescending(e => e.Magnitude).ThenBy(e => e.Path, StringComparer.Ordinal).ToArray();
        return new SensitivityReport(config.Modified ? config.Name + "*" : config.Name, baseLatency, baseEnergy, Step, ordered, skipped);
    }

    private static (double Value, double Latency, double Energy)? Try(HardwareConfig config, PluginRegistry registry, WorkloadGraph graph,
        ISchedule schedule, PlacementPolicy placement, KvPolicy kv, string path, double value)
    {
        try
        {
            var device = registry.Create(config.WithNumbers([new(path, value)]));
            var (l, e) = Measure(device, graph, schedule, placement, kv);
            return l > 0 && e > 0 ? (value, l, e) : null;
        }
        catch (InputException)
        {
            return null; // outside the parameter's valid range: the other side alone gives the slope
        }
    }

    private static (double LatencyS, double EnergyJ) Measure(IDeviceModel device, WorkloadGraph graph, ISchedule schedule, PlacementPolicy placement, KvPolicy kv)
    {
        var placed = Placement.Apply(graph, device, placement, kv).Graph;
        var result = new Simulator(schedule.Map(placed, device), device).Run();
        var m = MetricsCalculator.Compute(result, device);
        return (m.LatencyS, m.Energy.TotalJ);
    }

    /// <summary>Rounds away floating noise (and negative zero) so that the report is stable.</summary>
    private static double Clean(double v) => double.IsFinite(v) ? Math.Round(v, 4) + 0.0 : 0;
}
