using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using Newtonsoft.Json.Linq;

namespace AccelSim.Reports.Tests;

/// <summary>Tracks of the single-device timeline: only resources that see events declare one, and each
/// channel that carries bytes has a bandwidth counter: the channel's exact rate, which integrates to its bytes.</summary>
public class TimelineTrackTests
{
    /// <summary>The fake device with an engine, a channel and a tier that no op ever uses.</summary>
    private sealed class DeviceWithIdleParts : IDeviceModel
    {
        private readonly FakeDevice _inner = new();

        public string Name => "fake-idle";
        public string Kind => "test";

        public DeviceTopology Topology { get; } = new(
            [new EngineSpec("core", 1), new EngineSpec("copy", 1)],
            [new ChannelSpec("hbm", FakeDevice.Bandwidth, 500 * Ps.PerNanosecond, "hbm", OffChip: true),
             new ChannelSpec("pcie", 32e9, 1000 * Ps.PerNanosecond, "host", OffChip: true)],
            [new TierSpec("hbm", 64L << 20, OffChip: true), new TierSpec("host", 1L << 30, OffChip: true)]);

        public double PeakFlops(DType dtype) => _inner.PeakFlops(dtype);
        public int MainMemoryChannel => 0;
        public double StaticPowerW => _inner.StaticPowerW;
        public int PlaceTensor(Tensor tensor) => 0;
        public OpCost Cost(Op op) => _inner.Cost(op);
    }

    private static (JArray Events, SimulationResult Result, IDeviceModel Device) Record()
    {
        var device = new DeviceWithIdleParts();
        var program = new SequentialSchedule().Map(TestRuns.SmallGraph(), device);
        using var bus = new SimulationEventBus();
        using var recorder = new TimelineRecorder(bus);
        var result = new Simulator(program, device, bus).Run();
        using var sw = new StringWriter(System.Globalization.CultureInfo.InvariantCulture) { NewLine = "\n" };
        recorder.Write(sw, result, device);
        return ((JArray)JObject.Parse(sw.ToString())["traceEvents"]!, result, device);
    }

    [Fact]
    public void Every_declared_track_receives_an_event()
    {
        var (events, _, _) = Record();
        var threads = events.Where(e => (string?)e["name"] == "thread_name").ToDictionary(e => (int)e["tid"]!, e => (string)e["args"]!["name"]!);
        Assert.DoesNotContain("engine copy", threads.Values);
        Assert.DoesNotContain("channel pcie", threads.Values);
        Assert.Contains("engine core", threads.Values);
        foreach (var (tid, name) in threads)
            Assert.True(events.Any(e => (string?)e["ph"] == "X" && (int?)e["tid"] == tid), $"track {name} (tid {tid}) is declared but receives no event");
        // Counters only for what changes: no occupancy track for the unused tier, no bandwidth for the unused channel.
        var counters = events.Where(e => (string?)e["ph"] == "C").Select(e => (string)e["name"]!).Distinct().ToArray();
        Assert.DoesNotContain("memory host", counters);
        Assert.DoesNotContain("bandwidth pcie", counters);
        Assert.Contains("bandwidth hbm", counters);
    }

    [Fact]
    public void Bandwidth_counter_never_exceeds_the_channel_and_its_integral_is_the_bytes_moved()
    {
        var (events, result, _) = Record();
        var samples = events.Where(e => (string?)e["ph"] == "C" && (string?)e["name"] == "bandwidth hbm")
            .Select(e => (Ps: (long)Math.Round((double)e["ts"]! * 1e6), Bps: (double)e["args"]!["B_per_s"]!)).ToList();
        Assert.Equal(0, samples[0].Bps);
        Assert.Equal(0, samples[^1].Bps);
        Assert.True(samples.Max(s => s.Bps) <= FakeDevice.Bandwidth * (1 + 1e-12), "a channel never carries more than its bandwidth");
        Assert.True(samples.Max(s => s.Bps) > 0);
        // Conservation: the counter is the channel's exact rate between samples (the last sample at a time holds
        // until the next time), so its integral over the run is every byte the channel moved.
        var integral = 0.0;
        var points = samples.GroupBy(s => s.Ps).Select(g => (Ps: g.Key, Bps: g.Last().Bps)).OrderBy(x => x.Ps).ToList();
        for (var k = 0; k + 1 < points.Count; k++) integral += points[k].Bps * (points[k + 1].Ps - points[k].Ps) * 1e-12;
        long moved = 0;
        for (var k = 0; k < result.TransferChannel.Count; k++)
            if (result.TransferChannel[k] == 0) moved += result.TransferBytes[k];
        Assert.True(moved > 0);
        Assert.Equal(moved, integral, moved * 1e-6);
    }

    [Fact]
    public void Bandwidth_counters_are_deterministic()
    {
        Assert.Equal(Record().Events.ToString(), Record().Events.ToString());
    }
}
