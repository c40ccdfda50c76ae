using System.CommandLine;
using System.Globalization;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Config;
using AccelSim.Workloads.Import;
using AccelSim.Workloads.Traces;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim import pytorch-et</c> and <c>accelsim import chakra-et</c>: convert a PyTorch
/// Execution Trace (docs/pytorch-et.md) or a Chakra execution trace (docs/chakra-et.md) into a native
/// trace and print what was mapped, including every op the importer did not know.</summary>
public static class ImportCommand
{
    public static Command Create(CliContext cli)
    {
        var c = new Command("import", "Convert a recorded trace into a native trace");
        c.Subcommands.Add(PytorchEt(cli));
        c.Subcommands.Add(ChakraEt(cli));
        return c;
    }

    private static Command ChakraEt(CliContext cli)
    {
        var c = new Command("chakra-et", "Import an MLCommons Chakra execution trace (protobuf .et, as ASTRA-sim reads; optionally gzip-compressed)");
        var input = new Argument<string>("file") { Description = "The Chakra trace (.et)" };
        var outPath = new Option<string>("--out") { Required = true, Description = "Native trace to write (.json, or .json.gz to compress)" };
        var name = new Option<string?>("--name") { Description = "Workload name (default: the file name)" };
        var phase = new Option<string>("--phase") { DefaultValueFactory = _ => "train" };
        var batch = new Option<long?>("--batch") { Description = "Sequences (default 1; the trace does not say)" };
        var seq = new Option<long?>("--seq") { Description = "New tokens per sequence (default 0; the trace does not say)" };
        var context = new Option<long>("--context") { DefaultValueFactory = _ => 0, Description = "Cached tokens per sequence" };
        c.Arguments.Add(input);
        foreach (var o in new Option[] { outPath, name, phase, batch, seq, context }) c.Options.Add(o);
        c.SetAction(p =>
        {
            var options = new ChakraEtOptions
            {
                Name = p.GetValue(name),
                Phase = p.GetValue(phase)!,
                Batch = p.GetValue(batch),
                SeqLen = p.GetValue(seq),
                Context = p.GetValue(context),
            };
            if (options.Batch is < 0) throw new InputException(null, "--batch", "expected a whole number >= 0");
            if (options.SeqLen is < 0) throw new InputException(null, "--seq", "expected a whole number >= 0");
            if (options.Context < 0) throw new InputException(null, "--context", "expected a whole number >= 0");
            var result = ChakraEtImporter.Import(p.GetValue(input)!, options);
            var target = p.GetValue(outPath)!;
            WriteTrace(result.Graph, target);
            cli.Out.Write(result.Summary.Format());
            cli.Out.WriteLine($"wrote {result.Graph.Ops.Count} ops, {result.Graph.Tensors.Count} tensors to {target}");
            return 0;
        });
        return c;
    }

    /// <summary>Writes the native trace only once the whole input has been read (no half-written file on bad input).</summary>
    private static void WriteTrace(Core.Graph.WorkloadGraph graph, string target)
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

    private static Command PytorchEt(CliContext cli)
    {
        var c = new Command("pytorch-et", "Import a PyTorch Execution Trace (torch.profiler.ExecutionTraceObserver JSON, .json or .json.gz)");
        var input = new Argument<string>("file") { Description = "The Execution Trace (.json or .json.gz)" };
        var outPath = new Option<string>("--out") { Required = true, Description = "Native trace to write (.json, or .json.gz to compress)" };
        var name = new Option<string?>("--name") { Description = "Workload name (default: the file name)" };
        var phase = new Option<string>("--phase") { DefaultValueFactory = _ => "prefill" };
        var batch = new Option<long?>("--batch") { Description = "Sequences (default: from the embedding's token ids)" };
        var seq = new Option<long?>("--seq") { Description = "New tokens per sequence (default: from the embedding's token ids)" };
        var context = new Option<long>("--context") { DefaultValueFactory = _ => 0, Description = "Cached tokens per sequence" };
        var kineto = new Option<string?>("--kineto") { Description = "Kineto profile of the same run: print the host calibration" };
        var forwardMs = new Option<double?>("--forward-ms") { Description = "Measured forward time in ms (with --kineto)" };
        c.Arguments.Add(input);
        foreach (var o in new Option[] { outPath, name, phase, batch, seq, context, kineto, forwardMs }) c.Options.Add(o);
        c.SetAction(p =>
        {
            var options = new PytorchEtOptions
            {
                Name = p.GetValue(name),
                Phase = p.GetValue(phase)!,
                Batch = p.GetValue(batch),
                SeqLen = p.GetValue(seq),
                Context = p.GetValue(context),
            };
            if (options.Batch is < 0) throw new InputException(null, "--batch", "expected a whole number >= 0");
            if (options.SeqLen is < 0) throw new InputException(null, "--seq", "expected a whole number >= 0");
            if (options.Context < 0) throw new InputException(null, "--context", "expected a whole number >= 0");
            var result = PytorchEtImporter.Import(p.GetValue(input)!, options);

            var target = p.GetValue(outPath)!;
            WriteTrace(result.Graph, target);
            cli.Out.Write(result.Summary.Format());
            cli.Out.WriteLine($"wrote {result.Graph.Ops.Count} ops, {result.Graph.Tensors.Count} tensors to {target}");

            if (p.GetValue(kineto) is { } kinetoPath)
            {
                var k = KinetoSummary.Load(kinetoPath);
                var inv = CultureInfo.InvariantCulture;
                cli.Out.WriteLine(string.Create(inv,
                    $"kineto: {k.Kernels} kernels ({k.KernelTimeS * 1e3:0.000} ms), {k.MemoryOps} memsets/memcpys ({k.MemoryOpTimeS * 1e3:0.000} ms), {k.CpuOps} cpu ops ({k.TopLevelCpuOps} top-level), {k.Launches} launches"));
                if (p.GetValue(forwardMs) is { } ms)
                {
                    if (!(ms > 0)) throw new InputException(null, "--forward-ms", "expected a time in milliseconds > 0");
                    var cal = new HostCalibration(ms * 1e-3, k.KernelTimeS + k.MemoryOpTimeS, result.Summary.HostCalls,
                        result.Summary.TopLevelCalls, result.Summary.DeviceOps);
                    cli.Out.WriteLine(string.Create(inv,
                        $"host: device busy {cal.DeviceBusyFraction * 100:0.0} % of {ms:0.000} ms; {cal.SecondsPerHostCall * 1e6:0.00} us per host call, {cal.SecondsPerTopLevelCall * 1e6:0.00} us per top-level call, {cal.SecondsPerDeviceOp * 1e6:0.00} us per device op"));
                }
            }
            return 0;
        });
        return c;
    }
}
