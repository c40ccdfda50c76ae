using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel;
using Xunit.Abstractions;

namespace AccelSim.Cli.Tests;

/// <summary>Folding at scale: a training step on 64 A100s (8 DGX A100 nodes, TP8 PP2 DP4) simulated with every
/// rank, and folded to the 16 ranks of data-parallel replica 0 whose gradient all-reduces still carry every
/// replica's traffic. The replicas are symmetric, so the two runs must agree.</summary>
public class SystemScaleTests(ITestOutputHelper output)
{
    /// <summary>A GPT-style model small enough to simulate 64 ranks in a test: 4 layers of hidden 1024, 16
    /// heads, a vocabulary of 51,200 (divisible by 8, as Megatron pads it).</summary>
    private const string Model = """
        {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "activation_function": "gelu_new", "n_embd": 1024,
         "n_head": 16, "n_layer": 4, "n_positions": 1024, "n_ctx": 1024, "vocab_size": 51200, "torch_dtype": "float16"}
        """;

    private static (SystemResult Result, SystemProgram Program, int Tasks, long WallMs) Run(bool fold, int nodes = 8, int dp = 4)
    {
        using var dir = new CliHarness.TempDir();
        File.WriteAllText(dir.File("model.json"), Model);
        var model = ModelConfigLoader.Load(dir.File("model.json"));
        var request = WorkloadRequest.Train(8 * dp, 512);
        var spec = SystemConfigLoader.LoadNamed("dgx-a100");
        var fabric = SystemFabric.Build(spec, nodes);
        var device = new GpuPlugin().Create(HardwareConfigLoader.LoadNamed(spec.Node.Device));
        var plan = ParallelPlan.Bind(new ParallelismOptions { Tp = 8, Pp = 2, Dp = dp, Microbatch = 1, Fold = fold }, model, request, systemRanks: fabric.Ranks);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var program = ParallelTransform.Build(model, request, plan);
        var sim = new SystemSimulator(program, fabric, _ => device, (d, g) => new SequentialSchedule().Map(g, d));
        var tasks = sim.Kernel.TaskCount;
        var result = sim.Run();
        return (result, program, tasks, watch.ElapsedMilliseconds);
    }

    [Fact]
    public void A_folded_training_step_on_64_gpus_agrees_with_the_unfolded_one_within_one_percent()
    {
        var full = Run(fold: false);
        var folded = Run(fold: true);
        output.WriteLine($"unfolded: {full.Program.Ranks.Count} ranks, {full.Tasks} tasks, {full.Result.EventCount} events, {full.Result.Flows.Count} flows, " +
            $"makespan {full.Result.MakespanS * 1e3:F3} ms, {full.WallMs} ms wall");
        output.WriteLine($"folded:   {folded.Program.Ranks.Count} ranks, {folded.Tasks} tasks, {folded.Result.EventCount} events, {folded.Result.Flows.Count} flows, " +
            $"makespan {folded.Result.MakespanS * 1e3:F3} ms, {folded.WallMs} ms wall");

        // Folding simulates one replica of four: a quarter of the ranks and about a quarter of the tasks.
        Assert.Equal(64, full.Program.Ranks.Count);
        Assert.Equal(16, folded.Program.Ranks.Count);
        Assert.InRange(folded.Tasks, full.Tasks / 5, full.Tasks / 3);

        var worst = 0.0;
        void Near(double expected, double actual, string what)
        {
            var apart = expected == actual ? 0 : Math.Abs(actual - expected) / Math.Abs(expected);
            worst = Math.Max(worst, apart);
            Assert.True(apart <= 0.01, $"{what}: folded {actual} vs unfolded {expected} (more than 1% apart)");
        }

        // The iteration time.
        Near(full.Result.MakespanPs, folded.Result.MakespanPs, "makespan");

        // Every simulated rank of replica 0: when each segment ends, its compute, its exposed communication.
        foreach (var f in folded.Result.Ranks)
        {
            var u = full.Result.Ranks.Single(r => r.Rank == f.Rank);
            Assert.Equal(u.Segments.Count, f.Segments.Count);
            Near(u.Segments[^1].EndPs, f.Segments[^1].EndPs, $"rank {f.Rank} last segment end");
            Near(u.ComputeBusyPs, f.ComputeBusyPs, $"rank {f.Rank} compute busy");
            Near(u.CommPs, f.CommPs, $"rank {f.Rank} communication");
            Near(u.Metrics.Energy.TotalJ, f.Metrics.Energy.TotalJ, $"rank {f.Rank} energy");
        }

        // The data-parallel gradient all-reduces span all four replicas in both runs; each takes the same time.
        var dp = folded.Result.Collectives.Where(c => c.Kind == CollectiveKind.AllReduce && c.Group.Count == 4).ToList();
        Assert.NotEmpty(dp);
        var fullByKey = full.Result.Collectives.ToDictionary(c => c.Key);
        foreach (var c in dp)
        {
            var u = fullByKey[c.Key];
            Assert.Equal(u.Group, c.Group);
            Near(u.EndPs, c.EndPs, $"{c.Key} end");
            Near(u.DurationPs, c.DurationPs, $"{c.Key} duration");
            Assert.Equal(u.BytesOnWire, c.BytesOnWire);
        }
        output.WriteLine($"largest relative difference: {worst:E2}");
    }
}
