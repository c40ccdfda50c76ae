using AccelSim.Core.Devices;
using AccelSim.Core.Simulation;

namespace AccelSim.Reports;

/// <summary>Records a run's events for the Perfetto timeline. Subscribe before the run, dispose (or
/// just stop using it) after, then <see cref="Write"/>. While the simulator runs, each event is a
/// struct copied into a growing array: no strings, no per-event allocation beyond the occasional
/// doubling. Names are resolved only when the timeline is written. One recorder observes one run.</summary>
public sealed class TimelineRecorder : IDisposable
{
    private SimEvent[] _events;
    private int _count;
    private IDisposable? _subscription;

    public TimelineRecorder(SimulationEventBus bus, int initialCapacity = 4096)
    {
        ArgumentNullException.ThrowIfNull(bus);
        _events = new SimEvent[Math.Max(16, initialCapacity)];
        _subscription = bus.Subscribe(OnEvent);
    }

    /// <summary>Events recorded so far.</summary>
    public int Count => _count;

    /// <summary>The recorded events in the order the simulator published them.</summary>
    public ReadOnlySpan<SimEvent> Events => _events.AsSpan(0, _count);

    /// <summary>Writes the Chrome/Perfetto trace-event JSON of the recorded run.</summary>
    public void Write(TextWriter writer, SimulationResult result, IDeviceModel device) =>
        PerfettoTimeline.Write(writer, Events, result, device);

    /// <summary>Stops listening; what was recorded stays available.</summary>
    public void Dispose()
    {
        _subscription?.Dispose();
        _subscription = null;
    }

    private void OnEvent(SimEvent e)
    {
        if (_count == _events.Length) Array.Resize(ref _events, _events.Length * 2);
        _events[_count++] = e;
    }
}
