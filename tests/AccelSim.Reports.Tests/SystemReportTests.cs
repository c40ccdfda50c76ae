using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using Newtonsoft.Json.Linq;

namespace AccelSim.Reports.Tests;

/// <summary>The system run's JSON report and timeline: a pipeline of two devices on one NVSwitch node (the
/// first hands its activations to the second) followed by a gradient all-reduce that the second device's
/// last compute hides.</summary>
public class SystemReportTests
{
    private static SystemResult Pipeline()
    {
        var link = new LinkSpec(100e9, 0.8, 1e-6, 8);
        var spec = new SystemSpec("test-node", new NodeSpec("fake", 2, IntraNodeFabricKind.NVSwitch, link, false), null, null, 1);
        var fabric = SystemFabric.Build(spec);
        var device = new FakeDevice();
        var mlp = TestRuns.SmallGraph();
        var tail = TestRuns.Chain(6);
        var send = CommCall.Send(0, 1, 256 * 512 * 2);
        var grads = new CommCall(CollectiveKind.AllReduce, 4L << 20, [0, 1], CollectiveAlgorithm.Ring);
        var program = new SystemProgram("tiny pipeline", [
            new RankProgram(0, [
                RankSegment.Run("stage 0 fwd", mlp),
                RankSegment.Collective("send act", "act", send, [0]),
                RankSegment.Collective("grad all-reduce", "grads", grads, [0]),
            ], [new RankMemory("weights", 1 << 20)]),
            new RankProgram(1, [
                RankSegment.Collective("recv act", "act", send),
                RankSegment.Run("stage 1 fwd", mlp, [0]),
                RankSegment.Collective("grad all-reduce", "grads", grads, [1]),
                RankSegment.Run("stage 1 tail", tail, [1]),
            ], []),
        ]);
        return SystemSimulator.Run(program, fabric, _ => device, new SequentialSchedule());
    }

    [Fact]
    public void The_report_has_devices_and_network_and_is_byte_identical_twice()
    {
        var a = SystemReport.ToJsonString(Pipeline(), includeSegments: true);
        var b = SystemReport.ToJsonString(Pipeline(), includeSegments: true);
        Assert.Equal(a, b);
        var json = JObject.Parse(a);
        Assert.Equal(JsonReport.Schema, (string?)json["schema"]);
        Assert.Equal("test-node", (string?)json["system"]!["name"]);
        var devices = (JArray)json["devices"]!;
        Assert.Equal(2, devices.Count);
        Assert.Equal(1 << 20, (long)devices[0]!["memory"]!["held_bytes"]!);
        Assert.Equal(4, (long)devices[0]!["ops"]!);
        var collectives = (JArray)json["network"]!["collectives"]!;
        Assert.Equal(["act", "grads"], collectives.Select(c => (string)c["key"]!));
        Assert.Equal("broadcast", (string?)collectives[0]!["kind"]);
        Assert.Equal("all-reduce", (string?)collectives[1]!["kind"]);
        Assert.Equal("ring", (string?)collectives[1]!["algorithm"]);
        var links = ((JArray)json["network"]!["links"]!).Select(l => (string)l["name"]!).ToArray();
        Assert.Contains("node0.dev0.up", links);
        Assert.Contains("node0.dev1.down", links);
        foreach (var d in devices)
        {
            var c = d["communication"]!;
            Assert.Equal((double)c["time_s"]!, (double)c["exposed_s"]! + (double)c["overlapped_s"]!, 15);
        }
        // Rank 1's tail runs during the all-reduce: part of its communication is overlapped.
        Assert.True((double)devices[1]!["communication"]!["overlapped_s"]! > 0);
        Golden.Match("system-report.json", a);
    }

    [Fact]
    public void The_timeline_has_a_process_per_device_and_a_network_with_link_tracks()
    {
        string Text()
        {
            using var sw = new StringWriter(System.Globalization.CultureInfo.InvariantCulture) { NewLine = "\n" };
            SystemTimeline.Write(sw, Pipeline());
            return sw.ToString();
        }
        var text = Text();
        Assert.Equal(text, Text());
        var events = (JArray)JObject.Parse(text)["traceEvents"]!;
        var processes = events.Where(e => (string?)e["name"] == "process_name").Select(e => (string)e["args"]!["name"]!).ToArray();
        Assert.Equal(["r0 fake", "r1 fake", "network"], processes);
        Assert.Contains(events, e => (string?)e["ph"] == "X" && (string?)e["name"] == "stage 1 fwd" && (int)e["pid"]! == 2);
        Assert.Contains(events, e => (string?)e["ph"] == "X" && (string?)e["cat"] == "collective" && (string?)e["name"] == "grads");
        Assert.Contains(events, e => (string?)e["ph"] == "C" && (string?)e["name"] == "link node0.dev0.up" && (long)e["args"]!["flows"]! >= 1);
        // Every declared track receives a slice; each link that carried bytes has a bandwidth counter that starts and ends at 0.
        foreach (var t in events.Where(e => (string?)e["name"] == "thread_name"))
            Assert.Contains(events, e => (string?)e["ph"] == "X" && (int)e["pid"]! == (int)t["pid"]! && (int)e["tid"]! == (int)t["tid"]!);
        var bw = events.Where(e => (string?)e["ph"] == "C" && (string?)e["name"] == "bandwidth node0.dev0.up").Select(e => (double)e["args"]!["B_per_s"]!).ToArray();
        Assert.True(bw.Length >= 2 && bw[0] == 0 && bw[^1] == 0 && bw.Max() > 0);
        Golden.Match("system-timeline.json", text);
    }
}
