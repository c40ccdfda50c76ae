namespace AccelSim.Core.Simulation;

/// <summary>A client of the <see cref="Kernel"/>: it adds work and reacts to what ends. A static program
/// (<see cref="Simulator"/>) is one: it readies a task when the last of its predecessors ends. A serving
/// scheduler choosing the next batch when one ends, a collective issuing its next step when the previous
/// one lands, a pipeline schedule across ranks: each is a process that adds tasks, flows and timers from
/// its callbacks, at the kernel's current time.
///
/// <para>Callbacks run inside the event loop, one at a time, in event order; work they add is stamped
/// with the current time and queued behind what was queued before (ties break by insertion order), so
/// a run stays deterministic. A process must not keep a reference to a span or ref the kernel handed it
/// across calls that add work (the kernel's storage may grow).</para></summary>
public abstract class KernelProcess
{
    internal Kernel? AttachedTo;
    internal int Id;

    /// <summary>Set by a process of this assembly that knows which tasks its tasks' ends will touch
    /// (<see cref="OnTaskStartHint"/>): the kernel then tells it when each of its tasks starts.</summary>
    internal bool HintsSuccessors;

    /// <summary>Task <paramref name="task"/> has started: a chance to prefetch what its end will touch.
    /// Never changes what the process does.</summary>
    internal virtual void OnTaskStartHint(Kernel kernel, int task) { }

    /// <summary>Time zero, after resident memory is in place and before the first event: add the
    /// initial work here.</summary>
    protected virtual void OnStart(Kernel kernel) { }

    /// <summary>Task <paramref name="task"/> (one of this process's) has ended: its compute and every
    /// transfer are done, its engine unit is free, its buffers are released and its end is published.
    /// Tasks waiting for the same engine get the unit after this returns, so work readied here on that
    /// engine queues behind them in the order it was readied.</summary>
    protected virtual void OnTaskEnd(Kernel kernel, int task) { }

    /// <summary>A timer set with <see cref="Kernel.At"/> fired; <paramref name="token"/> is what was passed.</summary>
    protected virtual void OnTimer(Kernel kernel, long token) { }

    // The kernel calls the hooks through these, so a process overrides them as plain protected members
    // wherever it is written.
    internal void DispatchStart(Kernel kernel) => OnStart(kernel);
    internal void DispatchTaskEnd(Kernel kernel, int task) => OnTaskEnd(kernel, task);
    internal void DispatchTimer(Kernel kernel, long token) => OnTimer(kernel, token);
}
