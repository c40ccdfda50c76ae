using AccelSim.Core.Simulation;
using Spectre.Console;

namespace AccelSim.Reports;

/// <summary>Shows progress on stderr while a command works: a status line while a workload is read or
/// built (<see cref="Stage{T}"/>), then a bar (tasks finished / total tasks) while it is simulated. It
/// shows whatever <c>--format</c> is, since stdout is never touched, and only when stderr is an
/// interactive terminal: redirected stderr (a file, a pipe, a test) gets nothing, so output that is
/// captured stays deterministic. It only observes the event bus and never changes a result.</summary>
public static class ProgressReporter
{
    [ThreadStatic] private static bool t_quiet;

    /// <summary>When set, nothing is drawn on this thread: a sweep runs many points at once under one bar
    /// of its own.</summary>
    public static bool QuietOnThisThread
    {
        get => t_quiet;
        set => t_quiet = value;
    }

    /// <summary>Runs <paramref name="work"/> under a status line naming it (a spinner and the elapsed
    /// time) when stderr is an interactive terminal; otherwise just runs it.</summary>
    public static T Stage<T>(string description, Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (t_quiet || Console.IsErrorRedirected) return work();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        if (!console.Profile.Capabilities.Interactive) return work();
        return console.Status().Start(description, _ => work());
    }

    /// <summary>Runs <paramref name="run"/> (the simulation publishing on <paramref name="bus"/>) under a
    /// progress bar when stderr is an interactive terminal, and returns its result.</summary>
    public static T Run<T>(SimulationEventBus bus, int totalTasks, Func<T> run) =>
        t_quiet || Console.IsErrorRedirected
            ? run()
            : Run(bus, totalTasks, run, AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }));

    /// <summary>Runs <paramref name="run"/> under a progress bar drawn on <paramref name="console"/>
    /// (no bar when the console is not interactive).</summary>
    public static T Run<T>(SimulationEventBus bus, int totalTasks, Func<T> run, IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(console);
        if (!console.Profile.Capabilities.Interactive || totalTasks <= 0) return run();

        return console.Progress()
            .AutoClear(true)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("simulating", maxValue: totalTasks);
                using var counter = new TaskCounter(bus, task, totalTasks);
                var result = run();
                task.Value = totalTasks;
                return result;
            });
    }

    /// <summary>Counts finished tasks and moves the bar about a thousand times over the run, so the
    /// simulator's thread takes the bar's lock rarely.</summary>
    internal sealed class TaskCounter : IDisposable
    {
        private readonly ProgressTask? _task;
        private readonly int _step;
        private readonly IDisposable _subscription;

        public TaskCounter(SimulationEventBus bus, ProgressTask? task, int total)
        {
            _task = task;
            _step = Math.Max(1, total / 1000);
            _subscription = bus.Subscribe(OnEvent);
        }

        public int Finished { get; private set; }

        private void OnEvent(SimEvent e)
        {
            if (e.Kind != SimEventKind.TaskEnd) return;
            Finished++;
            if (_task is not null && Finished % _step == 0) _task.Value = Finished;
        }

        public void Dispose() => _subscription.Dispose();
    }
}
