using System.Globalization;
using System.Text;
using AccelSim.Core.Devices;
using AccelSim.Core.Metrics;
using AccelSim.Core.Time;

namespace AccelSim.Reports;

/// <summary>Every op of a run as CSV (RFC 4180): a header line, then one line per op in report order
/// (start time, then id). Invariant culture, doubles in shortest round-trip form, "\n" line ends;
/// a field is quoted when it holds a comma, a quote, a line break or leading/trailing spaces.</summary>
public static class OpsCsv
{
    public static readonly IReadOnlyList<string> Columns =
    [
        "id", "name", "kind", "layer", "start_s", "end_s", "flops", "bytes", "arithmetic_intensity",
        "achieved_flops_per_s", "bound", "energy_j",
    ];

    public static void Write(RunMetrics m, TextWriter w)
    {
        ArgumentNullException.ThrowIfNull(m);
        Write(w, [], [([], m)]);
    }

    /// <summary>The ops of several runs in one file: <paramref name="keyColumns"/> come first (a comparison's
    /// <c>hardware</c> and <c>schedule</c>, a system run's <c>rank</c>), each run's ops carrying its own
    /// <c>Keys</c>, runs in the order given; then the columns of <see cref="Columns"/>.</summary>
    public static void Write(TextWriter w, IReadOnlyList<string> keyColumns, IEnumerable<(IReadOnlyList<string> Keys, RunMetrics Metrics)> runs)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(keyColumns);
        ArgumentNullException.ThrowIfNull(runs);
        var sb = new StringBuilder(256);
        w.Write(string.Join(',', keyColumns.Concat(Columns)));
        w.Write('\n');
        foreach (var (keys, m) in runs)
        {
            if (keys.Count != keyColumns.Count) throw new ArgumentException($"a run has {keys.Count} key values for {keyColumns.Count} key columns", nameof(runs));
            foreach (var o in m.Ops)
            {
                sb.Clear();
                foreach (var k in keys) Field(sb, k).Append(',');
                Line(sb, o);
                w.Write(sb);
            }
        }
    }

    private static void Line(StringBuilder sb, OpMetrics o)
    {
        long bytes = 0;
        foreach (var v in o.BytesByTier.Values) bytes += v;
        sb.Append(o.Id.ToString(CultureInfo.InvariantCulture)).Append(',');
        Field(sb, o.Name).Append(',');
        Field(sb, o.Kind).Append(',');
        sb.Append(o.Layer.ToString(CultureInfo.InvariantCulture)).Append(',');
        Num(sb, Ps.ToSeconds(o.StartPs)).Append(',');
        Num(sb, Ps.ToSeconds(o.EndPs)).Append(',');
        sb.Append(o.Flops.ToString(CultureInfo.InvariantCulture)).Append(',');
        sb.Append(bytes.ToString(CultureInfo.InvariantCulture)).Append(',');
        Num(sb, o.ArithmeticIntensity).Append(',');
        Num(sb, o.AchievedFlops).Append(',');
        sb.Append(o.Bound.Name()).Append(',');
        Num(sb, o.EnergyJ).Append('\n');
    }

    public static string ToCsvString(RunMetrics m)
    {
        using var sw = new StringWriter(CultureInfo.InvariantCulture);
        Write(m, sw);
        return sw.ToString();
    }

    /// <summary>Appends one field, quoted if it needs to be.</summary>
    internal static StringBuilder Field(StringBuilder sb, string value)
    {
        var quote = value.Length > 0 && (value[0] == ' ' || value[^1] == ' ');
        foreach (var c in value)
        {
            if (c is ',' or '"' or '\n' or '\r') { quote = true; break; }
        }
        if (!quote) return sb.Append(value);
        sb.Append('"');
        foreach (var c in value)
        {
            if (c == '"') sb.Append('"');
            sb.Append(c);
        }
        return sb.Append('"');
    }

    /// <summary>A double in shortest round-trip form; empty for a non-finite value.</summary>
    private static StringBuilder Num(StringBuilder sb, double v)
    {
        if (!double.IsFinite(v)) return sb;
        if (v == 0) v = 0; // no "-0"
        return sb.Append(v.ToString("R", CultureInfo.InvariantCulture));
    }
}
