using System.CommandLine;
using System.Globalization;
using AccelSim.Cli.Hosting;
using AccelSim.Cli.Provenance;
using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Plugins;
using AccelSim.Core.Simulation;
using AccelSim.Reports;
using Newtonsoft.Json.Linq;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

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

/// <summary><c>accelsim sensitivity</c>: which hardware parameters a result depends on, and where each
/// comes from. Every numeric parameter of the device (product and family) is moved by ±<see cref="Step"/>
/// and the workload is simulated again.</summary>
public static class SensitivityCommand
{
    /// <summary>Relative step of the central difference: small enough to stay local (a GEMM's tile choice
    /// or a power cap's throttling is piecewise), large enough that integer picosecond rounding does not
    /// dominate (a 1% change of a 1 us op is 10,000 ps).</summary>
    public const double Step = 0.01;

    public static Command Create(CliContext cli)
    {
        var c = new Command("sensitivity", "Elasticity of latency and energy to every hardware parameter (d ln y / d ln p), the largest first, with each parameter's provenance");
        var hardware = CommonOptions.Hardware();
        var workload = new WorkloadOptions(c);
        var schedule = new Option<string?>("--schedule") { Description = "sequential (the default), dataflow, auto or eager (as for run)" };
        var launch = CommonOptions.Launch();
        var placement = new Option<string>("--placement") { DefaultValueFactory = _ => "resident", Description = "resident, fit or offload (as for run)" };
        var kvPolicy = new Option<string>("--kv-policy") { DefaultValueFactory = _ => "fit", Description = "fit or swap (as for run)" };
        var top = new Option<int>("--top") { DefaultValueFactory = _ => 10, Description = "How many parameters to list (largest |elasticity| first)" };
        var set = CommonOptions.Set();
        var format = CommonOptions.Format();
        var outPath = CommonOptions.Out();
        foreach (var o in new Option[] { hardware, schedule, launch, placement, kvPolicy, top, set, format, outPath }) c.Options.Add(o);
        c.SetAction(p =>
        {
            using var services = Composition.Build(p.GetValue(CommonOptions.Plugins));
            var config = CommonOptions.LoadHardware(p.GetValue(hardware)!, p.GetValue(set));
            var graph = workload.Build(p);
            var stack = workload.StackFor(p);
            var (scheduleName, decision) = Execution.ResolveSchedule(p.GetValue(schedule), graph.Info, p.GetValue(launch), stack);
            graph = Execution.Named(graph, decision.Mode, stack);
            var report = Analyse(config, services.Registry(), graph, scheduleName, p.GetValue(placement)!, p.GetValue(kvPolicy)!,
                Execution.HostCostFactor(stack, graph.Info));
            var n = Math.Max(0, p.GetValue(top));
            using var files = new OutputFiles();
            if (p.GetValue(outPath) is { } path)
            {
                using var w = files.Create(path, "--out");
                w.Write(JsonReport.Format(ToJson(report, n)));
            }
            if (p.GetValue(format) == "json") cli.Out.Write(JsonReport.Format(ToJson(report, n)));
            else Render(report, n, Execution.ConsoleFor(cli.Out));
            files.Commit();
            return 0;
        });
        return c;
    }

