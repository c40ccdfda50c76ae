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
        var workload = new WorkloadOptions(c, allowTrace: false);
        var outPath = new Option<string>("--out") { Required = true, Description = "Trace file to write (.json, or .json.gz to compress)" };
        c.Options.Add(outPath);
        c.SetAction(p =>
        {
            var target = p.GetValue(outPath)!;
            OutputFiles.Check((target, "--out"));
            var graph = workload.Build(p);
            if (workload.StackFor(p) is { } stack) graph = graph.WithInfo(graph.Info with { Stack = stack.Name });
            WriteTrace(graph, target);
            cli.Out.WriteLine($"wrote {graph.Ops.Count} ops, {graph.Tensors.Count} tensors to {target}");
            return 0;
        });
        return c;
    }

    /// <summary>Writes a native trace (<c>--out</c>; .json, or .json.gz compressed) all at once: nothing is
    /// left half-written when something fails.</summary>
    internal static void WriteTrace(Core.Graph.WorkloadGraph graph, string target)
    {
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
    }
}
