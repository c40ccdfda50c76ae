using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;

namespace AccelSim.Plugins.Wafer.Tests;

internal static class WaferTestSupport
{
    public static readonly string[] BundledWafers = ["wse2", "wse3"];

    public static readonly string[] BundledModels = ["llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "llama3-70b", "mistral-7b"];

    public static HardwareConfig Load(string name) => HardwareConfigLoader.LoadNamed(name);

    public static WaferDeviceModel Model(string name) => (WaferDeviceModel)new WaferPlugin().Create(Load(name));

    public static WaferDeviceModel Model(HardwareConfig config) => (WaferDeviceModel)new WaferPlugin().Create(config);

    public static GpuDeviceModel Gpu(string name) => (GpuDeviceModel)new GpuPlugin().Create(Load(name));

    public static HardwareConfig With(this HardwareConfig config, params (string Path, double Value)[] values) =>
        config.With(values.Select(v => new KeyValuePair<string, string>(v.Path, v.Value.ToString("R", CultureInfo.InvariantCulture))));

    public static HardwareConfig Without(this HardwareConfig config, params string[] paths) =>
        new(config.Name, config.Kind, config.File, config.Values.Where(kv => !paths.Contains(kv.Key)));

    public static double Number(this HardwareConfig config, string path) =>
        config.TryGet(path, out var v) && v.Number is { } d ? d : throw new KeyNotFoundException(path);

    public static WorkloadGraph Llama(string model, Phase phase, long batch, long seqOrContext) =>
        ModelBuilderRegistry.Default.Build(ModelConfigLoader.LoadNamed(model),
            phase == Phase.Decode ? WorkloadRequest.Decode(batch, seqOrContext) : WorkloadRequest.Prefill(batch, seqOrContext));

    public static ISchedule Schedule(string name) => name switch
    {
        "sequential" => new SequentialSchedule(),
        "dataflow" => new DataflowSchedule(auto: false),
        "auto" => new DataflowSchedule(auto: true),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    public static (SimulationResult Result, RunMetrics Metrics) Run(WorkloadGraph graph, IDeviceModel device, string schedule = "sequential")
    {
        var program = Schedule(schedule).Map(graph, device);
        var result = new Simulator(program, device).Run();
        return (result, MetricsCalculator.Compute(result, device));
    }

    public static double Seconds(WorkloadGraph graph, IDeviceModel device, string schedule = "sequential") =>
        Run(graph, device, schedule).Metrics.LatencyS;

    /// <summary>Bytes the run moved over channels that leave the chip.</summary>
    public static long OffChipBytes(SimulationResult result, IDeviceModel device)
    {
        long total = 0;
        for (var c = 0; c < device.Topology.Channels.Count; c++)
            if (device.Topology.Channels[c].OffChip) total += result.ChannelBytes[c];
        return total;
    }
}
