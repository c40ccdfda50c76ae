using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;

namespace AccelSim.Plugins.Rdu.Tests;

internal static class RduTestSupport
{
    public static readonly string[] BundledRdus = ["sn40l", "sn40l-8"];

    public static readonly string[] BundledModels = ["llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "llama3-70b", "mistral-7b"];

    public static HardwareConfig Load(string name) => HardwareConfigLoader.LoadNamed(name);

    public static RduDeviceModel Model(string name) => (RduDeviceModel)new RduPlugin().Create(Load(name));

    public static RduDeviceModel Model(HardwareConfig config) => (RduDeviceModel)new RduPlugin().Create(config);

    public static HardwareConfig With(this HardwareConfig config, params (string Path, double Value)[] values) =>
        config.With(values.Select(v => new KeyValuePair<string, string>(v.Path, v.Value.ToString("R", CultureInfo.InvariantCulture))));

    public static HardwareConfig Without(this HardwareConfig config, params string[] paths) =>
        new(config.Name, config.Kind, config.File, config.Values.Where(kv => !paths.Contains(kv.Key)));

    public static double Number(this HardwareConfig config, string path) =>
        config.TryGet(path, out var v) && v.Number is { } d ? d : throw new KeyNotFoundException(path);

    public static WorkloadGraph Llama(string model, Phase phase, long batch, long tokens)
    {
        var config = ModelConfigLoader.LoadNamed(model);
        var request = phase == Phase.Prefill ? WorkloadRequest.Prefill(batch, tokens) : WorkloadRequest.Decode(batch, tokens);
        return ModelBuilderRegistry.Default.Build(config, request);
    }

    public static ISchedule Schedule(string name) => name switch
    {
        "sequential" => new SequentialSchedule(),
        "dataflow" => new DataflowSchedule(auto: false),
        "auto" => new DataflowSchedule(auto: true),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    public static (SimulationResult Result, RunMetrics Metrics) Run(WorkloadGraph graph, IDeviceModel device, string schedule)
    {
        var result = new Simulator(Schedule(schedule).Map(graph, device), device).Run();
        return (result, MetricsCalculator.Compute(result, device));
    }

    public static double Seconds(WorkloadGraph graph, IDeviceModel device, string schedule = "sequential") =>
        AccelSim.Core.Time.Ps.ToSeconds(new Simulator(Schedule(schedule).Map(graph, device), device).Run().MakespanPs);

    /// <summary>Off-chip bytes a run moved (every off-chip channel).</summary>
    public static long OffChipBytes(SimulationResult result, IDeviceModel device)
    {
        long bytes = 0;
        for (var c = 0; c < device.Topology.Channels.Count; c++)
            if (device.Topology.Channels[c].OffChip) bytes += result.ChannelBytes[c];
        return bytes;
    }

    /// <summary>A DGX as one GPU with eight times one GPU's compute, memory and host-link resources
    /// (SMs, peaks, HBM and L2 bandwidth and capacity, PCIe bandwidth): tensor parallelism with free
    /// communication, which favours the DGX.</summary>
    public static GpuDeviceModel Dgx(string gpu, int gpus = 8)
    {
        var c = Load(gpu);
        var scaled = new List<(string, double)>();
        foreach (var key in c.Values.Keys)
        {
            if (HardwareConfig.IsDocumentation(key)) continue;
            var isPeak = key.StartsWith("compute.", StringComparison.Ordinal) && key.EndsWith(".peak_flops", StringComparison.Ordinal);
            if (isPeak || key is "compute.sm_count" or "memory.hbm.bandwidth_Bps" or "memory.hbm.capacity_bytes"
                    or "memory.l2.bandwidth_Bps" or "memory.l2.capacity_bytes" or "host.pcie.bandwidth_Bps")
                scaled.Add((key, c.Number(key) * gpus));
        }
        return (GpuDeviceModel)new GpuPlugin().Create(c.With(scaled.ToArray()));
    }
}
