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

    /// <summary>Adds each chain's next task when its previous one ends, until a total.</summary>
    private sealed class Feeder : KernelProcess
    {
        private readonly int _chains, _total;
        private int _added;

        public Feeder(Kernel kernel, int chains, int total)
        {
            _chains = chains;
            _total = total;
            kernel.Attach(this);
        }

        protected override void OnStart(Kernel kernel)
        {
            for (var c = 0; c < _chains; c++) Add(kernel);
        }

        protected override void OnTaskEnd(Kernel kernel, int task)
        {
            if (_added < _total) Add(kernel);
        }

        private void Add(Kernel kernel)
        {
            var h = (uint)_added * 2654435761u;
            var t = kernel.NewTask(this, _added % 2, 1000 + h % 4000, 100_000 + h % 1_000_000);
            kernel.AddTransfer(t, (int)(h % 8), 4096 + h % 65536, h % 3 == 0 ? 2e10 : double.MaxValue);
            _added++;
            kernel.Ready(t);
        }
    }

    private static DeviceTopology EightChannels(int chains) =>
        new([new EngineSpec("a", Math.Max(1, chains / 2)), new EngineSpec("b", Math.Max(1, chains / 4))],
            Enumerable.Range(0, 8).Select(c => new ChannelSpec($"ch{c}", 1e11 * (1 + c % 3), 500 * c, "m", c < 4)).ToArray(),
            [new TierSpec("m", 1L << 40, true)]);

    [Fact]
    public void Work_added_while_time_runs_allocates_nothing_per_event_once_storage_is_sized()
    {
        var warm = new Kernel(EightChannels(64), expectedTasks: 2_000);
        _ = new Feeder(warm, 64, 2_000);
        warm.Run();

        const int tasks = 100_000;
        var kernel = new Kernel(EightChannels(64), expectedTasks: tasks);
        _ = new Feeder(kernel, 64, tasks);
        var before = GC.GetAllocatedBytesForCurrentThread();
        kernel.Run();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(tasks, kernel.TaskCount);
        Assert.True(kernel.EventCount > 3 * tasks, $"only {kernel.EventCount} events");
        Assert.True(allocated / (double)kernel.EventCount < 1.0, $"Run allocated {allocated} B for {kernel.EventCount} events");
    }

    [Fact]
    public void A_ring_all_reduce_allocates_nothing_per_flow_once_storage_is_sized()
    {
        static (Kernel, AccelSim.Core.Network.RingAllReduce) Build(int ranks)
        {
            var net = new AccelSim.Core.Network.FlowNetwork(4 * ranks);
            var tree = AccelSim.Core.Network.FatTree.Build(net, ranks, 8, 2, new(1e10, 1000, 1), new(2e10, 1000, 1));
            var routes = Enumerable.Range(0, ranks).Select(r => tree.Route(r, (r + 1) % ranks)).ToArray();
            var kernel = new Kernel(FakeDevice.Simple(), net, expectedTasks: 2 * ranks * (ranks - 1));
            return (kernel, new AccelSim.Core.Network.RingAllReduce(kernel, routes, 1L << 26));
        }
        // A first ring of the same size compiles the code and sizes the storage a collective rents while it runs.
        Build(128).Item1.Run();
        var (kernel, ring) = Build(128);
        var before = GC.GetAllocatedBytesForCurrentThread();
        kernel.Run();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(2L * 128 * 127, ring.Flows);
        // The network's flow slots and scratch grow to the most flows at once, then are reused.
        Assert.True(allocated / (double)ring.Flows < 4.0, $"Run allocated {allocated} B for {ring.Flows} flows");
    }
}
