using System.Diagnostics;
using System.Globalization;
using AccelSim.Core.Devices;
using AccelSim.Core.Network;
using AccelSim.Core.Simulation;

namespace AccelSim.Bench;

/// <summary>The open-world kernel's figures: work added while time runs, flows on routes through a
/// fat-tree, and the memory a task costs. One "name: value" line each.</summary>
public static class KernelBench
{
    /// <summary>A process keeping <c>chains</c> chains going, adding each chain's next task (with the
    /// synthetic program's compute and transfers) when its previous one ends, until <c>total</c> tasks.</summary>
    private sealed class ChainFeeder : KernelProcess
    {
        private readonly int _chains, _total;
        private int _added;

        public ChainFeeder(Kernel kernel, int chains, int total)
        {
            _chains = chains;
            _total = total;
            kernel.Attach(this);
        }

        protected override void OnStart(Kernel kernel)
        {
            for (var c = 0; c < _chains && _added < _total; c++) AddNext(kernel);
        }

        protected override void OnTaskEnd(Kernel kernel, int task)
        {
            if (_added < _total) AddNext(kernel);
        }

        private void AddNext(Kernel kernel)
        {
            var i = _added++;
            var h = (uint)i * 2654435761u;
            var t = kernel.NewTask(this, i % 2, 1000 + h % 4000, 100_000 + h % 1_000_000);
            kernel.AddTransfer(t, (int)(h % 8), 4096 + h % 65536, h % 3 == 0 ? 2e10 : double.MaxValue);
            if (h % 5 == 0) kernel.AddTransfer(t, (int)((h >> 8) % 8), 1024 + (h >> 4) % 8192, double.MaxValue);
            kernel.Ready(t);
        }
    }

    public static void OpenWorld(TextWriter o, int tasks = 1_000_000, int chains = 64)
    {
        Run(); // warm-up (JIT)
        var rates = new double[3];
        long events = 0;
        for (var r = 0; r < rates.Length; r++)
        {
            var (kernel, wall) = Run();
            events = kernel.EventCount;
            rates[r] = events / wall;
        }
        Array.Sort(rates);
        o.WriteLine($"# open world: a process adds {tasks} tasks in {chains} chains, each when the previous of its chain ends; {events} events, median of {rates.Length}");
        o.WriteLine($"open_world_events_per_s: {rates[1].ToString("F0", CultureInfo.InvariantCulture)}");

        (Kernel, double) Run()
        {
            var kernel = new Kernel(SyntheticWorkload.Topology(chains), expectedTasks: tasks);
            _ = new ChainFeeder(kernel, chains, tasks);
            var sw = Stopwatch.StartNew();
            kernel.Run();
            return (kernel, sw.Elapsed.TotalSeconds);
        }
    }

    /// <summary>One ring all-reduce of <paramref name="bytes"/> among <paramref name="endpoints"/> over a
    /// two-level fat-tree, through the kernel: 2(N-1) sends per rank, each a flow on its route.</summary>
    public static void AllReduce(TextWriter o, int endpoints = 1024, long bytes = 1L << 30)
    {
        const int perLeaf = 16, spines = 8;
        // Synthetic figures for a benchmark topology, not a hardware description: 400 Gb/s endpoint
        // links, 800 Gb/s leaf-spine links (non-blocking: 16 x 50 GB/s down, 8 x 100 GB/s up per leaf).
        var endpointLink = new LinkFigures(50e9, 500_000, 5);
        var fabricLink = new LinkFigures(100e9, 300_000, 8);
        Run(64); // warm-up (JIT)
        var before = GC.GetAllocatedBytesForCurrentThread();
        var (ring, kernel, wall) = Run(endpoints);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var busBandwidth = bytes * 2.0 * (endpoints - 1) / endpoints / Core.Time.Ps.ToSeconds(ring.EndPs);
        o.WriteLine($"# ring all-reduce of {bytes} B among {endpoints} endpoints over a fat-tree ({(endpoints + perLeaf - 1) / perLeaf} leaves x {spines} spines), through the kernel: {ring.Flows} flows, {kernel.EventCount} events, simulated {Core.Time.Ps.ToSeconds(ring.EndPs).ToString("G5", CultureInfo.InvariantCulture)} s (bus bandwidth {(busBandwidth / 1e9).ToString("F2", CultureInfo.InvariantCulture)} GB/s)");
        o.WriteLine($"allreduce_flows: {ring.Flows}");
        o.WriteLine($"allreduce_wall_s: {wall.ToString("F3", CultureInfo.InvariantCulture)}");
        o.WriteLine($"allreduce_flows_per_s: {(ring.Flows / wall).ToString("F0", CultureInfo.InvariantCulture)}");
        o.WriteLine($"allreduce_bytes_allocated_per_flow: {(allocated / (double)ring.Flows).ToString("F1", CultureInfo.InvariantCulture)}");

        (RingAllReduce, Kernel, double) Run(int n)
        {
            var sw = Stopwatch.StartNew();
            var net = new FlowNetwork(n * 2);
            var tree = FatTree.Build(net, n, perLeaf, spines, endpointLink, fabricLink);
            var routes = new int[n];
            for (var r = 0; r < n; r++) routes[r] = tree.Route(r, (r + 1) % n);
            var kernel = new Kernel(net, expectedTasks: 2 * n * (n - 1));
            var ring = new RingAllReduce(kernel, routes, bytes);
            kernel.Run();
            return (ring, kernel, sw.Elapsed.TotalSeconds);
        }
    }

    /// <summary>A program of <paramref name="tasks"/> tasks (the synthetic chains) held and run by the
    /// kernel: managed memory it holds per task once run, with its results.</summary>
    public static void Memory(TextWriter o, int tasks = 10_000_000)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var (kernel, graph) = SyntheticWorkload.Load(tasks, QuickBench.Chains);
        var sw = Stopwatch.StartNew();
        kernel.Run();
        sw.Stop();
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var held = after - before;
        GC.KeepAlive(graph);
        o.WriteLine($"# {tasks} tasks in {QuickBench.Chains} chains, {kernel.TransferCount} transfers, {kernel.EventCount} events, run in {sw.Elapsed.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture)} s; " +
                    $"{(held / 1e9).ToString("F2", CultureInfo.InvariantCulture)} GB held after the run (program, kernel state and every task's times)");
        o.WriteLine($"bytes_per_task: {(held / (double)tasks).ToString("F1", CultureInfo.InvariantCulture)}");
        o.WriteLine($"peak_working_set_gb: {(Process.GetCurrentProcess().PeakWorkingSet64 / 1e9).ToString("F2", CultureInfo.InvariantCulture)}");
        GC.KeepAlive(kernel);
    }
}
