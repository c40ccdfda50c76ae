using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Core.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Core.Tests;

/// <summary>The system simulator against the single-device simulator, alpha-beta sends, communication
/// accounting, folding, validation and the monotonicity law.</summary>
public class SystemSimulatorTests
{
    private const double Bw = 1e10;
    private const long Alpha = 2_000_000; // 2 µs

    /// <summary>A graph of independent ops of the given FLOPs (on <see cref="Device"/>: one FLOP per ps).</summary>
    private static WorkloadGraph Graph(string name, params long[] flops)
    {
        var ops = new Op[flops.Length];
        for (var i = 0; i < ops.Length; i++) ops[i] = new Op(i, $"{name}.{i}", OpKind.Generic, -1, [], [], flops[i], DType.Bf16);
        return new WorkloadGraph(new WorkloadInfo(name, "test", 1, 1, 0, 1), ops);
    }

    private static FakeDevice Device(string name = "fake", long capacity = long.MaxValue / 4) =>
        new(FakeDevice.Simple(capacity: capacity)) { Name = name, FlopsPerUnit = 1e12 };

    private static SystemResult Run(SystemProgram p, int ranks, double bw = Bw, Func<int, IDeviceModel>? devices = null)
    {
        var device = Device();
        return SystemSimulator.Run(p, new SwitchFabric(ranks, bw, Alpha), devices ?? (_ => device), new SequentialSchedule());
    }

    private static RankProgram Rank(int rank, params RankSegment[] segments) => new(rank, segments, []);

    [Property(MaxTest = 40)]
    public Property One_rank_one_segment_is_the_single_device_run() =>
        Prop.ForAll(DagGen.Arbitrary(), c =>
        {
            ISchedule[] schedules = [new SequentialSchedule(), new DataflowTestSchedule()];
            return schedules.All(s =>
            {
                var device = c.Device();
                var graph = c.Graph();
                var single = new Simulator(s.Map(graph, device), device).Run();
                var program = new SystemProgram("one", [Rank(0, RankSegment.Run("all", graph))]);
                var sys = SystemSimulator.Run(program, new SwitchFabric(1, Bw, Alpha), _ => device, s);
                var r = sys.Ranks[0].Result;
                var m1 = MetricsCalculator.Compute(single, device);
                var m2 = sys.Ranks[0].Metrics;
                return sys.MakespanPs == single.MakespanPs
                    && r.TaskStartPs.SequenceEqual(single.TaskStartPs)
                    && r.TaskEndPs.SequenceEqual(single.TaskEndPs)
                    && r.TaskReadyPs.SequenceEqual(single.TaskReadyPs)
                    && r.TransferStartPs.SequenceEqual(single.TransferStartPs)
                    && r.TransferEndPs.SequenceEqual(single.TransferEndPs)
                    && r.TierPeakBytes.SequenceEqual(single.TierPeakBytes)
                    && r.EngineBusyPs.SequenceEqual(single.EngineBusyPs)
                    && m1.Energy.TotalJ == m2.Energy.TotalJ
                    && m1.ComputeUtilisation == m2.ComputeUtilisation
                    && m1.TotalFlops == m2.TotalFlops;
            });
        });

    [Fact]
    public void A_send_delays_the_receiver_by_its_alpha_beta_time()
    {
        const long bytes = 1 << 20;
        var send = CommCall.Send(0, 1, bytes);
        var program = new SystemProgram("send", [
            Rank(0, RankSegment.Run("produce", Graph("a", 5_000_000)), RankSegment.Collective("send", "s", send, [0])),
            Rank(1, RankSegment.Collective("recv", "s", send), RankSegment.Run("consume", Graph("b", 1_000_000), [0])),
        ]);
        var r = Run(program, 2);
        var sender = r.Ranks[0].Segments[0];
        var receiver = r.Ranks[1].Segments[1];
        Assert.Equal(5_000_000, sender.EndPs);
        var closed = AlphaBeta.ClosedForm(CollectiveKind.Broadcast, CollectiveAlgorithm.Direct, 2, bytes, Alpha, Bw);
        Assert.Equal(Alpha + bytes / Bw * 1e12, closed, 6);
        Assert.InRange(receiver.StartPs - sender.EndPs, (long)closed, (long)closed + 2);
        Assert.Equal(r.Collectives[0].EndPs, receiver.StartPs);
        Assert.Equal(receiver.StartPs + 1_000_000, r.MakespanPs);
        // The receiver's wait for the send is all exposed: it computes nothing meanwhile.
        Assert.Equal(r.Collectives[0].DurationPs, r.Ranks[1].ExposedCommPs);
        Assert.Equal(0, r.Ranks[1].HiddenCommPs);
        // The send's bytes crossed the sender's up-link and the receiver's down-link, once each.
        Assert.Equal(2 * bytes, r.Links.Sum(l => l.Bytes));
        Assert.All(r.Links.Where(l => l.Bytes > 0), l => Assert.InRange(l.BusyPs, 1, r.Collectives[0].DurationPs));
    }

