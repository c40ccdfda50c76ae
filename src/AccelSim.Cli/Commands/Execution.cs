using AccelSim.Cli.Hosting;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Reports;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary>How results leave a command.</summary>
public sealed record OutputRequest(string Format, string? OutPath, string? TimelinePath, bool IncludeOps)
{
    /// <summary>CSV of every op on the roofline (<c>--roofline</c>).</summary>
    public string? RooflinePath { get; init; }

    /// <summary>PNG of the roofline (<c>--roofline-plot</c>).</summary>
    public string? RooflinePlotPath { get; init; }

    /// <summary>CSV of every op (<c>--ops-csv</c>, <see cref="OpsCsv"/>).</summary>
    public string? OpsCsvPath { get; init; }
    /// <summary>The self-contained HTML report (<c>--html</c>, docs/html-report.md).</summary>
    public string? HtmlPath { get; init; }

    /// <summary>Carbon inputs; when given, the report carries a carbon section.</summary>
    public CarbonInputs? Carbon { get; init; }

    /// <summary>The launch decision to report (<see cref="Execution.Reported"/>), or null.</summary>
    public LaunchDecision? Launch { get; init; }

    /// <summary>Whether the table shows tokens/s and tokens/J; false for a single kernel (<c>accelsim op</c>),
    /// where they mean nothing. The JSON report keeps its fields either way.</summary>
    public bool PerTokenFigures { get; init; } = true;

    /// <summary>Explain the run in plain words with this many top entries (<c>--explain</c>), or null.</summary>
    public int? Explain { get; init; }
}

/// <summary>The hardware description a run used and the registry that built its device: what a report
/// needs to name its inputs and measure how much rests on estimates.</summary>
public sealed record HardwareContext(Core.Config.HardwareConfig Config, Core.Plugins.PluginRegistry Registry, string ScheduleName);

/// <summary>The path every simulating command shares: schedule, simulate with observers attached,
/// compute metrics, emit reports.</summary>
public static class Execution
{
    public static ISchedule Schedule(string name, double hostCostFactor = 1.0) => name switch
    {
        "sequential" => new SequentialSchedule(),
        "dataflow" => new DataflowSchedule(auto: false),
        "auto" => new DataflowSchedule(auto: true),
        "eager" => new EagerSchedule(hostCostFactor),
        _ => throw new Core.Config.InputException(null, "--schedule", $"expected sequential, dataflow, auto or eager, got '{name}'"),
    };

    /// <summary>The schedule a run uses and the launch decision behind it (docs/stacks.md, "Launch modes").
    /// <c>--launch</c> wins; <c>--schedule eager</c> is its alias for eager; any other explicit
    /// <c>--schedule</c> is a graph launch unless <c>--launch eager</c> says otherwise. Without either, the
    /// workload decides through <see cref="LaunchDecision.Resolve"/>: a trace that records an eager program
    /// runs eager, then the stack's own launch mode (plain PyTorch launches eagerly), else graph replay.
    /// Eager launch runs on the sequential schedule only: a host issuing kernels one by one and a layer
    /// fused into one pipeline exclude each other.</summary>
    public static (string Schedule, LaunchDecision Launch) ResolveSchedule(string? schedule, WorkloadInfo info,
        string? launch = null, Workloads.Stacks.SoftwareStack? stack = null)
    {
        ArgumentNullException.ThrowIfNull(info);
        LaunchMode? requested = null;
        if (launch is not null)
        {
            if (!LaunchModes.TryParse(launch, out var m))
                throw new Core.Config.InputException(null, "--launch", $"expected graph or eager, got '{launch}'");
            requested = m;
        }
        if (schedule == "eager")
        {
            if (requested == LaunchMode.Graph)
                throw new Core.Config.InputException(null, "--launch", "--schedule eager is eager launch; drop --launch graph or use --schedule sequential");
            return ("eager", new LaunchDecision(LaunchMode.Eager, LaunchSource.Option));
        }
        if (schedule is not null && requested is null) requested = LaunchMode.Graph;
        var decision = LaunchDecision.Resolve(requested, info, stack?.Launch);
        if (decision.Mode != LaunchMode.Eager) return (schedule ?? "sequential", decision);
        if (schedule is not null && schedule != "sequential")
            throw new Core.Config.InputException(null, "--launch",
                $"eager launch issues kernels one by one from the host and runs with --schedule sequential only, got '{schedule}'");
        return ("eager", decision);
    }

