using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Core.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Core.Tests;

/// <summary>A rank whose compute segments run one at a time runs each compute segment instance as one kernel task,
/// its mapped program simulated once alone (docs/systems.md, "How it fits"): every result is the one of the run that
/// puts every instance's tasks in the kernel.</summary>
public class SystemCompactTests
{
    private const long Alpha = 2_000_000;

    /// <summary>Ranks around a ring: a random graph, a send to the next rank and a receive from the previous one, the
    /// graph again after the receive, an all-reduce over everyone, a third run, twice over; with
    /// <paramref name="overlap"/> the second run waits only for the first run's send (the rank's computes may
    /// overlap), with <paramref name="held"/> each rank declares its memory.</summary>
    private static SystemProgram Ring(WorkloadGraph g, WorkloadGraph h, int n, long bytes, CollectiveAlgorithm algorithm, bool overlap, bool held)
    {
        var all = Enumerable.Range(0, n).ToArray();
        return new SystemProgram("ring", [.. all.Select(r =>
        {
            var next = (r + 1) % n;
            var prev = (r + n - 1) % n;
            var segs = new List<RankSegment>();
            for (var round = 0; round < 2; round++)
            {
                var first = segs.Count;
                var after = first == 0 ? Array.Empty<int>() : [first - 1];
                segs.Add(RankSegment.Run("a", g, after));
                segs.Add(RankSegment.Collective("send", $"s{r}.{round}", CommCall.Send(r, next, bytes), [first]));
                segs.Add(RankSegment.Collective("recv", $"s{prev}.{round}", CommCall.Send(prev, r, bytes), overlap ? after : [first]));
                segs.Add(RankSegment.Run("b", h, overlap ? [first + 2] : [first + 2, first]));
                segs.Add(RankSegment.Collective("ar", $"ar.{round}", new CommCall(CollectiveKind.AllReduce, bytes / 2, all, algorithm), [first + 1, first + 3]));
                segs.Add(RankSegment.Run("c", g, [first + 4]));
            }
            return new RankProgram(r, segs, held ? [new RankMemory("weights", 1 << 20)] : []);
        })]);
    }

    private static Arbitrary<(DagCase Case, int Ranks, int Bytes, CollectiveAlgorithm Algorithm, bool Overlap, bool Held)> Cases() =>
        (from c in DagGen.Cases(16)
         from ranks in Gen.Choose(2, 4)
         from bytes in Gen.Choose(0, 1 << 22)
         from algorithm in Gen.Elements(CollectiveAlgorithm.Ring, CollectiveAlgorithm.Direct, CollectiveAlgorithm.Default)
         from overlap in Gen.Elements(false, true)
         from held in Gen.Elements(false, true)
         select (c, ranks, bytes, algorithm, overlap, held)).ToArbitrary();

    private static SystemResult Run(SystemProgram p, IDeviceModel device, int ranks, bool compact) =>
        new SystemSimulator(p, new SwitchFabric(ranks, 1e10, Alpha), _ => device, (d, g) => new SequentialSchedule().Map(g, d), null, compact).Run();

    /// <summary>Every figure of two results, in one string per rank and one for the rest.</summary>
    private static IEnumerable<string> Figures(SystemResult r)
    {
        yield return $"makespan {r.MakespanPs} events {r.EventCount}";
        foreach (var l in r.Links) yield return l.ToString();
        foreach (var c in r.Collectives) yield return $"{c.Key} {c.StartPs} {c.EndPs} {c.BytesOnWire}";
        foreach (var f in r.Flows) yield return $"flow {string.Join(",", f.Links)} {f.Bytes} {f.StartPs} {f.EndPs}";
        foreach (var k in r.Ranks)
        {
            var x = k.Result;
            yield return $"rank {k.Rank}: compute {k.ComputeBusyPs} comm {k.CommPs} hidden {k.HiddenCommPs} held {k.HeldBytes} " +
                $"events {x.EventCount} energy {k.Metrics.Energy.TotalJ:R} util {k.Metrics.ComputeUtilisation:R}";
            yield return "tasks " + string.Join(" ", x.Program.Tasks.Select((t, i) =>
                $"{t.Name}:{x.TaskReadyPs[i]}/{x.TaskStartPs[i]}/{x.TaskLaunchPs[i]}/{x.TaskComputeEndPs[i]}/{x.TaskEndPs[i]}[{string.Join(",", x.Program.Predecessors[i])}]"));
            yield return "transfers " + string.Join(" ", Enumerable.Range(0, x.TransferTask.Count).Select(i =>
                $"{x.TransferTask[i]}:{x.TransferChannel[i]}:{x.TransferBytes[i]}:{x.TransferStartPs[i]}-{x.TransferEndPs[i]}"));
            yield return $"channels {string.Join(",", x.ChannelBytes)} busy {string.Join(",", x.ChannelBusyPs)} engines {string.Join(",", x.EngineBusyPs)} " +
                $"peak {string.Join(",", x.TierPeakBytes)} resident {string.Join(",", x.TierResidentBytes)}";
            foreach (var s in k.Segments) yield return s.ToString();
            foreach (var t in k.Memory) yield return t.ToString();
        }
    }

    [Property(MaxTest = 60)]
    public Property Segments_run_as_one_task_give_the_results_of_their_tasks_run_in_the_kernel() =>
        Prop.ForAll(Cases(), c =>
        {
            var device = c.Case.Device();
            var g = c.Case.Graph();
            var h = c.Case.Graph();
            var p = Ring(g, h, c.Ranks, c.Bytes, c.Algorithm, c.Overlap, c.Held);
            var expanded = Figures(Run(p, device, c.Ranks, compact: false)).ToArray();
            var compact = Figures(Run(p, device, c.Ranks, compact: true)).ToArray();
            var first = Enumerable.Range(0, Math.Min(expanded.Length, compact.Length)).FirstOrDefault(i => expanded[i] != compact[i], -1);
            return (expanded.Length == compact.Length && first < 0)
                .Label(first < 0 ? $"{expanded.Length} figures against {compact.Length}" : $"expanded: {expanded[first]}\ncompact:  {compact[first]}");
        });

    [Fact]
    public void A_rank_whose_computes_may_overlap_runs_their_tasks_in_the_kernel_and_one_that_runs_them_in_turn_one_task_each()
    {
        // Five independent ops: five tasks per instance in the kernel, or one.
        var device = new FakeDevice(FakeDevice.Simple()) { FlopsPerUnit = 1e12 };
        var g = new WorkloadGraph(new WorkloadInfo("g", "test", 1, 1, 0, 1),
            [.. Enumerable.Range(0, 5).Select(i => new Op(i, $"g.{i}", OpKind.Generic, -1, [], [], 1_000_000, DType.Bf16))]);
        int Tasks(bool overlap, bool compact) => new SystemSimulator(Ring(g, g, 2, 1 << 16, CollectiveAlgorithm.Default, overlap, held: false),
            new SwitchFabric(2, 1e10, Alpha), _ => device, (d, x) => new SequentialSchedule().Map(x, d), null, compact).Kernel.TaskCount;
        // Per rank six compute segments and six collective ones, each with its two joins.
        Assert.Equal(Tasks(overlap: false, compact: false) - 2 * 6 * (5 - 1), Tasks(overlap: false, compact: true));
        Assert.Equal(Tasks(overlap: true, compact: false), Tasks(overlap: true, compact: true));
    }
}
