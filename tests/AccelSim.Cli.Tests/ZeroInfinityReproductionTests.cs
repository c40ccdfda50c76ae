using AccelSim.Core.Memory;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel;
using Xunit.Abstractions;

namespace AccelSim.Cli.Tests;

/// <summary>ZeRO-Infinity (Rajbhandari et al., SC'21): "over 25 petaflops on 512 NVIDIA V100 GPUs (40% of peak)"
/// on DGX-2 nodes (configs/systems/dgx-2.json). The model behind that figure is not stated in the sources we
/// have; we take the 1T-parameter GPT of Megatron-LM's Table 1 (128 layers of hidden 25600), one sequence of 2048
/// tokens per GPU, recomputation on, ZeRO-3 over every GPU (experiments/zero-infinity). The first test keeps
/// every shard in HBM (which overflows, reported): the compute and the ZeRO-3 collectives alone. The second
/// turns ZeRO-Infinity's offload on (<c>--placement zero-infinity</c>): each GPU's shards in its sixteenth of a
/// DGX-2's host memory and NVMe drives, moved over its PCIe link and its drive, AdamW on its share of the host
/// CPUs. The 512-GPU run takes too long for the test suite; these tests run one node, the README four.</summary>
public class ZeroInfinityReproductionTests(ITestOutputHelper output)
{
    [Fact]
    public void Zero3_of_a_1t_model_on_a_dgx2_node_keeps_the_v100s_at_least_at_the_papers_fraction_of_peak()
    {
        var r = SystemReproduction.Run("dgx-2", SystemReproduction.Experiment("megatron-lm/models/megatron-1t.json"),
            WorkloadRequest.Train(16, 2048, recompute: true), new ParallelismOptions { Dp = 16, Zero = 3, Microbatch = 1, Recompute = true });
        var peak = HardwareConfigLoader.LoadNamed("v100").TryGet("compute.fp16.peak_flops", out var v) ? v.Number!.Value : 0;
        var rank = Assert.Single(r.Ranks);
        var fraction = r.Flops / r.MakespanS / peak;
        output.WriteLine($"1T, 16 V100s, ZeRO-3: step {r.MakespanS:F2} s, {fraction * 100:F1}% of peak, exposed communication " +
            $"{rank.ExposedCommPs / 1e12:F3} s, held {rank.HeldBytes / 1e9:F0} GB of {rank.Memory[0].CapacityBytes / 1e9:F1}; " +
            $"{r.Collectives.Count} collectives");
        // Every unit's weights (128 layers, the embedding, the head) are gathered twice (forward, backward) and its
        // gradients reduce-scattered once.
        var gathers = r.Collectives.Count(c => c.Key.StartsWith("dp/ag/", StringComparison.Ordinal));
        var reductions = r.Collectives.Count(c => c.Key.StartsWith("dp/g/", StringComparison.Ordinal));
        Assert.InRange(reductions, 128, 130);
        Assert.Equal(2 * reductions, gathers);
        // The paper's 40% is a floor: what the simulation leaves out (offload traffic, framework overheads) only slows a real run.
        Assert.InRange(fraction, 0.40, 0.85);
        Assert.True(rank.ExposedCommPs < r.MakespanPs / 50, "the all-gathers hide behind the layers' compute");
        Assert.Contains(rank.Memory, t => t.Overflows);
    }

