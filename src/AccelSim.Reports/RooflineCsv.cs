using System.Globalization;
using System.Text;
using AccelSim.Core.Devices;
using AccelSim.Core.Metrics;

namespace AccelSim.Reports;

/// <summary>Every op of a run on the device's roofline, as CSV (same conventions as <see cref="OpsCsv"/>):
/// its arithmetic intensity, achieved and attainable FLOP/s (the roof above it: min(its data type's peak,
/// intensity x main-memory bandwidth)), the fraction of that roof it reached, and what bound it.</summary>
public static class RooflineCsv
{
    public static readonly IReadOnlyList<string> Columns =
    [
        "id", "name", "kind", "layer", "engine", "dtype", "flops", "bytes", "arithmetic_intensity_flop_per_byte",
        "duration_s", "achieved_flops_per_s", "peak_flops_per_s", "attainable_flops_per_s", "fraction_of_roof", "bound",
    ];

    public static void Write(RooflineData data, TextWriter w)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(w);
        w.Write(string.Join(',', Columns));
        w.Write('\n');
        var sb = new StringBuilder(256);
        foreach (var p in data.Points)
        {
            var o = p.Op;
            sb.Clear();
            sb.Append(o.Id.ToString(CultureInfo.InvariantCulture)).Append(',');
            OpsCsv.Field(sb, o.Name).Append(',');
            OpsCsv.Field(sb, o.Kind).Append(',');
            sb.Append(o.Layer.ToString(CultureInfo.InvariantCulture)).Append(',');
            OpsCsv.Field(sb, o.Engine).Append(',');
            OpsCsv.Field(sb, o.DType).Append(',');
            sb.Append(o.Flops.ToString(CultureInfo.InvariantCulture)).Append(',');
            sb.Append(p.Bytes.ToString(CultureInfo.InvariantCulture)).Append(',');
            Num(sb, p.Intensity).Append(',');
            Num(sb, o.DurationS).Append(',');
            Num(sb, o.AchievedFlops).Append(',');
            Num(sb, p.PeakFlops).Append(',');
            Num(sb, p.AttainableFlops).Append(',');
            Num(sb, p.FractionOfRoof).Append(',');
            sb.Append(o.Bound.Name()).Append('\n');
            w.Write(sb);
        }
    }

    public static string ToCsvString(RooflineData data)
    {
        using var sw = new StringWriter(CultureInfo.InvariantCulture);
        Write(data, sw);
        return sw.ToString();
    }

    private static StringBuilder Num(StringBuilder sb, double v)
    {
        if (!double.IsFinite(v)) return sb;
        if (v == 0) v = 0;
        return sb.Append(v.ToString("R", CultureInfo.InvariantCulture));
    }
}
