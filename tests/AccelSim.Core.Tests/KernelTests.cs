using AccelSim.Core.Devices;
using AccelSim.Core.Network;
using AccelSim.Core.Simulation;
using AccelSim.Core.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static AccelSim.Core.Tests.Support.Programs;

namespace AccelSim.Core.Tests;

/// <summary>The open-world kernel: work added while time runs, timers, joins, flows on routes, and the
/// laws a process can rely on.</summary>
public class KernelTests
{
    public sealed record TaskCase(int Engine, long LatencyPs, long ComputePs, (int Channel, long Bytes, double Cap)[] Transfers, int[] Preds)
    {
        public override string ToString() =>
            $"(e{Engine} lat {LatencyPs} comp {ComputePs} tr [{string.Join(" ", Transfers.Select(t => $"c{t.Channel}:{t.Bytes}@{t.Cap:G3}"))}] after [{string.Join(" ", Preds)}])";
    }

    private static DeviceTopology TwoEngines() =>
        new([new EngineSpec("a", 2), new EngineSpec("b", 1)],
            [new ChannelSpec("c0", 1e10, 0, "m", true), new ChannelSpec("c1", 3e9, 700, "m", true)],
            [new TierSpec("m", long.MaxValue / 4, true)]);

    private static Gen<TaskCase> TaskGen(int index, bool chain) =>
        from engine in Gen.Choose(0, 1)
        from latency in Gen.Choose(0, 3000)
        from compute in Gen.Choose(0, 200_000)
        from nt in Gen.Choose(0, 2)
        from transfers in Gen.ArrayOf(
            from c in Gen.Choose(0, 1)
            from b in Gen.Choose(0, 4_000)
            from cap in Gen.Elements(double.MaxValue, 1e9, 4e9)
            select (c, (long)b * 100, cap), nt)
        from preds in chain
            ? Gen.Constant(index == 0 ? Array.Empty<int>() : [index - 1])
            : Gen.SubListOf(Enumerable.Range(0, index).ToArray()).Select(p => p.Distinct().Order().ToArray())
        select new TaskCase(engine, latency, compute, transfers, preds);

    private static Gen<TaskCase[]> ProgramGen(bool chain) =>
        from n in Gen.Choose(1, 30)
        from tasks in Gen.CollectToArray(Enumerable.Range(0, n), i => TaskGen(i, chain))
        select tasks;

    /// <summary>A process that creates each task only when its last predecessor ends (or at time zero),
    /// then readies it: nothing exists before it is needed.</summary>
    private sealed class LazyProgram : KernelProcess
    {
        private readonly TaskCase[] _tasks;
        private readonly int[] _pending;
        private readonly List<int>[] _succ;
        public readonly int[] KernelTask;

        public LazyProgram(Kernel kernel, TaskCase[] tasks)
        {
            _tasks = tasks;
            _pending = tasks.Select(t => t.Preds.Length).ToArray();
            _succ = tasks.Select(_ => new List<int>()).ToArray();
            for (var i = 0; i < tasks.Length; i++) foreach (var p in tasks[i].Preds) _succ[p].Add(i);
            KernelTask = Enumerable.Repeat(-1, tasks.Length).ToArray();
            kernel.Attach(this);
        }

        protected override void OnStart(Kernel kernel)
        {
            for (var i = 0; i < _tasks.Length; i++)
                if (_pending[i] == 0) Create(kernel, i);
        }

        protected override void OnTaskEnd(Kernel kernel, int task)
        {
            foreach (var s in _succ[kernel.Tag(task)])
                if (--_pending[s] == 0) Create(kernel, s);
        }

        private void Create(Kernel kernel, int i)
        {
            var c = _tasks[i];
            var t = kernel.NewTask(this, c.Engine, c.LatencyPs, c.ComputePs, tag: i);
            foreach (var (channel, bytes, cap) in c.Transfers) kernel.AddTransfer(t, channel, bytes, cap);
            KernelTask[i] = t;
            kernel.Ready(t);
        }
    }

    private static SimulationResult RunStatic(TaskCase[] tasks)
    {
        var costs = tasks.Select(t => Cost(t.Engine, t.LatencyPs, t.ComputePs, t.Transfers.Select(x => Transfer(x.Channel, x.Bytes, x.Cap)).ToArray())).ToArray();
        return Run(From(costs, tasks.Select(t => t.Preds).ToArray()), new FakeDevice(TwoEngines()));
    }

    private static (Kernel Kernel, LazyProgram Lazy) RunLazy(TaskCase[] tasks)
    {
        var kernel = new Kernel(TwoEngines());
        var lazy = new LazyProgram(kernel, tasks);
        kernel.Run();
        return (kernel, lazy);
    }

