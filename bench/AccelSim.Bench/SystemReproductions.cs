using System.Globalization;
using AccelSim.Core.Devices;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel;
using AccelSim.Workloads.Stacks;

namespace AccelSim.Bench;

/// <summary>The rows of the system-scale reproductions too large for the test suite's default run
/// (experiments/megatron-lm/README.md): a training step on a bundled system under a parallelism plan,
/// reported as the paper counts it, with the wall time of the simulation.</summary>
public static class SystemReproductions
{
    /// <summary>Megatron-LM Table 1 rows (Narayanan et al., SC'21): model file, layers, hidden, TP, PP, GPUs, batch, paper TFLOP/s per GPU.</summary>
    private static readonly (string Name, int Layers, int Hidden, int Tp, int Pp, int Gpus, int Batch, double Paper)[] Rows =
    [
        ("1.7b", 24, 2304, 1, 1, 32, 512, 137), ("3.6b", 30, 3072, 2, 1, 64, 512, 138), ("7.5b", 36, 4096, 4, 1, 128, 512, 142),
        ("18.4b", 40, 6144, 8, 1, 256, 1024, 135), ("39.1b", 48, 8192, 8, 2, 512, 1536, 138), ("76.1b", 60, 10240, 8, 4, 1024, 1792, 140),
        ("145.6b", 80, 12288, 8, 8, 1536, 2304, 148), ("310.1b", 96, 16384, 8, 16, 1920, 2160, 155),
        ("529.6b", 105, 20480, 8, 35, 2520, 2520, 163), ("1t", 128, 25600, 8, 64, 3072, 3072, 163),
    ];

