using AccelSim.Core.Time;
using AccelSim.Reports.Internal;

namespace AccelSim.Reports.Tests;

public class TableReportTests
{
    [Fact]
    public void Summary_shows_the_key_figures_in_readable_units()
    {
        var run = TestRuns.Small();
        var m = run.Metrics;
        var text = TableReport.RenderToString(m);

        Assert.Contains("fake (test)", text);
        Assert.Contains("tiny-mlp", text);
        Assert.Contains("phase prefill", text);
        Assert.Contains("batch 1 | seq 256 | context 0", text);
        Assert.Contains("schedule sequential", text);
        Assert.Contains(Units.Time(m.LatencyS), text);
        Assert.Matches(@"^(\d\.\d{3}|\d{2}\.\d{2}|\d{3}\.\d) (s|ms|us|ns|ps)$", Units.Time(m.LatencyS));
        Assert.Contains(Units.Count(m.TokensPerS) + " tokens/s", text);
        Assert.Contains(Units.Percent(m.ComputeUtilisation), text);
        Assert.Contains(Units.Percent(m.MemoryBandwidthUtilisation), text);
        Assert.Contains(Units.Energy(m.Energy.TotalJ), text);
        Assert.Contains("tokens/J", text);
        Assert.Contains(Units.Intensity(m.MemoryWall.RidgePoint), text);
        Assert.Contains($"{m.MemoryWall.MemoryBoundOps} of 4", text);
        Assert.Contains("Memory per tier", text);
        Assert.Contains("Energy breakdown", text);
        Assert.Contains("memory hbm", text);
        Assert.Contains("Time by op kind", text);
        Assert.Contains("matmul", text);
        Assert.DoesNotContain("WARNING", text);
        Assert.DoesNotContain("\u001b[", text); // no ANSI escapes in plain output
    }

    [Fact]
    public void Verdict_names_the_bound_that_dominates()
    {
        // The small MLP spends most time in compute-bound matmuls ...
        Assert.Contains("compute-bound overall", TableReport.RenderToString(TestRuns.Small().Metrics));
        // ... a chain of elementwise ops is memory-bound.
        Assert.Contains("memory-bound overall", TableReport.RenderToString(TestRuns.Simulate(TestRuns.Chain(6, _ => (1 << 22, 1))).Metrics));
    }

    [Fact]
    public void A_tier_over_capacity_gets_a_warning_line()
    {
        var run = TestRuns.Small(new FakeDevice(capacityBytes: 1 << 20));
        Assert.True(run.Metrics.Memory.OverCapacityBytes["hbm"] > 0);
        var text = TableReport.RenderToString(run.Metrics);
        Assert.Contains("WARNING tier 'hbm' is over capacity", text);
        Assert.Contains(Units.Bytes(run.Metrics.Memory.OverCapacityBytes["hbm"]), text);
        Assert.Single(TableReport.CapacityWarnings(run.Metrics));
    }

    [Fact]
    public void Top_ten_ops_by_default_every_op_on_request()
    {
        var m = TestRuns.Simulate(TestRuns.Chain(14)).Metrics;
        var top = TableReport.RenderToString(m);
        var all = TableReport.RenderToString(m, allOps: true);
        Assert.Contains("Top 10 of 14 ops by time", top);
        Assert.Contains("All 14 ops by time", all);
        var longest = m.Ops.OrderByDescending(o => o.EndPs - o.StartPs).ThenBy(o => o.Id).First();
        var shortest = m.Ops.OrderBy(o => o.EndPs - o.StartPs).ThenByDescending(o => o.Id).First();
        Assert.Contains($" {longest.Name} ", top);
        Assert.DoesNotContain($" {shortest.Name} ", top);
        Assert.Contains($" {shortest.Name} ", all);
        Assert.Contains(Units.Time(Ps.ToSeconds(longest.EndPs - longest.StartPs)), top);
    }


    [Theory]
    [InlineData(80e9, "80.00 GB")]
    [InlineData(1536, "1.54 kB")]
    [InlineData(12, "12 B")]
    [InlineData(0, "0 B")]
    public void Bytes_use_decimal_prefixes(double bytes, string expected) => Assert.Equal(expected, Units.Bytes(bytes));

    [Theory]
    [InlineData(2500, "2.50 kFLOP")]
    [InlineData(999, "999 FLOP")]
    public void Flops_use_the_lower_case_kilo_prefix(double flops, string expected) => Assert.Equal(expected, Units.Flops(flops));

    [Theory]
    [InlineData(989.5e12, "989.5 TFLOP/s")]
    [InlineData(2.5e9, "2.50 GFLOP/s")]
    public void Rates_are_scaled(double flops, string expected) => Assert.Equal(expected, Units.FlopRate(flops));

    [Theory]
    [InlineData(2.5e-6, "2.500 us")]
    [InlineData(0.0123, "12.30 ms")]
    [InlineData(3e-9, "3.000 ns")]
    [InlineData(0.0613, "61.30 ms")]
    [InlineData(0.000250, "250.0 us")]
    [InlineData(49.8281, "49.83 s")]
    [InlineData(49828.1, "49828 s")]
    [InlineData(4e-10, "400.0 ps")]
    [InlineData(0.99996, "1.000 s")]
    [InlineData(0.0009999, "999.9 us")]
    [InlineData(0, "0 s")]
    public void Times_are_scaled(double s, string expected) => Assert.Equal(expected, Units.Time(s));

    [Theory]
    [InlineData(2.496, "2.496 J")]
    [InlineData(0.0004763, "476.3 uJ")]
    [InlineData(1234.5, "1.235 kJ")]
    public void Energies_are_scaled(double j, string expected) => Assert.Equal(expected, Units.Energy(j));

    [Fact]
    public void Every_time_has_its_mantissa_in_one_to_a_thousand_with_four_significant_digits()
    {
        // From 0.1 ps to 999 s in small steps: the unit always leaves 1 <= mantissa < 1000 and four digits.
        for (var e = -13.0; e < 3; e += 0.0137)
        {
            var text = Quantities.Time(Math.Pow(10, e));
            Assert.Matches(@"^(\d\.\d{3}|\d{2}\.\d{2}|\d{3}\.\d|0\.\d{3}) (s|ms|us|ns|ps)$", text);
            if (e >= -12) Assert.DoesNotMatch(@"^0\.", text);
        }
    }
}
