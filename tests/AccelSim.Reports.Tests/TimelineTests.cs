using AccelSim.Core.Simulation;
using Newtonsoft.Json.Linq;

namespace AccelSim.Reports.Tests;

public class TimelineTests
{
    [Fact]
    public void Timeline_matches_golden_file()
    {
        Golden.Match("timeline.json", TestRuns.Small().TimelineText());
    }

    [Fact]
    public void Timeline_is_deterministic()
    {
        Assert.Equal(TestRuns.Small().TimelineText(), TestRuns.Small().TimelineText());
    }

    [Fact]
    public void Names_tracks_and_slices_describe_the_run()
    {
        var run = TestRuns.Small();
        var events = (JArray)JObject.Parse(run.TimelineText())["traceEvents"]!;

        var process = events.Single(e => (string?)e["name"] == "process_name");
        Assert.Equal(1, (int)process["pid"]!);
        Assert.Equal("fake", (string?)process["args"]!["name"]);

        var threads = events.Where(e => (string?)e["name"] == "thread_name")
            .ToDictionary(e => (int)e["tid"]!, e => (string)e["args"]!["name"]!);
        Assert.Equal("engine core", threads[1]);
        // Reads and writes of one op overlap on "hbm": a second lane appears.
        Assert.Contains("channel hbm", threads.Values);
        Assert.Contains("channel hbm #2", threads.Values);

        var tasks = events.Where(e => (string?)e["ph"] == "X" && (string?)e["cat"] == "task").ToList();
        Assert.Equal(run.Result.Program.Tasks.Count, tasks.Count);
        for (var i = 0; i < tasks.Count; i++)
        {
            var t = tasks.Single(e => (int)e["args"]!["task"]! == i);
            Assert.Equal(run.Result.Program.Tasks[i].Name, (string?)t["name"]);
            Assert.Equal(run.Result.TaskStartPs[i] / 1e6, (double)t["ts"]!, 9);
            Assert.Equal((run.Result.TaskEndPs[i] - run.Result.TaskStartPs[i]) / 1e6, (double)t["dur"]!, 9);
            Assert.Equal(1, (int)t["tid"]!);
            Assert.Equal(run.Result.Program.Tasks[i].Ops.Sum(o => o.Flops), (long)t["args"]!["flops"]!);
            Assert.Contains((string?)t["args"]!["bound"], new[] { "compute", "memory", "latency" });
        }

        var transfers = events.Where(e => (string?)e["ph"] == "X" && (string?)e["cat"] == "transfer").ToList();
        Assert.Equal(run.Result.TransferBytes.Count(b => b > 0), transfers.Count);
        Assert.Equal(run.Result.TransferBytes.Sum(), transfers.Sum(t => (long)t["args"]!["bytes"]!));

        var memory = events.Where(e => (string?)e["ph"] == "C" && (string?)e["name"] == "memory hbm").ToList();
        Assert.NotEmpty(memory);
        Assert.Equal(run.Result.TierPeakBytes[0], memory.Max(e => (long)e["args"]!["bytes"]!));
        Assert.Contains(events, e => (string?)e["ph"] == "C" && (string?)e["name"] == "power");
    }

    [Fact]
    public void Slices_on_one_track_never_overlap_even_when_an_engine_runs_tasks_in_parallel()
    {
        // Two units and no dependencies between tasks: the engine runs two at once and needs two lanes.
        var graph = TestRuns.Chain(6);
        var device = new FakeDevice(units: 2);
        var tasks = graph.Ops.Select((o, i) => new SimTask(i, [o], device.Cost(o))).ToList();
        var program = new SimProgram("parallel", graph, tasks, tasks.Select(_ => (IReadOnlyList<int>)[]).ToList());
        var run = TestRuns.Simulate(graph, device, program);
        var events = (JArray)JObject.Parse(run.TimelineText())["traceEvents"]!;
        var threads = events.Where(e => (string?)e["name"] == "thread_name").Select(e => (string)e["args"]!["name"]!).ToList();
        Assert.Contains("engine core #2", threads);
        AssertNoOverlap(events);
    }

    internal static void AssertNoOverlap(JArray events)
    {
        foreach (var track in events.Where(e => (string?)e["ph"] == "X").GroupBy(e => (int)e["tid"]!))
        {
            var slices = track.Select(e => (Ts: (decimal)e["ts"]!, End: (decimal)e["ts"]! + (decimal)e["dur"]!))
                .OrderBy(s => s.Ts).ThenBy(s => s.End).ToList();
            for (var i = 1; i < slices.Count; i++)
                Assert.True(slices[i].Ts >= slices[i - 1].End, $"slices overlap on tid {track.Key} at {slices[i].Ts} us");
        }
    }

    [Fact]
    public void Events_of_another_run_are_refused()
    {
        var big = TestRuns.Simulate(TestRuns.Chain(8));
        var small = TestRuns.Small();
        using var sw = new StringWriter();
        var ex = Assert.Throws<ArgumentException>(() => big.Timeline.Write(sw, small.Result, small.Device));
        Assert.Contains("another run", ex.Message);
    }

    [Fact]
    public void Recorder_stops_recording_when_disposed()
    {
        using var bus = new SimulationEventBus();
        var recorder = new TimelineRecorder(bus, initialCapacity: 1);
        for (var i = 0; i < 100; i++) bus.Publish(new SimEvent(SimEventKind.MemoryChange, i, 0, i));
        Assert.Equal(100, recorder.Count);
        Assert.Equal(99, recorder.Events[99].TimePs);
        recorder.Dispose();
        Assert.False(bus.HasSubscribers);
        bus.Publish(new SimEvent(SimEventKind.MemoryChange, 100, 0, 1));
        Assert.Equal(100, recorder.Count);
    }
}