    /// <summary>Each rank computes A, then all-reduces A's result while computing B (which does not need it),
    /// then C needs both. The all-reduce is hidden behind B as far as B lasts.</summary>
    private static SystemProgram Overlapped(long bFlops, int simulated = 2)
    {
        var call = new CommCall(CollectiveKind.AllReduce, 64L << 20, [0, 1], CollectiveAlgorithm.Ring);
        var a = Graph("a", 1_000_000);
        var b = Graph("b", bFlops);
        var c = Graph("c", 1_000_000);
        return new SystemProgram("overlap", [.. Enumerable.Range(0, simulated).Select(r => Rank(r,
            RankSegment.Run("a", a),
            RankSegment.Collective("grad all-reduce", "ar", call, [0]),
            RankSegment.Run("b", b, [0]),
            RankSegment.Run("c", c, [1, 2])))]);
    }

    [Fact]
    public void Communication_behind_compute_is_hidden_and_the_rest_exposed()
    {
        var alone = Run(Overlapped(0), 2);
        var ar = alone.Collectives[0];
        Assert.Equal(1_000_000, ar.StartPs);
        Assert.Equal(ar.DurationPs, alone.Ranks[0].CommPs);
        Assert.Equal(ar.DurationPs, alone.Ranks[0].ExposedCommPs);

        // B lasts longer than the all-reduce: all of it is hidden.
        var longB = Run(Overlapped(2 * ar.DurationPs), 2);
        Assert.Equal(ar.DurationPs, longB.Collectives[0].DurationPs);
        Assert.Equal(0, longB.Ranks[0].ExposedCommPs);
        Assert.Equal(ar.DurationPs, longB.Ranks[0].HiddenCommPs);
        Assert.Equal(1_000_000 + 2 * ar.DurationPs + 1_000_000, longB.MakespanPs);

        // B lasts half as long: half is hidden, half exposed.
        var half = ar.DurationPs / 2;
        var shortB = Run(Overlapped(half), 2);
        Assert.Equal(half, shortB.Ranks[1].HiddenCommPs);
        Assert.Equal(ar.DurationPs - half, shortB.Ranks[1].ExposedCommPs);
        Assert.Equal(ar.EndPs + 1_000_000, shortB.MakespanPs);
        Assert.Equal(3, shortB.Ranks[0].Metrics.Ops.Count);
    }

    [Fact]
    public void A_folded_replica_gives_the_collective_time_of_the_unfolded_run()
    {
        var full = Run(Overlapped(0), 2);
        var folded = Run(Overlapped(0, simulated: 1), 2);
        Assert.Single(folded.Ranks);
        Assert.Equal(full.Collectives[0].StartPs, folded.Collectives[0].StartPs);
        Assert.Equal(full.Collectives[0].EndPs, folded.Collectives[0].EndPs);
        Assert.Equal(full.MakespanPs, folded.MakespanPs);
        // The mirror's flows are still sent: the network carries the same bytes.
        Assert.Equal(full.Links.Select(l => l.Bytes), folded.Links.Select(l => l.Bytes));
        Assert.Equal(full.Ranks[0].Metrics.Energy.TotalJ, folded.Ranks[0].Metrics.Energy.TotalJ);
    }