    [Property(MaxTest = 150)]
    public Property A_chain_added_task_by_task_while_time_runs_gets_the_static_programs_times() =>
        Prop.ForAll(ProgramGen(chain: true).ToArbitrary(), tasks =>
        {
            var expected = RunStatic(tasks);
            var (kernel, lazy) = RunLazy(tasks);
            for (var i = 0; i < tasks.Length; i++)
            {
                var got = kernel.Times(lazy.KernelTask[i]);
                var want = new TaskTimes(expected.TaskReadyPs[i], expected.TaskStartPs[i], expected.TaskLaunchPs[i], expected.TaskComputeEndPs[i], expected.TaskEndPs[i]);
                if (got != want) return false.Label($"task {i}: open world {got}, static {want}");
            }
            return (kernel.Now == expected.MakespanPs).Label($"makespan {kernel.Now} vs {expected.MakespanPs}");
        });

    [Property(MaxTest = 150)]
    public Property Work_added_while_time_runs_respects_dependencies_and_engine_units_and_is_deterministic() =>
        Prop.ForAll(ProgramGen(chain: false).ToArbitrary(), tasks =>
        {
            var (a, lazyA) = RunLazy(tasks);
            var (b, lazyB) = RunLazy(tasks);
            var times = tasks.Select((_, i) => a.Times(lazyA.KernelTask[i])).ToArray();
            for (var i = 0; i < tasks.Length; i++)
            {
                if (times[i] != b.Times(lazyB.KernelTask[i])) return false.Label($"task {i} differs between two runs");
                foreach (var p in tasks[i].Preds)
                    if (times[i].ReadyPs < times[p].EndPs) return false.Label($"task {i} ready at {times[i].ReadyPs} before predecessor {p} ended at {times[p].EndPs}");
                if (times[i].StartPs < times[i].ReadyPs || times[i].EndPs < times[i].LaunchPs + tasks[i].ComputePs)
                    return false.Label($"task {i} times out of order: {times[i]}");
            }
            // At no instant does an engine hold more tasks than it has units (starts at t count after ends at t).
            var topology = TwoEngines();
            for (var e = 0; e < topology.Engines.Count; e++)
            {
                var edges = tasks.Select((t, i) => (t, i)).Where(x => x.t.Engine == e)
                    .SelectMany(x => new[] { (Time: times[x.i].StartPs, Delta: 1), (Time: times[x.i].EndPs, Delta: -1) })
                    .OrderBy(x => x.Time).ThenBy(x => x.Delta);
                var busy = 0;
                foreach (var (_, delta) in edges)
                    if ((busy += delta) > topology.Engines[e].Units) return false.Label($"engine {e} over its {topology.Engines[e].Units} units");
            }
            return true.ToProperty();
        });

    private sealed class TimerProbe : KernelProcess
    {
        public readonly List<(long Time, long Token)> Fired = [];
        private readonly Action<Kernel, long>? _onTimer;

        public TimerProbe(Kernel kernel, Action<Kernel, long>? onTimer = null)
        {
            _onTimer = onTimer;
            kernel.Attach(this);
        }

        public Action<Kernel>? Started { get; init; }
        public Action<Kernel, int>? Ended { get; init; }

        protected override void OnStart(Kernel kernel) => Started?.Invoke(kernel);
        protected override void OnTaskEnd(Kernel kernel, int task) => Ended?.Invoke(kernel, task);

        protected override void OnTimer(Kernel kernel, long token)
        {
            Fired.Add((kernel.Now, token));
            _onTimer?.Invoke(kernel, token);
        }
    }

    [Fact]
    public void Timers_fire_at_their_time_and_equal_times_in_the_order_they_were_set()
    {
        var kernel = new Kernel(FakeDevice.Simple());
        TimerProbe? probe = null;
        probe = new TimerProbe(kernel, (k, token) =>
        {
            // A timer set from a timer at the current time runs after the ones already due now.
            if (token == 2) k.At(k.Now, probe!, 20);
        })
        {
            Started = k =>
            {
                k.At(500, probe!, 1);
                k.At(100, probe!, 2);
                k.At(100, probe!, 3);
                k.At(0, probe!, 4);
            },
        };
        kernel.Run();
        Assert.Equal([(0L, 4L), (100, 2), (100, 3), (100, 20), (500, 1)], probe.Fired);
        Assert.Equal(500, kernel.Now);
    }

    [Fact]
    public void A_timer_before_now_is_refused()
    {
        var kernel = new Kernel(FakeDevice.Simple());
        TimerProbe? probe = null;
        Exception? error = null;
        probe = new TimerProbe(kernel, (k, _) => error = Record.Exception(() => k.At(k.Now - 1, probe!, 0)))
        {
            Started = k => k.At(1000, probe!, 0),
        };
        kernel.Run();
        Assert.IsType<ArgumentOutOfRangeException>(error);
    }

