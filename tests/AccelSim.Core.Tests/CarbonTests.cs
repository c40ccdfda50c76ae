using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;

namespace AccelSim.Core.Tests;

public class CarbonTests
{
    private static RunMetrics Run(double energyJ, double latencyS, long tokens) => new(
        "dev", "gpu", new WorkloadInfo("w", "prefill", 1, tokens, 0, tokens), 1, "sequential", latencyS,
        tokens / latencyS, 0, 0, 0, 0,
        new EnergyMetrics(energyJ, 0, new Dictionary<string, double>(), energyJ),
        new MemoryMetrics(new Dictionary<string, long>(), new Dictionary<string, long>(), new Dictionary<string, long>(),
            new Dictionary<string, long>(), new Dictionary<string, long>()),
        new MemoryWallMetrics(0, 0, 0, 0, 0), []);

    [Fact]
    public void OperationalAndEmbodiedFollowTheDocumentedArithmetic()
    {
        // 3.6 MJ = 1 kWh; PUE 1.5; 400 g/kWh -> 600 g. 1 hour of a 100 kg / 10 year device -> 100e3 / 87660 g.
        var c = Carbon.Compute(Run(3.6e6, 3600, 1_000_000), new CarbonInputs(400, 1.5, 100, 10, "grid", "device"));
        Assert.Equal(600, c.OperationalG, 9);
        Assert.Equal(100e3 / (10 * 365.25 * 24), c.EmbodiedG, 9);
        Assert.Equal(c.OperationalG + c.EmbodiedG, c.TotalG, 9);
        Assert.Equal(c.TotalG, c.GPerMillionTokens, 9); // one million tokens
    }

    [Fact]
    public void ACleanerGridOnlyLowersOperationalEmissions()
    {
        var run = Run(1000, 2, 4096);
        var dirty = Carbon.Compute(run, new CarbonInputs(800, 1.2, 150, 5, "", ""));
        var clean = Carbon.Compute(run, new CarbonInputs(50, 1.2, 150, 5, "", ""));
        Assert.Equal(dirty.OperationalG * 50 / 800, clean.OperationalG, 12);
        Assert.Equal(dirty.EmbodiedG, clean.EmbodiedG);
    }

    [Fact]
    public void APueBelowOneIsRejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Carbon.Compute(Run(1, 1, 1), new CarbonInputs(400, 0.9, 0, 5, "", "")));
}
