using System.CommandLine;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Config;
using AccelSim.Core.Memory;
using AccelSim.Core.Simulation;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim run</c>: a model (Hugging Face config) or a native trace on one device.</summary>
public static class RunCommand
{
    public static Command Create(CliContext cli)
    {
        var c = new Command("run", "Simulate a workload on a device and report time, utilisation, energy and the memory wall");
        var hardware = CommonOptions.Hardware();
        var workload = new WorkloadOptions(c);
        var schedule = new Option<string>("--schedule") { DefaultValueFactory = _ => "sequential", Description = "sequential (kernel by kernel), dataflow (each layer as one spatial pipeline) auto (per layer, whichever is faster) or eager (alias of --launch eager: a host thread issues every op, as eager PyTorch does)" };
        var placement = new Option<string>("--placement")
        {
            DefaultValueFactory = _ => "resident",
            Description = "resident (all in device memory; over-capacity is reported), fit (error if it does not fit), offload (stream what does not fit from the next tier); training: zero-infinity (gradients and optimizer states on the host, AdamW on the host CPU after the backward) or ssd-pipelined (optimizer states on NVMe, swapped in a pipeline with a per-layer CPU AdamW that overlaps the backward)",
        };
        var kvPolicy = new Option<string>("--kv-policy")
        {
            DefaultValueFactory = _ => "fit",
            Description = "fit (the KV cache stays in device memory) or swap (KV that does not fit lives in the next tier and is swapped in layer by layer)",
        };
        var experts = new Option<int>("--experts")
        {
            DefaultValueFactory = _ => 0,
            Description = "Composition of Experts: switch this many expert models (each the size of the model's weights) from the tier below device memory before the step",
        };
        var launch = CommonOptions.Launch();
        var roofline = new Option<string?>("--roofline") { Description = "Write every op on the device's roofline to this CSV file" };
        var rooflinePlot = new Option<string?>("--roofline-plot") { Description = "Write a log-log roofline plot (PNG) of every op to this file" };
        var set = CommonOptions.Set();
        var format = CommonOptions.Format();
        var outPath = CommonOptions.Out();
        var timeline = CommonOptions.Timeline();
        var ops = CommonOptions.Ops();
        var carbon = new CarbonOptions();
        foreach (var o in carbon.All) c.Options.Add(o);
        foreach (var o in new Option[] { hardware, schedule, launch, placement, kvPolicy, experts, set, format, outPath, timeline, ops, roofline, rooflinePlot })
            c.Options.Add(o);

        c.SetAction(p =>
        {
            using var services = Composition.Build(p.GetValue(CommonOptions.Plugins));
            var config = CommonOptions.LoadHardware(p.GetValue(hardware)!, p.GetValue(set));
            var device = services.Registry().Create(config);
            var stack = workload.StackFor(p);
            var (sched, launchMode) = Execution.Launch(p.GetValue(schedule)!, p.GetValue(launch), stack);
            var graph = workload.Build(p);
            var switches = p.GetValue(experts);
            if (switches != 0) graph = ExpertSwitching.Compose(graph, switches, device);
            graph = Execution.Place(graph, device, p.GetValue(placement)!, p.GetValue(kvPolicy)!);
            if (launchMode == "eager" && device is not IHostDispatchDevice)
            {
                cli.Error.WriteLine($"note: {device.Name} has no host model; eager runs its ops kernel by kernel (the sequential schedule)");
                launchMode = "graph";
            }
            graph = Execution.Named(graph, launchMode, stack);
            return Execution.RunAndReport(cli, graph, device, sched, services.Bus(),
                new OutputRequest(p.GetValue(format)!, p.GetValue(outPath), p.GetValue(timeline), p.GetValue(ops))
                {
                    RooflinePath = p.GetValue(roofline),
                    RooflinePlotPath = p.GetValue(rooflinePlot),
                    Carbon = carbon.Resolve(p, config),
                });
        });
        return c;
    }
}