    [Fact]
    public void A_join_becomes_ready_when_its_last_prerequisite_is_signalled()
    {
        var kernel = new Kernel(FakeDevice.Simple(units: 4));
        int join = -1;
        var probe = new TimerProbe(kernel)
        {
            Ended = (k, task) =>
            {
                if (task != join) k.Signal(join);
            },
        };
        var probeRef = probe;
        var inputs = new[] { 1000L, 5000, 3000 };
        var started = new List<int>();
        kernel.Attach(new Starter(k =>
        {
            join = k.NewTask(probeRef, 0, 0, 100, prerequisites: inputs.Length);
            foreach (var compute in inputs) k.Ready(k.NewTask(probeRef, 0, 0, compute));
        }));
        kernel.Run();
        Assert.Equal(5000, kernel.Times(join).ReadyPs);
        Assert.Equal(5100, kernel.Times(join).EndPs);
    }

    private sealed class Starter(Action<Kernel> start) : KernelProcess
    {
        protected override void OnStart(Kernel kernel) => start(kernel);
    }

    [Fact]
    public void Misuse_is_refused_with_a_reason()
    {
        var kernel = new Kernel(FakeDevice.Simple());
        var p = new TimerProbe(kernel);
        var first = kernel.NewTask(p, 0, 0, 10);
        kernel.NewTask(p, 0, 0, 10);
        Assert.Throws<InvalidOperationException>(() => kernel.AddTransfer(first, 0, 10, 1e9)); // not the newest task
        Assert.Throws<ArgumentOutOfRangeException>(() => kernel.NewTask(p, 7, 0, 0)); // no such engine
        Assert.Throws<InvalidOperationException>(() => kernel.Ready(first)); // not running yet
        Assert.Throws<InvalidOperationException>(() => kernel.AddFlow(first, 0, 10, 1e9)); // no network
        Assert.Throws<InvalidOperationException>(() => new Kernel(FakeDevice.Simple()).NewTask(p, 0, 0, 0)); // owner of another kernel
    }

    [Fact]
    public void Buffers_occupy_their_tier_from_the_first_holders_start_to_the_last_release()
    {
        var kernel = new Kernel(FakeDevice.Simple(units: 2));
        var p = new TimerProbe(kernel);
        kernel.Reserve(0, 1000);
        int a = -1, b = -1;
        kernel.Attach(new Starter(k =>
        {
            var buffer = k.NewBuffer(0, 500, holders: 2);
            a = k.NewTask(p, 0, 0, 100);
            k.AllocateOnStart(a, buffer);
            k.ReleaseOnEnd(a, buffer);
            b = k.NewTask(p, 0, 0, 300);
            k.ReleaseOnEnd(b, buffer);
            k.Ready(a);
            k.Ready(b);
        }));
        kernel.Run();
        Assert.Equal(1500, kernel.TierPeakBytes(0));
        Assert.Equal(1000, kernel.TierOccupancy(0)); // freed when b, the second holder, released it
        Assert.Equal(1000, kernel.TierResidentBytes(0));
    }

    // Routes.

    private static (Kernel Kernel, FlowNetwork Net) WithNetwork(Action<FlowNetwork> links)
    {
        var net = new FlowNetwork();
        links(net);
        return (new Kernel(FakeDevice.Simple(), net), net);
    }

    [Fact]
    public void A_flow_takes_its_route_latency_then_its_bytes_at_the_narrowest_link()
    {
        var (kernel, net) = WithNetwork(n =>
        {
            n.AddLink(10e9, 1_000, 1);
            n.AddLink(4e9, 2_000, 2);
            n.AddRoute([0, 1]);
        });
        var p = new TimerProbe(kernel);
        int task = -1, flow = -1;
        kernel.Attach(new Starter(k =>
        {
            task = k.NewTask(p, Kernel.NoEngine, 0, 0);
            flow = k.AddFlow(task, 0, 4_000_000, double.PositiveInfinity);
            k.Ready(task);
        }));
        kernel.Run();
        // 3 ns of latency, then 4 MB at 4 GB/s = 1 ms.
        Assert.Equal(3_000 + 1_000_000_000, kernel.Times(task).EndPs);
        Assert.Equal((3_000L, 3_000 + 1_000_000_000L), kernel.TransferTimes(flow));
        Assert.Equal(4_000_000, net.LinkBytes(0));
        Assert.Equal(4_000_000, net.LinkBytes(1));
    }