    /// <summary>The decision worth recording in a report: an eager launch, or one the workload decided;
    /// a graph launch by default or by option leaves the report as it always was.</summary>
    public static LaunchDecision? Reported(LaunchDecision d) =>
        d.Source == LaunchSource.Workload || d.Mode == LaunchMode.Eager ? d : null;

    /// <summary>How one run launches on one device: the graph named with its stack and launch mode, the
    /// schedule (eager dispatches scaled by the stack's host cost factor), its name, the decision, and the
    /// decision as the report shows it. A device without a host model runs an eager program kernel by
    /// kernel (<see cref="RunsEagerAsGraph"/>).</summary>
    public sealed record LaunchPlan(WorkloadGraph Graph, ISchedule Schedule, string ScheduleName, LaunchDecision Decision, LaunchDecision? Reported)
    {
        public bool RunsEagerAsGraph { get; init; }
    }

    /// <summary>The one path from <c>--schedule</c>, <c>--launch</c> and <c>--stack</c> to what a command runs
    /// (<see cref="ResolveSchedule"/>).</summary>
    public static LaunchPlan PlanLaunch(WorkloadGraph graph, IDeviceModel device, string? schedule, string? launch, Workloads.Stacks.SoftwareStack? stack)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var (name, decision) = ResolveSchedule(schedule, graph.Info, launch, stack);
        var host = device.Capabilities.HostDispatch is not null;
        var mode = host ? decision.Mode : LaunchMode.Graph;
        return new LaunchPlan(Named(graph, mode, stack), Schedule(name, HostCostFactor(stack, graph.Info)), name, decision,
            host ? Reported(decision) : null)
        {
            RunsEagerAsGraph = decision.Mode == LaunchMode.Eager && !host,
        };
    }

    /// <summary>The host cost factor of a run's software stack: the stack given, else the bundled stack a
    /// trace names as the one that lowered it (an exported <c>--stack pytorch</c> graph), else 1.</summary>
    public static double HostCostFactor(Workloads.Stacks.SoftwareStack? stack, WorkloadInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (stack is not null) return stack.HostCostFactor;
        if (info.Stack is { } name && Workloads.Configs.BundledConfigs.Names(Workloads.Configs.BundledConfigs.StacksDir).Contains(name, StringComparer.Ordinal))
            return Workloads.Stacks.StackLoader.LoadNamed(name).HostCostFactor;
        return 1.0;
    }

    /// <summary>The graph with its stack and launch mode named, for the report.</summary>
    public static WorkloadGraph Named(WorkloadGraph graph, LaunchMode launch, Workloads.Stacks.SoftwareStack? stack) =>
        graph.WithInfo(graph.Info with { Stack = stack?.Name ?? graph.Info.Stack, Launch = launch.Name() });

    /// <summary>Applies a placement policy (resident, fit, offload) to the graph.</summary>
    public static WorkloadGraph Place(WorkloadGraph graph, IDeviceModel device, string policy) => Place(graph, device, policy, "fit");

    /// <summary>Applies a placement policy (resident, fit, offload) and a KV-cache policy (fit, swap).</summary>
    public static WorkloadGraph Place(WorkloadGraph graph, IDeviceModel device, string policy, string kvPolicy)
    {
        var (p, kv) = ParsePlacement(graph, policy, kvPolicy);
        return Core.Memory.Placement.Apply(graph, device, p, kv).Graph;
    }

    /// <summary>The placement and KV-cache policies <c>--placement</c> and <c>--kv-policy</c> name, checked
    /// against <paramref name="graph"/> (a KV swap needs a KV cache).</summary>
    public static (Core.Memory.PlacementPolicy Placement, Core.Memory.KvPolicy Kv) ParsePlacement(WorkloadGraph graph, string policy, string kvPolicy)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (!Core.Memory.PlacementPolicies.TryParse(policy, out var p))
            throw new Core.Config.InputException(null, "--placement", $"expected {Core.Memory.PlacementPolicies.Expected}, got '{policy}'");
        if (!Core.Memory.KvPolicies.TryParse(kvPolicy, out var kv))
            throw new Core.Config.InputException(null, "--kv-policy", $"expected {Core.Memory.KvPolicies.Expected}, got '{kvPolicy}'");
        if (kv == Core.Memory.KvPolicy.Swap && !graph.Tensors.Any(t => t.Role == Core.Graph.TensorRole.KvCache))
        {
            throw new Core.Config.InputException(null, "--kv-policy",
                $"swap moves a KV cache, and {graph.Info.Name} ({graph.Info.Phase}) has none; it applies to prefill and decode");
        }
        return (p, kv);
    }

    /// <summary>Adds the report's provenance (files, hashes, overrides, stack, estimate share) and its
    /// prediction interval to <paramref name="metrics"/>, the run of <paramref name="graph"/> under
    /// <paramref name="schedule"/>.</summary>
    public static RunMetrics Annotate(RunMetrics metrics, WorkloadGraph graph, IDeviceModel device, ISchedule schedule, HardwareContext hardware)
    {
        // A device without a host model runs an eager schedule kernel by kernel: its launch mode is that of the sequential run.
        var scheduleName = hardware.ScheduleName == "eager" && device.Capabilities.HostDispatch is null ? "sequential" : hardware.ScheduleName;
        return metrics with
        {
            Provenance = Provenance.ProvenanceBuilder.Build(hardware.Config, hardware.Registry, graph, schedule, scheduleName, metrics),
            Interval = Validation.ErrorModel.Interval(metrics, hardware.Config, Validation.ErrorModel.Bundled(hardware.Config.Kind)),
        };
    }

    public static (SimulationResult Result, RunMetrics Metrics) Simulate(
        WorkloadGraph graph, IDeviceModel device, ISchedule schedule, SimulationEventBus bus, TimelineRecorder? timeline, bool progress)
    {
        var program = schedule.Map(graph, device);
        var result = progress
            ? ProgressReporter.Run(bus, program.Tasks.Count, () => new Simulator(program, device, bus).Run())
            : new Simulator(program, device, bus).Run();
        return (result, MetricsCalculator.Compute(result, device));
    }

    /// <summary>Simulates and writes every requested output; files appear only if everything succeeded.</summary>
    /// <summary>The run at its device's hourly price (<c>cost</c>), when the description gives one; per million tokens
    /// only where the run has tokens (a single kernel has none).</summary>
    public static RunMetrics Priced(RunMetrics metrics, Core.Config.HardwareConfig config, bool perToken = true) =>
        DevicePrice.UsdPerHour(config) is { } usd
            ? metrics with { Cost = RunCost.Of(usd, metrics.LatencyS, perToken ? metrics.TokensPerS : 0) }
            : metrics;

    public static int RunAndReport(CliContext cli, WorkloadGraph graph, IDeviceModel device, ISchedule schedule,
        SimulationEventBus bus, OutputRequest output, HardwareContext? hardware = null)
    {
        OutputFiles.Check((output.OutPath, "--out"), (output.TimelinePath, "--timeline"),
            (output.RooflinePath, "--roofline"), (output.RooflinePlotPath, "--roofline-plot"), (output.OpsCsvPath, "--ops-csv"),
            (output.HtmlPath, "--html"));
        using var files = new OutputFiles();
        using var timeline = output.TimelinePath is null ? null : new TimelineRecorder(bus);
        // Progress goes to stderr (and only to a terminal), so it shows with --format json too.
        var (result, metrics) = Simulate(graph, device, schedule, bus, timeline, progress: true);
        if (output.Launch is { } launch) metrics = metrics with { Launch = launch };
        if (output.Carbon is { } carbon) metrics = metrics with { Carbon = Carbon.Compute(metrics, carbon) };
        if (hardware is not null) metrics = Annotate(metrics, graph, device, schedule, hardware);
        if (hardware is not null) metrics = Priced(metrics, hardware.Config, output.PerTokenFigures);

        var explanation = output.Explain is { } top ? Reports.Explain.RunExplainer.Explain(metrics, Reports.Explain.ExplainDevice.From(device), top) : null;
        if (output.OutPath is not null)
        {
            using var w = files.Create(output.OutPath, "--out");
            w.Write(JsonText(metrics, output.IncludeOps, explanation));
        }
        if (output.OpsCsvPath is not null)
        {
            using var w = files.Create(output.OpsCsvPath, "--ops-csv");
            OpsCsv.Write(metrics, w);
        }
        if (timeline is not null)
        {
            using var w = files.Create(output.TimelinePath!, "--timeline");
            timeline.Write(w, result, device);
        }
        if (output.RooflinePath is not null || output.RooflinePlotPath is not null || output.HtmlPath is not null)
        {
            var roofline = Roofline.Build(metrics, device);
            if (output.HtmlPath is not null)
            {
                using var w = files.Create(output.HtmlPath, "--html");
                w.Write(Reports.Html.HtmlReport.Run(metrics, roofline));
            }
            if (output.RooflinePath is not null)
            {
                using var w = files.Create(output.RooflinePath, "--roofline");
                RooflineCsv.Write(roofline, w);
            }
            if (output.RooflinePlotPath is not null)
                Reports.Plots.RooflinePlot.SavePng(files.CreatePath(output.RooflinePlotPath, "--roofline-plot"), roofline);
        }

        if (output.Format == "json")
        {
            cli.Out.Write(JsonText(metrics, output.IncludeOps, explanation));
        }
        else
        {
            var console = ConsoleFor(cli.Out);
            TableReport.Render(metrics, console, output.IncludeOps, perTokenFigures: output.PerTokenFigures);
            if (explanation is not null) Reports.Explain.ExplainReport.Render(explanation, console);
        }
        files.Commit();
        return 0;
    }

    /// <summary>The run's JSON report, with its <c>explain</c> array when there is an explanation.</summary>
    public static string JsonText(RunMetrics metrics, bool includeOps, Reports.Explain.RunExplanation? explanation) =>
        explanation is null ? JsonReport.ToJsonString(metrics, includeOps) : JsonReport.Format(JsonObject(metrics, includeOps, explanation));

    /// <summary>The run's JSON report object, with its <c>explain</c> array when there is an explanation.</summary>
    public static Newtonsoft.Json.Linq.JObject JsonObject(RunMetrics metrics, bool includeOps, Reports.Explain.RunExplanation? explanation)
    {
        var o = JsonReport.ToJson(metrics, includeOps);
        if (explanation is not null) o["explain"] = Reports.Explain.ExplainReport.ToJson(explanation);
        return o;
    }

    /// <summary>A console for <paramref name="writer"/>: the terminal's own when it is one, else plain
    /// text <paramref name="width"/> columns wide.</summary>
    public static IAnsiConsole ConsoleFor(TextWriter writer, int width = 140)
    {
        var isConsole = ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = isConsole ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = isConsole ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = isConsole ? InteractionSupport.Detect : InteractionSupport.No,
        });
        // Redirected output (a file, a pipe, a test) gets a fixed width wide enough for every table.
        if (!isConsole) console.Profile.Width = width;
        return console;
    }
}
