using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins;
using AccelSim.Workloads;
using AccelSim.Workloads.Configs;
using Microsoft.Extensions.DependencyInjection;

namespace AccelSim.Plugins.Rdu.Tests;

public class RduConfigBindingTests
{
    [Fact]
    public void MissingFieldIsReportedWithItsPath()
    {
        var config = RduTestSupport.Load("sn40l").Without("memory.ddr.bandwidth_Bps");
        var e = Assert.Throws<InputException>(() => new RduPlugin().Create(config));
        var p = Assert.Single(e.Problems);
        Assert.Equal("memory.ddr.bandwidth_Bps", p.Path);
        Assert.Contains("missing", p.Message);
        Assert.Equal(config.File, p.File);
    }

    [Fact]
    public void EveryProblemIsReportedAtOnce()
    {
        var config = RduTestSupport.Load("sn40l-8")
            .Without("compute.pcu_count", "kernel.launch_s")
            .With(("memory.sram.buffer_fraction", 1.5), ("compute.bf16.peak_flops", -1.0), ("node.sockets", 2.5));
        var e = Assert.Throws<InputException>(() => new RduPlugin().Create(config));
        Assert.Equal(
            new[] { "compute.bf16.peak_flops", "compute.pcu_count", "kernel.launch_s", "memory.sram.buffer_fraction", "node.sockets" },
            e.Problems.Select(p => p.Path).Order(StringComparer.Ordinal).ToArray());
        // A value given by an override is reported against it (as a --set is); a missing one against the file.
        string[] overridden = ["compute.bf16.peak_flops", "memory.sram.buffer_fraction", "node.sockets"];
        Assert.All(e.Problems, p => Assert.Equal(overridden.Contains(p.Path) ? RequestParameter.Overrides : config.File, p.File));
    }

    [Fact]
    public void DescriptorListsEveryBoundKeyOfTheBundledConfigs()
    {
        var described = new RduPlugin().Descriptor.Parameters.Select(p => p.Path).ToHashSet(StringComparer.Ordinal);
        foreach (var name in RduTestSupport.BundledRdus)
        {
            var keys = RduTestSupport.Load(name).Values.Keys.Where(k => !HardwareConfig.IsDocumentation(k)).ToHashSet(StringComparer.Ordinal);
            Assert.Empty(keys.Except(described));
            Assert.Empty(described.Except(keys));
        }
    }

    [Fact]
    public void EveryNumberInTheBundledConfigsHasASource()
    {
        foreach (var name in RduTestSupport.BundledRdus)
        {
            var config = RduTestSupport.Load(name);
            foreach (var key in config.Values.Keys.Where(k => !HardwareConfig.IsDocumentation(k)))
            {
                // A source sits beside the value or beside one of its parents (the file's top-level
                // source does not count).
                var parts = key.Split('.');
                var found = false;
                for (var i = parts.Length; i >= 2 && !found; i--)
                {
                    var prefix = string.Join('.', parts.Take(i - 1));
                    var sibling = prefix.Length == 0 ? "" : prefix + ".";
                    found = config.Values.Keys.Any(k => HardwareConfig.IsDocumentation(k) && k.StartsWith(sibling, StringComparison.Ordinal)
                        && !k[sibling.Length..].Contains('.'));
                }
                Assert.True(found, $"{name}: {key} has no source");
            }
        }
    }

    [Fact]
    public void NodeResourcesAreSocketsTimesOneSocket()
    {
        var one = RduTestSupport.Model("sn40l");
        var node = RduTestSupport.Model("sn40l-8");
        Assert.Equal(1, one.Spec.Sockets);
        Assert.Equal(8, node.Spec.Sockets);
        Assert.Equal(638e12, one.PeakFlops(DType.Bf16));
        Assert.Equal(8 * 638e12, node.PeakFlops(DType.Bf16));
        Assert.Equal(1040, one.Pcus);
        Assert.Equal(8 * 1040, node.Pcus);
        for (var c = 0; c < one.Topology.Channels.Count; c++)
        {
            // The peer links carry what one socket sends; every memory channel scales with the sockets.
            var factor = one.Topology.Channels[c].IsLink ? 1 : 8;
            Assert.Equal(factor * one.Topology.Channels[c].Bandwidth_Bps, node.Topology.Channels[c].Bandwidth_Bps, 6);
        }
        for (var t = 0; t < one.Topology.Tiers.Count; t++)
            Assert.Equal(8 * one.Topology.Tiers[t].CapacityBytes, node.Topology.Tiers[t].CapacityBytes);
        Assert.Equal(8 * one.StaticPowerW, node.StaticPowerW, 9);
        Assert.Equal(64L << 30, one.Topology.Tiers[one.Topology.TierIndex("hbm")].CapacityBytes);
        Assert.Equal(520L << 20, one.Topology.Tiers[one.Topology.TierIndex("sram")].CapacityBytes);
        Assert.Equal(["p2p"], one.Topology.Channels.Where(c => c.IsLink).Select(c => c.Name).ToArray());
        Assert.Equal(["hbm", "sram", "ddr"], one.Topology.Tiers.Select(t => t.Name).ToArray());
    }

    [Fact]
    public void UnsupportedDtypesArePromoted()
    {
        var d = RduTestSupport.Model("sn40l");
        Assert.Equal(DType.Bf16, d.ComputeDType(SingleOps.MatMul(64, 64, 64, DType.Fp8).Ops[0]));
        Assert.Equal(DType.Bf16, d.ComputeDType(SingleOps.MatMul(64, 64, 64, DType.Int4).Ops[0]));
        Assert.Equal(DType.Fp32, d.ComputeDType(SingleOps.MatMul(64, 64, 64, DType.Tf32).Ops[0]));
        var noFp32 = RduTestSupport.Model(RduTestSupport.Load("sn40l").With(("compute.fp32.peak_flops", 0.0)));
        Assert.Equal(DType.Bf16, noFp32.ComputeDType(SingleOps.MatMul(64, 64, 64, DType.Fp32).Ops[0]));
    }

    [Fact]
    public void RegistersThroughDependencyInjection()
    {
        using var sp = new ServiceCollection().AddAccelSimCore().AddRduPlugin().BuildServiceProvider();
        var registry = sp.GetRequiredService<PluginRegistry>();
        var device = registry.Create(HardwareConfigLoader.LoadNamed("sn40l-8"));
        Assert.IsType<RduDeviceModel>(device);
        Assert.Equal("rdu", device.Kind);
        Assert.Equal("sn40l-8", device.Name);
    }
}
