using System.Text.Json;
using AccelSim.Core.Devices;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Core.Tests.Support;
using AccelSim.Core.Time;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Core.Tests;

/// <summary>The laws of DESIGN.md over random graphs on the fake device. A failure prints the
/// counterexample and the seed to replay it with <c>[Property(Replay = "...")]</c>.</summary>
public class SimulationLawTests
{
    private static readonly ISchedule[] Schedules = [new SequentialSchedule(), new DataflowTestSchedule(), new ChunkTestSchedule(3)];

    private static SimulationResult Simulate(DagCase c, ISchedule schedule, double bandwidthScale = 1, double computeScale = 1)
    {
        var device = c.Device(bandwidthScale, computeScale);
        return new Simulator(schedule.Map(c.Graph(), device), device).Run();
    }

    private static string Fingerprint(SimulationResult r, IDeviceModel device)
    {
        var arrays = new object[]
        {
            r.MakespanPs, r.EventCount, r.TaskReadyPs, r.TaskStartPs, r.TaskLaunchPs, r.TaskComputeEndPs, r.TaskEndPs,
            r.TransferTask, r.TransferChannel, r.TransferBytes, r.TransferStartPs, r.TransferEndPs,
            r.ChannelBytes, r.ChannelBusyPs, r.EngineBusyPs, r.TierPeakBytes, r.TierResidentBytes,
        };
        return JsonSerializer.Serialize(arrays) + JsonSerializer.Serialize(MetricsCalculator.Compute(r, device));
    }

    [Property(MaxTest = 60)]
    public Property Determinism_same_input_gives_identical_results_and_metrics() =>
        Prop.ForAll(DagGen.Arbitrary(), c => Schedules.All(s =>
        {
            var d1 = c.Device();
            var d2 = c.Device();
            var r1 = new Simulator(s.Map(c.Graph(), d1), d1).Run();
            var r2 = new Simulator(s.Map(c.Graph(), d2), d2).Run();
            return Fingerprint(r1, d1) == Fingerprint(r2, d2);
        }));

    [Property(MaxTest = 80)]
    public Property Monotonicity_more_bandwidth_never_slows_a_sequential_run() =>
        Prop.ForAll(DagGen.Arbitrary(), DagGen.Factor.ToArbitrary(), (c, k) =>
        {
            var slow = Simulate(c, new SequentialSchedule()).MakespanPs;
            var fast = Simulate(c, new SequentialSchedule(), bandwidthScale: k).MakespanPs;
            return (fast <= slow).Label($"bandwidth x{k}: {fast} ps > {slow} ps");
        });

    [Property(MaxTest = 80)]
    public Property Monotonicity_faster_compute_never_slows_a_sequential_run() =>
        Prop.ForAll(DagGen.Arbitrary(), DagGen.Factor.ToArbitrary(), (c, k) =>
        {
            var slow = Simulate(c, new SequentialSchedule(), computeScale: k).MakespanPs;
            var fast = Simulate(c, new SequentialSchedule()).MakespanPs;
            return (fast <= slow).Label($"compute /{k}: {fast} ps > {slow} ps");
        });

    [Property(MaxTest = 60)]
    public Property Monotonicity_more_bandwidth_never_slows_a_fused_sequential_run() =>
        Prop.ForAll(DagGen.Arbitrary(), DagGen.Factor.ToArbitrary(), (c, k) =>
        {
            var schedule = new ChunkTestSchedule(3);
            var slow = Simulate(c, schedule).MakespanPs;
            var fast = Simulate(c, schedule, bandwidthScale: k).MakespanPs;
            return (fast <= slow).Label($"bandwidth x{k}: {fast} ps > {slow} ps");
        });

    [Property(MaxTest = 60)]
    public Property Conservation_flops_and_bytes_are_accounted_exactly_once() =>
        Prop.ForAll(DagGen.Arbitrary(), c => Schedules.All(s =>
        {
            var graph = c.Graph();
            var device = c.Device();
            var program = s.Map(graph, device);
            var result = new Simulator(program, device).Run();
            var metrics = MetricsCalculator.Compute(result, device);

            Assert.Equal(graph.TotalFlops, metrics.Ops.Sum(o => o.Flops));
            Assert.Equal(graph.TotalFlops, metrics.TotalFlops);
            Assert.Equal(Enumerable.Range(0, graph.Ops.Count), metrics.Ops.Select(o => o.Id).Order());

            var channels = device.Topology.Channels.Count;
            var demanded = new long[channels];
            foreach (var t in program.Tasks)
                foreach (var d in t.Cost.Transfers) demanded[d.Channel] += d.Bytes;
            Assert.Equal(demanded, result.ChannelBytes);
            // The fake device reads on channel 0 and writes on channel 1.
            Assert.Equal(graph.Ops.Sum(o => o.BytesRead), result.ChannelBytes[0]);
            Assert.Equal(graph.Ops.Sum(o => o.BytesWritten), result.ChannelBytes[1]);
            Assert.Equal(graph.TotalBytes, metrics.Memory.BytesMoved["hbm"]);
            for (var k = 0; k < result.TransferBytes.Count; k++)
                Assert.True(result.TransferEndPs[k] >= result.TransferStartPs[k] && result.TransferStartPs[k] >= 0);
            return true;
        }));

