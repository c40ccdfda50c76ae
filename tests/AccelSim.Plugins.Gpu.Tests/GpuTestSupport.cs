using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using AccelSim.Workloads.Configs;

namespace AccelSim.Plugins.Gpu.Tests;

internal static class GpuTestSupport
{
    public static readonly string[] BundledGpus = ["h100", "h200", "a100-80g", "rtx4090", "v100"];

    public static HardwareConfig Load(string name) => HardwareConfigLoader.LoadNamed(name);

    public static GpuDeviceModel Model(string name) => (GpuDeviceModel)new GpuPlugin().Create(Load(name));

    public static GpuDeviceModel Model(HardwareConfig config) => (GpuDeviceModel)new GpuPlugin().Create(config);

    public static HardwareConfig With(this HardwareConfig config, params (string Path, double Value)[] values) =>
        config.With(values.Select(v => new KeyValuePair<string, string>(v.Path, v.Value.ToString("R", CultureInfo.InvariantCulture))));

    public static HardwareConfig Without(this HardwareConfig config, params string[] paths) =>
        new(config.Name, config.Kind, config.File, config.Values.Where(kv => !paths.Contains(kv.Key)));

    public static double Number(this HardwareConfig config, string path) =>
        config.TryGet(path, out var v) && v.Number is { } d ? d : throw new KeyNotFoundException(path);

    /// <summary>Seconds the simulator takes for a graph on the device (sequential schedule).</summary>
    public static double Seconds(WorkloadGraph graph, GpuDeviceModel device) =>
        Ps.ToSeconds(new Simulator(new SequentialSchedule().Map(graph, device), device).Run().MakespanPs);
}
