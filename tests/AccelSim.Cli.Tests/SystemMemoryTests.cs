using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel;
using Newtonsoft.Json.Linq;
using Xunit.Abstractions;

namespace AccelSim.Cli.Tests;

/// <summary>What a rank of a training plan holds at its peak: the memory it declares (weights, gradients,
/// optimizer state, the stashed activations of its in-flight microbatches) plus the working set of the one
/// compute segment it runs at a time, never the activations of every microbatch's blocks piled up.</summary>
public class SystemMemoryTests(ITestOutputHelper output)
{
    /// <summary>A GPT-style model of 4 layers, hidden 1024, 16 heads, a vocabulary of 51,200.</summary>
    private const string Model = """
        {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "activation_function": "gelu_new", "n_embd": 1024,
         "n_head": 16, "n_layer": 4, "n_positions": 1024, "n_ctx": 1024, "vocab_size": 51200, "torch_dtype": "float16"}
        """;

    private static (SystemResult Result, SystemProgram Program, IDeviceModel Device) Run(PipelineScheduleKind schedule, bool recompute, int pp = 2, int tp = 4)
    {
        using var dir = new CliHarness.TempDir();
        File.WriteAllText(dir.File("model.json"), Model);
        var model = ModelConfigLoader.Load(dir.File("model.json"));
        var request = WorkloadRequest.Train(8, 512, recompute: recompute);
        var spec = SystemConfigLoader.LoadNamed("dgx-a100");
        var fabric = SystemFabric.Build(spec, 1);
        var device = new GpuPlugin().Create(HardwareConfigLoader.LoadNamed(spec.Node.Device));
        var plan = ParallelPlan.Bind(new ParallelismOptions { Tp = tp, Pp = pp, Microbatch = 1, Schedule = schedule, Recompute = recompute },
            model, request, systemRanks: fabric.Ranks);
        var program = ParallelTransform.Build(model, request, plan);
        return (SystemSimulator.Run(program, fabric, _ => device, new SequentialSchedule()), program, device);
    }

    private static long MainPeak(SystemResult result, IDeviceModel device, int rank) =>
        result.Ranks[rank].Memory.Single(m => m.Tier == device.MainMemoryTier()).PeakBytes;

    /// <summary>The activations a segment's graph writes (its working set at most: it frees some before it writes others).</summary>
    private static long Written(WorkloadGraph g) =>
        g.Tensors.Where(t => t.Role == TensorRole.Activation && g.Producer.ContainsKey(t.Id)).Sum(t => t.Bytes);

    [Theory]
    [InlineData(PipelineScheduleKind.OneFOneB, false)]
    [InlineData(PipelineScheduleKind.OneFOneB, true)]
    [InlineData(PipelineScheduleKind.GPipe, false)]
    [InlineData(PipelineScheduleKind.GPipe, true)]
    public void A_ranks_peak_is_its_declared_memory_plus_at_most_one_segments_working_set(PipelineScheduleKind schedule, bool recompute)
    {
        var (result, program, device) = Run(schedule, recompute);
        Assert.Equal(8, program.Ranks.Count);
        for (var r = 0; r < program.Ranks.Count; r++)
        {
            var rp = program.Ranks[r];
            var held = rp.Memory.Sum(m => m.Bytes);
            var segments = rp.Segments.Where(s => s.Compute is not null).ToList();
            var largest = segments.Max(s => Written(s.Compute!));
            var all = segments.Sum(s => Written(s.Compute!));
            var peak = MainPeak(result, device, r);
            output.WriteLine($"{schedule} recompute={recompute} rank {r}: held {held:N0}, peak {peak:N0} (+{peak - held:N0}), " +
                $"largest segment writes {largest:N0}, all {segments.Count} segments {all:N0}");
            Assert.Equal(held, result.Ranks[r].HeldBytes);
            Assert.InRange(peak, held + 1, held + largest);
            // The bound means something: the segments together write many times what one does.
            Assert.True(all > 4 * largest);
        }
    }

    [Theory]
    [InlineData(PipelineScheduleKind.OneFOneB)]
    [InlineData(PipelineScheduleKind.GPipe)]
    public void Recomputation_never_raises_a_ranks_peak(PipelineScheduleKind schedule)
    {
        var plain = Run(schedule, recompute: false);
        var recomputed = Run(schedule, recompute: true);
        for (var r = 0; r < plain.Program.Ranks.Count; r++)
        {
            var before = MainPeak(plain.Result, plain.Device, r);
            var after = MainPeak(recomputed.Result, recomputed.Device, r);
            output.WriteLine($"{schedule} rank {r}: peak {before:N0} without recomputation, {after:N0} with");
            Assert.True(recomputed.Result.Ranks[r].HeldBytes < plain.Result.Ranks[r].HeldBytes);
            Assert.True(after < before, $"rank {r}: recomputation raises the peak from {before:N0} to {after:N0}");
        }
        // It costs time: the forward runs twice.
        Assert.True(recomputed.Result.MakespanS > plain.Result.MakespanS);
    }
    /// <summary>A one-rank training plan declares no rank memory: its graph's weights and its activations are
    /// counted as a single-device run counts them, to the byte.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_one_rank_training_plan_peaks_as_the_single_device_run(bool recompute)
    {
        string[] train = ["--model", "llama2-7b", "--phase", "train", "--seq", "256", "--batch", "2", .. recompute ? new[] { "--recompute" } : [], "--format", "json"];
        JObject Json(string[] args)
        {
            var o = CliHarness.Run(args);
            Assert.True(o.ExitCode == 0, o.Error);
            return JObject.Parse(o.Out);
        }
        var single = Json(["run", "--hardware", "h100", .. train]);
        var system = Json(["run", "--system", "dgx-h100", "--nodes", "1", "--tp", "1", .. train]);
        var device = Assert.Single((JArray)system["devices"]!);
        Assert.Equal((double)single["latency_s"]!, (double)system["latency_s"]!);
        Assert.Equal((long)single["memory"]!["peak_bytes"]!["hbm"]!, (long)device["memory"]!["peak_bytes"]!["hbm"]!);
        Assert.Equal(0, (long)device["memory"]!["held_bytes"]!);
    }
}
