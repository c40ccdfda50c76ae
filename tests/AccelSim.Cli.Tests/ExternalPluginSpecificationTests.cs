using AccelSim.Cli.Hosting;
using AccelSim.Core.Config;
using AccelSim.Core.Plugins;
using AccelSim.Plugins.Specification;
using AccelSim.Workloads.Configs;

namespace AccelSim.Cli.Tests;

/// <summary>The plugin laws on the external test plugin, loaded from its folder the way
/// <c>--plugins</c> loads it (its own load context).</summary>
public sealed class ExternalPluginSpecificationTests : DevicePluginSpecification
{
    private static readonly Lazy<IDevicePlugin> Toy = new(() =>
    {
        var registry = new PluginRegistry([]);
        var loaded = ExternalPlugins.LoadFrom(CliHarness.TestPluginFolder(), registry);
        Assert.True(loaded == 1 && registry.LoadErrors.Count == 0, $"loaded {loaded} plugins: {string.Join("; ", registry.LoadErrors)}");
        return registry.Plugins.Single(p => p.Kind == "toy");
    });

    protected override IDevicePlugin Plugin => Toy.Value;

    protected override IReadOnlyList<HardwareConfig> Configs { get; } = [HardwareConfigLoader.Load(CliHarness.TestData("toy.json"))];

    protected override IReadOnlyList<string> BandwidthPaths(HardwareConfig config) => ["memory.dram.bandwidth_Bps"];

    protected override IReadOnlyList<string> PeakFlopsPaths(HardwareConfig config) => ["compute.peak_flops"];
}
