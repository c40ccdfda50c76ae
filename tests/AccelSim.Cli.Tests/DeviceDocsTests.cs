using System.Text.RegularExpressions;
using AccelSim.Core.Config;
using AccelSim.Workloads.Configs;

namespace AccelSim.Cli.Tests;

/// <summary>The device pages (docs/devices/&lt;kind&gt;.md) name every numeric key the bundled configs of
/// their kind give. Rule: the full dotted key (<c>memory.hbm.bandwidth_Bps</c>) appears verbatim in the
/// page; array elements are named without their index (<c>gemm.tiles[0].m</c> as <c>gemm.tiles</c>).
/// A GPU product is read merged over its family file, so family keys count too.</summary>
public partial class DeviceDocsTests
{
    public static TheoryData<string> Kinds => new() { "gpu", "fpga", "wafer", "rdu" };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EveryNumericConfigKeyOfTheKindIsOnItsDevicePage(string kind)
    {
        var page = $"docs/devices/{kind}.md";
        var text = File.ReadAllText(CliHarness.RepoFile(page));
        Assert.True(ConfigKeys(kind).Count > 0, $"no bundled hardware config of kind '{kind}' in {BundledConfigs.HardwareDir}");

        var missing = Missing(kind, text);
        Assert.True(missing.Count == 0,
            $"{page} does not name {missing.Count} key(s) that bundled '{kind}' configs give: {string.Join(", ", missing)}");
    }

    [Fact]
    public void TheKeySetCoversFamilyFilesAndStripsIndicesAndSources()
    {
        var gpu = ConfigKeys("gpu");
        // From families/hopper.json, not from any product file.
        Assert.Contains("power.dvfs.alpha", gpu);
        Assert.Contains("gemm.tiles", gpu);
        Assert.DoesNotContain(gpu, k => k.Contains('[', StringComparison.Ordinal));
        Assert.DoesNotContain(gpu, k => k.EndsWith("source", StringComparison.Ordinal));
        // Strings and flags are not numeric keys.
        Assert.DoesNotContain("placement.weights", ConfigKeys("fpga"));
        Assert.DoesNotContain("compute.sparse_dsp_chain", ConfigKeys("fpga"));
    }

    [Fact]
    public void TheCheckFindsAKeyThePageDoesNotName()
    {
        // The check itself: a page that loses a key the configs give no longer passes, and that key is named.
        var page = File.ReadAllText(CliHarness.RepoFile("docs/devices/rdu.md"));
        Assert.DoesNotContain("links.p2p.latency_s", Missing("rdu", page));
        var without = page.Replace("links.p2p.latency_s", "links.p2p.latency", StringComparison.Ordinal);
        Assert.Equal(new[] { "links.p2p.latency_s" }, Missing("rdu", without));
    }

    /// <summary>Keys of <paramref name="kind"/> that <paramref name="pageText"/> does not name.</summary>
    private static List<string> Missing(string kind, string pageText) =>
        ConfigKeys(kind).Where(k => !pageText.Contains(k, StringComparison.Ordinal)).ToList();

    /// <summary>Numeric keys of every bundled hardware config of <paramref name="kind"/>, documentation
    /// keys left out and array indices stripped.</summary>
    private static SortedSet<string> ConfigKeys(string kind)
    {
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in BundledConfigs.Names(BundledConfigs.HardwareDir))
        {
            var config = HardwareConfigLoader.LoadNamed(name);
            if (config.Kind != kind) continue;
            foreach (var (key, value) in config.Values)
            {
                if (value.Number is null || HardwareConfig.IsDocumentation(key)) continue;
                keys.Add(Index().Replace(key, ""));
            }
        }
        return keys;
    }

    [GeneratedRegex(@"\[\d+\](\.[^.\[]+)*$")]
    private static partial Regex Index();

}