    [Fact]
    public void Ranks_of_different_devices_each_report_their_own()
    {
        var slow = new FakeDevice(FakeDevice.Simple()) { Name = "slow", FlopsPerUnit = 0.5e12, StaticPowerW = 5 };
        var fast = Device("fast");
        var g = Graph("g", 1_000_000);
        var program = new SystemProgram("mixed", [Rank(0, RankSegment.Run("g", g)), Rank(1, RankSegment.Run("g", g))]);
        var r = Run(program, 2, devices: rank => rank == 0 ? slow : fast);
        Assert.Equal("slow", r.Ranks[0].DeviceName);
        Assert.Equal("fast", r.Ranks[1].DeviceName);
        Assert.Equal(2_000_000, r.Ranks[0].Segments[0].EndPs);
        Assert.Equal(1_000_000, r.Ranks[1].Segments[0].EndPs);
        Assert.Equal(2_000_000, r.MakespanPs);
        // Static power is charged over the system's makespan, on every device.
        Assert.Equal(5 * 2e-6, r.Ranks[0].Metrics.Energy.StaticJ, 12);
        Assert.Equal(10 * 2e-6, r.Ranks[1].Metrics.Energy.StaticJ, 12);
        Assert.Equal(0.5, r.Ranks[1].Metrics.ComputeUtilisation, 9);
        Assert.Equal(1_000_000, r.Ranks[1].ComputeBusyPs);
    }

    [Fact]
    public void Segments_sharing_a_graph_map_it_once_and_run_it_in_order()
    {
        var g = Graph("mb", 1_000_000, 2_000_000);
        var maps = 0;
        var device = Device();
        var program = new SystemProgram("pipeline", [Rank(0,
            RankSegment.Run("mb0", g), RankSegment.Run("mb1", g, [0]), RankSegment.Run("mb2", g, [1]))]);
        var sim = new SystemSimulator(program, new SwitchFabric(1, Bw, Alpha), _ => device, (d, gr) =>
        {
            maps++;
            return new SequentialSchedule().Map(gr, d);
        });
        var r = sim.Run();
        Assert.Equal(1, maps);
        Assert.Equal(9_000_000, r.MakespanPs);
        Assert.Equal([0L, 3_000_000, 6_000_000], r.Ranks[0].Segments.Select(s => s.StartPs));
        Assert.Equal(6, r.Ranks[0].Result.Program.Tasks.Count);
        Assert.Equal(3 * 3_000_000L, r.Ranks[0].Metrics.TotalFlops);
    }

    [Fact]
    public void Held_memory_sits_on_the_main_tier_and_overflow_is_reported()
    {
        var device = Device(capacity: 1_000);
        var program = new SystemProgram("held", [new RankProgram(0, [RankSegment.Run("g", Graph("g", 10))],
            [new RankMemory("weights", 600), new RankMemory("optimizer state", 600)])]);
        var r = SystemSimulator.Run(program, new SwitchFabric(1, Bw, Alpha), _ => device, new SequentialSchedule());
        var hbm = Assert.Single(r.Ranks[0].Memory);
        Assert.Equal(1_200, hbm.PeakBytes);
        Assert.Equal(1_000, hbm.CapacityBytes);
        Assert.True(hbm.Overflows);
        Assert.Equal(1_200, r.Ranks[0].HeldBytes);
    }

    /// <summary>A block of a pipeline writes an activation that only a later segment reads. A rank that declares
    /// its memory (the stashed activations among it) frees such an output when its segment ends: running the
    /// block ten times holds one output at a time, not ten.</summary>
    [Fact]
    public void A_declared_rank_frees_a_segments_unread_outputs_when_it_ends()
    {
        var device = Device();
        var output = new Tensor(0, "block.out", [100], DType.Int8, TensorRole.Activation);
        var block = new WorkloadGraph(new WorkloadInfo("block", "test", 1, 1, 0, 1), [new Op(0, "block.0", OpKind.Generic, -1, [], [output], 1_000, DType.Bf16)]);
        SystemResult Run(params RankMemory[] memory) => SystemSimulator.Run(
            new SystemProgram("blocks", [new RankProgram(0, [.. Enumerable.Range(0, 10).Select(i => RankSegment.Run($"b{i}", block, i == 0 ? [] : [i - 1]))], memory)]),
            new SwitchFabric(1, Bw, Alpha), _ => device, new SequentialSchedule());
        Assert.Equal(50 + 100, Assert.Single(Run(new RankMemory("stashed activations", 50)).Ranks[0].Memory).PeakBytes);
        // Undeclared, a graph's outputs stay for the run, as in a single-device run of the graph.
        Assert.Equal(10 * 100, Assert.Single(Run().Ranks[0].Memory).PeakBytes);
    }

