using AccelSim.Core.Graph;

namespace AccelSim.Core.Simulation;

/// <summary>How a program's kernels reach the device: replayed from a captured graph (no host work per
/// kernel: the sequential schedule) or issued one by one by a host thread (eager PyTorch: the eager
/// schedule).</summary>
public enum LaunchMode
{
    Graph,
    Eager,
}

/// <summary>Where a run's launch mode came from.</summary>
public enum LaunchSource
{
    /// <summary>Nothing asked for one: the default (graph replay, the sequential schedule).</summary>
    Default,

    /// <summary>The user chose it (<c>--schedule eager</c>, or a launch option).</summary>
    Option,

    /// <summary>The workload records the program it came from (an imported eager PyTorch trace).</summary>
    Workload,

    /// <summary>The software stack that lowered the model launches this way (plain PyTorch: eager).</summary>
    Stack,
}

/// <summary>The program a workload was recorded from, when it was recorded rather than built: how its
/// kernels were launched and by what framework. Imported PyTorch traces record an eager program.</summary>
/// <param name="Launch">How the recorded program launched its kernels.</param>
/// <param name="Framework">The framework that ran it, as the recording names it (e.g. "pytorch").</param>
public sealed record RecordedProgram(LaunchMode Launch, string Framework)
{
    /// <summary>Free-form provenance (the trace's schema, the recorder), or null.</summary>
    public string? Source { get; init; }
}

/// <summary>The launch mode a run uses and why.</summary>
public sealed record LaunchDecision(LaunchMode Mode, LaunchSource Source)
{
    /// <summary>One line for reports, or null when nothing but the default decided.</summary>
    public string? Note(WorkloadInfo info) => Source switch
    {
        LaunchSource.Workload when Mode == LaunchMode.Eager =>
            $"launch eager: the trace records an eager {info.Recorded?.Framework ?? "host"} program",
        LaunchSource.Workload => $"launch graph: the trace records a {info.Recorded?.Framework ?? "captured"} program launched from a graph",
        LaunchSource.Stack when Mode == LaunchMode.Eager => $"launch eager: stack '{info.Stack}' launches its kernels from the host one by one (launch mode graph replays them as one CUDA graph)",
        _ => null,
    };

    /// <summary>The launch mode for a run: the one the user asked for, else the one the workload records,
    /// else the one the software stack launches with (<paramref name="stackLaunch"/>), else graph replay. This is the seam every launch option plugs into: a command passes what its
    /// options ask for (null when they ask nothing) and maps the decision to a schedule.</summary>
    public static LaunchDecision Resolve(LaunchMode? requested, WorkloadInfo info, LaunchMode? stackLaunch = null)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (requested is { } r) return new LaunchDecision(r, LaunchSource.Option);
        if (info.Recorded is { } rec) return new LaunchDecision(rec.Launch, LaunchSource.Workload);
        if (stackLaunch is { } s && s != LaunchMode.Graph) return new LaunchDecision(s, LaunchSource.Stack);
        return new LaunchDecision(LaunchMode.Graph, LaunchSource.Default);
    }
}

public static class LaunchModes
{
    public static string Name(this LaunchMode m) => m switch
    {
        LaunchMode.Graph => "graph",
        LaunchMode.Eager => "eager",
        _ => throw new ArgumentOutOfRangeException(nameof(m)),
    };

    public static bool TryParse(string? text, out LaunchMode mode)
    {
        foreach (var m in Enum.GetValues<LaunchMode>())
        {
            if (string.Equals(m.Name(), text, StringComparison.OrdinalIgnoreCase)) { mode = m; return true; }
        }
        mode = default;
        return false;
    }

    public static string Name(this LaunchSource s) => s switch
    {
        LaunchSource.Default => "default",
        LaunchSource.Option => "option",
        LaunchSource.Workload => "workload",
        LaunchSource.Stack => "stack",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };
}
