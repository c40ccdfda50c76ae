using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;

namespace AccelSim.Bench;

/// <summary>The quick figures, one "name: value" line each, all measured in this process on this thread.</summary>
public static class QuickBench
{
    public const int Tasks = 200_000;
    public const int Chains = 64;
    private const int Repetitions = 9;

    /// <summary>Chains of the low-contention variant: a few tasks at a time, closer to a
    /// kernel-by-kernel run.</summary>
    public const int LowContentionChains = 8;

    public static void Run(TextWriter o, bool ratioOnly = false)
    {
        var main = Measure(Chains);
        var low = Measure(LowContentionChains);

        o.WriteLine($"# synthetic program: {Tasks} tasks in {Chains} chains (up to 48 tasks at once over 8 channels), {main.Events} events per run");
        o.WriteLine($"# baseline holds {main.Pending} pending events (the kernel's average queue length on this program); each of {Repetitions} repetitions times the kernel, then the baseline on the same number of operations, and a ratio is that pair's: figures are medians");
        o.WriteLine(Line("des_events_per_s", F0(main.Des)));
        o.WriteLine(Line("des_bytes_per_event", (main.Bytes / (double)main.Events).ToString("F4", CultureInfo.InvariantCulture)));
        o.WriteLine(Line("baseline_priority_queue_ops_per_s", F0(main.Baseline)));
        o.WriteLine(Line("des_vs_baseline", main.Ratio.ToString("F3", CultureInfo.InvariantCulture)));
        o.WriteLine($"# same program in {LowContentionChains} chains (up to 6 tasks at once over 8 channels), baseline with {low.Pending} pending events");
        o.WriteLine(Line("des_events_per_s_low_contention", F0(low.Des)));
        o.WriteLine(Line("des_vs_baseline_low_contention", low.Ratio.ToString("F3", CultureInfo.InvariantCulture)));
        if (ThreadClock.HasCpuTime)
        {
            o.WriteLine("# the same figures per second of the measuring thread's CPU time (steadier on a busy machine)");
            o.WriteLine(Line("des_events_per_cpu_s", F0(main.DesCpu)));
            o.WriteLine(Line("baseline_priority_queue_ops_per_cpu_s", F0(main.BaselineCpu)));
            o.WriteLine(Line("des_vs_baseline_cpu", main.RatioCpu.ToString("F3", CultureInfo.InvariantCulture)));
            o.WriteLine(Line("des_vs_baseline_low_contention_cpu", low.RatioCpu.ToString("F3", CultureInfo.InvariantCulture)));
        }
        if (ratioOnly) return;
        o.WriteLine(Llama());
        KernelBench.OpenWorld(o);
        KernelBench.AllReduce(o);
        KernelBench.Memory(o);
    }

    private static string F0(double v) => v.ToString("F0", CultureInfo.InvariantCulture);

    private sealed record Figures(long Events, long Bytes, int Pending, double Des, double DesCpu, double Baseline, double BaselineCpu, double Ratio, double RatioCpu);

    /// <summary>Kernel and baseline measured in pairs, so a machine that speeds up or slows down between
    /// repetitions moves both sides of a ratio alike.</summary>
    private static Figures Measure(int chains)
    {
        var pending = AveragePending(chains);
        // Warm-up (JIT, tiering) on the same program and queue.
        long events = 0;
        for (var i = 0; i < 3; i++)
        {
            var k = SyntheticWorkload.Load(Tasks, chains).Kernel;
            k.Run();
            events = k.EventCount;
            BareQueue.Run(BareQueue.Prefill(pending), events / 4);
        }
        var des = new double[Repetitions];
        var desCpu = new double[Repetitions];
        var baseline = new double[Repetitions];
        var baselineCpu = new double[Repetitions];
        var ratio = new double[Repetitions];
        var ratioCpu = new double[Repetitions];
        long bytes = 0, check = 0;
        for (var r = 0; r < Repetitions; r++)
        {
            var kernel = SyntheticWorkload.Load(Tasks, chains).Kernel;
            var before = GC.GetAllocatedBytesForCurrentThread();
            var (wall, cpu) = ThreadClock.Measure(kernel.Run);
            bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            events = kernel.EventCount;
            des[r] = events / wall;
            desCpu[r] = events / cpu;
            var q = BareQueue.Prefill(pending);
            var (bWall, bCpu) = ThreadClock.Measure(() => check += BareQueue.Run(q, events));
            baseline[r] = events / bWall;
            baselineCpu[r] = events / bCpu;
            ratio[r] = des[r] / baseline[r];
            ratioCpu[r] = desCpu[r] / baselineCpu[r];
        }
        GC.KeepAlive(check);
        return new Figures(events, bytes, pending, Median(des), Median(desCpu), Median(baseline), Median(baselineCpu), Median(ratio), Median(ratioCpu));
    }

    private static string Line(string name, string value) => $"{name}: {value}";

    private static double Median(double[] values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>The kernel's mean number of pending events over a run, sampled at every published event
    /// of an untimed run. Reads the kernel's internal count for this measurement only.</summary>
    private static int AveragePending(int chains)
    {
        var pending = typeof(Kernel).GetProperty("PendingEvents", BindingFlags.NonPublic | BindingFlags.Instance);
        if (pending is null) return 2 * chains;
        using var bus = new SimulationEventBus();
        var kernel = SyntheticWorkload.Load(Tasks, chains, bus: bus).Kernel;
        long sum = 0, samples = 0;
        using var sub = bus.Subscribe(_ =>
        {
            sum += (int)pending.GetValue(kernel)!;
            samples++;
        });
        kernel.Run();
        return samples == 0 ? 2 * chains : (int)Math.Max(1, Math.Round(sum / (double)samples));
    }

    /// <summary>Wall time to load, build and simulate Llama-2-70B prefill of 4096 tokens on an H100
    /// (median of three warm runs; the first, cold run is reported on a comment line).</summary>
    private static string Llama()
    {
        const string name = "llama2_70b_prefill_4096_wall_s";
        try
        {
            var times = new double[4];
            var ops = 0;
            double latency = 0;
            for (var r = 0; r < times.Length; r++)
            {
                var sw = Stopwatch.StartNew();
                var model = ModelConfigLoader.LoadNamed("llama2-70b");
                var graph = ModelBuilderRegistry.Default.Build(model, WorkloadRequest.Prefill(1, 4096));
                var gpu = new GpuPlugin().Create(HardwareConfigLoader.LoadNamed("h100"));
                var program = new SequentialSchedule().Map(graph, gpu);
                var result = new Simulator(program, gpu).Run();
                var metrics = MetricsCalculator.Compute(result, gpu);
                sw.Stop();
                times[r] = sw.Elapsed.TotalSeconds;
                ops = graph.Ops.Count;
                latency = metrics.LatencyS;
            }
            var warm = Median(times[1..]);
            return $"# llama2-70b prefill 4096 on h100: {ops} ops, simulated latency {latency.ToString("G4", CultureInfo.InvariantCulture)} s, " +
                   $"cold run {times[0].ToString("F4", CultureInfo.InvariantCulture)} s{Environment.NewLine}" +
                   $"{name}: {warm.ToString("F4", CultureInfo.InvariantCulture)}";
        }
        catch (Exception e)
        {
            return $"# llama2-70b prefill could not run: {e.GetType().Name}: {e.Message.Split('\n')[0]}{Environment.NewLine}{name}: unavailable";
        }
    }
}