    [Fact]
    public void Bad_programs_are_refused_with_what_is_wrong()
    {
        var g = Graph("g", 10);
        var call = new CommCall(CollectiveKind.AllReduce, 1024, [0, 1]);
        void Refused(SystemProgram p, string expected)
        {
            var e = Assert.Throws<ArgumentException>(() => Run(p, 2));
            Assert.Contains(expected, e.Message);
        }

        Refused(new SystemProgram("p", [Rank(5, RankSegment.Run("g", g))]), "rank 5 is not one of the system's ranks");
        Refused(new SystemProgram("p", [Rank(0, RankSegment.Run("g", g)), Rank(0, RankSegment.Run("g", g))]), "rank 0 has two programs");
        Refused(new SystemProgram("p", [Rank(0, RankSegment.Run("g", g, [0]))]), "waits for segment 0");
        Refused(new SystemProgram("p", [
            Rank(0, RankSegment.Collective("x", "k", call)),
            Rank(1, RankSegment.Collective("x", "k", call with { Bytes = 2048 }))]), "collective 'k' is AllReduce of 2048 B");
        Refused(new SystemProgram("p", [Rank(0, RankSegment.Collective("x", "k", call)), Rank(1, RankSegment.Run("g", g))]),
            "rank 1 is in its group and simulated but has no segment with that key");
        Refused(new SystemProgram("p", [Rank(0, RankSegment.Collective("x", "k", new CommCall(CollectiveKind.AllReduce, 1, [0, 7])))]),
            "names rank 7");
        Refused(new SystemProgram("p", [Rank(0, RankSegment.Collective("x", "k", new CommCall(CollectiveKind.AllReduce, 1, [1])))]),
            "not in its group");
        Refused(new SystemProgram("p", [
            Rank(0, RankSegment.Collective("x", "k", new CommCall(CollectiveKind.AllToAll, 1, [0, 1], CollectiveAlgorithm.Tree))),
            Rank(1, RankSegment.Collective("x", "k", new CommCall(CollectiveKind.AllToAll, 1, [0, 1], CollectiveAlgorithm.Tree)))]),
            "Tree does not implement AllToAll over 2 ranks");
        var other = call with { Group = [0, 1] };
        Refused(new SystemProgram("p", [
            Rank(0, RankSegment.Collective("a", "A", call), RankSegment.Collective("b", "B", other, [0])),
            Rank(1, RankSegment.Collective("b", "B", other), RankSegment.Collective("a", "A", call, [0]))]), "deadlocks");
    }

    [Fact]
    public void A_deadlock_is_found_before_anything_runs()
    {
        var call = new CommCall(CollectiveKind.AllReduce, 1024, [0, 1]);
        var p = new SystemProgram("p", [
            Rank(0, RankSegment.Collective("a", "A", call), RankSegment.Collective("b", "B", call, [0])),
            Rank(1, RankSegment.Collective("b", "B", call), RankSegment.Collective("a", "A", call, [0]))]);
        var e = Assert.Throws<ArgumentException>(() => SystemSimulator.Validate(p, new SwitchFabric(2, Bw, Alpha)));
        Assert.Contains("collective 'A'", e.Message);
    }

