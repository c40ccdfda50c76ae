using AccelSim.Core.Config;

namespace AccelSim.Core.Tests;

public class ConfigTests
{
    private static HardwareConfig Sample() => new("toy", "fake", "configs/hardware/toy.json", new Dictionary<string, ConfigValue>
    {
        ["memory.hbm.bandwidth_Bps"] = ConfigValue.Of(3.35e12),
        ["memory.hbm.bandwidth_Bps_source"] = ConfigValue.Of("datasheet"),
        ["memory.hbm.capacity_bytes"] = ConfigValue.Of(80e9),
        ["compute.clock_Hz"] = ConfigValue.Of(1.98e9),
        ["compute.sms"] = ConfigValue.Of(132),
        ["compute.name"] = ConfigValue.Of("sm"),
        ["power.throttle"] = ConfigValue.Of(true),
        ["gemm.tiles[0].m"] = ConfigValue.Of(128),
        ["gemm.tiles[1].m"] = ConfigValue.Of(64),
    });

    [Fact]
    public void With_overrides_a_number_and_leaves_the_original_alone()
    {
        var original = Sample();
        var copy = original.With([new("memory.hbm.bandwidth_Bps", "2e12"), new("compute.sms", "114")]);
        Assert.True(copy.TryGet("memory.hbm.bandwidth_Bps", out var bw));
        Assert.Equal(2e12, bw.Number);
        Assert.Equal(114, copy.Values["compute.sms"].Number);
        Assert.Equal(3.35e12, original.Values["memory.hbm.bandwidth_Bps"].Number);
        Assert.Equal(original.Values.Count, copy.Values.Count);
        Assert.Equal("toy", copy.Name);
    }

    [Fact]
    public void With_overrides_flags_and_strings_keeping_their_type()
    {
        var copy = Sample().With([new("power.throttle", "false"), new("compute.name", "tensor")]);
        Assert.False(copy.Values["power.throttle"].Flag);
        Assert.Equal("tensor", copy.Values["compute.name"].Text);
        var ex = Assert.Throws<InputException>(() => Sample().With([new("power.throttle", "maybe")]));
        Assert.Contains("true or false", ex.Message);
    }

    [Fact]
    public void With_rejects_an_unknown_path_and_suggests_near_ones()
    {
        var ex = Assert.Throws<InputException>(() => Sample().With([new("memory.hbm.bandwith_Bps", "1")]));
        var p = Assert.Single(ex.Problems);
        Assert.Equal("memory.hbm.bandwith_Bps", p.Path);
        Assert.Equal(RequestParameter.Overrides, p.File);
        Assert.Contains("did you mean", p.Message);
        Assert.Contains("memory.hbm.bandwidth_Bps", p.Message);
        // Documentation keys are never suggested.
        Assert.DoesNotContain("_source", p.Message);
    }

    [Theory]
    [InlineData("fast")]
    [InlineData("")]
    [InlineData("NaN")]
    [InlineData("1,5")]
    public void With_rejects_a_non_number_for_a_number(string text)
    {
        var ex = Assert.Throws<InputException>(() => Sample().With([new("compute.clock_Hz", text)]));
        var p = Assert.Single(ex.Problems);
        Assert.Equal("compute.clock_Hz", p.Path);
        Assert.Contains("expected a number", p.Message);
    }

    [Fact]
    public void With_reports_every_bad_override_at_once()
    {
        var ex = Assert.Throws<InputException>(() => Sample().With([
            new("nope", "1"), new("compute.sms", "many"), new("compute.clock_Hz", "1e9"),
        ]));
        Assert.Equal(["nope", "compute.sms"], ex.Problems.Select(p => p.Path));
    }

    [Fact]
    public void Binder_reports_every_problem_with_its_path()
    {
        var binder = new ConfigBinder(Sample());
        Assert.Equal(3.35e12, binder.Positive("memory.hbm.bandwidth_Bps"));
        binder.Positive("memory.ddr.bandwidth_Bps");          // missing
        binder.Fraction("compute.sms");                       // 132 is not in [0, 1]
        binder.Number("compute.name");                        // a string, not a number
        binder.Integer("compute.clock_Hz", 0, 1000);          // out of range
        binder.Flag("compute.sms", false);                    // a number, not a flag
        Assert.Equal("sm", binder.Text("compute.name"));
        Assert.True(binder.Flag("power.throttle", false));
        Assert.Equal(7, binder.OptionalNumber("missing.value", 7));

        var ex = Assert.Throws<InputException>(binder.ThrowIfInvalid);
        Assert.Equal(
            ["memory.ddr.bandwidth_Bps", "compute.sms", "compute.name", "compute.clock_Hz", "compute.sms"],
            ex.Problems.Select(p => p.Path));
        Assert.All(ex.Problems, p => Assert.Equal("configs/hardware/toy.json", p.File));
        Assert.Contains("missing", ex.Problems[0].Message);
        Assert.Contains("in [0, 1]", ex.Problems[1].Message);
        Assert.Contains("\"sm\"", ex.Problems[2].Message);
        Assert.Contains("configs/hardware/toy.json: at memory.ddr.bandwidth_Bps:", ex.Message);
    }

    [Fact]
    public void Binder_with_no_problems_does_not_throw()
    {
        var binder = new ConfigBinder(Sample());
        binder.Positive("compute.clock_Hz");
        binder.Integer("compute.sms", 1);
        binder.ThrowIfInvalid();
        Assert.Empty(binder.Problems);
    }

    [Fact]
    public void Integer_rejects_fractions()
    {
        var cfg = new HardwareConfig("x", "fake", null, [new("n", ConfigValue.Of(2.5))]);
        var binder = new ConfigBinder(cfg);
        binder.Integer("n");
        Assert.Contains("whole number", Assert.Single(binder.Problems).Message);
    }

    [Fact]
    public void Children_and_arrays_are_listed_from_paths()
    {
        var cfg = Sample();
        Assert.Equal(["compute", "gemm", "memory", "power"], cfg.Children(""));
        Assert.Equal(["bandwidth_Bps", "bandwidth_Bps_source", "capacity_bytes"], cfg.Children("memory.hbm"));
        Assert.Equal(2, cfg.ArrayLength("gemm.tiles"));
        Assert.Equal(0, cfg.ArrayLength("gemm.shapes"));
        Assert.True(HardwareConfig.IsDocumentation("memory.hbm.bandwidth_Bps_source"));
        Assert.True(HardwareConfig.IsDocumentation("source"));
        Assert.False(HardwareConfig.IsDocumentation("memory.hbm.bandwidth_Bps"));
    }
}
