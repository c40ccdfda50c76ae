using AccelSim.Core.Config;
using AccelSim.Core.Plugins;
using AccelSim.Plugins.Specification;

namespace AccelSim.Plugins.Fpga.Tests;

/// <summary>The plugin laws on every bundled FPGA.</summary>
public sealed class FpgaSpecificationTests : DevicePluginSpecification
{
    protected override IDevicePlugin Plugin { get; } = new FpgaPlugin();

    protected override IReadOnlyList<HardwareConfig> Configs { get; } = FpgaTestSupport.BundledFpgas.Select(FpgaTestSupport.Load).ToArray();

    // The law raises each bandwidth at most 4x: DDR stays below 180 GB/s, where docs/devices/fpga.md
    // (Limits) states it (faster DDR offload copies can slow overlapped kernels by fair sharing).
    protected override IReadOnlyList<string> BandwidthPaths(HardwareConfig config) =>
        ["memory.hbm.bandwidth_Bps", "memory.ddr.bandwidth_Bps", "memory.sram.bandwidth_Bps"];

    // The peak is DSPs times clock times operations per DSP: the law adds DSPs.
    protected override IReadOnlyList<string> PeakFlopsPaths(HardwareConfig config) => ["compute.dsp_count"];

    protected override HardwareConfig ScalePeakFlops(HardwareConfig config, double factor) =>
        Set(config, ("compute.dsp_count", Math.Round(Number(config, "compute.dsp_count") * factor)));
}