    [Fact]
    public void Links_of_a_system_are_named_by_node_device_and_nic()
    {
        var link = new LinkSpec(100e9, 1, 1e-6, 10);
        var spec = new SystemSpec("two-nodes", new NodeSpec("fake", 2, IntraNodeFabricKind.NVSwitch, link, false),
            new NicSpec(2, new LinkSpec(25e9, 1, 2e-6, 20), RailOptimized: true), new ScaleOutSpec(4, 2, 1, new LinkSpec(50e9, 1, 1e-6, 20)), 2);
        var g = Graph("g", 1_000);
        var send = CommCall.Send(0, 2, 1 << 20);
        var local = CommCall.Send(0, 1, 1 << 10);
        var program = new SystemProgram("p", [
            Rank(0, RankSegment.Run("g", g), RankSegment.Collective("out", "x", send, [0]), RankSegment.Collective("near", "y", local, [0])),
            Rank(1, RankSegment.Collective("near", "y", local)),
            Rank(2, RankSegment.Collective("in", "x", send), RankSegment.Run("g", g, [0]))]);
        var device = Device();
        var r = SystemSimulator.Run(program, SystemFabric.Build(spec), _ => device, new SequentialSchedule());
        var used = r.Links.Where(l => l.Bytes > 0).ToDictionary(l => l.Name, l => l.Bytes);
        Assert.Equal(1 << 20, used["node0.nic0.up"]);
        Assert.Equal(1 << 20, used["node1.nic0.down"]);
        Assert.Equal(1 << 10, used["node0.dev0.up"]);
        Assert.Equal(1 << 10, used["node0.dev1.down"]);
        Assert.Equal(4, used.Count);
        // Energy per byte from the spec's link: 20 pJ on each NIC port, 10 pJ on each NVSwitch link.
        Assert.Equal((2.0 * 20 * (1 << 20) + 2.0 * 10 * (1 << 10)) * 1e-12, r.LinkEnergyJ, 15);
        Assert.All(SystemSimulator.LinkNames(SystemFabric.Build(spec)), n => Assert.False(string.IsNullOrEmpty(n)));
    }

    [Fact]
    public void Runs_are_deterministic()
    {
        SystemResult Once() => Run(Overlapped(123_457), 2);
        var a = Once();
        var b = Once();
        Assert.Equal(a.MakespanPs, b.MakespanPs);
        Assert.Equal(a.EventCount, b.EventCount);
        Assert.Equal(a.Links, b.Links);
        Assert.Equal(a.Collectives.Select(c => (c.StartPs, c.EndPs)), b.Collectives.Select(c => (c.StartPs, c.EndPs)));
        Assert.Equal(a.Ranks.Select(r => r.Result.TaskEndPs.ToArray()), b.Ranks.Select(r => r.Result.TaskEndPs.ToArray()));
    }

    /// <summary>Random two-to-four-rank programs: computes of random sizes with sends around a ring and an
    /// all-reduce over everyone.</summary>
    private static Arbitrary<(int Ranks, int[] Flops, int[] Sizes, CollectiveAlgorithm Algorithm)> Programs() =>
        (from ranks in Gen.Choose(2, 4)
         from flops in Gen.ArrayOf(Gen.Choose(1, 5_000_000), 3 * 4)
         from sizes in Gen.ArrayOf(Gen.Choose(0, 1 << 22), 2)
         from algorithm in Gen.Elements(CollectiveAlgorithm.Ring, CollectiveAlgorithm.Direct, CollectiveAlgorithm.Tree, CollectiveAlgorithm.Default)
         select (ranks, flops, sizes, algorithm)).ToArbitrary();

    private static SystemProgram Random((int Ranks, int[] Flops, int[] Sizes, CollectiveAlgorithm Algorithm) c)
    {
        var (n, flops, sizes, algorithm) = c;
        var all = Enumerable.Range(0, n).ToArray();
        var ar = new CommCall(CollectiveKind.AllReduce, sizes[1], all, algorithm);
        return new SystemProgram("random", [.. all.Select(r =>
        {
            var next = (r + 1) % n;
            var prev = (r + n - 1) % n;
            return Rank(r,
                RankSegment.Run("a", Graph($"a{r}", flops[r])),
                RankSegment.Collective("send", $"s{r}", CommCall.Send(r, next, sizes[0]), [0]),
                RankSegment.Collective("recv", $"s{prev}", CommCall.Send(prev, r, sizes[0]), [0]),
                RankSegment.Run("b", Graph($"b{r}", flops[4 + r]), [2]),
                RankSegment.Collective("ar", "ar", ar, [1, 3]),
                RankSegment.Run("c", Graph($"c{r}", flops[8 + r]), [4]));
        })]);
    }

