using AccelSim.Bench;
using BenchmarkDotNet.Running;

if (args.Length >= 2 && args[0] == "--profile")
{
    // Runs only the kernel on the synthetic program, for a sampling profiler: --profile <chains> [traffic].
    var chains = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
    var best = 0.0;
    for (var i = 0; i < 20; i++)
    {
        var kernel = SyntheticWorkload.Load(QuickBench.Tasks, chains, traffic: args.Length > 2 ? Enum.Parse<SyntheticTraffic>(args[2], ignoreCase: true) : SyntheticTraffic.AsBuilt).Kernel;
        var (_, cpu) = ThreadClock.Measure(kernel.Run);
        best = Math.Max(best, kernel.EventCount / cpu);
    }
    Console.WriteLine($"best des_events_per_cpu_s: {best:F0}");
    return 0;
}
if (args.Contains("--anatomy"))
{
    // Where the kernel's time goes: the synthetic program without transfers, then with them.
    foreach (var traffic in Enum.GetValues<SyntheticTraffic>())
    {
        var rates = new List<double>();
        for (var i = 0; i < 8; i++)
        {
            var kernel = SyntheticWorkload.Load(QuickBench.Tasks, 64, traffic: traffic).Kernel;
            var (wall, _) = ThreadClock.Measure(kernel.Run);
            if (i >= 3) rates.Add(kernel.EventCount / wall);
            if (i == 7) Console.WriteLine($"traffic {traffic}: {kernel.EventCount} events, {rates.Order().ElementAt(2):F0} events/s, {1e9 / rates.Order().ElementAt(2) * kernel.EventCount / QuickBench.Tasks:F0} ns per task");
        }
    }
    return 0;
}
if (args.Contains("--fingerprint"))
{
    // A hash of everything a run measures and publishes, for checking that a kernel change keeps results.
    foreach (var (chains, varied) in new[] { (1, false), (8, false), (64, false), (256, false), (2048, false), (8, true), (64, true), (512, true) })
    {
        var (program, device) = SyntheticWorkload.Build(50_000, chains, varied);
        using var bus = new AccelSim.Core.Simulation.SimulationEventBus();
        var h = 14695981039346656037UL;
        void Mix(long v) { h = (h ^ (ulong)v) * 1099511628211UL; }
        using var sub = bus.Subscribe(e => { Mix((long)e.Kind); Mix(e.TimePs); Mix(e.Index); Mix(e.Value); });
        var r = new AccelSim.Core.Simulation.Simulator(program, device, bus).Run();
        Mix(r.MakespanPs); Mix(r.EventCount);
        foreach (var list in new[] { r.TaskReadyPs, r.TaskStartPs, r.TaskLaunchPs, r.TaskComputeEndPs, r.TaskEndPs, r.TransferStartPs, r.TransferEndPs, r.ChannelBytes, r.ChannelBusyPs, r.EngineBusyPs, r.TierPeakBytes })
            foreach (var v in list) Mix(v);
        var direct = SyntheticWorkload.Load(50_000, chains, varied).Kernel;
        direct.Run();
        Console.WriteLine($"chains {chains}{(varied ? " varied caps" : "")}: makespan {r.MakespanPs} events {r.EventCount} hash {h:x16}" +
            (direct.Now == r.MakespanPs && direct.EventCount == r.EventCount ? "" : $" (loaded straight into a kernel: makespan {direct.Now} events {direct.EventCount})"));
    }
    return 0;
}
if (args.Length >= 1 && args[0] == "--routes")
{
    // Flows over routes: --routes [endpoints] [steps] [ring|perm].
    var endpoints = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 256;
    var steps = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 2 * (endpoints - 1);
    RoutesBench.Run(Console.Out, endpoints, steps, args.Length > 3 && args[3] == "perm");
    return 0;
}
if (args.Length >= 1 && args[0] == "--kernel")
{
    // The open-world figures alone: --kernel [endpoints] [tasks for the memory figure].
    var endpoints = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1024;
    var tasks = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 10_000_000;
    KernelBench.OpenWorld(Console.Out);
    KernelBench.AllReduce(Console.Out, endpoints);
    KernelBench.Memory(Console.Out, tasks);
    return 0;
}
if (args.Contains("--fold-check"))
{
    // Folding at the 1024-GPU layout: GPT-3 175B's sizes, by default with one layer per stage and 8 microbatches,
    // folded and unfolded: --fold-check [layers] [global batch].
    var at = Array.IndexOf(args, "--fold-check");
    int Arg(int k, int fallback) => args.Length > at + k && int.TryParse(args[at + k], System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : fallback;
    var small = SystemScaleBench.Gpt3 with { Layers = Arg(1, 8), GlobalBatch = Arg(2, 128) };
    SystemScaleBench.Run(Console.Out, small);
    SystemScaleBench.Run(Console.Out, small with { Fold = false });
    return 0;
}
if (args.Contains("--system-scale"))
{
    // One training iteration of GPT-3 175B on 1024 A100s, phase by phase; --recompute, --unfolded vary it.
    SystemScaleBench.Run(Console.Out, SystemScaleBench.Gpt3 with { Recompute = args.Contains("--recompute"), Fold = !args.Contains("--unfolded") });
    return 0;
}
if (args.Length >= 2 && args[0] == "--megatron")
{
    // A Megatron-LM Table 1 row on dgx-a100 nodes: --megatron ROW [VIRTUAL_STAGES] [--stack NAME] (experiments/megatron-lm);
    // the software stack is megatron-lm (the implementation the paper measured) unless --stack names another.
    var rest = args.Skip(2).ToList();
    var stackAt = rest.IndexOf("--stack");
    var stack = "megatron-lm";
    if (stackAt >= 0 && stackAt + 1 < rest.Count)
    {
        stack = rest[stackAt + 1];
        rest.RemoveRange(stackAt, 2);
    }
    SystemReproductions.Megatron(Console.Out, args[1], rest.Count > 0 ? int.Parse(rest[0], System.Globalization.CultureInfo.InvariantCulture) : 1, stack);
    return 0;
}
if (args.Length >= 7 && args[0] == "--train")
{
    // Any training step on a system: --train SYSTEM MODEL BATCH TP PP DP [VIRTUAL_STAGES].
    SystemReproductions.Train(Console.Out, args[1..]);
    return 0;
}
if (args.Length >= 6 && args[0] == "--zero")
{
    // ZeRO-3 over every device of a system: --zero SYSTEM MODEL NODES BATCH_PER_GPU SEQ (experiments/zero-infinity).
    SystemReproductions.Zero(Console.Out, args[1..]);
    return 0;
}
if (args.Length >= 1 && args[0] == "--serve")
{
    // Serving speed: --serve [requests] [rate].
    ServeBench.Run(Console.Out, args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000,
        args.Length > 2 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 20);
    return 0;
}
if (args.Length >= 1 && args[0] == "--sweep-anatomy")
{
    SweepAnatomy.Run(Console.Out, args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 50);
    return 0;
}
if (args.Length >= 1 && args[0] == "--sweep")
{
    // Sweep speed: --sweep [points] [jobs], through accelsim sweep into a temporary DuckDB file.
    SweepBench.Run(Console.Out, args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : null);
    return 0;
}
if (args.Contains("--quick") || args.Contains("--ratio"))
{
    // --ratio: the kernel-against-baseline figures alone.
    QuickBench.Run(Console.Out, ratioOnly: args.Contains("--ratio"));
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(DesBenchmarks).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args);
return 0;
