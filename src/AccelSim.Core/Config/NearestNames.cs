namespace AccelSim.Core.Config;

/// <summary>"Did you mean" suggestions: the known names nearest to a mistyped one by edit distance
/// (case-insensitive), for errors about unknown keys, fields and bundled names.</summary>
public static class NearestNames
{
    /// <summary>Up to <paramref name="count"/> of <paramref name="known"/>, nearest to <paramref name="wanted"/> first
    /// (ties in ordinal order).</summary>
    public static IReadOnlyList<string> Find(IEnumerable<string> known, string wanted, int count = 3)
    {
        ArgumentNullException.ThrowIfNull(known);
        ArgumentNullException.ThrowIfNull(wanted);
        return known.Distinct(StringComparer.Ordinal)
            .Select(k => (Key: k, D: Distance(k.ToLowerInvariant(), wanted.ToLowerInvariant())))
            .OrderBy(x => x.D).ThenBy(x => x.Key, StringComparer.Ordinal)
            .Take(count).Select(x => x.Key).ToArray();
    }

    /// <summary>"; did you mean a, b, c?" or "" when nothing is known.</summary>
    public static string DidYouMean(IEnumerable<string> known, string wanted, int count = 3)
    {
        var near = Find(known, wanted, count);
        return near.Count == 0 ? "" : $"; did you mean {string.Join(", ", near)}?";
    }

    /// <summary>Levenshtein distance.</summary>
    public static int Distance(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) prev[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