    [Property(MaxTest = 40)]
    public Property More_link_bandwidth_is_never_slower() =>
        Prop.ForAll(Programs(), DagGen.Factor.ToArbitrary(), (c, k) =>
        {
            var slow = Run(Random(c), c.Ranks, Bw);
            var fast = Run(Random(c), c.Ranks, Bw * k);
            return (fast.MakespanPs <= slow.MakespanPs).Label($"{c.Ranks} ranks, x{k}: {fast.MakespanPs} ps > {slow.MakespanPs} ps");
        });

    [Property(MaxTest = 40)]
    public Property Accounting_stays_within_its_bounds() =>
        Prop.ForAll(Programs(), c =>
        {
            var r = Run(Random(c), c.Ranks);
            var ranks = r.Ranks.All(x => x.HiddenCommPs >= 0 && x.HiddenCommPs <= x.CommPs && x.CommPs <= r.MakespanPs
                && x.ComputeBusyPs <= r.MakespanPs && x.Metrics.ComputeUtilisation is >= 0 and <= 1
                && x.Segments.All(s => s.ReadyPs <= s.StartPs && s.StartPs <= s.EndPs && s.EndPs <= r.MakespanPs));
            var links = r.Links.All(l => l.Utilisation is >= 0 and <= 1 + 1e-9 && l.BusyPs <= r.MakespanPs);
            var collectives = r.Collectives.All(x => x.StartPs >= 0 && x.EndPs >= x.StartPs);
            var flops = r.Flops == c.Flops.Take(c.Ranks).Sum(f => (long)f) + c.Flops.Skip(4).Take(c.Ranks).Sum(f => (long)f)
                + c.Flops.Skip(8).Take(c.Ranks).Sum(f => (long)f);
            return ranks.Label("ranks").And(links.Label("links")).And(collectives.Label("collectives")).And(flops.Label("flops"));
        });
}

public class SystemSimulatorAllocationTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>Four ranks, each running the synthetic program of <see cref="AllocationTests"/> in
    /// <paramref name="microbatches"/> segments, each handed on to the next rank by a send.</summary>
    internal static SystemSimulator Pipeline(int tasks, int microbatches)
    {
        var (program, device) = AllocationTests.Synthetic(tasks, 8);
        var ranks = new List<RankProgram>();
        for (var r = 0; r < 4; r++)
        {
            var segs = new List<RankSegment>();
            for (var m = 0; m < microbatches; m++)
            {
                var after = new List<int>();
                if (segs.Count > 0) after.Add(segs.Count - 1);
                if (r > 0)
                {
                    segs.Add(RankSegment.Collective("recv", $"s{r - 1}.{m}", CommCall.Send(r - 1, r, 1 << 16), after.ToArray()));
                    after = [segs.Count - 1];
                }
                segs.Add(RankSegment.Run($"mb{m}", program.Graph, after));
                if (r < 3) segs.Add(RankSegment.Collective("send", $"s{r}.{m}", CommCall.Send(r, r + 1, 1 << 16), [segs.Count - 1]));
            }
            ranks.Add(new RankProgram(r, segs, []));
        }
        // Every segment instance's tasks in the kernel: the run measured is the kernel's over its tasks, not one task per instance.
        return new SystemSimulator(new SystemProgram("pipeline", ranks), new SwitchFabric(4, 1e10, 1000), _ => device, (_, _) => program, null, compact: false);
    }

    [Fact]
    public void Run_allocates_nearly_nothing_per_event()
    {
        Pipeline(500, 4).Run();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var sim = Pipeline(2_000, 20);
        var built = watch.Elapsed;
        var before = GC.GetAllocatedBytesForCurrentThread();
        sim.Kernel.Run();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var events = sim.Kernel.EventCount;
        output.WriteLine($"{sim.Kernel.TaskCount} tasks, {events} events: built in {built.TotalMilliseconds:F0} ms, ran in {(watch.Elapsed - built).TotalMilliseconds:F0} ms, {allocated} B allocated");
        Assert.True(events > 4 * 20 * 2_000 * 3, $"only {events} events");
        var perEvent = allocated / (double)events;
        Assert.True(perEvent < 1.0, $"the run allocated {allocated} B for {events} events ({perEvent:F3} B/event)");
    }
}
