namespace AccelSim.Workloads.Serving;

/// <summary>A mix of device types serving a stream: how many replicas of each type, which type serves each
/// request-size bucket, and the price per hour.</summary>
public sealed record DeviceMixSolution(IReadOnlyList<int> Counts, IReadOnlyList<int> BucketType, double UsdPerHour)
{
    public int Devices => Counts.Sum();
}

/// <summary>The cheapest mix of device types for a stream of requests split into size buckets (Mélange, Griggs et
/// al., arXiv:2404.14527): a replica of type t serves at most <c>capacity[t, b]</c> requests per second of bucket b
/// within the service level, a replica's load is the sum of its buckets' rates over their capacities (at most 1),
/// and every bucket goes to one type. The integer program is small (types^buckets assignments), so it is solved
/// exhaustively; the first cheapest in enumeration order wins (fewer devices first among equal prices), so the
/// answer is deterministic.</summary>
public static class DeviceMix
{
    /// <summary>Most assignments the exhaustive search visits.</summary>
    public const long MaxAssignments = 1_000_000;

    /// <summary>The cheapest mix, or null when some bucket has rate but no type can serve it.</summary>
    public static DeviceMixSolution? Cheapest(IReadOnlyList<double> rates, double[,] capacity, IReadOnlyList<double> prices)
    {
        ArgumentNullException.ThrowIfNull(rates);
        ArgumentNullException.ThrowIfNull(capacity);
        ArgumentNullException.ThrowIfNull(prices);
        var types = prices.Count;
        var buckets = rates.Count;
        if (capacity.GetLength(0) != types || capacity.GetLength(1) != buckets)
            throw new ArgumentException("capacity must be types x buckets", nameof(capacity));
        if (Math.Pow(types, buckets) > MaxAssignments)
            throw new ArgumentException($"{types}^{buckets} assignments exceed {MaxAssignments}; use fewer buckets or types", nameof(rates));
        var assign = new int[buckets];
        DeviceMixSolution? best = null;
        var load = new double[types];
        while (true)
        {
            Array.Clear(load);
            var feasible = true;
            for (var b = 0; b < buckets && feasible; b++)
            {
                if (rates[b] <= 0) continue;
                var cap = capacity[assign[b], b];
                if (!(cap > 0)) feasible = false;
                else load[assign[b]] += rates[b] / cap;
            }
            if (feasible)
            {
                var counts = new int[types];
                double cost = 0;
                for (var t = 0; t < types; t++)
                {
                    // A load a hair above a whole number from rounding is that number.
                    counts[t] = (int)Math.Ceiling(load[t] - 1e-9);
                    cost += counts[t] * prices[t];
                }
                if (best is null || cost < best.UsdPerHour - 1e-9 || (Math.Abs(cost - best.UsdPerHour) <= 1e-9 && counts.Sum() < best.Devices))
                    best = new DeviceMixSolution(counts, (int[])assign.Clone(), cost);
            }
            var i = 0;
            while (i < buckets && ++assign[i] == types) assign[i++] = 0;
            if (i == buckets || buckets == 0) break;
        }
        return best;
    }

    /// <summary>The cheapest solution with one type only (every bucket on type <paramref name="type"/>), or null when it
    /// cannot serve some bucket.</summary>
    public static DeviceMixSolution? SingleType(IReadOnlyList<double> rates, double[,] capacity, IReadOnlyList<double> prices, int type)
    {
        ArgumentNullException.ThrowIfNull(rates);
        ArgumentNullException.ThrowIfNull(capacity);
        ArgumentNullException.ThrowIfNull(prices);
        double load = 0;
        for (var b = 0; b < rates.Count; b++)
        {
            if (rates[b] <= 0) continue;
            if (!(capacity[type, b] > 0)) return null;
            load += rates[b] / capacity[type, b];
        }
        var counts = new int[prices.Count];
        counts[type] = (int)Math.Ceiling(load - 1e-9);
        return new DeviceMixSolution(counts, Enumerable.Repeat(type, rates.Count).ToArray(), counts[type] * prices[type]);
    }

    /// <summary>Bucket of a prompt of <paramref name="tokens"/> tokens under ascending boundaries: bucket i holds
    /// prompts below <c>edges[i]</c> (and at least the one before); the last holds the rest.</summary>
    public static int Bucket(int tokens, IReadOnlyList<int> edges)
    {
        ArgumentNullException.ThrowIfNull(edges);
        var i = 0;
        while (i < edges.Count && tokens >= edges[i]) i++;
        return i;
    }
}
