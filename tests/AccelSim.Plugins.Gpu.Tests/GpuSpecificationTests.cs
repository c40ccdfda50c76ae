using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins;
using AccelSim.Plugins.Specification;

namespace AccelSim.Plugins.Gpu.Tests;

/// <summary>The plugin laws on every bundled GPU.</summary>
public sealed class GpuSpecificationTests : DevicePluginSpecification
{
    protected override IDevicePlugin Plugin { get; } = new GpuPlugin();

    protected override IReadOnlyList<HardwareConfig> Configs { get; } = GpuTestSupport.BundledGpus.Select(GpuTestSupport.Load).ToArray();

    // HBM, and the L2 (its bandwidth is bytes per clock per SM).
    protected override IReadOnlyList<string> BandwidthPaths(HardwareConfig config) =>
        ["memory.hbm.bandwidth_Bps", "memory.l2.bytes_per_clock_per_sm"];

    protected override IReadOnlyList<string> PeakFlopsPaths(HardwareConfig config) =>
        GpuSpec.ConfigDTypes.Select(d => $"compute.{d.Name()}.peak_flops").Where(config.Contains).ToArray();
}
