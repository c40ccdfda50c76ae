using AccelSim.Workloads.Serving;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Workloads.Tests.Serving;

/// <summary>The device-mix integer program (<see cref="DeviceMix"/>): a worked case, and laws against brute force.</summary>
public class DeviceMixTests
{
    [Fact]
    public void Small_requests_go_to_the_cheap_device_and_large_ones_to_the_big_one()
    {
        // Type 0: $4/h, 10 small or 2 large requests/s; type 1: $1/h, 5 small or 0.2 large requests/s.
        var capacity = new double[,] { { 10, 2 }, { 5, 0.2 } };
        double[] prices = [4, 1];
        double[] rates = [8, 1];
        var best = DeviceMix.Cheapest(rates, capacity, prices)!;
        // Small on type 1: 8/5 = 1.6 -> 2 x $1; large on type 0: 1/2 -> 1 x $4. $6 in all.
        Assert.Equal([1, 2], best.Counts);
        Assert.Equal([1, 0], best.BucketType);
        Assert.Equal(6, best.UsdPerHour);
        // Type 0 alone: 0.8 + 0.5 = 1.3 -> 2 x $4 = $8; type 1 alone: 1.6 + 5 = 6.6 -> 7 x $1 = $7.
        Assert.Equal(8, DeviceMix.SingleType(rates, capacity, prices, 0)!.UsdPerHour);
        Assert.Equal(7, DeviceMix.SingleType(rates, capacity, prices, 1)!.UsdPerHour);
    }

    [Fact]
    public void A_bucket_no_type_serves_has_no_solution_and_an_empty_bucket_needs_none()
    {
        Assert.Null(DeviceMix.Cheapest([1, 1], new double[,] { { 1, 0 } }, [1]));
        var s = DeviceMix.Cheapest([1, 0], new double[,] { { 2, 0 } }, [3])!;
        Assert.Equal([1], s.Counts);
        Assert.Equal(3, s.UsdPerHour);
    }

    [Theory]
    [InlineData(10, 0)]
    [InlineData(255, 0)]
    [InlineData(256, 1)]
    [InlineData(1023, 1)]
    [InlineData(1024, 2)]
    [InlineData(5000, 3)]
    public void Buckets_split_at_their_boundaries(int tokens, int bucket) => Assert.Equal(bucket, DeviceMix.Bucket(tokens, [256, 1024, 4096]));

    private static Arbitrary<(double[] Rates, double[,] Capacity, double[] Prices)> Problems() => Arb.From(Gen.Choose(0, int.MaxValue).Select(seed =>
    {
        var rng = new Random(seed);
        int types = rng.Next(1, 4), buckets = rng.Next(1, 5);
        var capacity = new double[types, buckets];
        for (var t = 0; t < types; t++)
            for (var b = 0; b < buckets; b++) capacity[t, b] = rng.Next(5) == 0 ? 0 : rng.NextDouble() * 10;
        var rates = Enumerable.Range(0, buckets).Select(_ => rng.Next(4) == 0 ? 0 : rng.NextDouble() * 20).ToArray();
        var prices = Enumerable.Range(0, types).Select(_ => 0.5 + rng.NextDouble() * 8).ToArray();
        return (rates, capacity, prices);
    }));

    [Property(MaxTest = 300)]
    public Property The_mix_is_never_dearer_than_a_single_type_and_its_counts_carry_the_load() =>
        Prop.ForAll(Problems(), p =>
        {
            var best = DeviceMix.Cheapest(p.Rates, p.Capacity, p.Prices);
            var singles = Enumerable.Range(0, p.Prices.Length).Select(t => DeviceMix.SingleType(p.Rates, p.Capacity, p.Prices, t)).Where(s => s is not null).ToArray();
            if (best is null) return singles.Length == 0;
            var load = new double[p.Prices.Length];
            for (var b = 0; b < p.Rates.Length; b++)
                if (p.Rates[b] > 0) load[best.BucketType[b]] += p.Rates[b] / p.Capacity[best.BucketType[b], b];
            var carries = Enumerable.Range(0, load.Length).All(t => best.Counts[t] >= load[t] - 1e-9 && best.Counts[t] < load[t] + 1);
            var price = Enumerable.Range(0, load.Length).Sum(t => best.Counts[t] * p.Prices[t]);
            var again = DeviceMix.Cheapest(p.Rates, p.Capacity, p.Prices)!;
            return carries && Math.Abs(price - best.UsdPerHour) < 1e-9 && singles.All(s => best.UsdPerHour <= s!.UsdPerHour + 1e-9)
                && again.Counts.SequenceEqual(best.Counts) && again.BucketType.SequenceEqual(best.BucketType);
        });
}
