using AccelSim.Core.Simulation;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;

namespace AccelSim.Bench;

/// <summary>The kernel on the synthetic program against the bare queue with the same event count and
/// queue length (about 22 pending events on this program). The memory diagnoser's Allocated column for <see cref="Des"/> is one result object
/// per run: zero bytes per event.</summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, warmupCount: 2, iterationCount: 10, invocationCount: 1)]
public class DesBenchmarks
{
    private SimProgram _program = null!;
    private SyntheticDevice _device = null!;
    private Simulator _sim = null!;
    private PriorityQueue<BareQueue.Event, BareQueue.Key> _queue = null!;
    private long _events;

    [Params(32)]
    public int Pending { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (_program, _device) = SyntheticWorkload.Build(QuickBench.Tasks, QuickBench.Chains);
        _events = new Simulator(_program, _device).Run().EventCount;
        Console.WriteLine($"// events per run: {_events}");
    }

    [IterationSetup]
    public void IterationSetup()
    {
        _sim = new Simulator(_program, _device);
        _queue = BareQueue.Prefill(Pending);
    }

    [Benchmark]
    public long Des() => _sim.Run().EventCount;

    [Benchmark(Baseline = true)]
    public long Baseline() => BareQueue.Run(_queue, _events);
}
