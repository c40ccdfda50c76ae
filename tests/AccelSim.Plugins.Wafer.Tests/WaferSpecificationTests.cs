using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins;
using AccelSim.Plugins.Specification;

namespace AccelSim.Plugins.Wafer.Tests;

/// <summary>The plugin laws on every bundled wafer.</summary>
public sealed class WaferSpecificationTests : DevicePluginSpecification
{
    protected override IDevicePlugin Plugin { get; } = new WaferPlugin();

    protected override IReadOnlyList<HardwareConfig> Configs { get; } = WaferTestSupport.BundledWafers.Select(WaferTestSupport.Load).ToArray();

    protected override IReadOnlyList<string> BandwidthPaths(HardwareConfig config) =>
        ["memory.sram.bandwidth_Bps", "mesh.link_bandwidth_Bps", "mesh.fabric_bandwidth_Bps", "memory.memoryx.bandwidth_Bps"];

    // A zero peak marks an unsupported type; scaling leaves it zero.
    protected override IReadOnlyList<string> PeakFlopsPaths(HardwareConfig config) =>
        WaferSpec.ConfigDTypes.Select(d => $"compute.{d.Name()}.peak_flops").Where(config.Contains).ToArray();
}
