using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel;
using AccelSim.Workloads.Stacks;
using Xunit.Abstractions;

namespace AccelSim.Cli.Tests;

/// <summary>Megatron-LM (Narayanan et al., SC'21) Table 1 on dgx-a100 nodes: activation recomputation on,
/// microbatch 1, 1F1B, sequence 2048, vocabulary 51,200 (experiments/megatron-lm). Throughput per GPU is the
/// paper's: its FLOPs formula over the simulated iteration time and the GPU count. The larger rows take
/// minutes to simulate and run from the bench (experiments/megatron-lm/README.md).</summary>
public class MegatronReproductionTests(ITestOutputHelper output)
{
    private static string Model(string row) => SystemReproduction.Experiment($"megatron-lm/models/megatron-{row}.json");

    private double TflopsPerGpu(string row, int layers, int hidden, int tp, int pp, int gpus, int batch, double paper, SoftwareStack stack)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var r = SystemReproduction.Run("dgx-a100", Model(row), WorkloadRequest.Train(batch, 2048, recompute: true) with { Stack = stack },
            new ParallelismOptions { Tp = tp, Pp = pp, Dp = gpus / (tp * pp), Microbatch = 1, Recompute = true });
        var perGpu = SystemReproduction.MegatronFlops(batch, 2048, layers, hidden, 51200) / (r.MakespanS * gpus) / 1e12;
        var rank = r.Ranks[0];
        output.WriteLine($"{row}: TP{tp} PP{pp} DP{gpus / (tp * pp)} batch {batch}: iteration {r.MakespanS:F3} s, {perGpu:F1} TFLOP/s per GPU " +
            $"(paper {paper}, {(perGpu / paper - 1) * 100:+0.0;-0.0}%); rank 0 compute {rank.ComputeBusyPs / 1e12:F3} s, " +
            $"exposed communication {rank.ExposedCommPs / 1e12:F3} s; {r.Ranks.Count} simulated ranks, wall {watch.Elapsed.TotalSeconds:F1} s");
        output.WriteLine($"simulated FLOPs / formula: {r.Flops / SystemReproduction.MegatronFlops(batch, 2048, layers, hidden, 51200) * gpus / r.Ranks.Count:F3}; held {rank.HeldBytes / 1e9:F1} GB; " +
            string.Join(", ", rank.Memory.Select(t => $"{t.Tier} {t.PeakBytes / 1e9:F1}/{t.CapacityBytes / 1e9:F1} GB")));
        Assert.All(r.Ranks, x => Assert.DoesNotContain(x.Memory, t => t.Overflows));
        return perGpu;
    }

    /// <summary>The 18.4B row: 40 layers of hidden 6144, TP8 (one node) × DP32, batch 1024: the paper measures
    /// 135 TFLOP/s per GPU (43% of the A100's 312). Under the megatron-lm stack (the implementation the paper
    /// measured: unfused attention with its scores in HBM, attention and hidden dropout; configs/stacks) the
    /// simulation lands at about 145.5 (+7.7%; under the flash-style fused stack 156.7, +16%). Allowed: within
    /// 15% of the paper either way.</summary>
    [Fact]
    public void Row_18_4b_on_256_gpus_is_within_15_percent_of_the_papers_throughput()
    {
        var perGpu = TflopsPerGpu("18.4b", 40, 6144, 8, 1, 256, 1024, 135, StackLoader.LoadNamed("megatron-lm"));
        Assert.InRange(perGpu, 135 * 0.85, 135 * 1.15);
    }

    /// <summary>The interleaved schedule (paper: "can improve throughput by 10+%"; the gap narrows as the batch
    /// grows). The 18.4B model on four pipeline stages of TP8 (32 GPUs), batch 8 (m = 8 microbatches): 1F1B's
    /// bubble is (p − 1)/m = 3/8 of the ideal time, two chunks per rank halve it. The gain comes out of the
    /// simulation, less the doubled pipeline sends, and must be at least 10% (13.3% simulated).</summary>
    [Fact]
    public void Interleaving_two_chunks_per_rank_gains_at_least_ten_percent_at_a_small_batch()
    {
        var request = WorkloadRequest.Train(8, 2048, recompute: true);
        var plain = new ParallelismOptions { Tp = 8, Pp = 4, Dp = 1, Microbatch = 1, Recompute = true };
        var a = SystemReproduction.Run("dgx-a100", Model("18.4b"), request, plain);
        var b = SystemReproduction.Run("dgx-a100", Model("18.4b"), request, plain with { Schedule = PipelineScheduleKind.Interleaved, VirtualStages = 2 });
        var gain = a.MakespanS / b.MakespanS - 1;
        output.WriteLine($"18.4B TP8 PP4 batch 8: 1F1B {a.MakespanS:F3} s, interleaved v2 {b.MakespanS:F3} s, gain {gain * 100:F1}%");
        // At most the bubble's own shrinking: (1 + 3/8) / (1 + 3/16) − 1 = 15.8%.
        Assert.InRange(gain, 0.10, (1 + 3.0 / 8) / (1 + 3.0 / 16) - 1);
    }
}