    [Property(MaxTest = 60)]
    public Property Bounds_no_task_beats_its_floor_and_utilisation_is_a_fraction() =>
        Prop.ForAll(DagGen.Arbitrary(), c => Schedules.All(s =>
        {
            var device = c.Device();
            var topo = device.Topology;
            var program = s.Map(c.Graph(), device);
            var result = new Simulator(program, device).Run();
            var metrics = MetricsCalculator.Compute(result, device);

            for (var i = 0; i < program.Tasks.Count; i++)
            {
                var cost = program.Tasks[i].Cost;
                var floor = cost.LatencyPs + Math.Max(cost.ComputePs, MemoryFloorPs(cost, topo));
                var duration = result.TaskEndPs[i] - result.TaskStartPs[i];
                Assert.True(duration >= floor - 2, $"task {i} ({s.Name}) took {duration} ps, floor {floor} ps");
                Assert.True(result.TaskStartPs[i] >= result.TaskReadyPs[i]);
                foreach (var p in program.Predecessors[i]) Assert.True(result.TaskReadyPs[i] >= result.TaskEndPs[p]);
            }
            for (var k = 0; k < result.TransferBytes.Count; k++)
            {
                if (result.TransferBytes[k] == 0) continue;
                var ch = topo.Channels[result.TransferChannel[k]];
                var transfer = program.Tasks[result.TransferTask[k]].Cost.Transfers
                    .First(t => t.Channel == result.TransferChannel[k] && t.Bytes == result.TransferBytes[k]);
                var alone = result.TransferBytes[k] / Math.Min(ch.Bandwidth_Bps, transfer.RateCap_Bps) * Ps.PerSecond;
                Assert.True(result.TransferEndPs[k] - result.TransferStartPs[k] >= alone - 2, $"transfer {k} beat its rate");
            }

            Fraction(metrics.ComputeUtilisation, "compute utilisation");
            Fraction(metrics.MemoryBandwidthUtilisation, "memory bandwidth utilisation");
            Fraction(metrics.MemoryWall.MemoryBoundTimeFraction, "memory-bound time fraction");
            for (var e = 0; e < topo.Engines.Count; e++)
                Assert.True(result.EngineBusyPs[e] <= topo.Engines[e].Units * result.MakespanPs);
            for (var ch = 0; ch < topo.Channels.Count; ch++)
                Assert.True(result.ChannelBusyPs[ch] <= result.MakespanPs);
            Assert.True(result.MakespanPs >= program.Tasks.Max(t => t.Cost.LatencyPs + t.Cost.ComputePs));
            Assert.True(metrics.Energy.TotalJ >= 0 && metrics.MemoryWall.StallS >= 0);
            return true;
        }));

    private static void Fraction(double v, string what) =>
        Assert.True(v >= 0 && v <= 1 + 1e-12, $"{what} = {v.ToString(System.Globalization.CultureInfo.InvariantCulture)} is outside [0, 1]");

    /// <summary>The least time a task's transfers can take even alone on the device: per channel, its
    /// latency plus the larger of all its bytes at the channel's bandwidth and each transfer at its cap.</summary>
    private static double MemoryFloorPs(OpCost cost, DeviceTopology topo)
    {
        double floor = 0;
        for (var c = 0; c < topo.Channels.Count; c++)
        {
            var ch = topo.Channels[c];
            double bytes = 0, slowest = 0;
            foreach (var t in cost.Transfers)
            {
                if (t.Channel != c || t.Bytes == 0) continue;
                bytes += t.Bytes;
                slowest = Math.Max(slowest, t.Bytes / Math.Min(t.RateCap_Bps, ch.Bandwidth_Bps));
            }
            if (bytes > 0) floor = Math.Max(floor, ch.LatencyPs + Math.Max(bytes / ch.Bandwidth_Bps, slowest) * Ps.PerSecond);
        }
        return floor;
    }

    [Property(MaxTest = 40)]
    public Property A_sequential_run_is_the_sum_of_its_isolated_tasks() =>
        Prop.ForAll(DagGen.Arbitrary(), c =>
        {
            // One task at a time: each task's duration is exactly what it takes alone.
            var device = c.Device();
            var program = new SequentialSchedule().Map(c.Graph(), device);
            var result = new Simulator(program, device).Run();
            long sum = 0;
            foreach (var t in program.Tasks)
                sum += new Simulator(Programs.From([t.Cost]), device).Run().MakespanPs;
            return (result.MakespanPs == sum).Label($"{result.MakespanPs} != {sum}");
        });

    [Property(MaxTest = 40)]
    public Property Dataflow_run_is_no_slower_than_its_critical_path_and_no_faster_than_the_sequential_bound() =>
        Prop.ForAll(DagGen.Arbitrary(), c =>
        {
            var device = c.Device();
            var graph = c.Graph();
            var dag = new Simulator(new DataflowTestSchedule().Map(graph, device), device).Run().MakespanPs;
            var seq = new Simulator(new SequentialSchedule().Map(graph, device), device).Run().MakespanPs;
            var (critical, _) = graph.CriticalPath(o => device.Cost(o).LatencyPs + device.Cost(o).ComputePs);
            return (dag >= critical).Label($"dataflow {dag} < critical path {critical}")
                .And((c.Units > 1 || dag == seq).Label($"one unit: dataflow {dag} != sequential {seq}"));
        });
}
