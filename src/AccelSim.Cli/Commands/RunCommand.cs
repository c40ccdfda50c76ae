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
        var model = new Option<string?>("--model") { Description = "Bundled model name (see 'accelsim list models') or a path to a Hugging Face config.json" };
        var trace = new Option<string?>("--trace") { Description = "A native trace JSON file (see docs/trace-format.md)" };
        var phase = new Option<string>("--phase") { DefaultValueFactory = _ => "prefill", Description = "prefill or decode" };
        var batch = new Option<long>("--batch") { DefaultValueFactory = _ => 1, Description = "Sequences" };
        var seq = new Option<long?>("--seq") { Description = "Prompt tokens per sequence (prefill; default 2048; decode makes 1 new token)" };
        var context = new Option<long?>("--context") { Description = "Cached tokens per sequence (decode; default 2048)" };
        var dtype = new Option<string?>("--dtype") { Description = "Weights and activations data type (default: the model's torch_dtype, else bf16)" };
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
        foreach (var o in new Option[] { hardware, model, trace, phase, batch, seq, context, dtype, schedule, placement, set, format, outPath, timeline, ops })
            c.Options.Add(o);

        c.SetAction(p =>
        {
            var modelName = p.GetValue(model);
            var tracePath = p.GetValue(trace);
            if ((modelName is null) == (tracePath is null))
                throw new InputException(null, "--model/--trace", "give exactly one of --model or --trace");
            using var services = Composition.Build(p.GetValue(CommonOptions.Plugins));
            var device = CommonOptions.CreateDevice(services.Registry(), p.GetValue(hardware)!, p.GetValue(set));
            var graph = tracePath is not null
                ? WorkloadFactory.FromTrace(tracePath)
                : WorkloadFactory.FromModel(modelName!, p.GetValue(phase)!, p.GetValue(batch), p.GetValue(seq) ?? (p.GetValue(phase) == "decode" ? 1 : 2048), p.GetValue(context) ?? (p.GetValue(phase) == "decode" ? 2048 : 0), p.GetValue(dtype));
            graph = Execution.Place(graph, device, p.GetValue(placement)!);
            return Execution.RunAndReport(cli, graph, device, Execution.Schedule(p.GetValue(schedule)!), services.Bus(),
                new OutputRequest(p.GetValue(format)!, p.GetValue(outPath), p.GetValue(timeline), p.GetValue(ops)));
        });
        return c;
    }
}
