using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel;

namespace AccelSim.Cli.Tests;

/// <summary>A model's workload on a bundled system under a parallelism plan, as the system-scale
/// reproductions run it (experiments/megatron-lm, experiments/zero-infinity, experiments/waferllm).</summary>
public static class SystemReproduction
{
    public static string Experiment(string file)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, "experiments", file);
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException($"experiments/{file} not found above {AppContext.BaseDirectory}");
    }

    /// <summary>Runs <paramref name="request"/> of <paramref name="model"/> (a bundled name or a path) on as many nodes
    /// of <paramref name="system"/> as the plan has ranks (at least one), GPU plugin, sequential schedule.</summary>
    public static SystemResult Run(string system, string model, WorkloadRequest request, ParallelismOptions options)
    {
        var spec = SystemConfigLoader.LoadNamed(system);
        var gpus = options.Tp * options.Pp * options.Dp;
        var fabric = SystemFabric.Build(spec, Math.Max(1, gpus / spec.Node.Devices));
        var device = new GpuPlugin().Create(HardwareConfigLoader.LoadNamed(spec.Node.Device));
        var config = ModelConfigLoader.LoadNamed(model);
        var plan = ParallelPlan.Bind(options, config, request, gpus);
        return SystemSimulator.Run(ParallelTransform.Build(config, request, plan), fabric, _ => device, new SequentialSchedule());
    }

    /// <summary>Megatron-LM's FLOPs per iteration with full recomputation (Narayanan et al. 2021, eq. 3):
    /// 96 B s l h^2 (1 + s / (6 h) + V / (16 l h)).</summary>
    public static double MegatronFlops(long batch, long seq, long layers, long hidden, long vocab) =>
        96.0 * batch * seq * layers * hidden * hidden * (1 + seq / (6.0 * hidden) + vocab / (16.0 * layers * hidden));
}
