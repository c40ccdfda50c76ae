using AccelSim.Core.Config;
using AccelSim.Core.Plugins;
using Microsoft.Extensions.DependencyInjection;

namespace AccelSim.Plugins.Fpga.Tests;

public class FpgaConfigBindingTests
{
    [Fact]
    public void MissingFieldIsReportedWithItsPathAndFile()
    {
        var config = FpgaTestSupport.Load("u280").Without("memory.hbm.bandwidth_Bps");
        var e = Assert.Throws<InputException>(() => new FpgaPlugin().Create(config));
        var p = Assert.Single(e.Problems);
        Assert.Equal("memory.hbm.bandwidth_Bps", p.Path);
        Assert.Contains("missing", p.Message);
        Assert.Equal(config.File, p.File);
    }

    [Fact]
    public void EveryProblemIsReportedAtOnce()
    {
        var config = FpgaTestSupport.Load("u280")
            .Without("compute.dsp_count", "compute.macs_per_dsp_per_cycle.int8")
            .With(("compute.dsp_chain_efficiency", 1.5), ("memory.hbm.achievable_fraction", 0))
            .WithText("placement.weights", "nvme");
        var e = Assert.Throws<InputException>(() => new FpgaPlugin().Create(config));
        Assert.Equal(
            new[] { "compute.dsp_count", "compute.macs_per_dsp_per_cycle.int8", "compute.dsp_chain_efficiency", "memory.hbm.achievable_fraction", "placement.weights" }.Order(),
            e.Problems.Select(p => p.Path!).Order());
        Assert.Contains(e.Problems, p => p.Path == "placement.weights" && p.Message.Contains("hbm, ddr"));
    }

    [Fact]
    public void AchievedClockAboveTheMaximumIsRejected()
    {
        var config = FpgaTestSupport.Load("u280").With(("compute.clock_Hz", 1e9));
        var e = Assert.Throws<InputException>(() => new FpgaPlugin().Create(config));
        var p = Assert.Single(e.Problems);
        Assert.Equal("compute.clock_Hz", p.Path);
        Assert.Contains("max_clock_Hz", p.Message);
    }

    [Fact]
    public void PowerAboveTheBoardLimitIsRejected()
    {
        var config = FpgaTestSupport.Load("u280").With(("power.design_W", 500.0));
        var e = Assert.Throws<InputException>(() => new FpgaPlugin().Create(config));
        Assert.Equal("power.design_W", Assert.Single(e.Problems).Path);
    }

    [Fact]
    public void BundledConfigsBindWithTheirDatasheetNumbers()
    {
        var u280 = FpgaTestSupport.Model("u280").Spec;
        Assert.Equal(9024, u280.DspCount);
        Assert.Equal(460e9, u280.HbmBandwidthBps);
        Assert.Equal(38.4e9, u280.DdrBandwidthBps);
        Assert.Equal(8L << 30, u280.HbmCapacityBytes);
        Assert.True(u280.ClockHz < u280.MaxClockHz);
        var vhk = FpgaTestSupport.Model("vhk158").Spec;
        Assert.Equal(819e9, vhk.HbmBandwidthBps);
        Assert.Equal(32L << 30, vhk.HbmCapacityBytes);
        Assert.True(vhk.MacsPerDspPerCycle[AccelSim.Core.Graph.DType.Int8] > u280.MacsPerDspPerCycle[AccelSim.Core.Graph.DType.Int8]);
    }

    [Fact]
    public void EveryNumberInTheBundledConfigsHasASource()
    {
        foreach (var name in FpgaTestSupport.BundledFpgas.Append("v100s"))
        {
            var config = FpgaTestSupport.Load(name);
            foreach (var (path, value) in config.Values)
            {
                if (HardwareConfig.IsDocumentation(path) || value.Number is null) continue;
                // A number is documented by a source on itself, on an ancestor object or a sibling block.
                var parts = path.Split('.');
                var documented = false;
                for (var i = parts.Length; i >= 0 && !documented; i--)
                {
                    var prefix = string.Join('.', parts.Take(i));
                    var p = prefix.Length == 0 ? "" : prefix + ".";
                    documented = config.Contains(p + "source") || config.Contains(path + "_source")
                        || config.Values.Keys.Any(k => k.StartsWith(p, StringComparison.Ordinal) && k.EndsWith("_source", StringComparison.Ordinal) && k.Count(c => c == '.') == (prefix.Length == 0 ? 0 : prefix.Count(c => c == '.') + 1));
                }
                Assert.True(documented, $"{name}: {path} has no source");
            }
        }
    }

    [Fact]
    public void PluginRegistersThroughDependencyInjection()
    {
        var services = new ServiceCollection().AddAccelSimCore().AddFpgaPlugin().BuildServiceProvider();
        var registry = services.GetRequiredService<PluginRegistry>();
        var device = registry.Create(FpgaTestSupport.Load("u280"));
        Assert.Equal("fpga", device.Kind);
        Assert.Contains(new FpgaPlugin().Descriptor.Parameters, p => p.Path == "compute.dsp_chain_length");
    }
}
