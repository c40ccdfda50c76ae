using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;

namespace AccelSim.Plugins.Fpga.Tests;

internal static class FpgaTestSupport
{
    public static readonly string[] BundledFpgas = ["u280", "vhk158"];

    public static readonly string[] BundledModels = ["llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "llama3-70b", "mistral-7b"];

    public static HardwareConfig Load(string name) => HardwareConfigLoader.LoadNamed(name);

    public static FpgaDeviceModel Model(string name) => (FpgaDeviceModel)new FpgaPlugin().Create(Load(name));

    public static FpgaDeviceModel Model(HardwareConfig config) => (FpgaDeviceModel)new FpgaPlugin().Create(config);

    public static GpuDeviceModel Gpu(string name) => (GpuDeviceModel)new GpuPlugin().Create(Load(name));

    public static HardwareConfig With(this HardwareConfig config, params (string Path, double Value)[] values) =>
        config.With(values.Select(v => new KeyValuePair<string, string>(v.Path, v.Value.ToString("R", CultureInfo.InvariantCulture))));

    public static HardwareConfig WithText(this HardwareConfig config, string path, string value) =>
        config.With([new KeyValuePair<string, string>(path, value)]);

    public static HardwareConfig Without(this HardwareConfig config, params string[] paths) =>
        new(config.Name, config.Kind, config.File, config.Values.Where(kv => !paths.Contains(kv.Key)));

    public static double Number(this HardwareConfig config, string path) =>
        config.TryGet(path, out var v) && v.Number is { } d ? d : throw new KeyNotFoundException(path);

    public static ISchedule Schedule(string name) => name switch
    {
        "sequential" => new SequentialSchedule(),
        "dataflow" => new DataflowSchedule(auto: false),
        "auto" => new DataflowSchedule(auto: true),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    public static RunMetrics Run(WorkloadGraph graph, IDeviceModel device, string schedule = "sequential")
    {
        var program = Schedule(schedule).Map(graph, device);
        var result = new Simulator(program, device).Run();
        return MetricsCalculator.Compute(result, device);
    }

    public static double Seconds(WorkloadGraph graph, IDeviceModel device, string schedule = "sequential") =>
        Ps.ToSeconds(new Simulator(Schedule(schedule).Map(graph, device), device).Run().MakespanPs);

    public static WorkloadGraph Llama(string model, Phase phase, long batch, long seqOrContext)
    {
        var config = ModelConfigLoader.LoadNamed(model);
        var request = phase == Phase.Decode ? WorkloadRequest.Decode(batch, seqOrContext) : WorkloadRequest.Prefill(batch, seqOrContext);
        return ModelBuilderRegistry.Default.Build(config, request);
    }
}
