using System.CommandLine;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Metrics;
using AccelSim.Reports;
using AccelSim.Reports.Explain;
using Microsoft.Extensions.DependencyInjection;
using Newtonsoft.Json.Linq;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim run</c> over a comma list of one shape option (<c>--batch 1,2,4,8</c>, <c>--seq</c> or
/// <c>--context</c>): one full run per value, in the order given, as one table row each or one report each in
/// <c>accelsim.runs/1</c> (docs/report-schema.md).</summary>
public static class RunLists
{
    public static int RunAndReport(CliContext cli, ParseResult p, ShapeList list, HardwareConfig config, IDeviceModel device,
        ServiceProvider services, WorkloadOptions workload, PlacementOptions placement, string? schedule, string? launch,
        CarbonOptions carbon, string format, string? outPath, bool includeOps, int? explainTop)
    {
        ArgumentNullException.ThrowIfNull(cli);
        ArgumentNullException.ThrowIfNull(list);
        OutputFiles.Check((outPath, "--out"));
        var stack = workload.StackFor(p);
        var carbonInputs = carbon.Resolve(p, config);
        // Every value's graph is built before anything runs, so a bad value is reported before any simulation.
        var graphs = list.Values.Select(v => workload.Build(p, new ShapePoint(list.Option, v))).ToArray();
        var runs = new List<(long Value, RunMetrics Run, RunExplanation? Explanation)>();
        for (var i = 0; i < graphs.Length; i++)
        {
            var placed = placement.Apply(p, graphs[i], device);
            var plan = Execution.PlanLaunch(placed, device, schedule, launch, stack);
            var metrics = Execution.Simulate(plan.Graph, device, plan.Schedule, services.Bus(), null, progress: true).Metrics;
            metrics = metrics with { Launch = plan.Reported, Carbon = Carbon.Compute(metrics, carbonInputs) };
            metrics = Execution.Annotate(metrics, plan.Graph, device, plan.Schedule, new HardwareContext(config, services.Registry(), plan.ScheduleName));
            metrics = Execution.Priced(metrics, config);
            var explanation = explainTop is { } top ? RunExplainer.Explain(metrics, ExplainDevice.From(device), top) : null;
            runs.Add((list.Values[i], metrics, explanation));
        }

        var json = new JObject
        {
            ["schema"] = RunListReport.Schema,
            ["axis"] = list.Axis,
            ["values"] = new JArray(list.Values),
            ["runs"] = new JArray(runs.Select(r =>
            {
                var o = Execution.JsonObject(r.Run, includeOps, r.Explanation);
                o["fits"] = Comparison.Fits(r.Run);
                return o;
            })),
        };
        using var files = new OutputFiles();
        if (outPath is not null)
        {
            using var w = files.Create(outPath, "--out");
            w.Write(JsonReport.Format(json));
        }
        if (format == "json")
        {
            cli.Out.Write(JsonReport.Format(json));
        }
        else
        {
            var console = Execution.ConsoleFor(cli.Out, width: 160);
            var main = device.Topology.Channels[device.MainMemoryChannel].TrafficName;
            RunListReport.Render(list.Axis, runs.Select(r => (r.Value, r.Run)).ToArray(), main, console);
            foreach (var (value, _, explanation) in runs)
            {
                if (explanation is null) continue;
                console.WriteLine();
                console.Write(new Rule($"[bold]{list.Axis} {value}[/]").LeftJustified());
                ExplainReport.Render(explanation, console);
            }
        }
        files.Commit();
        return 0;
    }
}
