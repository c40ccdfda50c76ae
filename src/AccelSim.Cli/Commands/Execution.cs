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

    /// <summary>Carbon inputs; when given, the report carries a carbon section.</summary>
    public CarbonInputs? Carbon { get; init; }
}

/// <summary>The path every simulating command shares: schedule, simulate with observers attached,
/// compute metrics, emit reports.</summary>
public static class Execution
{
    public static ISchedule Schedule(string name) => name switch
    {
        "sequential" => new SequentialSchedule(),
        "dataflow" => new DataflowSchedule(auto: false),
        "auto" => new DataflowSchedule(auto: true),
        "eager" => new EagerSchedule(),
        _ => throw new Core.Config.InputException(null, "--schedule", $"expected sequential, dataflow, auto or eager, got '{name}'"),
    };

    /// <summary>The schedule and launch mode of a run. <c>--launch eager</c> puts the host model of eager
    /// execution on top of the sequential schedule (<see cref="EagerSchedule"/>); <c>--schedule eager</c> is
    /// kept as its alias. <c>graph</c> runs the named schedule with no host cost. Without <c>--launch</c>
    /// the stack's launch mode applies (a trace: graph). Eager launch with a dataflow schedule is an
    /// error: a host issuing kernels one by one and a layer fused into one pipeline exclude each other.</summary>
    public static (ISchedule Schedule, string Launch) Launch(string schedule, string? launch, Workloads.Stacks.SoftwareStack? stack)
    {
        if (schedule == "eager")
        {
            if (launch == "graph")
                throw new Core.Config.InputException(null, "--launch", "--schedule eager is eager launch; drop --launch graph or use --schedule sequential");
            return (new EagerSchedule(), "eager");
        }
        var mode = launch ?? (stack is null ? "graph" : Workloads.Stacks.SoftwareStack.LaunchName(stack.Launch));
        if (mode != "eager") return (Schedule(schedule), mode);
        if (schedule != "sequential")
        {
            throw new Core.Config.InputException(null, launch is null ? "--stack" : "--launch",
                $"eager launch issues kernels one by one from the host and runs with --schedule sequential only, got '{schedule}'" +
                (launch is null ? $" (stack '{stack!.Name}' launches eagerly; add --launch graph)" : ""));
        }
        return (new EagerSchedule(), "eager");
    }

    /// <summary>The graph with its stack and launch mode named, for the report.</summary>
    public static WorkloadGraph Named(WorkloadGraph graph, string launch, Workloads.Stacks.SoftwareStack? stack) =>
        graph.WithInfo(graph.Info with { Stack = stack?.Name ?? graph.Info.Stack, Launch = launch });

    /// <summary>Applies a placement policy (resident, fit, offload) to the graph.</summary>
    public static WorkloadGraph Place(WorkloadGraph graph, IDeviceModel device, string policy) => Place(graph, device, policy, "fit");

    /// <summary>Applies a placement policy (resident, fit, offload) and a KV-cache policy (fit, swap).</summary>
    public static WorkloadGraph Place(WorkloadGraph graph, IDeviceModel device, string policy, string kvPolicy)
    {
        if (!Core.Memory.PlacementPolicies.TryParse(policy, out var p))
            throw new Core.Config.InputException(null, "--placement", $"expected {Core.Memory.PlacementPolicies.Expected}, got '{policy}'");
        if (!Core.Memory.KvPolicies.TryParse(kvPolicy, out var kv))
            throw new Core.Config.InputException(null, "--kv-policy", $"expected {Core.Memory.KvPolicies.Expected}, got '{kvPolicy}'");
        return Core.Memory.Placement.Apply(graph, device, p, kv).Graph;
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
    public static int RunAndReport(CliContext cli, WorkloadGraph graph, IDeviceModel device, ISchedule schedule,
        SimulationEventBus bus, OutputRequest output)
    {
        using var files = new OutputFiles();
        using var timeline = output.TimelinePath is null ? null : new TimelineRecorder(bus);
        var (result, metrics) = Simulate(graph, device, schedule, bus, timeline, progress: output.Format == "table");
        if (output.Carbon is { } carbon) metrics = metrics with { Carbon = Carbon.Compute(metrics, carbon) };

        if (output.OutPath is not null)
        {
            using var w = files.Create(output.OutPath, "--out");
            JsonReport.Write(metrics, w, output.IncludeOps);
        }
        if (timeline is not null)
        {
            using var w = files.Create(output.TimelinePath!, "--timeline");
            timeline.Write(w, result, device);
        }
        if (output.RooflinePath is not null || output.RooflinePlotPath is not null)
        {
            var roofline = Roofline.Build(metrics, device);
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
            JsonReport.Write(metrics, cli.Out, output.IncludeOps);
        }
        else
        {
            TableReport.Render(metrics, ConsoleFor(cli.Out), output.IncludeOps);
        }
        files.Commit();
        return 0;
    }

    public static IAnsiConsole ConsoleFor(TextWriter writer)
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
        if (!isConsole) console.Profile.Width = 140;
        return console;
    }
}
