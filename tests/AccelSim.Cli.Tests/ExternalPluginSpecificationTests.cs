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

/// <summary>docs/plugins.md's example config is one the external test plugin runs, fully tagged.</summary>
public class PluginDocsTests
{
    [Fact]
    public void TheDocumentedConfigRunsOnTheTestPlugin()
    {
        var doc = File.ReadAllText(CliHarness.RepoFile("docs/plugins.md")).Replace("\r\n", "\n");
        var start = doc.IndexOf("```json\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/plugins.md has no JSON example");
        start += "```json\n".Length;
        var json = doc[start..doc.IndexOf("\n```", start, StringComparison.Ordinal)];
        var dir = Directory.CreateTempSubdirectory("accelsim-plugin-doc");
        try
        {
            var path = Path.Combine(dir.FullName, "toy.json");
            File.WriteAllText(path, json);
            var config = HardwareConfigLoader.Load(path);
            Assert.All(config.NumericPaths(), p => Assert.NotNull(config.TagOf(p)));
            var run = CliHarness.Run("--plugins", CliHarness.TestPluginFolder(), "op", "matmul", "--m", "64", "--n", "64", "--k", "64",
                "--hardware", path, "--format", "json");
            Assert.True(run.ExitCode == 0, run.Error);
            Assert.Contains("\"kind\": \"toy\"", run.Out);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
