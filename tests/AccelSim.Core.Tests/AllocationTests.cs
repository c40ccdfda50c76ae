using AccelSim.Core.Devices;
using AccelSim.Core.Simulation;
using AccelSim.Core.Tests.Support;
using static AccelSim.Core.Tests.Support.Programs;

namespace AccelSim.Core.Tests;

/// <summary>The kernel's budget is zero bytes per event: all state is sized before time zero. This
/// counts bytes, not time, so it is stable on any machine.</summary>
public class AllocationTests
{
    /// <summary><paramref name="chains"/> independent chains of tasks spread over two engines, each task
    /// with compute and one or two transfers on one of eight channels (some capped), so that channels
    /// are shared and rates are re-solved all the time.</summary>
    internal static (SimProgram Program, FakeDevice Device) Synthetic(int tasks, int chains)
    {
        var costs = new OpCost[tasks];
        var preds = new int[tasks][];
        for (var i = 0; i < tasks; i++)
        {
            var h = (uint)(i * 2654435761u);
            var transfers = new List<TransferDemand> { Transfer((int)(h % 8), 4096 + h % 65536, h % 3 == 0 ? 2e10 : double.MaxValue) };
            if (h % 5 == 0) transfers.Add(Transfer((int)((h >> 8) % 8), 1024 + (h >> 4) % 8192));
            costs[i] = Cost(engine: i % 2, latencyPs: 1000 + h % 4000, computePs: 100_000 + h % 1_000_000, transfers: transfers.ToArray());
            preds[i] = i >= chains ? [i - chains] : [];
        }
        var channels = Enumerable.Range(0, 8).Select(c => new ChannelSpec($"ch{c}", 1e11 * (1 + c % 3), 500 * c, "m", c < 4)).ToArray();
        var topology = new DeviceTopology([new EngineSpec("a", Math.Max(1, chains / 2)), new EngineSpec("b", Math.Max(1, chains / 4))],
            channels, [new TierSpec("m", 1L << 40, true)]);
        return (From(costs, preds), new FakeDevice(topology));
    }

    [Fact]
    public void Run_allocates_nothing_per_event()
    {
        var (warmProgram, warmDevice) = Synthetic(2_000, 64);
        new Simulator(warmProgram, warmDevice).Run();

        var (program, device) = Synthetic(100_000, 64);
        var sim = new Simulator(program, device);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = sim.Run();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(result.EventCount > 3 * program.Tasks.Count, $"only {result.EventCount} events");
        var perEvent = allocated / (double)result.EventCount;
        Assert.True(perEvent < 1.0, $"Run allocated {allocated} B for {result.EventCount} events ({perEvent:F3} B/event)");
    }

    [Fact]
    public void Publishing_to_a_subscriber_allocates_nothing_per_event()
    {
        var (warmProgram, warmDevice) = Synthetic(2_000, 16);
        using var bus = new SimulationEventBus();
        long seen = 0;
        using var sub = bus.Subscribe(_ => seen++);
        new Simulator(warmProgram, warmDevice, bus).Run();

        var (program, device) = Synthetic(50_000, 16);
        var sim = new Simulator(program, device, bus);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = sim.Run();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(seen > result.EventCount, $"the subscriber saw {seen} events");
        Assert.True(allocated / (double)result.EventCount < 1.0, $"Run allocated {allocated} B for {result.EventCount} events");
    }
}
