using AccelSim.Core.Config;

namespace AccelSim.Core.Tests;

/// <summary>Strict binding: every value of a hardware config must be asked for by a binder.</summary>
public class StrictConfigTests
{
    private static HardwareConfig Config(params (string Path, double Value)[] values) =>
        new("toy", "fake", "toy.json", values.Select(v => KeyValuePair.Create(v.Path, ConfigValue.Of(v.Value))),
            new Dictionary<string, string> { ["shared.x"] = "family.json" });

    [Fact]
    public void A_value_no_binder_asked_for_is_an_unknown_key_naming_the_nearest_known_paths()
    {
        var c = Config(("memory.hbm.bandwidth_Bps", 1), ("memory.hbm.bandwith_Bps", 2));
        var b = new ConfigBinder(c);
        b.Number("memory.hbm.bandwidth_Bps");
        b.OptionalNumber("memory.hbm.capacity_bytes", 0);
        var p = Assert.Single(c.WithUnknownKeys(b.Problems));
        Assert.Equal("memory.hbm.bandwith_Bps", p.Path);
        Assert.Equal("toy.json", p.File);
        Assert.Contains("unknown key", p.Message);
        Assert.Contains("did you mean memory.hbm.bandwidth_Bps", p.Message);
    }

    [Fact]
    public void Asking_for_an_absent_optional_path_makes_it_a_suggestion()
    {
        var c = Config(("compute.tensor_peak_clock_Mhz", 1830));
        c.TryGet("compute.tensor_peak_clock_MHz", out _);
        var p = Assert.Single(c.WithUnknownKeys([]));
        Assert.Contains("did you mean compute.tensor_peak_clock_MHz", p.Message);
    }

    [Fact]
    public void A_misspelt_required_key_replaces_its_missing_problem()
    {
        var c = Config(("compute.sm_cout", 132));
        var b = new ConfigBinder(c);
        b.Integer("compute.sm_count", 1);
        var p = Assert.Single(c.WithUnknownKeys(b.Problems));
        Assert.Equal("compute.sm_cout", p.Path);
        Assert.Contains("compute.sm_count (required, missing)", p.Message);
    }

    [Fact]
    public void Documentation_comments_and_provenance_are_never_unknown()
    {
        var c = new HardwareConfig("toy", "fake", "toy.json", new Dictionary<string, ConfigValue>
        {
            ["memory.source"] = ConfigValue.Of("datasheet"),
            ["memory.hbm.bandwidth_Bps_source"] = ConfigValue.Of("datasheet"),
            ["_comment"] = ConfigValue.Of("note"),
            ["memory._note"] = ConfigValue.Of("note"),
            ["provenance.datasheet"] = ConfigValue.Of("H100"),
            ["provenance.items[0].rev"] = ConfigValue.Of(2),
            ["compute.sm_count_provenance"] = ConfigValue.Of("table 1"),
            ["compute.notes"] = ConfigValue.Of("n"),
        });
        Assert.Empty(c.WithUnknownKeys([]));
        Assert.False(HardwareConfig.IsAnnotation("compute.sm_count"));
        Assert.False(HardwareConfig.IsAnnotation("memory.provenances"));
    }

    [Fact]
    public void A_bad_override_is_reported_against_the_set_and_a_family_value_against_its_file()
    {
        var c = Config(("memory.hbm.bandwidth_Bps", 1), ("shared.x", 2)).With([new("memory.hbm.bandwidth_Bps", "-1")]);
        var b = new ConfigBinder(c);
        b.Positive("memory.hbm.bandwidth_Bps");
        b.Number("shared.x", 0, 1);
        Assert.Equal([RequestParameter.Overrides, "family.json"], b.Problems.Select(p => p.File));
        Assert.Equal("toy.json", c.OriginOf("memory.hbm.capacity_bytes"));
    }

    [Fact]
    public void A_binder_of_its_own_file_type_reports_problems_and_unknown_keys_together()
    {
        var c = Config(("links.bandwidth_Bps", -1), ("links.latncy_s", 1e-6));
        var b = new ConfigBinder(c);
        b.Positive("links.bandwidth_Bps");
        b.OptionalNumber("links.latency_s", 0);
        var e = Assert.Throws<InputException>(b.ThrowIfInvalidOrUnknown);
        Assert.Equal(["links.bandwidth_Bps", "links.latncy_s"], e.Problems.Select(p => p.Path));
        Assert.Contains("did you mean links.latency_s", e.Problems[1].Message);

        var clean = Config(("links.bandwidth_Bps", 1));
        var ok = new ConfigBinder(clean);
        ok.Positive("links.bandwidth_Bps");
        ok.ThrowIfInvalidOrUnknown();
    }

    [Theory]
    [InlineData("h1OO", "h100")]
    [InlineData("LLAMA2-7b", "llama2-7b")]
    [InlineData("wse", "wse2")]
    public void Nearest_names_are_found_case_insensitively(string wanted, string expected)
    {
        string[] known = ["a100-80g", "h100", "h200", "llama2-7b", "llama2-13b", "wse2", "wse3"];
        Assert.Equal(expected, NearestNames.Find(known, wanted)[0]);
    }

    [Fact]
    public void Distance_is_the_edit_distance()
    {
        Assert.Equal(0, NearestNames.Distance("abc", "abc"));
        Assert.Equal(1, NearestNames.Distance("abc", "abd"));
        Assert.Equal(3, NearestNames.Distance("", "abc"));
        Assert.Equal(2, NearestNames.Distance("bandwith", "bandwidth_") );
    }
}
