using System.CommandLine;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Config;
using AccelSim.Workloads.Traces;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim export</c>: writes the graph built from a model config as a native trace that a
/// user can edit and run with <c>run --trace</c>.</summary>
public static class ExportCommand
{
    public static Command Create(CliContext cli)
    {
        var c = new Command("export", "Write a model's workload graph as a native trace (docs/trace-format.md)");
        var model = new Option<string>("--model") { Required = true, Description = "Bundled model name or a Hugging Face config.json" };
        var phase = new Option<string>("--phase") { DefaultValueFactory = _ => "prefill" };
        var batch = new Option<long>("--batch") { DefaultValueFactory = _ => 1 };
        var seq = new Option<long?>("--seq") { Description = "Prompt tokens per sequence (prefill and train; default 2048)" };
        var context = new Option<long?>("--context") { Description = "Cached tokens per sequence (decode; default 2048)" };
        var dtype = new Option<string?>("--dtype");
        var outPath = new Option<string>("--out") { Required = true, Description = "Trace file to write (.json, or .json.gz to compress)" };
        foreach (var o in new Option[] { model, phase, batch, seq, context, dtype, outPath }) c.Options.Add(o);
        c.SetAction(p =>
        {
            var decode = p.GetValue(phase) == "decode";
            var graph = WorkloadFactory.FromModel(p.GetValue(model)!, p.GetValue(phase)!, p.GetValue(batch),
                p.GetValue(seq) ?? (decode ? 1 : 2048), p.GetValue(context) ?? (decode ? 2048 : 0), p.GetValue(dtype));
            var target = p.GetValue(outPath)!;
            using var files = new OutputFiles();
            if (target.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
            {
                NativeTraceWriter.Write(graph, files.CreatePath(target, "--out"));
            }
            else
            {
                using var w = files.Create(target, "--out");
                NativeTraceWriter.Write(graph, w);
            }
            files.Commit();
            cli.Out.WriteLine($"wrote {graph.Ops.Count} ops, {graph.Tensors.Count} tensors to {target}");
            return 0;
        });
        return c;
    }
}
