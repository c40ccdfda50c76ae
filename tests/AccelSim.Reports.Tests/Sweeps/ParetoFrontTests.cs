using AccelSim.Reports.Plots;
using AccelSim.Reports.Sweeps;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Reports.Tests.Sweeps;

/// <summary>The laws of a Pareto front: it is exactly the non-dominated set, independent of input order,
/// and a dominated newcomer does not move it.</summary>
public class ParetoFrontTests
{
    /// <summary>Small integer-valued objectives, so ties and duplicates are common.</summary>
    private static Arbitrary<double[][]> Points() =>
        Gen.Choose(2, 4).SelectMany(dims =>
                Gen.Choose(0, 6).Select(v => (double)v).ArrayOf(dims).ArrayOf())
            .ToArbitrary();

    private static List<double[]> Pts(double[][] p) => [.. p];

    /// <summary>The front as a multiset of points, in a canonical order.</summary>
    private static List<string> AsSet(IReadOnlyList<double[]> points, IReadOnlyList<int> front) =>
        [.. front.Select(i => string.Join(",", points[i])).Order(StringComparer.Ordinal)];

    [Property(MaxTest = 200)]
    public Property No_front_point_is_dominated_by_any_point() =>
        Prop.ForAll(Points(), p =>
        {
            var points = Pts(p);
            var front = ParetoFront.Indices(points);
            return front.All(f => points.All(q => !ParetoFront.Dominates(q, points[f])));
        });

    [Property(MaxTest = 200)]
    public Property Every_other_point_is_dominated_by_a_front_point() =>
        Prop.ForAll(Points(), p =>
        {
            var points = Pts(p);
            var front = ParetoFront.Indices(points);
            return Enumerable.Range(0, points.Count).Except(front)
                .All(i => front.Any(f => ParetoFront.Dominates(points[f], points[i])));
        });

    [Property(MaxTest = 200)]
    public Property The_front_does_not_depend_on_the_input_order() =>
        Prop.ForAll(Points(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (p, seed) =>
        {
            var points = Pts(p);
            var shuffled = points.OrderBy(_ => 0).ToList();
            new Random(seed).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(shuffled));
            return AsSet(points, ParetoFront.Indices(points)).SequenceEqual(AsSet(shuffled, ParetoFront.Indices(shuffled)));
        });

    [Property(MaxTest = 200)]
    public Property Adding_a_dominated_point_does_not_change_the_front() =>
        Prop.ForAll(Points(), Gen.Choose(0, int.MaxValue).ToArbitrary(), Gen.Choose(1, 3).ToArbitrary(), (p, pick, worse) =>
        {
            var points = Pts(p);
            if (points.Count == 0) return true;
            var before = ParetoFront.Indices(points);
            // Worse than an existing point in one objective, equal in the others: dominated by it.
            var basis = points[pick % points.Count];
            var dominated = (double[])basis.Clone();
            dominated[pick % dominated.Length] += worse;
            var after = ParetoFront.Indices([.. points, dominated]);
            return before.SequenceEqual(after);
        });

    [Fact]
    public void A_small_front_by_hand()
    {
        double[][] points = [[1, 5], [2, 2], [5, 1], [3, 3], [2, 2], [6, 6], [1, 6]];
        // (3,3) and (6,6) are dominated by (2,2); (1,6) by (1,5); the two equal (2,2) both stay.
        Assert.Equal([0, 1, 2, 4], ParetoFront.Indices(points));
        Assert.Empty(ParetoFront.Indices([]));
        Assert.Throws<ArgumentException>(() => ParetoFront.Indices([[1, double.NaN]]));
        Assert.Throws<ArgumentException>(() => ParetoFront.Indices([[1, 2], [1]]));
    }

    [Theory]
    [InlineData("latency_s", "latency_s (s)")]
    [InlineData("tokens_per_s", "tokens_per_s (tokens/s)")]
    [InlineData("energy_j", "energy_j (J)")]
    [InlineData("set_memory_hbm_bandwidth_Bps", "set_memory_hbm_bandwidth_Bps (B/s)")]
    [InlineData("memory_peak_bytes", "memory_peak_bytes (bytes)")]
    [InlineData("arithmetic_intensity_flop_per_byte", "arithmetic_intensity_flop_per_byte (FLOP/byte)")]
    [InlineData("batch", "batch")]
    public void Axis_labels_carry_the_unit_the_column_name_gives(string column, string label) =>
        Assert.Equal(label, SweepPlot.Label(column));
}
