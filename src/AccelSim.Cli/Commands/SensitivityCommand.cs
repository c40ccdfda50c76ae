using System.CommandLine;
using System.Globalization;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Metrics;
using AccelSim.Reports;
using Newtonsoft.Json.Linq;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim sensitivity</c>: which hardware parameters a result depends on, and where each
/// comes from. Parses the request, runs <see cref="SensitivityAnalysis"/> (every numeric parameter moved
/// by ±<see cref="SensitivityAnalysis.Step"/>, the workload simulated again) and renders its report.</summary>
public static class SensitivityCommand
{
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
            var schedulePlan = Execution.Schedule(scheduleName, Execution.HostCostFactor(stack, graph.Info));
            var (placementPolicy, kv) = Execution.ParsePlacement(graph, p.GetValue(placement)!, p.GetValue(kvPolicy)!);
            var report = SensitivityAnalysis.Run(config, services.Registry(), graph, schedulePlan, placementPolicy, kv);
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
        console.WriteLine($"Base run: latency {Quantities.Time(r.LatencyS)}, energy {Quantities.Energy(r.EnergyJ)}; " +
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
