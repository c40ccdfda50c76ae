using System.CommandLine;
using System.Globalization;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Config;
using AccelSim.Workloads.Import;

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
        var args = new TraceArgs(c, "The Chakra trace (.et)", "train", "default 1; the trace does not say", "default 0; the trace does not say");
        c.SetAction(p =>
        {
            var (file, target, name, phase, batch, seq, context) = args.Read(p);
            var result = Reports.ProgressReporter.Stage("reading the execution trace", () => ChakraEtImporter.Import(file,
                new ChakraEtOptions { Name = name, Phase = phase, Batch = batch, SeqLen = seq, Context = context }));
            Report(cli, result.Graph, result.Summary.Format(), target);
            return 0;
        });
        return c;
    }

    /// <summary>The arguments every importer takes: the input file, the native trace to write, and the
    /// workload labels a trace may not carry.</summary>
    private sealed class TraceArgs
    {
        private readonly Argument<string> _input;
        private readonly Option<string> _out = new("--out") { Required = true, Description = "Native trace to write (.json, or .json.gz to compress)" };
        private readonly Option<string?> _name = new("--name") { Description = "Workload name (default: the file name)" };
        private readonly Option<string> _phase;
        private readonly Option<long?> _batch;
        private readonly Option<long?> _seq;
        private readonly Option<long> _context = new("--context") { DefaultValueFactory = _ => 0, Description = "Cached tokens per sequence" };

        public TraceArgs(Command c, string inputDescription, string defaultPhase, string batchDefault, string seqDefault)
        {
            _input = new Argument<string>("file") { Description = inputDescription };
            _phase = new Option<string>("--phase") { DefaultValueFactory = _ => defaultPhase };
            _batch = new Option<long?>("--batch") { Description = $"Sequences ({batchDefault})" };
            _seq = new Option<long?>("--seq") { Description = $"New tokens per sequence ({seqDefault})" };
            c.Arguments.Add(_input);
            foreach (var o in new Option[] { _out, _name, _phase, _batch, _seq, _context }) c.Options.Add(o);
        }

        public (string File, string Out, string? Name, string Phase, long? Batch, long? Seq, long Context) Read(ParseResult p)
        {
            var batch = p.GetValue(_batch);
            var seq = p.GetValue(_seq);
            var context = p.GetValue(_context);
            if (batch is < 0) throw new InputException(null, "--batch", "expected a whole number >= 0");
            if (seq is < 0) throw new InputException(null, "--seq", "expected a whole number >= 0");
            if (context < 0) throw new InputException(null, "--context", "expected a whole number >= 0");
            Hosting.OutputFiles.Check((p.GetValue(_out), "--out"));
            return (p.GetValue(_input)!, p.GetValue(_out)!, p.GetValue(_name), p.GetValue(_phase)!, batch, seq, context);
        }
    }

    /// <summary>Writes the native trace, then prints the import summary and what was written.</summary>
    private static void Report(CliContext cli, Core.Graph.WorkloadGraph graph, string summary, string target)
    {
        ExportCommand.WriteTrace(graph, target);
        cli.Out.Write(summary);
        cli.Out.WriteLine($"wrote {graph.Ops.Count} ops, {graph.Tensors.Count} tensors to {target}");
    }

    private static Command PytorchEt(CliContext cli)
    {
        var c = new Command("pytorch-et", "Import a PyTorch Execution Trace (torch.profiler.ExecutionTraceObserver JSON, .json or .json.gz)");
        var args = new TraceArgs(c, "The Execution Trace (.json or .json.gz)", "prefill", "default: from the embedding's token ids", "default: from the embedding's token ids");
        var kineto = new Option<string?>("--kineto") { Description = "Kineto profile of the same run: print the host calibration" };
        var forwardMs = new Option<double?>("--forward-ms") { Description = "Measured forward time in ms (with --kineto)" };
        c.Options.Add(kineto);
        c.Options.Add(forwardMs);
        c.SetAction(p =>
        {
            if (p.GetValue(forwardMs) is not null && p.GetValue(kineto) is null)
                throw new InputException(null, "--forward-ms", "calibrates the host against a Kineto profile; give --kineto too");
            var (file, target, name, phase, batch, seq, context) = args.Read(p);
            if (p.GetValue(forwardMs) is not null && p.GetValue(kineto) is null)
                throw new InputException(null, "--forward-ms", "applies with --kineto (the host calibration needs the profile's kernel time)");
            var result = Reports.ProgressReporter.Stage("reading the execution trace", () => PytorchEtImporter.Import(file,
                new PytorchEtOptions { Name = name, Phase = phase, Batch = batch, SeqLen = seq, Context = context }));
            Report(cli, result.Graph, result.Summary.Format(), target);

            if (p.GetValue(kineto) is { } kinetoPath)
            {
                var k = KinetoSummary.Load(kinetoPath);
                var inv = CultureInfo.InvariantCulture;
                cli.Out.WriteLine(string.Create(inv,
                    $"kineto: {k.Kernels} kernels ({Reports.Quantities.Time(k.KernelTimeS)}), {k.MemoryOps} memsets/memcpys ({Reports.Quantities.Time(k.MemoryOpTimeS)}), {k.CpuOps} cpu ops ({k.TopLevelCpuOps} top-level), {k.Launches} launches"));
                if (p.GetValue(forwardMs) is { } ms)
                {
                    if (!(ms > 0)) throw new InputException(null, "--forward-ms", "expected a time in milliseconds > 0");
                    var cal = new HostCalibration(ms * 1e-3, k.KernelTimeS + k.MemoryOpTimeS, result.Summary.HostCalls,
                        result.Summary.TopLevelCalls, result.Summary.DeviceOps);
                    cli.Out.WriteLine(string.Create(inv,
                        $"host: device busy {Reports.Quantities.Percent(cal.DeviceBusyFraction)} of {Reports.Quantities.Time(ms * 1e-3)}; {Reports.Quantities.Time(cal.SecondsPerHostCall)} per host call, {Reports.Quantities.Time(cal.SecondsPerTopLevelCall)} per top-level call, {Reports.Quantities.Time(cal.SecondsPerDeviceOp)} per device op"));
                }
            }
            return 0;
        });
        return c;
    }
}
