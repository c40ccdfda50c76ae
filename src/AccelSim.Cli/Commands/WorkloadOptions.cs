using System.CommandLine;
using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Stacks;
using AccelSim.Workloads.Traces;

namespace AccelSim.Cli.Commands;

/// <summary>The options that pick a workload (a model config or a native trace, phase and shape), shared
/// by run, compare and export, and the graph they describe.</summary>
public sealed class WorkloadOptions
{
    public Option<string?> Model { get; } = new("--model") { Description = "Bundled model name (see 'accelsim list models') or a path to a Hugging Face config.json" };
    public Option<string?> Trace { get; } = new("--trace") { Description = "A native trace JSON file (see docs/trace-format.md)" };
    public Option<string> Phase { get; } = new("--phase") { DefaultValueFactory = _ => "prefill", Description = "prefill, decode or train" };
    public Option<long> Batch { get; } = new("--batch") { DefaultValueFactory = _ => 1, Description = "Sequences" };
    public Option<long?> Seq { get; } = new("--seq") { Description = "Prompt tokens per sequence (prefill and train; default 2048, or the model's max_position_embeddings if fewer; decode makes 1 new token)" };
    public Option<long?> Context { get; } = new("--context") { Description = "Cached tokens per sequence (decode; default 2048, or max_position_embeddings - 1 if fewer)" };
    public Option<string?> DType { get; } = new("--dtype") { Description = "Weights and activations data type (default: the model's torch_dtype, else bf16)" };
    public Option<double> ExpertSkew { get; } = new("--expert-skew") { DefaultValueFactory = _ => 0, Description = "Mixture-of-experts routing skew in [0, 1): 0 spreads tokens uniformly" };
    public Option<bool> Recompute { get; } = new("--recompute") { Description = "Training: recompute each layer's forward in backward instead of keeping activations" };
    public Option<string?> Weights { get; } = new("--weights") { Description = "Store matmul weights as int4, int8, fp8, bf16 or fp16 (changes bytes; devices with packed arithmetic run faster)" };
    public Option<string?> Sparsity { get; } = new("--sparsity") { Description = "N:M structured sparsity of matmul weights, e.g. 2:4 (changes bytes and effective FLOPs)" };
    public Option<string?> Stack { get; } = new("--stack") { Description = "Software stack that lowers the model into kernels: fused (a serving engine, the default), pytorch (plain PyTorch modules) or a stack JSON file (docs/stacks.md)" };

    /// <summary>Default prompt (prefill, train) and cache (decode) length, capped by the model's positions.</summary>
    public const int DefaultTokens = 2048;

    public WorkloadOptions(Command command, bool allowTrace = true, bool listable = false)
    {
        if (listable) ShapeLists.Allow(Batch, Seq, Context);
        command.Options.Add(Model);
        if (allowTrace) command.Options.Add(Trace);
        foreach (var o in new Option[] { Phase, Batch, Seq, Context, DType, ExpertSkew, Recompute, Weights, Sparsity, Stack }) command.Options.Add(o);
    }

    /// <summary>Whether the command line gave <paramref name="option"/> (not its default).</summary>
    public static bool IsGiven(ParseResult p, Option option) => p.GetResult(option) is { Implicit: false };

    public WorkloadGraph Build(ParseResult p, ShapePoint? point = null)
    {
        var graph = Reports.ProgressReporter.Stage("reading the workload", () => BuildGraph(p, point));
        var weights = p.GetValue(Weights);
        var sparsity = p.GetValue(Sparsity);
        if (weights is null && sparsity is null) return graph;
        return WeightFormat.Apply(graph,
            weights is null ? null : WeightFormat.ParseWeights(weights, "--weights"),
            sparsity is null ? null : NmSparsity.Parse(sparsity, "--sparsity"));
    }

    /// <summary>The software stack of <c>--stack</c> (bundled name or file), the fused one without it;
    /// null for a trace, whose kernels are those it recorded.</summary>
    public SoftwareStack? StackFor(ParseResult p)
    {
        var name = p.GetValue(Stack);
        if (p.GetValue(Trace) is not null)
        {
            if (name is not null)
                throw new InputException(null, "--stack", "a trace records its own kernels; --stack applies to --model");
            return null;
        }
        return name is null ? SoftwareStack.Fused : StackLoader.LoadNamed(name);
    }

    private WorkloadGraph BuildGraph(ParseResult p, ShapePoint? point)
    {
        var model = p.GetValue(Model);
        var trace = p.GetValue(Trace);
        if ((model is null) == (trace is null))
            throw new InputException(null, "--model/--trace", "give exactly one of --model or --trace");
        if (trace is not null)
        {
            // A trace fixes its own ops and shapes: the options that shape a model's graph would be ignored.
            var ignored = new Option[] { Phase, Batch, Seq, Context, DType, ExpertSkew, Recompute }
                .Where(o => IsGiven(p, o))
                .Select(o => new InputProblem(null, o.Name, "applies to --model workloads only; a --trace fixes its own phase, shapes and data types"))
                .ToArray();
            if (ignored.Length > 0) throw new InputException(ignored);
            if (!File.Exists(trace)) throw new InputException(trace, null, "no such trace file");
            return NativeTraceReader.Read(trace);
        }

        var (config, request) = ModelRequest(p, point);
        return ModelBuilderRegistry.Default.Build(config, request);
    }

    /// <summary>The model config and the request (phase, batch, lengths, data type, stack) that
    /// <c>--model</c> and the shape options describe, before any graph is built.</summary>
    public (ModelConfig Config, WorkloadRequest Request) ModelRequest(ParseResult p, ShapePoint? point = null)
    {
        var model = p.GetValue(Model) ?? throw new InputException(null, "--model", "expected a model name or a config.json path");
        var phaseText = p.GetValue(Phase)!;
        if (!Phases.TryParse(phaseText, out var phase))
            throw new InputException(null, "--phase", $"expected {Phases.Expected}, got '{phaseText}'");
        var decode = phase == Workloads.Models.Phase.Decode;
        if (decode && p.GetValue(Seq) is { } seq)
        {
            throw new InputException(null, "--seq",
                $"decode makes one new token per sequence and ignores --seq (got {seq}); give the cached tokens with --context");
        }
        var dtypeText = p.GetValue(DType);
        Core.Graph.DType? dtype = dtypeText is null ? null : CommonOptions.ParseDType(dtypeText, "--dtype");
        var config = ModelConfigLoader.LoadNamed(model);
        // Defaults fit the model: 2048 tokens, or as many as its positions allow (a decode step needs
        // one position for its new token). A length given explicitly is checked, never shortened.
        var positions = config.MaxPositionEmbeddings ?? int.MaxValue;
        // One value of a list (run --batch 1,2,4) replaces the option's value.
        long? Given(Option option, long? value) => point is { } pt && ReferenceEquals(pt.Option, option) ? pt.Value : value;
        var request = new WorkloadRequest(phase, Given(Batch, p.GetValue(Batch))!.Value,
            Given(Seq, p.GetValue(Seq)) ?? (decode ? 1 : Math.Min(DefaultTokens, positions)),
            Given(Context, p.GetValue(Context)) ?? (decode ? Math.Min(DefaultTokens, positions - 1L) : 0),
            dtype)
        {
            ExpertSkew = p.GetValue(ExpertSkew),
            Recompute = p.GetValue(Recompute),
            Stack = StackFor(p) ?? SoftwareStack.Fused,
        };
        return (config, request);
    }
}
