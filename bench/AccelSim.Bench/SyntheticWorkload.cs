using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;

namespace AccelSim.Bench;

/// <summary>A device for speed measurements only: two engines, eight channels, one tier. Its costs
/// are never used (programs are built with explicit costs); the numbers only shape the event mix.</summary>
public sealed class SyntheticDevice(DeviceTopology topology) : IDeviceModel
{
    public string Name => "synthetic";
    public string Kind => "synthetic";
    public DeviceTopology Topology { get; } = topology;
    public int MainMemoryChannel => 0;
    public double StaticPowerW => 0;
    public double PeakFlops(DType dtype) => 1e12;
    public int PlaceTensor(Tensor tensor) => 0;
    public OpCost Cost(Op op) => new(0, 0, 0, [], 0);
}

/// <summary>A large program: <c>chains</c> independent chains of tasks over two engines, each task with
/// compute and one or two transfers on eight shared channels (a third of them rate-capped), so the
/// kernel re-solves channel rates on every transfer start and end.</summary>
/// <summary>Variants of the synthetic program's traffic, to see where the kernel's time goes.</summary>
public enum SyntheticTraffic
{
    /// <summary>No transfers: tasks compute only.</summary>
    None,

    /// <summary>The program as built (the figures of record).</summary>
    AsBuilt,

    /// <summary>The same transfers on channels without latency (no joins waiting out a latency).</summary>
    NoLatency,

    /// <summary>The same transfers on channels a thousand times faster (few flows share a channel at once).</summary>
    FastChannels,
}

public static class SyntheticWorkload
{
    /// <summary>With <paramref name="variedCaps"/>, another third of the transfers get caps spread around
    /// the fair share, so transfers move between capped and uncapped as flows come and go.</summary>
    public static (SimProgram Program, SyntheticDevice Device) Build(int tasks, int chains, bool variedCaps = false)
    {
        var ops = new Op[tasks];
        for (var i = 0; i < tasks; i++) ops[i] = new Op(i, "t", OpKind.Generic, -1, [], [], 0, DType.Bf16);
        var graph = new WorkloadGraph(new WorkloadInfo("synthetic", "op", 1, 0, 0, 0), ops);
        var simTasks = new SimTask[tasks];
        var preds = new IReadOnlyList<int>[tasks];
        for (var i = 0; i < tasks; i++)
        {
            var h = (uint)i * 2654435761u;
            var transfers = new List<TransferDemand>(2)
            {
                new((int)(h % 8), 4096 + h % 65536, h % 3 == 0 ? 2e10 : variedCaps && h % 3 == 1 ? 4e9 * (1 + (h >> 12) % 16) : double.MaxValue, 0),
            };
            if (h % 5 == 0) transfers.Add(new TransferDemand((int)((h >> 8) % 8), 1024 + (h >> 4) % 8192, double.MaxValue, 0));
            simTasks[i] = new SimTask(i, [ops[i]], new OpCost(i % 2, 1000 + h % 4000, 100_000 + h % 1_000_000, transfers, 0));
            preds[i] = i >= chains ? [i - chains] : [];
        }
        return (new SimProgram("synthetic", graph, simTasks, preds), new SyntheticDevice(Topology(chains)));
    }

    public static DeviceTopology Topology(int chains)
    {
        var channels = Enumerable.Range(0, 8)
            .Select(c => new ChannelSpec($"ch{c}", 1e11 * (1 + c % 3), 500 * c, "m", c < 4)).ToArray();
        return new DeviceTopology(
            [new EngineSpec("a", Math.Max(1, chains / 2)), new EngineSpec("b", Math.Max(1, chains / 4))],
            channels, [new TierSpec("m", 1L << 40, true)]);
    }

    /// <summary>The same program loaded straight into a kernel as a task graph (no ops, no graph): what
    /// the kernel itself holds per task, and its speed without the program's construction.</summary>
    public static (Kernel Kernel, TaskGraphProcess Graph) Load(int tasks, int chains, bool variedCaps = false, SimulationEventBus? bus = null, SyntheticTraffic traffic = SyntheticTraffic.AsBuilt)
    {
        var topology = Topology(chains);
        if (traffic is SyntheticTraffic.NoLatency or SyntheticTraffic.FastChannels)
            topology = new DeviceTopology(topology.Engines,
                topology.Channels.Select(c => c with
                {
                    LatencyPs = traffic == SyntheticTraffic.NoLatency ? 0 : c.LatencyPs,
                    Bandwidth_Bps = traffic == SyntheticTraffic.FastChannels ? c.Bandwidth_Bps * 1000 : c.Bandwidth_Bps,
                }).ToArray(),
                topology.Tiers);
        var kernel = new Kernel(topology, bus: bus, expectedTasks: tasks);
        var graph = new TaskGraphProcess(kernel, tasks);
        Span<int> pred = stackalloc int[1];
        for (var i = 0; i < tasks; i++)
        {
            var h = (uint)i * 2654435761u;
            pred[0] = i - chains;
            var t = graph.TaskOf(graph.Add(i % 2, 1000 + h % 4000, 100_000 + h % 1_000_000, i >= chains ? pred : []));
            if (traffic == SyntheticTraffic.None) continue;
            kernel.AddTransfer(t, (int)(h % 8), 4096 + h % 65536, h % 3 == 0 ? 2e10 : variedCaps && h % 3 == 1 ? 4e9 * (1 + (h >> 12) % 16) : double.MaxValue);
            if (h % 5 == 0) kernel.AddTransfer(t, (int)((h >> 8) % 8), 1024 + (h >> 4) % 8192, double.MaxValue);
        }
        graph.Seal();
        return (kernel, graph);
    }
}
