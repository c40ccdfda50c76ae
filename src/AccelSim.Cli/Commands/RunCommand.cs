using System.CommandLine;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Config;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim run</c>: a model (Hugging Face config) or a native trace on one device.</summary>
public static class RunCommand
{
    public static Command Create(CliContext cli)
    {
        var c = new Command("run", "Simulate a workload on a device and report time, utilisation, energy and the memory wall");
        var hardware = CommonOptions.Hardware();
        var workload = new WorkloadOptions(c);
        var schedule = new Option<string>("--schedule") { DefaultValueFactory = _ => "sequential", Description = "sequential (kernel by kernel), dataflow (each layer as one spatial pipeline) auto (per layer, whichever is faster) or eager (a host thread issues every op, as eager PyTorch does)" };
        var placement = new Option<string>("--placement")
        {
            DefaultValueFactory = _ => "resident",
            Description = "resident (all in device memory; over-capacity is reported), fit (error if it does not fit) or offload (stream what does not fit from the next tier)",
        };
        var set = CommonOptions.Set();
        var format = CommonOptions.Format();
        var outPath = CommonOptions.Out();
        var timeline = CommonOptions.Timeline();
        var ops = CommonOptions.Ops();
        foreach (var o in new Option[] { hardware, schedule, placement, set, format, outPath, timeline, ops })
            c.Options.Add(o);

        c.SetAction(p =>
        {
            using var services = Composition.Build(p.GetValue(CommonOptions.Plugins));
            var device = CommonOptions.CreateDevice(services.Registry(), p.GetValue(hardware)!, p.GetValue(set));
            var graph = workload.Build(p);
            graph = Execution.Place(graph, device, p.GetValue(placement)!);
            return Execution.RunAndReport(cli, graph, device, Execution.Schedule(p.GetValue(schedule)!), services.Bus(),
                new OutputRequest(p.GetValue(format)!, p.GetValue(outPath), p.GetValue(timeline), p.GetValue(ops)));
        });
        return c;
    }
}