    /// <summary>The paper fine-tunes a 1T model "on a single DGX-2 node". With the offload every GPU's shards leave
    /// it: on one node each GPU's shards (126 GB of weights and of gradients, 756 GB of optimizer state) are larger
    /// than its 96 GiB of host memory, so most of them live on its half of a drive (host memory holds what optimizer
    /// state it can), and the step is bound by the drive: at least the bytes it moves at its achievable rate, at most
    /// that plus the compute-bound step (the first test) and the CPU's AdamW, one after the other. What is left in HBM
    /// fits but for the two layers gathered whole at once (the running one and the prefetched next, 15.7 GB each):
    /// ZeRO-Infinity's memory-centric tiling, which gathers a layer's operators a tile at a time, is not modelled, so
    /// the report says HBM overflows by about those layers.</summary>
    [Fact]
    public void Zero_infinity_moves_a_1t_models_shards_off_one_dgx2_nodes_gpus_and_its_step_is_bound_by_the_drives()
    {
        var spec = SystemConfigLoader.Load(SystemReproduction.Experiment("zero-infinity/dgx-2-zero-infinity.json"));
        var fabric = SystemFabric.Build(spec, 1);
        var config = HardwareConfigLoader.LoadNamed(spec.Node.Device);
        var device = new GpuPlugin().Create(config);
        var model = ModelConfigLoader.LoadNamed(SystemReproduction.Experiment("megatron-lm/models/megatron-1t.json"));
        var request = WorkloadRequest.Train(16, 2048, recompute: true);
        var options = new ParallelismOptions { Dp = 16, Zero = 3, Microbatch = 1, Recompute = true };
        var plan = ParallelPlan.Bind(options, model, request, 16);
        var host = device.Topology.Tiers.Single(t => t.Name == "host").CapacityBytes;
        var program = ParallelTransform.Build(model, request, plan, offload: new ZeroInfinityOffload("hbm", "host", host, "ssd"));
        var r = SystemSimulator.Run(program, fabric, _ => device, new SequentialSchedule());
        var rank = Assert.Single(r.Ranks);
        var memory = program.Ranks[0].Memory;
        long Held(string what, string tier) => memory.Where(m => m.What == what && m.Tier == tier).Sum(m => m.Bytes);
        double Number(string key) => config.TryGet(key, out var v) ? v.Number!.Value : throw new InvalidOperationException(key);

        Assert.All(rank.Memory.Where(t => t.Tier != "hbm"), t => Assert.False(t.Overflows, $"{t.Tier}: {t.PeakBytes:N0} of {t.CapacityBytes:N0}"));
        // Two whole layers gathered at once: what overflows HBM, and nothing else does.
        var gathered = memory.Single(m => m.What == "gathered parameters").Bytes;
        var layer = 12L * model.HiddenSize * model.HiddenSize * 2;
        Assert.InRange(gathered, 2 * layer, 2 * layer + 2 * 1_000_000_000L);
        var hbm = rank.Memory.Single(t => t.Tier == "hbm");
        Assert.True(hbm.Overflows && hbm.PeakBytes - gathered < hbm.CapacityBytes, $"hbm {hbm.PeakBytes:N0} of {hbm.CapacityBytes:N0} with {gathered:N0} gathered");
        // Weights and gradients (126 GB each) do not fit the 96 GiB of host memory: they live on the drive; host
        // memory holds as many layers' optimizer state as fit, the drive the rest.
        long w = Held("weights", "ssd"), g = Held("gradients", "ssd"), onHost = Held("optimizer state", "host"), s = Held("optimizer state", "ssd");
        Assert.True(w > host && g > host);
        Assert.InRange(onHost, host * 9 / 10, host);
        // Weights read for the forward and the backward and written back, gradients written and read, state read and written.
        var driveBytes = 3 * w + 2 * g + 2 * s;
        Assert.InRange(rank.Metrics.Memory.BytesMovedByChannel["nvme"], driveBytes, driveBytes + 1_000_000);
        var driveS = driveBytes / (Number("host.nvme.bandwidth_Bps") * Number("host.nvme.efficiency"));
        var cpuS = rank.Metrics.Memory.BytesMovedByChannel["host_ddr"] / (Number("host.cpu.memory_bandwidth_Bps") * Number("host.cpu.memory_efficiency"));
        var plain = SystemReproduction.Run("dgx-2", SystemReproduction.Experiment("megatron-lm/models/megatron-1t.json"), request, options);
        output.WriteLine($"1T, one DGX-2 node, ZeRO-Infinity: step {r.MakespanS:F1} s; drive {driveBytes / 1e9:F0} GB, {driveS:F1} s at its rate; " +
            $"AdamW on the host {cpuS:F1} s; the step without the offload {plain.MakespanS:F1} s; peaks " +
            string.Join(", ", rank.Memory.Where(t => t.PeakBytes > 0).Select(t => $"{t.Tier} {t.PeakBytes / 1e9:F1} of {t.CapacityBytes / 1e9:F1} GB")));
        Assert.InRange(r.MakespanS, driveS, driveS + plain.MakespanS + cpuS);
        // Besides the gathered layers, HBM keeps the stashed activations and a segment's working set, far below the
        // 266 GB of shards it held without the offload.
        Assert.True(hbm.PeakBytes - gathered < (plain.Ranks[0].Memory.Single(t => t.Tier == "hbm").PeakBytes - gathered) / 10);
    }
}
