using AccelSim.Core.Devices;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Core.Tests.Support;
using AccelSim.Core.Time;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static AccelSim.Core.Tests.Support.Programs;

namespace AccelSim.Core.Tests;

public class MetricsTests
{
    private const double GBps = 1e9;

    [Fact]
    public void Concurrent_memory_bound_tasks_count_their_overlapping_time_once()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 2, bandwidth: GBps));
        var program = From([Cost(transfers: Transfer(0, 1000)), Cost(transfers: Transfer(0, 1000))]);
        var result = Run(program, device);
        var metrics = MetricsCalculator.Compute(result, device);

        Assert.Equal(2, metrics.MemoryWall.MemoryBoundOps);
        Assert.Equal(1.0, metrics.MemoryWall.MemoryBoundTimeFraction);
        Assert.Equal(1.0, metrics.MemoryBandwidthUtilisation, 12);
    }

    [Fact]
    public void Memory_bound_fraction_counts_only_memory_bound_spans()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 1, bandwidth: GBps));
        // 1 us memory-bound, then 3 us compute-bound.
        var program = From([Cost(computePs: 10, transfers: Transfer(0, 1000)), Cost(computePs: 3_000_000, transfers: Transfer(0, 10))], [[], [0]]);
        var metrics = MetricsCalculator.Compute(Run(program, device), device);
        Assert.Equal(1, metrics.MemoryWall.MemoryBoundOps);
        Assert.Equal(0.25, metrics.MemoryWall.MemoryBoundTimeFraction, 12);
    }

    [Fact]
    public void A_task_whose_compute_covers_phases_paced_by_bytes_is_classified_by_its_math_alone()
    {
        var device = new FakeDevice(FakeDevice.Simple(units: 1, bandwidth: GBps));
        // Ops in sequence: 8 us in all, of which 2 us of math; its 6000 B alone take 6 us.
        var phased = new OpCost(0, 0, 8_000_000, [Transfer(0, 6000)], 0) { MathPs = 2_000_000 };
        var plain = Cost(computePs: 8_000_000, transfers: Transfer(0, 6000));
        Assert.Equal(8_000_000, DataflowSchedule.Estimate(phased, device.Topology)); // timing is unchanged
        Assert.Equal(DataflowSchedule.Estimate(plain, device.Topology), DataflowSchedule.Estimate(phased, device.Topology));
        Assert.Equal((2_000_000L, 6_000_000L, 0L), MetricsCalculator.IsolatedTimes(phased, device.Topology));

        var result = Run(From([phased]), device);
        Assert.Equal(8_000_000, result.MakespanPs);
        var metrics = MetricsCalculator.Compute(result, device);
        Assert.Equal(1, metrics.MemoryWall.MemoryBoundOps);
        Assert.Equal(6e-6, metrics.MemoryWall.StallS, 12); // waited for bytes after its math
        var plainMetrics = MetricsCalculator.Compute(Run(From([plain]), device), device);
        Assert.Equal(0, plainMetrics.MemoryWall.MemoryBoundOps);
        Assert.Equal(0, plainMetrics.MemoryWall.StallS);

        Assert.Throws<ArgumentOutOfRangeException>(() => new OpCost(0, 0, 10, [], 0) { MathPs = 11 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new OpCost(0, 0, 10, [], 0) { MathPs = -1 });
    }

    [Fact]
    public void Part_times_count_a_channel_latency_once_and_share_its_bandwidth()
    {
        var topo = FakeDevice.Simple(bandwidth: GBps, channelLatencyPs: 100_000);
        // A read and a write on one channel, each capped at 0.9 GB/s: together they are limited by
        // the channel (2000 B at 1 B/ns) after one latency.
        var cost = Cost(computePs: 5, transfers: [Transfer(0, 1000, 0.9 * GBps), Transfer(0, 1000, 0.9 * GBps)]);
        var (c, m, l) = MetricsCalculator.PartTimes(cost, topo);
        Assert.Equal(5, c);
        Assert.Equal(2_100_000, m);
        Assert.Equal(0, l);
        Assert.Equal(m, Run(From([cost]), new FakeDevice(topo)).MakespanPs);
    }

    [Fact]
    public void Part_times_of_a_slow_capped_transfer_are_its_own_rate()
    {
        var topo = FakeDevice.Simple(bandwidth: GBps);
        var cost = Cost(transfers: [Transfer(0, 1000, 0.1 * GBps), Transfer(0, 1000)]);
        Assert.Equal(10_000_000, MetricsCalculator.PartTimes(cost, topo).MemoryPs);
        Assert.Equal(10_000_000, Run(From([cost]), new FakeDevice(topo)).MakespanPs);
    }

    /// <summary>A task's isolated memory time is a floor of what the simulator gives it when it runs
    /// alone, and exact when no channel carries a capped transfer next to another one (max-min
    /// fairness can hold a capped transfer below its cap while others share the channel).</summary>
    [Property(MaxTest = 100)]
    public Property Part_times_are_the_floor_of_a_task_simulated_alone() =>
        Prop.ForAll(Transfers().ToArbitrary(), transfers =>
        {
            var topo = new DeviceTopology([new EngineSpec("pe", 1)],
                [new ChannelSpec("a", 3e11, 700_000, "m", true), new ChannelSpec("b", 5e10, 0, "m", true)],
                [new TierSpec("m", 1L << 40, true)]);
            var cost = new OpCost(0, 0, 0, transfers, 0);
            var (_, memoryPs, _) = MetricsCalculator.PartTimes(cost, topo);
            var simulated = Run(From([cost]), new FakeDevice(topo)).MakespanPs;
            var exact = transfers.GroupBy(t => t.Channel).All(g => g.Count() == 1 || g.All(t => t.RateCap_Bps >= topo.Channels[t.Channel].Bandwidth_Bps));
            var slack = 2 * transfers.Length;
            return (memoryPs <= simulated + slack).Label($"part time {memoryPs} ps > simulated {simulated} ps")
                .And((!exact || memoryPs >= simulated - slack).Label($"part time {memoryPs} ps, simulated {simulated} ps"));
        });

    private static Gen<TransferDemand[]> Transfers() =>
        Gen.ArrayOf(
            from ch in Gen.Choose(0, 1)
            from bytes in Gen.Choose(1, 1 << 26)
            from cap in Gen.Elements(double.MaxValue, 1e10, 1e11, 2e11, 4e11)
            select new TransferDemand(ch, bytes, cap, 0)).Where(a => a.Length is > 0 and <= 6);

    [Theory]
    [InlineData(10L, 5L, 1L, Bound.Compute)]
    [InlineData(5L, 10L, 1L, Bound.Memory)]
    [InlineData(5L, 5L, 1L, Bound.Compute)]
    [InlineData(5L, 10L, 10L, Bound.Latency)]
    [InlineData(0L, 0L, 0L, Bound.Latency)]
    public void Classify_names_the_largest_part(long compute, long memory, long latency, Bound expected) =>
        Assert.Equal(expected, MetricsCalculator.Classify(compute, memory, latency));

    [Theory]
    [InlineData(10L, 5L, 1L, true, Bound.Power)]
    [InlineData(10L, 5L, 1L, false, Bound.Compute)]
    [InlineData(5L, 10L, 1L, true, Bound.Memory)]
    [InlineData(5L, 10L, 10L, true, Bound.Latency)]
    public void A_compute_bound_paced_by_the_power_limit_is_power_bound(long compute, long memory, long latency, bool capped, Bound expected)
    {
        var cost = new OpCost(0, latency, compute, [], 0) { PowerLimit = capped ? new PowerLimit(700, 1.4e9, "SM clock") : null };
        Assert.Equal(expected, MetricsCalculator.Classify(cost, compute, memory, latency));
        Assert.Equal(capped && expected == Bound.Power, MetricsCalculator.Classify(cost, compute, memory, latency).Name() == "power");
    }

    [Fact]
    public void Energy_is_dynamic_plus_static_power_times_time()
    {
        var device = new FakeDevice(FakeDevice.Simple(bandwidth: GBps)) { StaticPowerW = 100, PjPerFlop = 2, PjPerByte = 5 };
        var graph = SimulatorOracleTests.Chain(1000, [500, 250], 0);
        var result = new Simulator(new SequentialSchedule().Map(graph, device), device).Run();
        var metrics = MetricsCalculator.Compute(result, device);

        var computeJ = graph.TotalFlops * 2 * 1e-12;
        var memoryJ = graph.TotalBytes * 5 * 1e-12;
        var staticJ = 100 * Ps.ToSeconds(result.MakespanPs);
        Assert.Equal(computeJ, metrics.Energy.ComputeJ, 15);
        Assert.Equal(memoryJ, metrics.Energy.MemoryJ["hbm"], 15);
        Assert.Equal(staticJ, metrics.Energy.StaticJ, 15);
        Assert.Equal(computeJ + memoryJ + staticJ, metrics.Energy.TotalJ, 15);
        Assert.Equal(metrics.Energy.TotalJ, metrics.Ops.Sum(o => o.EnergyJ), 12);
    }

    [Fact]
    public void Compute_utilisation_of_a_peak_rate_kernel_is_one()
    {
        var device = new FakeDevice(FakeDevice.Simple(bandwidth: 1e15)) { FlopsPerUnit = 1e12 };
        // 1e6 FLOPs at 1e12 FLOP/s = 1 us of compute; the bytes take 1 ps.
        var graph = SimulatorOracleTests.Chain(0, [1], 0);
        var op = graph.Ops[0];
        var flopsGraph = new Graph.WorkloadGraph(graph.Info,
            [new Graph.Op(0, op.Name, op.Kind, op.Layer, op.Inputs, op.Outputs, 1_000_000, op.ComputeDType)]);
        var result = new Simulator(new SequentialSchedule().Map(flopsGraph, device), device).Run();
        var metrics = MetricsCalculator.Compute(result, device);
        Assert.Equal(Ps.PerMicrosecond, result.MakespanPs);
        Assert.Equal(1.0, metrics.ComputeUtilisation, 12);
        Assert.Equal(Bound.Compute, metrics.Ops[0].Bound);
        Assert.Equal(1e12, metrics.Ops[0].AchievedFlops, 3);
    }
}
