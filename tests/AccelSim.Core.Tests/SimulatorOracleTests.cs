using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Core.Tests.Support;
using AccelSim.Core.Time;
using static AccelSim.Core.Tests.Support.Programs;

namespace AccelSim.Core.Tests;

/// <summary>The kernel against closed forms: latency + size/bandwidth, max(compute, transfers),
/// fair sharing, caps, re-solving, FIFO engines, ordering of simultaneous events, memory peaks.</summary>
public class SimulatorOracleTests
{
    private const double GBps = 1e9; // 1 byte per nanosecond

    [Theory]
    [InlineData(1000L, 1e9, 0L)]
    [InlineData(1000L, 1e9, 250_000L)]
    [InlineData(7L, 3e9, 13L)]
    [InlineData(123_456_789L, 3.35e12, 600_000L)]
    [InlineData(1L, 1e15, 0L)]
    public void One_transfer_takes_latency_plus_bytes_over_bandwidth(long bytes, double bandwidth, long latencyPs)
    {
        var device = new FakeDevice(FakeDevice.Simple(bandwidth: bandwidth, channelLatencyPs: latencyPs));
        var result = Run(From([Cost(transfers: Transfer(0, bytes))]), device);

        var expected = latencyPs + (long)Math.Ceiling(bytes / bandwidth * Ps.PerSecond);
        Assert.Equal(expected, result.MakespanPs);
        Assert.Equal(latencyPs, result.TransferStartPs[0]);
        Assert.Equal(expected, result.TransferEndPs[0]);
        Assert.Equal(bytes, result.ChannelBytes[0]);
        Assert.Equal(expected - latencyPs, result.ChannelBusyPs[0]);
    }

    [Fact]
    public void One_microsecond_at_one_gigabyte_per_second_is_exact()
    {
        var device = new FakeDevice(FakeDevice.Simple(bandwidth: GBps));
        var result = Run(From([Cost(transfers: Transfer(0, 1000))]), device);
        Assert.Equal(Ps.PerMicrosecond, result.MakespanPs);
    }

    [Theory]
    [InlineData(5_000L, 100_000L, 1000L, 0L)]        // transfer-bound: 1000 B = 1 us > 100 ns
    [InlineData(5_000L, 3_000_000L, 1000L, 0L)]      // compute 3 us > transfer 1 us
    [InlineData(0L, 0L, 1000L, 500_000L)]            // transfer only, with channel latency
    [InlineData(2_000L, 1_499_999L, 1000L, 500_000L)] // transfer (1.5 us) just beats compute
    public void Task_takes_start_latency_plus_max_of_compute_and_transfers(long startLatencyPs, long computePs, long bytes, long channelLatencyPs)
    {
        var device = new FakeDevice(FakeDevice.Simple(bandwidth: GBps, channelLatencyPs: channelLatencyPs));
        var result = Run(From([Cost(latencyPs: startLatencyPs, computePs: computePs, transfers: Transfer(0, bytes))]), device);

        var transferPs = channelLatencyPs + bytes * 1000; // 1 B/ns
        Assert.Equal(startLatencyPs + Math.Max(computePs, transferPs), result.MakespanPs);
        Assert.Equal(0, result.TaskStartPs[0]);
        Assert.Equal(startLatencyPs, result.TaskLaunchPs[0]);
        Assert.Equal(startLatencyPs + computePs, result.TaskComputeEndPs[0]);
        Assert.Equal(computePs, result.EngineBusyPs[0]);
    }

