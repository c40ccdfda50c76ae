using AccelSim.Core.Config;
using AccelSim.Core.Plugins;
using Microsoft.Extensions.DependencyInjection;

namespace AccelSim.Plugins.Wafer.Tests;

public class WaferConfigBindingTests
{
    [Fact]
    public void MissingFieldIsReportedWithItsPath()
    {
        var config = WaferTestSupport.Load("wse2").Without("mesh.hop_latency_s");
        var e = Assert.Throws<InputException>(() => new WaferPlugin().Create(config));
        var p = Assert.Single(e.Problems);
        Assert.Equal("mesh.hop_latency_s", p.Path);
        Assert.Contains("missing", p.Message);
        Assert.Equal(config.File, p.File);
    }

    [Fact]
    public void EveryProblemIsReportedAtOnce()
    {
        var config = WaferTestSupport.Load("wse2")
            .Without("memory.sram.bandwidth_Bps", "compute.fp16.peak_flops")
            .With(("memory.sram.resident_fraction", 1.5), ("mesh.link_bandwidth_Bps", -1.0));
        var e = Assert.Throws<InputException>(() => new WaferPlugin().Create(config));
        Assert.Equal(
            new[] { "compute.fp16.peak_flops", "memory.sram.bandwidth_Bps", "memory.sram.resident_fraction", "mesh.link_bandwidth_Bps" },
            e.Problems.Select(p => p.Path).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void MeshLargerThanTheCoreCountIsRejected()
    {
        var config = WaferTestSupport.Load("wse2").With(("mesh.width", 2000.0));
        var e = Assert.Throws<InputException>(() => new WaferPlugin().Create(config));
        var p = Assert.Single(e.Problems);
        Assert.Equal("mesh.width", p.Path);
        Assert.Contains("compute.cores", p.Message);
    }

    [Theory]
    [InlineData("wse2")]
    [InlineData("wse3")]
    public void BundledConfigsBindWithTheirDatasheetFigures(string name)
    {
        var device = WaferTestSupport.Model(name);
        Assert.Equal("wafer", device.Kind);
        Assert.Equal(name, device.Name);
        Assert.Equal("sram", device.Topology.Channels[device.MainMemoryChannel].Name);
        Assert.True(device.Topology.Channels.Single(c => c.Name == "memoryx").OffChip);
        Assert.False(device.Topology.Channels.Single(c => c.Name == "fabric").OffChip);
        // The fabric is a link: it holds nothing, so there is no fabric tier.
        Assert.True(device.Topology.Channels.Single(c => c.Name == "fabric").IsLink);
        Assert.Equal(["sram", "memoryx"], device.Topology.Tiers.Select(t => t.Name).ToArray());
        // Per-core SRAM is about 48 KB on both wafers (datasheet totals over the core counts).
        Assert.InRange(device.Spec.SramPerCoreBytes, 44_000, 52_000);
        Assert.True(device.StaticPowerW > 0);
    }

    [Fact]
    public void EveryParameterTheDescriptorListsIsInTheBundledConfigs()
    {
        foreach (var name in WaferTestSupport.BundledWafers)
        {
            var config = WaferTestSupport.Load(name);
            foreach (var p in new WaferPlugin().Descriptor.Parameters.Where(p => p.Required))
                Assert.True(config.Contains(p.Path), $"{name} lacks {p.Path}");
        }
    }

    [Fact]
    public void AddWaferPluginRegistersTheWaferKind()
    {
        using var provider = new ServiceCollection().AddAccelSimCore().AddWaferPlugin().BuildServiceProvider();
        var registry = provider.GetRequiredService<PluginRegistry>();
        var device = registry.Create(WaferTestSupport.Load("wse3"));
        Assert.IsType<WaferDeviceModel>(device);
    }
}
