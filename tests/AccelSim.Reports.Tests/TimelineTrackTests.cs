using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using Newtonsoft.Json.Linq;

namespace AccelSim.Reports.Tests;

/// <summary>Tracks of the single-device timeline: only resources that see events declare one, and each
/// channel that carries bytes has a bandwidth counter equal to the rates of its transfers in flight.</summary>
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
    public void Bandwidth_counter_is_the_sum_of_the_rates_in_flight_at_each_transfer_start_and_end()
    {
        var (events, result, _) = Record();
        var samples = events.Where(e => (string?)e["ph"] == "C" && (string?)e["name"] == "bandwidth hbm")
            .Select(e => (Us: (double)e["ts"]!, Bps: (double)e["args"]!["B_per_s"]!)).ToList();
        Assert.Equal(0, samples[0].Bps);
        Assert.Equal(0, samples[^1].Bps);
        // Oracle: transfers with bytes, each at bytes / duration; at a sample time t the counter's last value there
        // is the sum over transfers with start <= t < end.
        var transfers = new List<(long Start, long End, double Bps)>();
        foreach (var x in events.Where(e => (string?)e["ph"] == "X" && (string?)e["cat"] == "transfer"))
        {
            var start = (long)Math.Round((double)x["ts"]! * 1e6);
            var end = start + (long)Math.Round((double)x["dur"]! * 1e6);
            transfers.Add((start, end, (long)x["args"]!["bytes"]! / ((end - start) * 1e-12)));
        }
        Assert.NotEmpty(transfers);
        foreach (var group in samples.Skip(1).GroupBy(s => s.Us))
        {
            var t = (long)Math.Round(group.Key * 1e6);
            var expected = transfers.Where(x => x.Start <= t && t < x.End).Sum(x => x.Bps);
            Assert.Equal(expected, group.Last().Bps, expected * 1e-9 + 1e-6);
        }
        Assert.True(samples.Max(s => s.Bps) <= 2 * FakeDevice.Bandwidth * (1 + 1e-9), "two transfers share the channel at most");
    }

    [Fact]
    public void Bandwidth_counters_are_deterministic()
    {
        Assert.Equal(Record().Events.ToString(), Record().Events.ToString());
    }
}
