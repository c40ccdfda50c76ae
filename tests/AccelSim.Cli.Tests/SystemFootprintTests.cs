using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel;
using Xunit.Abstractions;

namespace AccelSim.Cli.Tests;

/// <summary>Runs alone: it measures the process's live memory.</summary>
[CollectionDefinition(nameof(SystemFootprintTests), DisableParallelization = true)]
public class SystemFootprintCollection;

/// <summary>The memory a system run keeps grows with its distinct work, not with every task instance's copy or
/// every collective send: a compute segment instance runs as one kernel task, a rank's result reads its compute in
/// run-length form, op and segment records are made when asked, and a send's task slot is reused once it has
/// arrived (docs/systems.md, "How it fits").</summary>
[Collection(nameof(SystemFootprintTests))]
public class SystemFootprintTests(ITestOutputHelper output)
{
    /// <summary>A GPT-style model of 4 layers, hidden 1024, 16 heads, a vocabulary of 51,200.</summary>
    private const string Model = """
        {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "activation_function": "gelu_new", "n_embd": 1024,
         "n_head": 16, "n_layer": 4, "n_positions": 1024, "n_ctx": 1024, "vocab_size": 51200, "torch_dtype": "float16"}
        """;

    [Fact]
    public void A_pipeline_of_64_microbatches_keeps_under_a_fixed_number_of_bytes_per_task_instance_and_flow()
    {
        using var dir = new CliHarness.TempDir();
        File.WriteAllText(dir.File("model.json"), Model);
        var model = ModelConfigLoader.Load(dir.File("model.json"));
        var request = WorkloadRequest.Train(64, 512, recompute: true);
        var spec = SystemConfigLoader.LoadNamed("dgx-a100");
        var fabric = SystemFabric.Build(spec, 2);
        var device = new GpuPlugin().Create(HardwareConfigLoader.LoadNamed(spec.Node.Device));
        var plan = ParallelPlan.Bind(new ParallelismOptions { Tp = 8, Pp = 2, Microbatch = 1, Recompute = true }, model, request, systemRanks: fabric.Ranks);
        var program = ParallelTransform.Build(model, request, plan);

        var before = GC.GetTotalMemory(forceFullCollection: true);
        var sim = new SystemSimulator(program, fabric, _ => device, (d, g) => new SequentialSchedule().Map(g, d));
        var slotsBefore = sim.Kernel.TaskCount;
        var result = sim.Run();
        var slotsAfter = sim.Kernel.TaskCount;
        var kept = GC.GetTotalMemory(forceFullCollection: true) - before;
        GC.KeepAlive(program);

        long instances = 0;
        foreach (var r in result.Ranks) instances += r.Result.Program.Tasks.Count;
        output.WriteLine($"{result.Ranks.Count} ranks, {instances} task instances, {result.Flows.Count} flows, {slotsBefore} task slots before the run, " +
            $"{slotsAfter} after; {kept} B kept, {kept / (double)(instances + result.Flows.Count):F0} B per task instance or flow");

        // Every flow a send, every send's slot reused: the run adds far fewer slots than it sends.
        Assert.True(result.Flows.Count > 10_000, $"only {result.Flows.Count} flows");
        Assert.True(slotsAfter - slotsBefore < result.Flows.Count / 10, $"{slotsAfter - slotsBefore} new task slots for {result.Flows.Count} sends");
        // A compute segment instance runs as one kernel task (88 B) and two joins, whatever its tasks; a send keeps its
        // flow's transfer (40 B) and, at this size, a spare slot: about 150 B per task instance or flow here. Each
        // instance's tasks in the kernel (each with its record, transfers, buffers and edges) kept about 220 B; a
        // copy of every task's record in the result (about 290 B), a record per op (about 150 B) or per flow (about
        // 60 B) brought it to about 300 B.
        var units = instances + result.Flows.Count;
        Assert.True(kept < 170L * units, $"{kept} B kept for {instances} task instances and {result.Flows.Count} flows ({kept / (double)units:F0} B each)");
    }
}