    /// <summary>Runs the study: one base run, then two runs per perturbable parameter.</summary>
    public static SensitivityReport Analyse(HardwareConfig config, PluginRegistry registry, WorkloadGraph graph,
        string scheduleName, string placement, string kvPolicy, double hostCostFactor = 1.0)
    {
        var schedule = Execution.Schedule(scheduleName, hostCostFactor);
        var (baseLatency, baseEnergy) = Measure(registry.Create(config), graph, schedule, placement, kvPolicy);
        var list = new List<Elasticity>();
        var skipped = new List<KeyValuePair<string, string>>();
        foreach (var path in config.NumericPaths())
        {
            var v = config.Values[path].Number!.Value;
            if (v == 0) { skipped.Add(new(path, "zero (unsupported or off)")); continue; }
            if (ParameterPerturbation.IsStructural(path, v)) { skipped.Add(new(path, "structural (a tile shape)")); continue; }
            var up = Try(config, registry, graph, schedule, placement, kvPolicy, path, ParameterPerturbation.Scale(path, v, 1 + Step)!.Value);
            var down = Try(config, registry, graph, schedule, placement, kvPolicy, path, ParameterPerturbation.Scale(path, v, 1 - Step)!.Value);
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
        ISchedule schedule, string placement, string kvPolicy, string path, double value)
    {
        try
        {
            var device = registry.Create(config.WithNumbers([new(path, value)]));
            var (l, e) = Measure(device, graph, schedule, placement, kvPolicy);
            return l > 0 && e > 0 ? (value, l, e) : null;
        }
        catch (InputException)
        {
            return null; // outside the parameter's valid range: the other side alone gives the slope
        }
    }

    private static (double LatencyS, double EnergyJ) Measure(Core.Devices.IDeviceModel device, WorkloadGraph graph, ISchedule schedule, string placement, string kvPolicy)
    {
        var placed = Execution.Place(graph, device, placement, kvPolicy);
        var result = new Simulator(schedule.Map(placed, device), device).Run();
        var m = MetricsCalculator.Compute(result, device);
        return (m.LatencyS, m.Energy.TotalJ);
    }

    /// <summary>Rounds away floating noise (and negative zero) so that the report is stable.</summary>
    private static double Clean(double v) => double.IsFinite(v) ? Math.Round(v, 4) + 0.0 : 0;

    public static JObject ToJson(SensitivityReport r, int top) => new()
    {
        ["schema"] = "accelsim.sensitivity/1",
        ["hardware"] = r.Hardware,
        ["latency_s"] = r.LatencyS,
        ["energy_j"] = r.EnergyJ,
        ["step"] = r.Step,
        ["perturbed"] = r.Parameters.Count,
        ["parameters"] = new JArray(r.Parameters.Take(top).Select(e => new JObject
        {
            ["path"] = e.Path,
            ["value"] = e.Value,
            ["provenance"] = e.Tag,
            ["latency_elasticity"] = e.Latency,
            ["energy_elasticity"] = e.Energy,
        })),
        ["skipped"] = new JArray(r.Skipped.Select(s => new JObject { ["path"] = s.Key, ["reason"] = s.Value })),
    };

    private static void Render(SensitivityReport r, int top, IAnsiConsole console)
    {
        var inv = CultureInfo.InvariantCulture;
        console.Write(new Rule($"AccelSim sensitivity: {Markup.Escape(r.Hardware)}").LeftJustified());
        console.WriteLine($"Base run: latency {(r.LatencyS * 1e3).ToString("0.000", inv)} ms, energy {r.EnergyJ.ToString("0.###", inv)} J; " +
                          $"{r.Parameters.Count} parameters moved by +/-{(r.Step * 100).ToString("0", inv)}%, {r.Skipped.Count} skipped");
        var t = new Table().AddColumns("#", "parameter", "value", "provenance", "d ln latency / d ln p", "d ln energy / d ln p");
        foreach (var col in t.Columns.Skip(4)) col.RightAligned();
        var i = 0;
        foreach (var e in r.Parameters.Take(top))
            t.AddRow((++i).ToString(inv), Markup.Escape(e.Path), e.Value.ToString("G6", inv), e.Tag,
                e.Latency.ToString("+0.000;-0.000;0.000", inv), e.Energy.ToString("+0.000;-0.000;0.000", inv));
        console.Write(t);
        if (r.Skipped.Count > 0)
            console.WriteLine("Skipped: " + string.Join("; ", r.Skipped.GroupBy(s => s.Value).Select(g => $"{g.Count()} {g.Key}")));
    }
}
