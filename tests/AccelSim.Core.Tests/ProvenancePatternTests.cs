using AccelSim.Core.Config;
using FsCheck.Xunit;

namespace AccelSim.Core.Tests;

public class ProvenancePatternTests
{
    private static Dictionary<string, ParameterSource> Resolve(string[] paths, (string, ParameterSource)[] patterns, List<string>? problems = null) =>
        ParameterSources.Resolve(paths, patterns.Select(p => new KeyValuePair<string, ParameterSource>(p.Item1, p.Item2)).ToArray(),
            (pattern, message) => problems?.Add(pattern + ": " + message));

    [Fact]
    public void TheMostSpecificPatternWins()
    {
        var tags = Resolve(
            ["compute.bf16.peak_flops", "compute.sm_count", "gemm.tiles[0].m", "gemm.tiles[0].efficiency", "power.static_W", "power.cap_W"],
            [("compute", ParameterSource.Estimate), ("compute.*.peak_flops", ParameterSource.Datasheet),
             ("gemm.tiles", ParameterSource.Fitted), ("gemm.tiles[*].m", ParameterSource.Datasheet),
             ("power", ParameterSource.Datasheet), ("power.static_W", ParameterSource.Measured)]);
        Assert.Equal(ParameterSource.Datasheet, tags["compute.bf16.peak_flops"]);
        Assert.Equal(ParameterSource.Estimate, tags["compute.sm_count"]);
        Assert.Equal(ParameterSource.Datasheet, tags["gemm.tiles[0].m"]);
        Assert.Equal(ParameterSource.Fitted, tags["gemm.tiles[0].efficiency"]);
        Assert.Equal(ParameterSource.Measured, tags["power.static_W"]);
        Assert.Equal(ParameterSource.Datasheet, tags["power.cap_W"]);
    }

    [Fact]
    public void UnusedAndConflictingPatternsAreProblemsAndUncoveredFieldsStayUntagged()
    {
        var problems = new List<string>();
        var tags = Resolve(["a.x.v", "b.w"],
            [("a.*.v", ParameterSource.Estimate), ("a.x.*", ParameterSource.Fitted), ("c", ParameterSource.Datasheet)], problems);
        Assert.Contains(problems, p => p.StartsWith("c: covers no numeric field", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("as specific as", StringComparison.Ordinal));
        Assert.False(tags.ContainsKey("b.w"));
    }

    [Property]
    public bool AnExactPathAlwaysBeatsItsSection(bool sectionFirst)
    {
        (string, ParameterSource)[] patterns = sectionFirst
            ? [("memory", ParameterSource.Estimate), ("memory.hbm.bandwidth_Bps", ParameterSource.Datasheet)]
            : [("memory.hbm.bandwidth_Bps", ParameterSource.Datasheet), ("memory", ParameterSource.Estimate)];
        return Resolve(["memory.hbm.bandwidth_Bps"], patterns)["memory.hbm.bandwidth_Bps"] == ParameterSource.Datasheet;
    }

    [Fact]
    public void OverridesKeepTagsAndAreRecorded()
    {
        var config = new HardwareConfig("x", "gpu", null, [new("a.b", ConfigValue.Of(1.0))])
        {
            Tags = new Dictionary<string, ParameterSource> { ["a.b"] = ParameterSource.Fitted },
        };
        var set = config.With([new("a.b", "2")]);
        Assert.True(set.Modified);
        Assert.Equal(ParameterSource.Fitted, set.TagOf("a.b"));
        Assert.Equal("a.b", Assert.Single(set.Overrides).Key);
        var moved = config.WithNumbers([new("a.b", 3.0)]);
        Assert.False(moved.Modified);
        Assert.Equal(3.0, moved.Values["a.b"].Number);
        Assert.Throws<ArgumentException>(() => config.WithNumbers([new("a.c", 3.0)]));
    }
}