    /// <summary>--megatron ROW [--virtual-stages V]: one row of Table 1 on dgx-a100 nodes, recomputation on,
    /// microbatch 1, 1F1B (interleaved with V chunks when given), under the software stack <paramref name="stack"/>
    /// (a bundled name or a path; megatron-lm, the implementation the paper measured, by default).</summary>
    public static void Megatron(TextWriter output, string row, int virtualStages, string stack = "megatron-lm")
    {
        var r = Rows.FirstOrDefault(x => x.Name == row);
        if (r.Name is null) throw new ArgumentException($"--megatron: unknown row '{row}'; rows: {string.Join(", ", Rows.Select(x => x.Name))}");
        var options = new ParallelismOptions
        {
            Tp = r.Tp, Pp = r.Pp, Dp = r.Gpus / (r.Tp * r.Pp), Microbatch = 1,
            Schedule = virtualStages > 1 ? PipelineScheduleKind.Interleaved : PipelineScheduleKind.OneFOneB,
            VirtualStages = virtualStages,
        };
        var (result, wall) = Train("dgx-a100", ModelFile($"megatron-lm/models/megatron-{r.Name}.json"), r.Batch, options, stack: StackLoader.LoadNamed(stack));
        var flops = 96.0 * r.Batch * 2048 * r.Layers * (double)r.Hidden * r.Hidden * (1 + 2048 / (6.0 * r.Hidden) + 51200 / (16.0 * r.Layers * r.Hidden));
        var perGpu = flops / (result.MakespanS * r.Gpus);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"megatron {r.Name} (stack {stack}): TP{r.Tp} PP{r.Pp} DP{options.Dp} batch {r.Batch}{(virtualStages > 1 ? $" interleaved v{virtualStages}" : "")}: " +
            $"iteration {result.MakespanS:F3} s, {perGpu / 1e12:F1} TFLOP/s per GPU (paper {r.Paper}, {(perGpu / 1e12 / r.Paper - 1) * 100:+0.0;-0.0}%), " +
            $"{result.Ranks.Count} simulated ranks, {result.EventCount} events, wall {wall:F1} s"));
    }

    /// <summary>--train SYSTEM MODEL BATCH TP PP DP [V]: any training step, microbatch 1, recomputation on.</summary>
    public static void Train(TextWriter output, string[] a)
    {
        int I(int i) => int.Parse(a[i], CultureInfo.InvariantCulture);
        var v = a.Length > 6 ? I(6) : 1;
        var options = new ParallelismOptions
        {
            Tp = I(3), Pp = I(4), Dp = I(5), Microbatch = 1,
            Schedule = v > 1 ? PipelineScheduleKind.Interleaved : PipelineScheduleKind.OneFOneB, VirtualStages = v,
        };
        var (result, wall) = Train(a[0], a[1], I(2), options);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{a[1]} on {a[0]}: TP{options.Tp} PP{options.Pp} DP{options.Dp} batch {a[2]} v{v}: iteration {result.MakespanS:F3} s, " +
            $"{result.Flops / result.MakespanS / result.Ranks.Count / 1e12:F1} simulated TFLOP/s per GPU, wall {wall:F1} s"));
    }

    /// <summary>--zero SYSTEM MODEL NODES BATCH_PER_GPU SEQ: ZeRO-3 data parallelism over every device of NODES
    /// nodes, one microbatch of BATCH_PER_GPU sequences per device, recomputation on (experiments/zero-infinity).
    /// Throughput per GPU is the simulated FLOPs (recomputation included) over the step time.</summary>
    public static void Zero(TextWriter output, string[] a)
    {
        int I(int i) => int.Parse(a[i], CultureInfo.InvariantCulture);
        var spec = SystemConfigLoader.LoadNamed(a[0]);
        var gpus = I(2) * spec.Node.Devices;
        var options = new ParallelismOptions { Dp = gpus, Zero = 3, Microbatch = I(3) };
        // A sixth argument, zero-infinity, offloads every GPU's shards (docs/systems.md, "Memory placement per rank").
        var offload = a.Length > 5 && a[5] == "zero-infinity";
        var (result, wall) = Train(a[0], a[1], (long)I(3) * gpus, options, I(4), offload: offload);
        var hw = HardwareConfigLoader.LoadNamed(spec.Node.Device);
        var peak = hw.TryGet("compute.fp16.peak_flops", out var v) && v.Number is { } p ? p : double.NaN;
        var perGpu = result.Flops / (double)result.Ranks.Count / result.MakespanS;
        var rank = result.Ranks[0];
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Path.GetFileNameWithoutExtension(a[1])} on {I(2)} x {a[0]} ({gpus} GPUs), ZeRO-3{(offload ? " with ZeRO-Infinity's offload" : "")}, {I(3)} x {I(4)} tokens per GPU: step {result.MakespanS:F3} s, " +
            $"{perGpu / 1e12:F1} TFLOP/s per GPU ({perGpu / peak * 100:F1}% of {peak / 1e12:F0}), {gpus * perGpu / 1e15:F2} PFLOP/s in all; " +
            $"rank 0 compute {rank.ComputeBusyPs / 1e12:F3} s, exposed communication {rank.ExposedCommPs / 1e12:F3} s, held {rank.HeldBytes / 1e9:F1} GB " +
            $"({string.Join(", ", rank.Memory.Where(t => t.PeakBytes > 0).Select(t => $"{t.Tier} peak {t.PeakBytes / 1e9:F1} of {t.CapacityBytes / 1e9:F1} GB"))}); wall {wall:F1} s"));
    }

    private static (SystemResult Result, double WallS) Train(string system, string model, long batch, ParallelismOptions options, long seq = 2048,
        SoftwareStack? stack = null, bool offload = false)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var spec = SystemConfigLoader.LoadNamed(system);
        var gpus = options.Tp * options.Pp * options.Dp;
        var fabric = SystemFabric.Build(spec, gpus / spec.Node.Devices);
        var device = new GpuPlugin().Create(HardwareConfigLoader.LoadNamed(spec.Node.Device));
        var config = ModelConfigLoader.LoadNamed(model);
        var request = WorkloadRequest.Train(batch, seq, recompute: true) with { Stack = stack ?? SoftwareStack.Fused };
        ZeroInfinityOffload? zero = null;
        if (offload)
        {
            var host = device.Topology.Tiers.Single(t => t.Kind == TierKind.Host);
            zero = new ZeroInfinityOffload(device.MainMemoryTier(), host.Name, host.CapacityBytes,
                device.Topology.Tiers.FirstOrDefault(t => t.Kind == TierKind.Storage)?.Name);
        }
        var program = ParallelTransform.Build(config, request, ParallelPlan.Bind(options with { Recompute = true }, config, request, gpus), offload: zero);
        var result = SystemSimulator.Run(program, fabric, _ => device, new SequentialSchedule());
        return (result, watch.Elapsed.TotalSeconds);
    }

    private static string ModelFile(string file)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, "experiments", file);
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException($"experiments/{file} not found above {AppContext.BaseDirectory}");
    }
}
