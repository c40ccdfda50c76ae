namespace AccelSim.Reports.Sweeps;

/// <summary>The Pareto front (the non-dominated set) of points with two or more objectives, every
/// objective minimised (negate one to maximise it). A point dominates another when it is no worse in
/// every objective and better in at least one; equal points do not dominate each other, so both stay.
/// The front is a set: it does not depend on the order of the input.</summary>
public static class ParetoFront
{
    /// <summary>True when <paramref name="a"/> dominates <paramref name="b"/> (all objectives minimised).</summary>
    public static bool Dominates(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count) throw new ArgumentException("points with different numbers of objectives", nameof(b));
        var strictly = false;
        for (var k = 0; k < a.Count; k++)
        {
            if (a[k] > b[k]) return false;
            if (a[k] < b[k]) strictly = true;
        }
        return strictly;
    }

    /// <summary>The indices (ascending) of the points no other point dominates. Every point has the same
    /// number of objectives (at least one), none NaN.</summary>
    public static IReadOnlyList<int> Indices(IReadOnlyList<IReadOnlyList<double>> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count == 0) return [];
        var dims = points[0].Count;
        for (var i = 0; i < points.Count; i++)
        {
            if (points[i].Count != dims || dims == 0) throw new ArgumentException($"point {i} has {points[i].Count} objectives; expected {dims} (at least 1)", nameof(points));
            for (var k = 0; k < dims; k++)
                if (double.IsNaN(points[i][k])) throw new ArgumentException($"point {i}'s objective {k} is NaN", nameof(points));
        }
        // A point can only be dominated by one that comes before it in lexicographic order, so one pass in
        // that order, checking each point against the front so far, is enough: a point dominated by a
        // dominated point is dominated by the front point that dominates that one (dominance is transitive).
        var order = Enumerable.Range(0, points.Count).ToArray();
        Array.Sort(order, (i, j) =>
        {
            for (var k = 0; k < dims; k++)
            {
                var c = points[i][k].CompareTo(points[j][k]);
                if (c != 0) return c;
            }
            return i.CompareTo(j);
        });
        var front = new List<int>();
        foreach (var i in order)
        {
            var dominated = false;
            foreach (var f in front)
            {
                if (Dominates(points[f], points[i]))
                {
                    dominated = true;
                    break;
                }
            }
            if (!dominated) front.Add(i);
        }
        front.Sort();
        return front;
    }
}