    [Fact]
    public void Flows_that_meet_on_a_link_share_it_max_min_fairly()
    {
        // Link 0 (10 GB/s) is shared; flow B is held to 2 GB/s by link 2, so flow A gets the other 8.
        var (kernel, _) = WithNetwork(n =>
        {
            n.AddLink(10e9, 0, 0);
            n.AddLink(10e9, 0, 0);
            n.AddLink(2e9, 0, 0);
            n.AddRoute([0, 1]);
            n.AddRoute([0, 2]);
        });
        var p = new TimerProbe(kernel);
        int a = -1, b = -1;
        kernel.Attach(new Starter(k =>
        {
            a = k.NewTask(p, Kernel.NoEngine, 0, 0);
            k.AddFlow(a, 0, 8_000_000, double.PositiveInfinity);
            b = k.NewTask(p, Kernel.NoEngine, 0, 0);
            k.AddFlow(b, 1, 2_000_000, double.PositiveInfinity);
            k.Ready(a);
            k.Ready(b);
        }));
        kernel.Run();
        Assert.Equal(1_000_000_000, kernel.Times(a).EndPs); // 8 MB at 8 GB/s
        Assert.Equal(1_000_000_000, kernel.Times(b).EndPs); // 2 MB at 2 GB/s
    }

    [Fact]
    public void A_task_can_compute_on_its_engine_while_its_flow_crosses_the_network()
    {
        var (kernel, _) = WithNetwork(n =>
        {
            n.AddLink(1e9, 0, 0);
            n.AddRoute([0]);
        });
        var p = new TimerProbe(kernel);
        int t = -1;
        kernel.Attach(new Starter(k =>
        {
            t = k.NewTask(p, 0, 500, 2_000_000);
            k.AddTransfer(t, 0, 1000, 1e12); // 1 us on the device's 1 GB/s channel
            k.AddFlow(t, 0, 3000, double.PositiveInfinity); // 3 us on the network
            k.Ready(t);
        }));
        kernel.Run();
        Assert.Equal(500 + 3_000_000, kernel.Times(t).EndPs);
        Assert.Equal(500 + 2_000_000, kernel.Times(t).ComputeEndPs);
    }

    // Collectives on routes: the laws.

    private static (long EndPs, long Flows) AllReduce(int ranks, int perLeaf, int spines, double endpointBw, double fabricBw, long bytes, long latency = 1_000)
    {
        var net = new FlowNetwork();
        var tree = FatTree.Build(net, ranks, perLeaf, spines, new LinkFigures(endpointBw, latency, 1), new LinkFigures(fabricBw, latency, 1));
        var routes = Enumerable.Range(0, ranks).Select(r => tree.Route(r, (r + 1) % ranks)).ToArray();
        var kernel = new Kernel(FakeDevice.Simple(), net);
        var ring = new RingAllReduce(kernel, routes, bytes);
        kernel.Run();
        return (ring.EndPs, ring.Flows);
    }

    [Property(MaxTest = 40)]
    public Property A_ring_all_reduce_never_beats_its_alpha_beta_bound_and_more_bandwidth_is_never_slower() =>
        Prop.ForAll((
                from ranks in Gen.Choose(2, 40)
                from perLeaf in Gen.Choose(1, 8)
                from bw in Gen.Elements(1e9, 5e9, 5e10)
                from factor in DagGen.Factor
                select (ranks, perLeaf, bw, factor)).ToArbitrary(),
            c =>
            {
                var (ranks, perLeaf, bw, factor) = c;
                const long bytes = 64L << 20;
                var (end, flows) = AllReduce(ranks, perLeaf, 2, bw, bw, bytes);
                var (faster, _) = AllReduce(ranks, perLeaf, 2, bw * factor, bw * factor, bytes);
                // Each rank sends 2(N-1) chunks of bytes/N in sequence over its own uplink, each after
                // at least one route's latency (two links of 1 ns).
                var chunk = (bytes + ranks - 1) / ranks;
                var bound = 2L * (ranks - 1) * (2_000 + (long)Math.Floor(chunk / bw * 1e12));
                return (flows == 2L * ranks * (ranks - 1)).Label($"{flows} flows")
                    .And((end >= bound).Label($"ends at {end} ps, before the bound {bound} ps"))
                    .And((faster <= end).Label($"{factor}x bandwidth: {faster} ps, slower than {end} ps"));
            });

    [Fact]
    public void A_ring_all_reduce_runs_at_the_link_rate_when_nothing_else_shares_it()
    {
        // 8 ranks on one leaf: every send has its own uplink and downlink. 2 x 7 steps of 1 MiB at 1 GB/s
        // plus 2 ns of latency each.
        var (end, _) = AllReduce(8, 8, 1, 1e9, 1e9, 8L << 20);
        var step = 2_000 + (long)Math.Ceiling((1L << 20) / 1e9 * 1e12);
        Assert.InRange(end, 14 * step, 14 * step + 14);
    }
}
