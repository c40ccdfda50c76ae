using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins;
using AccelSim.Plugins.Specification;

namespace AccelSim.Plugins.Rdu.Tests;

/// <summary>The plugin laws on every bundled RDU.</summary>
public sealed class RduSpecificationTests : DevicePluginSpecification
{
    protected override IDevicePlugin Plugin { get; } = new RduPlugin();

    protected override IReadOnlyList<HardwareConfig> Configs { get; } = RduTestSupport.BundledRdus.Select(RduTestSupport.Load).ToArray();

    protected override IReadOnlyList<string> BandwidthPaths(HardwareConfig config) =>
        ["memory.hbm.bandwidth_Bps", "memory.ddr.bandwidth_Bps", "memory.sram.pmu_bandwidth_Bps", "links.p2p.bandwidth_Bps"];

    protected override IReadOnlyList<string> PeakFlopsPaths(HardwareConfig config) =>
        RduSpec.ConfigDTypes.Select(d => $"compute.{d.Name()}.peak_flops").Where(config.Contains).ToArray();
}
