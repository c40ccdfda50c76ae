using AccelSim.Core.Metrics;
using FsCheck;
using FsCheck.Fluent;

namespace AccelSim.Core.Tests;

/// <summary><see cref="Comparison"/>: which runs fit, the fastest of those, and the figures derived per run.</summary>
public class ComparisonTests
{
    // Four 100 MB layers: they fit in 1 GB of hbm and overflow 250 MB.
    private static readonly RunMetrics Roomy = LayeredGraphs.Run(LayeredGraphs.Build([100_000_000, 100_000_000, 100_000_000, 100_000_000]), new TieredDevice(1_000_000_000)).Metrics;
    private static readonly RunMetrics Tight = LayeredGraphs.Run(LayeredGraphs.Build([100_000_000, 100_000_000, 100_000_000, 100_000_000]), new TieredDevice(250_000_000)).Metrics;

    [Fact]
    public void ARunThatOverflowsATierDoesNotFitAndSaysByHowMuch()
    {
        var c = new Comparison([Roomy, Tight]);
        Assert.True(c.Runs[0].Fits);
        Assert.Empty(c.Runs[0].Overflows);
        Assert.False(c.Runs[1].Fits);
        var o = Assert.Single(c.Runs[1].Overflows);
        Assert.Equal("hbm", o.Tier);
        Assert.Equal(250_000_000, o.CapacityBytes);
        Assert.Equal(o.PeakBytes - o.CapacityBytes, o.OverBytes);
        Assert.True(o.OverBytes >= 150_000_000, $"{o.OverBytes} B over");
        Assert.True(c.AnyDoesNotFit);
        Assert.Same(Roomy, c.Fastest);
    }

    [Fact]
    public void TheFastestIsTheQuickestRunThatFitsTheFirstOnATie()
    {
        Prop.ForAll(Gen.ListOf(Gen.Zip(Gen.Choose(1, 5), Gen.Elements(true, false))).ToArbitrary(), cases =>
        {
            var runs = cases.Select(x => (x.Item2 ? Roomy : Tight) with { LatencyS = x.Item1 }).ToArray();
            var c = new Comparison(runs);
            var fitting = runs.Where(Comparison.Fits).ToArray();
            if (fitting.Length == 0) return c.Fastest is null;
            var min = fitting.Min(r => r.LatencyS);
            return ReferenceEquals(c.Fastest, fitting.First(r => r.LatencyS == min))
                   && c.Runs.Where(r => r.Fits).All(r => r.SlowdownOver(c.Fastest!) >= 1)
                   && c.Runs.Single(r => ReferenceEquals(r.Run, c.Fastest)).SlowdownOver(c.Fastest!) == 1;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void DerivedFiguresComeFromTheRunsOwnMetrics()
    {
        var run = new ComparedRun(Roomy);
        Assert.Equal(Roomy.Workload.Tokens / Roomy.Energy.TotalJ, run.TokensPerJ);
        Assert.Equal(Roomy.Memory.SpilledBytes.Values.Sum(), run.SpilledBytes);
        Assert.Equal(0, new ComparedRun(Roomy with { Energy = Roomy.Energy with { TotalJ = 0 } }).TokensPerJ);
        Assert.Equal(2.0, new ComparedRun(Roomy with { LatencyS = 2 * Roomy.LatencyS }).SlowdownOver(Roomy), 12);
        Assert.True(double.IsNaN(run.SlowdownOver(Roomy with { LatencyS = 0 })));
    }
}