    [Fact]
    public void Two_equal_concurrent_transfers_each_get_half_the_bandwidth()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 2, bandwidth: GBps));
        var program = From([Cost(transfers: Transfer(0, 1000)), Cost(transfers: Transfer(0, 1000))]);
        var result = Run(program, device);

        // Each alone would take 1 us; together each runs at 0.5 B/ns and both end at 2 us.
        Assert.Equal(2 * Ps.PerMicrosecond, result.TransferEndPs[0]);
        Assert.Equal(2 * Ps.PerMicrosecond, result.TransferEndPs[1]);
        Assert.Equal(2 * Ps.PerMicrosecond, result.MakespanPs);
        Assert.Equal(2 * Ps.PerMicrosecond, result.ChannelBusyPs[0]);
    }

    [Fact]
    public void Same_transfers_on_a_one_unit_engine_run_one_after_the_other()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 1, bandwidth: GBps));
        var result = Run(From([Cost(transfers: Transfer(0, 1000)), Cost(transfers: Transfer(0, 1000))]), device);
        Assert.Equal(Ps.PerMicrosecond, result.TransferEndPs[0]);
        Assert.Equal(Ps.PerMicrosecond, result.TransferStartPs[1]);
        Assert.Equal(2 * Ps.PerMicrosecond, result.MakespanPs);
    }

    [Fact]
    public void A_capped_transfer_leaves_the_rest_of_the_bandwidth_to_the_other()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 2, bandwidth: GBps));
        // A is capped at a quarter of the channel; max-min fairness gives B the other three quarters.
        var program = From([
            Cost(transfers: Transfer(0, 1000, cap: GBps / 4)),
            Cost(transfers: Transfer(0, 3000)),
        ]);
        var result = Run(program, device);

        // B: 3000 B at 0.75 B/ns = 4 us. A: 1000 B at 0.25 B/ns = 4 us (its cap holds after B leaves).
        Near(4 * Ps.PerMicrosecond, result.TransferEndPs[1], 1);
        Near(4 * Ps.PerMicrosecond, result.TransferEndPs[0], 1);
    }

    [Fact]
    public void A_capped_transfer_keeps_its_cap_after_the_other_leaves()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 2, bandwidth: GBps));
        var program = From([
            Cost(transfers: Transfer(0, 2000, cap: GBps / 4)),
            Cost(transfers: Transfer(0, 1500)),
        ]);
        var result = Run(program, device);

        // B: 1500 B at 0.75 B/ns = 2 us. A moved 500 B by then, then 1500 B more at its cap 0.25 B/ns = 6 us.
        Near(2 * Ps.PerMicrosecond, result.TransferEndPs[1], 1);
        Near(8 * Ps.PerMicrosecond, result.TransferEndPs[0], 1);
        // The channel was flowing the whole time even though it was under-used at the end.
        Near(8 * Ps.PerMicrosecond, result.ChannelBusyPs[0], 1);
    }

    [Fact]
    public void Caps_above_the_fair_share_do_not_change_the_fair_share()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 3, bandwidth: GBps));
        // Caps: 0.1, 0.6 and 0.9 B/ns. Water-filling: 0.1, then (0.9 left)/2 = 0.45 each, below both caps.
        var program = From([
            Cost(transfers: Transfer(0, 100, cap: 0.1 * GBps)),
            Cost(transfers: Transfer(0, 450, cap: 0.6 * GBps)),
            Cost(transfers: Transfer(0, 450, cap: 0.9 * GBps)),
        ]);
        var result = Run(program, device);
        Near(Ps.PerMicrosecond, result.TransferEndPs[0], 1);
        Near(Ps.PerMicrosecond, result.TransferEndPs[1], 1);
        Near(Ps.PerMicrosecond, result.TransferEndPs[2], 1);
    }

    [Fact]
    public void Two_transfers_of_one_task_share_the_channel_and_the_survivor_speeds_up()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 1, bandwidth: GBps));
        using var bus = new SimulationEventBus();
        var last = new List<SimEvent>();
        using var sub = bus.Subscribe(e => { if (e.Kind == SimEventKind.SimulationEnd) last.Add(e); });
        var result = Run(From([Cost(transfers: [Transfer(0, 1000), Transfer(0, 500)])]), device, bus);

        // Both at 0.5 B/ns until the 500 B one ends at 1 us; the last 500 B then go at 1 B/ns.
        Assert.Equal(Ps.PerMicrosecond, result.TransferEndPs[1]);
        Assert.Equal(1_500_000, result.TransferEndPs[0]);
        Assert.Equal(1_500_000, result.TaskEndPs[0]);
        // The completion first planned for 2 us was superseded; it must not extend the run.
        Assert.Equal(1_500_000, result.MakespanPs);
        Assert.Equal(1_500_000, Assert.Single(last).TimePs);
    }

    [Fact]
    public void Makespan_is_the_end_of_the_last_task()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 2, bandwidth: GBps));
        var program = From([
            Cost(transfers: Transfer(0, 3000)),
            Cost(computePs: 10, transfers: Transfer(0, 1000)),
            Cost(computePs: 10, transfers: Transfer(0, 1000)),
        ], [[], [], [1]]);
        var result = Run(program, device);
        Assert.Equal(result.TaskEndPs.Max(), result.MakespanPs);
        Assert.InRange(result.MakespanPs, 5 * Ps.PerMicrosecond - 1, 5 * Ps.PerMicrosecond + 1);
    }

    [Fact]
    public void A_transfer_starting_midway_re_solves_the_rates()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 2, bandwidth: GBps));
        // A starts at 0 with 1000 B; B's task has 400 ns of start-up latency, then 1000 B.
        var program = From([
            Cost(transfers: Transfer(0, 1000)),
            Cost(latencyPs: 400_000, transfers: Transfer(0, 1000)),
        ]);
        var result = Run(program, device);

        // 0-400 ns: A alone moves 400 B. Then each at 0.5 B/ns: A's last 600 B take 1200 ns (ends 1600 ns).
        // B moved 600 B by then; its last 400 B at full rate end at 2000 ns.
        Assert.Equal(400_000, result.TransferStartPs[1]);
        Near(1_600_000, result.TransferEndPs[0], 1);
        Near(2_000_000, result.TransferEndPs[1], 2);
        Assert.Equal(2000, result.ChannelBytes[0]);
    }

    [Fact]
    public void Transfers_on_different_channels_do_not_share()
    {
        var topology = new DeviceTopology([new EngineSpec("pe", 2)],
            [new ChannelSpec("a", GBps, 0, "m", true), new ChannelSpec("b", GBps, 0, "m", true)],
            [new TierSpec("m", 1L << 40, true)]);
        var result = Run(From([Cost(transfers: Transfer(0, 1000)), Cost(transfers: Transfer(1, 1000))]), new FakeDevice(topology));
        Assert.Equal(Ps.PerMicrosecond, result.TransferEndPs[0]);
        Assert.Equal(Ps.PerMicrosecond, result.TransferEndPs[1]);
    }

    [Fact]
    public void A_one_unit_engine_runs_ready_tasks_first_in_first_out()
    {
        var topology = new DeviceTopology([new EngineSpec("one", 1), new EngineSpec("two", 2)], [],
            [new TierSpec("m", 1L << 40, true)]);
        var program = From([
            Cost(engine: 1, computePs: 50),           // 0: makes 2 ready at 50
            Cost(engine: 1, computePs: 10),           // 1: makes 3 ready at 10
            Cost(engine: 0, computePs: 7),            // 2: ready at 50
            Cost(engine: 0, computePs: 11),           // 3: ready at 10, before 2
            Cost(engine: 0, computePs: 100),          // 4: ready at 0, holds the unit until 100
        ], [[], [], [0], [1], []]);
        var result = Run(program, new FakeDevice(topology));

        Assert.Equal([0L, 0, 50, 10, 0], result.TaskReadyPs);
        // 4 runs first, then 3 (ready earlier) although 2 was issued earlier.
        Assert.Equal(0, result.TaskStartPs[4]);
        Assert.Equal(100, result.TaskStartPs[3]);
        Assert.Equal(111, result.TaskStartPs[2]);
        Assert.Equal(118, result.MakespanPs);
        Assert.Equal(118, result.EngineBusyPs[0]);
        Assert.Equal(60, result.EngineBusyPs[1]);
    }

    [Fact]
    public void Tasks_ready_at_the_same_time_start_in_issue_order()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 1));
        var program = From([Cost(computePs: 30), Cost(computePs: 20), Cost(computePs: 10)]);
        var result = Run(program, device);
        Assert.Equal([0L, 30, 50], result.TaskStartPs);
        Assert.Equal([30L, 50, 60], result.TaskEndPs);
    }

    [Fact]
    public void Equal_time_events_keep_insertion_order()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 2));
        // Both tasks end at 10 ps. Task 1's end was scheduled at time 0, task 0's at time 5 (after its
        // start-up latency): insertion order, not task index, decides who ends first.
        var program = From([Cost(latencyPs: 5, computePs: 5), Cost(computePs: 10)]);
        using var bus = new SimulationEventBus();
        var ends = new List<(long Time, int Task)>();
        using var sub = bus.Subscribe(e => { if (e.Kind == SimEventKind.TaskEnd) ends.Add((e.TimePs, e.Index)); });
        var result = Run(program, device, bus);

        Assert.Equal([(10L, 1), (10L, 0)], ends);
        Assert.Equal(10, result.MakespanPs);
    }

    [Fact]
    public void Equal_time_events_keep_insertion_order_when_reversed()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 2));
        var program = From([Cost(computePs: 10), Cost(latencyPs: 5, computePs: 5)]);
        using var bus = new SimulationEventBus();
        var ends = new List<int>();
        using var sub = bus.Subscribe(e => { if (e.Kind == SimEventKind.TaskEnd) ends.Add(e.Index); });
        Run(program, device, bus);
        Assert.Equal([0, 1], ends);
    }

    [Fact]
    public void A_dependent_task_starts_when_its_predecessor_ends()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 4, bandwidth: GBps));
        var program = From([
            Cost(computePs: 100),
            Cost(computePs: 10, transfers: Transfer(0, 1000)),
            Cost(computePs: 1),
        ], [[], [], [0, 1]]);
        var result = Run(program, device);
        Assert.Equal(Ps.PerMicrosecond, result.TaskReadyPs[2]);
        Assert.Equal(Ps.PerMicrosecond + 1, result.MakespanPs);
    }

    [Fact]
    public void Zero_byte_transfers_and_zero_cost_tasks_finish_immediately()
    {
        var device = new FakeDevice(FakeDevice.Simple());
        var result = Run(From([Cost(transfers: Transfer(0, 0)), Cost()], [[], [0]]), device);
        Assert.Equal(0, result.MakespanPs);
        Assert.Equal(0, result.TransferEndPs[0]);
        Assert.Equal(0, result.ChannelBytes[0]);
    }

    [Fact]
    public void A_simulator_runs_once()
    {
        var sim = new Simulator(From([Cost(computePs: 1)]), new FakeDevice(FakeDevice.Simple()));
        sim.Run();
        Assert.Throws<InvalidOperationException>(() => sim.Run());
    }

    [Fact]
    public void Unknown_engines_and_channels_are_rejected_before_time_zero()
    {
        var device = new FakeDevice(FakeDevice.Simple());
        Assert.Throws<ArgumentException>(() => new Simulator(From([Cost(engine: 3)]), device));
        Assert.Throws<ArgumentException>(() => new Simulator(From([Cost(transfers: Transfer(2, 10))]), device));
    }

    [Fact]
    public void Programs_must_list_predecessors_before_their_successors()
    {
        Assert.Throws<ArgumentException>(() => From([Cost(), Cost()], [[1], []]));
    }

    [Fact]
    public void Events_reach_subscribers_in_time_order()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 2, bandwidth: GBps, channelLatencyPs: 50));
        var program = From([
            Cost(latencyPs: 10, computePs: 500, transfers: Transfer(0, 1000)),
            Cost(computePs: 20, transfers: Transfer(0, 10)),
        ]);
        using var bus = new SimulationEventBus();
        var seen = new List<SimEvent>();
        using var sub = bus.Subscribe(seen.Add);
        var result = Run(program, device, bus);

        for (var i = 1; i < seen.Count; i++) Assert.True(seen[i - 1].TimePs <= seen[i].TimePs);
        Assert.Equal(2, seen.Count(e => e.Kind == SimEventKind.TransferStart));
        Assert.Equal(2, seen.Count(e => e.Kind == SimEventKind.TransferEnd));
        Assert.Equal(SimEventKind.SimulationEnd, seen[^1].Kind);
        Assert.Equal(result.MakespanPs, seen[^1].TimePs);
    }

    /// <summary>A chain x -> op0 -> a1 -> op1 -> a2 ... with a weight per op, run kernel by kernel. An
    /// activation lives from its producer's start to its consumer's end, so while op i runs a_i and
    /// a_(i+1) are both live: peak = resident + max_i (a_i + a_(i+1)), with a_0 = x counted as resident.</summary>
    [Theory]
    [InlineData(new long[] { 100, 200, 50, 400, 10 })]
    [InlineData(new long[] { 1000, 1, 1, 1 })]
    [InlineData(new long[] { 7 })]
    [InlineData(new long[] { 5, 5, 5, 5, 5, 5, 5 })]
    public void Peak_occupancy_of_a_chain_equals_the_closed_form(long[] activationBytes)
    {
        const long inputBytes = 64;
        const long weightBytes = 1000;
        var graph = Chain(inputBytes, activationBytes, weightBytes);
        var device = new FakeDevice(FakeDevice.Simple(bandwidth: GBps));
        var result = new Simulator(new SequentialSchedule().Map(graph, device), device).Run();

        var resident = inputBytes + weightBytes * activationBytes.Length;
        long live = 0;
        for (var i = 0; i < activationBytes.Length; i++)
            live = Math.Max(live, (i == 0 ? 0 : activationBytes[i - 1]) + activationBytes[i]);
        Assert.Equal(resident, result.TierResidentBytes[0]);
        Assert.Equal(resident + live, result.TierPeakBytes[0]);
    }

    [Fact]
    public void Memory_events_track_allocation_and_release()
    {
        var graph = Chain(8, [100, 200, 300], 0);
        var device = new FakeDevice(FakeDevice.Simple(bandwidth: GBps));
        using var bus = new SimulationEventBus();
        var occupancy = new List<long>();
        using var sub = bus.Subscribe(e => { if (e.Kind == SimEventKind.MemoryChange) occupancy.Add(e.Value); });
        new Simulator(new SequentialSchedule().Map(graph, device), device, bus).Run();

        // resident x; +a0; +a1; -a0; +a2; -a1. The final output stays.
        Assert.Equal([8L, 108, 308, 208, 508, 308], occupancy);
    }

    [Fact]
    public void A_fused_task_frees_its_own_intermediates_when_it_ends()
    {
        var graph = Chain(8, [100, 200, 300], 0);
        var device = new FakeDevice(FakeDevice.Simple(bandwidth: GBps));
        var ops = graph.TopologicalOrder();
        var cost = Cost(computePs: 1000);

        // All three ops in one task: a0 and a1 are produced and consumed inside it.
        var one = new SimProgram("fused", graph, [new SimTask(0, ops, cost)], [[]]);
        Assert.Equal([8L, 108, 308, 608, 508, 308], Occupancy(one, device));

        // Two tasks: a1 crosses from the first to the second, so it lives until the second ends.
        var two = new SimProgram("fused", graph, [new SimTask(0, [ops[0], ops[1]], cost), new SimTask(1, [ops[2]], cost)], [[], [0]]);
        Assert.Equal([8L, 108, 308, 208, 508, 308], Occupancy(two, device));
    }

    private static List<long> Occupancy(SimProgram program, FakeDevice device)
    {
        using var bus = new SimulationEventBus();
        var occupancy = new List<long>();
        using var sub = bus.Subscribe(e => { if (e.Kind == SimEventKind.MemoryChange) occupancy.Add(e.Value); });
        new Simulator(program, device, bus).Run();
        return occupancy;
    }

    [Fact]
    public void An_over_capacity_tier_reports_spilled_bytes_and_does_not_crash()
    {
        var graph = Chain(0, [600, 600], 500);
        var device = new FakeDevice(FakeDevice.Simple(bandwidth: GBps, capacity: 1000));
        var result = new Simulator(new SequentialSchedule().Map(graph, device), device).Run();
        var metrics = MetricsCalculator.Compute(result, device);

        // Resident: 2 weights = 1000 (exactly full). Peak adds both activations.
        Assert.Equal(2200, result.TierPeakBytes[0]);
        Assert.Equal(1000, metrics.Memory.CapacityBytes["hbm"]);
        Assert.Equal(2200, metrics.Memory.PeakBytes["hbm"]);
        Assert.Equal(1200, metrics.Memory.OverCapacityBytes["hbm"]);
        Assert.True(result.MakespanPs > 0);
    }

    [Fact]
    public void A_tier_within_capacity_spills_nothing()
    {
        var graph = Chain(0, [600, 600], 500);
        var device = new FakeDevice(FakeDevice.Simple(bandwidth: GBps, capacity: 2200));
        var metrics = MetricsCalculator.Compute(new Simulator(new SequentialSchedule().Map(graph, device), device).Run(), device);
        Assert.Equal(0, metrics.Memory.OverCapacityBytes["hbm"]);
    }

    private static void Near(long expected, long actual, long tolerancePs) =>
        Assert.True(Math.Abs(expected - actual) <= tolerancePs, $"expected {expected} ps (+-{tolerancePs}), got {actual} ps");

    internal static WorkloadGraph Chain(long inputBytes, long[] activationBytes, long weightBytes)
    {
        var n = activationBytes.Length;
        var prev = new Tensor(0, "x", [inputBytes], DType.Int8, TensorRole.Activation);
        var ops = new List<Op>();
        for (var i = 0; i < n; i++)
        {
            var outT = new Tensor(1 + i, $"a{i}", [activationBytes[i]], DType.Int8, TensorRole.Activation);
            var ins = weightBytes > 0
                ? new[] { prev, new Tensor(1 + n + i, $"w{i}", [weightBytes], DType.Int8, TensorRole.Weight) }
                : new[] { prev };
            ops.Add(new Op(i, $"op{i}", OpKind.Elementwise, i, ins, [outT], 1000, DType.Bf16));
            prev = outT;
        }
        return new WorkloadGraph(new WorkloadInfo("chain", "prefill", 1, n, 0, n), ops);
    }
}
