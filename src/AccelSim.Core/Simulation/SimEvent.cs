using R3;

namespace AccelSim.Core.Simulation;

public enum SimEventKind : byte
{
    TaskStart,
    TaskEnd,
    TransferStart,
    TransferEnd,
    MemoryChange,
    SimulationEnd,
}

/// <summary>What observers see of a run. <see cref="Index"/> is the task, channel or tier index;
/// <see cref="Value"/> is bytes (a transfer's size, a tier's occupancy after the change).</summary>
public readonly record struct SimEvent(SimEventKind Kind, long TimePs, int Index, long Value);

/// <summary>The in-process publish/subscribe bus of simulation events (an R3 subject). Observers
/// (timeline writers, progress bars) subscribe; they never change timing. Publishing a struct to
/// the subscribers allocates nothing.</summary>
public sealed class SimulationEventBus : IDisposable
{
    private readonly Subject<SimEvent> _subject = new();
    private int _subscribers;

    public Observable<SimEvent> Events => _subject;

    /// <summary>True when anyone listens; the simulator skips building events otherwise.</summary>
    public bool HasSubscribers => Volatile.Read(ref _subscribers) > 0;

    public IDisposable Subscribe(Action<SimEvent> onEvent)
    {
        Interlocked.Increment(ref _subscribers);
        var inner = _subject.Subscribe(onEvent);
        return Disposable.Create(() =>
        {
            inner.Dispose();
            Interlocked.Decrement(ref _subscribers);
        });
    }

    public void Publish(in SimEvent e) => _subject.OnNext(e);

    public void Dispose() => _subject.Dispose();
}
