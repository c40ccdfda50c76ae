using System.CommandLine;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Config;
using AccelSim.Core.Memory;
using AccelSim.Core.Simulation;
using AccelSim.Workloads.Configs;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim run</c>: a model (Hugging Face config) or a native trace on one device.</summary>
public static class RunCommand
{
    public static Command Create(CliContext cli)
    {
        var c = new Command("run", "Simulate a workload on a device and report time, utilisation, energy and the memory wall");
        var hardware = CommonOptions.Hardware(required: false);
        var workload = new WorkloadOptions(c, listable: true);
        var system = new SystemOptions(c);
        var schedule = new Option<string?>("--schedule") { Description = "sequential (kernel by kernel; the default), dataflow (each layer as one spatial pipeline) auto (per layer, whichever is faster) or eager (alias of --launch eager: a host thread issues every op, as eager PyTorch does)" };
        var placement = new PlacementOptions(c);
        var launch = CommonOptions.Launch();
        var roofline = new Option<string?>("--roofline") { Description = "Write every op on the device's roofline to this CSV file" };
        var rooflinePlot = new Option<string?>("--roofline-plot") { Description = "Write a log-log roofline plot (PNG) of every op to this file" };
        var set = CommonOptions.Set();
        var format = CommonOptions.Format();
        var outPath = CommonOptions.Out();
        var timeline = CommonOptions.Timeline();
        var ops = CommonOptions.Ops();
        var opsCsv = CommonOptions.OpsCsv();
        c.Options.Add(opsCsv);
        var explain = new Option<int?>("--explain") { Arity = ArgumentArity.ZeroOrOne, Description = "After the report, explain in plain words why the top N entries by time (default 5) are bound as they are, and the run as a whole" };
        var html = HtmlOption.Create();
        var carbon = new CarbonOptions();
        foreach (var o in carbon.All) c.Options.Add(o);
        foreach (var o in new Option[] { hardware, schedule, launch, set, format, outPath, timeline, ops, roofline, rooflinePlot, explain, html })
            c.Options.Add(o);

        c.SetAction(p =>
        {
            using var services = Composition.Build(p.GetValue(CommonOptions.Plugins));
            var explainTop = p.GetResult(explain) is { Implicit: false } ? p.GetValue(explain) ?? Reports.Explain.RunExplainer.DefaultTop : (int?)null;
            if (explainTop < 0) throw new InputException(null, "--explain", $"expected a number of entries of at least 0, got {explainTop}");
            var list = ShapeLists.Of(p, workload.Batch, workload.Seq, workload.Context);
            if (system.OnSystem(p, hardware))
            {
                if (list is not null) throw new InputException(null, list.Option.Name, "a comma list runs one device at a time; on a system, give one value");
                SystemRun.Refuse(p, [explain]);
                SystemRun.Refuse(p, [.. carbon.All, launch, roofline, rooflinePlot, workload.Weights, workload.Sparsity]);
                Hosting.OutputFiles.Check((p.GetValue(outPath), "--out"), (p.GetValue(timeline), "--timeline"), (p.GetValue(opsCsv), "--ops-csv"), (p.GetValue(html), "--html"));
                var spec = SystemConfigLoader.LoadNamed(p.GetValue(system.System)!);
                var placed = SystemPlacement.Of(p, placement, spec, services.Registry(), p.GetValue(set));
                var outcome = SystemRun.Simulate(spec, p.GetValue(system.Nodes),
                    SystemWorkload(p, workload, system, spec, placed), services.Registry(), p.GetValue(set), p.GetValue(schedule));
                placed?.Check(outcome);
                return SystemRun.RunAndReport(cli, outcome, p.GetValue(format)!, p.GetValue(outPath), p.GetValue(timeline), p.GetValue(ops), p.GetValue(opsCsv), p.GetValue(html));
            }
            var config = CommonOptions.LoadHardware(p.GetValue(hardware)!, p.GetValue(set));
            var device = services.Registry().Create(config);
            var stack = workload.StackFor(p);
            if (list is not null)
            {
                SystemRun.Refuse(p, [timeline, roofline, rooflinePlot], $"a comma list of {list.Option.Name} writes one report per value; give one value for this output");
                return RunLists.RunAndReport(cli, p, list, config, device, services, workload, placement, p.GetValue(schedule), p.GetValue(launch), carbon,
                    p.GetValue(format)!, p.GetValue(outPath), p.GetValue(ops), explainTop);
            }
            var graph = workload.Build(p);
            graph = placement.Apply(p, graph, device);
            var plan = Execution.PlanLaunch(graph, device, p.GetValue(schedule), p.GetValue(launch), stack);
            if (plan.RunsEagerAsGraph)
                cli.Error.WriteLine($"note: {device.Name} has no host model; eager runs its ops kernel by kernel (the sequential schedule)");
            return Execution.RunAndReport(cli, plan.Graph, device, plan.Schedule, services.Bus(),
                new OutputRequest(p.GetValue(format)!, p.GetValue(outPath), p.GetValue(timeline), p.GetValue(ops))
                {
                    RooflinePath = p.GetValue(roofline),
                    RooflinePlotPath = p.GetValue(rooflinePlot),
                    OpsCsvPath = p.GetValue(opsCsv),
                    HtmlPath = p.GetValue(html),
                    Carbon = carbon.Resolve(p, config),
                    Launch = plan.Reported,
                    Explain = explainTop,
                }, new HardwareContext(config, services.Registry(), plan.ScheduleName));
        });
        return c;
    }

    /// <summary>The workload of a run on a system: per-rank traces, or the model spread by the plan's options.</summary>
    internal static SystemWorkload SystemWorkload(ParseResult p, WorkloadOptions workload, SystemOptions system, Core.Systems.SystemSpec spec,
        SystemPlacement? placement = null)
    {
        if (p.GetValue(workload.Trace) is { } trace)
        {
            if (p.GetValue(workload.Model) is not null) throw new InputException(null, "--model/--trace", "give exactly one of --model or --trace");
            SystemRun.Refuse(p, system.PlanOptions, "a parallelism plan applies to --model; per-rank traces fix their own ranks and collectives");
            if (placement is not null) throw new InputException(null, "--placement", "memory placement on a system applies per rank to --model plans; a trace fixes its own tensors' places");
            return SystemRun.FromTrace(p, workload, trace);
        }
        var (model, request) = workload.ModelRequest(p);
        return SystemRun.FromModel(model, request, system.Plans(p, lists: false)[0], SystemRun.Fabric(spec, p.GetValue(system.Nodes)), placement);
    }
}
