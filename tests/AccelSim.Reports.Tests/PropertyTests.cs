using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Newtonsoft.Json.Linq;

namespace AccelSim.Reports.Tests;

public class PropertyTests
{
    private static Arbitrary<(long Elements, long Fpe)[]> Chains() =>
        Gen.Choose(1, 12).SelectMany(n =>
                Gen.Zip(Gen.Choose(1, 1 << 20), Gen.Choose(0, 400)).Select(t => ((long)t.Item1, (long)t.Item2)).ArrayOf(n))
            .ToArbitrary();

    private static Run Simulate((long Elements, long Fpe)[] sizes, int units)
    {
        var graph = TestRuns.Chain(sizes.Length, i => sizes[i]);
        return TestRuns.Simulate(graph, new FakeDevice(units: units));
    }

    [Property(MaxTest = 40)]
    public Property Reports_are_deterministic_and_conserve_flops() =>
        Prop.ForAll(Chains(), sizes =>
        {
            var a = Simulate(sizes, 1);
            var b = Simulate(sizes, 1);
            var ja = JsonReport.ToJsonString(a.Metrics, includeOps: true);
            Assert.Equal(ja, JsonReport.ToJsonString(b.Metrics, includeOps: true));
            Assert.Equal(a.TimelineText(), b.TimelineText());
            Assert.Equal(OpsCsv.ToCsvString(a.Metrics), OpsCsv.ToCsvString(b.Metrics));
            var j = JObject.Parse(ja);
            Assert.Equal(a.Graph.TotalFlops, (long)j["flops"]!);
            Assert.Equal(a.Graph.TotalFlops, j["ops"]!.Sum(o => (long)o["flops"]!));
            var byKind = ((JObject)j["time_by_kind_s"]!).Properties().Sum(p => (double)p.Value);
            var byBound = ((JObject)j["memory_wall"]!["time_by_bound_s"]!).Properties().Sum(p => (double)p.Value);
            // Equal within a nanosecond: rounding both sides to 9 places would split two sums that differ in their
            // last bit across a rounding boundary.
            Assert.Equal(byKind, byBound, 1e-9);
        });

    [Property(MaxTest = 40)]
    public Property Timeline_slices_never_overlap_on_a_track() =>
        Prop.ForAll(Chains(), Gen.Choose(1, 3).ToArbitrary(), (sizes, units) =>
        {
            var graph = TestRuns.Chain(sizes.Length, i => sizes[i]);
            var device = new FakeDevice(units: units);
            // No dependencies: tasks compete for units and for the channel.
            var tasks = graph.Ops.Select((o, i) => new Core.Simulation.SimTask(i, [o], device.Cost(o))).ToList();
            var program = new Core.Simulation.SimProgram("parallel", graph, tasks, tasks.Select(_ => (IReadOnlyList<int>)[]).ToList());
            var run = TestRuns.Simulate(graph, device, program);
            var events = (JArray)JObject.Parse(run.TimelineText())["traceEvents"]!;
            TimelineTests.AssertNoOverlap(events);
            Assert.Equal(tasks.Count, events.Count(e => (string?)e["cat"] == "task"));
        });
}
