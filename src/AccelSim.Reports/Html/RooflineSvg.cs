using System.Text;
using AccelSim.Core.Devices;
using AccelSim.Core.Metrics;
using AccelSim.Reports.Internal;
using static AccelSim.Reports.Html.HtmlText;

namespace AccelSim.Reports.Html;

/// <summary>A run's roofline as inline SVG: log-log axes, the roofs the run used (compute peaks of the data
/// types its ops ran in, memory roofs of the channels its bytes crossed), the ridge point of its memory wall,
/// and one dot per op with FLOPs at (arithmetic intensity, achieved FLOP/s) with a tooltip.</summary>
internal static class RooflineSvg
{
    private const double Width = 760, Height = 470, Left = 74, Right = 16, Top = 34, Bottom = 46;

    /// <summary>Colours of op kinds (sorted by name) and of roofs, in order.</summary>
    public static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
    private static readonly string[] RoofColours = ["#2c5282", "#805ad5", "#319795", "#b7791f", "#c05621", "#4a5568", "#97266d", "#276749"];

    public static void Write(StringBuilder sb, RooflineData data, string title)
    {
        var compute = Plots.RooflinePlot.ComputeRoofs(data);
        var memory = data.UsedRoofs.Where(r => !r.IsCompute).ToArray();
        var points = data.Points.Where(p => p.Op.Flops > 0 && double.IsFinite(p.Intensity) && p.Intensity > 0 && p.Op.AchievedFlops > 0).ToArray();
        var maxPeak = compute.Length > 0 ? compute.Max(r => r.Value) : points.Select(p => p.Op.AchievedFlops).DefaultIfEmpty(1).Max();
        var minBw = memory.Length == 0 ? maxPeak : memory.Min(r => r.Value);
        var ridge = data.RidgePoint > 0 && double.IsFinite(data.RidgePoint) ? data.RidgePoint
            : data.MainMemoryBandwidth_Bps > 0 ? maxPeak / data.MainMemoryBandwidth_Bps : 1;
        var xs = points.Select(p => p.Intensity).ToArray();
        var ys = points.Select(p => p.Op.AchievedFlops).ToArray();
        var xLo = Math.Floor(Math.Log10(Math.Min(xs.Length > 0 ? xs.Min() : 1, 0.1)));
        var xHi = Math.Ceiling(Math.Log10(Math.Max(xs.Length > 0 ? xs.Max() * 2 : 1, ridge * 10)));
        var yHi = Math.Ceiling(Math.Log10(maxPeak * 2));
        var yLo = Math.Floor(Math.Log10(Math.Min(ys.Length > 0 ? ys.Min() : maxPeak, minBw * Math.Pow(10, xLo))));
        if (yHi - yLo > 9) yLo = yHi - 9;
        if (yLo >= yHi) yLo = yHi - 1;
        var pw = Width - Left - Right;
        var ph = Height - Top - Bottom;
        double X(double lx) => Left + (lx - xLo) / (xHi - xLo) * pw;
        double Y(double ly) => Top + (yHi - ly) / (yHi - yLo) * ph;

        sb.Append("<svg class=\"roofline\" viewBox=\"0 0 ").Append(C(Width)).Append(' ').Append(C(Height))
          .Append("\" role=\"img\" aria-label=\"").Append(Esc(title)).Append("\">\n");
        sb.Append("<text class=\"plot-title\" x=\"").Append(C(Left)).Append("\" y=\"18\">").Append(Esc(title)).Append("</text>\n");
        sb.Append("<defs><clipPath id=\"").Append("rf-clip-").Append(Id(title)).Append("\"><rect x=\"").Append(C(Left)).Append("\" y=\"").Append(C(Top))
          .Append("\" width=\"").Append(C(pw)).Append("\" height=\"").Append(C(ph)).Append("\"/></clipPath></defs>\n");
        // Decade grid and labels.
        sb.Append("<g class=\"grid\">");
        for (var d = xLo; d <= xHi; d++)
            sb.Append("<line x1=\"").Append(C(X(d))).Append("\" x2=\"").Append(C(X(d))).Append("\" y1=\"").Append(C(Top)).Append("\" y2=\"").Append(C(Top + ph)).Append("\"/>");
        for (var d = yLo; d <= yHi; d++)
            sb.Append("<line x1=\"").Append(C(Left)).Append("\" x2=\"").Append(C(Left + pw)).Append("\" y1=\"").Append(C(Y(d))).Append("\" y2=\"").Append(C(Y(d))).Append("\"/>");
        sb.Append("</g>\n<g class=\"axis\">");
        for (var d = xLo; d <= xHi; d++)
            sb.Append("<text x=\"").Append(C(X(d))).Append("\" y=\"").Append(C(Top + ph + 15)).Append("\" text-anchor=\"middle\">").Append(Decade(d, "")).Append("</text>");
        for (var d = yLo; d <= yHi; d++)
            sb.Append("<text x=\"").Append(C(Left - 6)).Append("\" y=\"").Append(C(Y(d) + 4)).Append("\" text-anchor=\"end\">").Append(Decade(d, "")).Append("</text>");
        sb.Append("<text class=\"muted\" x=\"").Append(C(Left + pw / 2)).Append("\" y=\"").Append(C(Height - 8)).Append("\" text-anchor=\"middle\">arithmetic intensity (FLOP/byte)</text>");
        sb.Append("<text class=\"muted\" transform=\"rotate(-90)\" x=\"").Append(C(-(Top + ph / 2))).Append("\" y=\"14\" text-anchor=\"middle\">achieved FLOP/s</text>");
        sb.Append("<path d=\"M").Append(C(Left)).Append(' ').Append(C(Top)).Append("V").Append(C(Top + ph)).Append("H").Append(C(Left + pw)).Append("\" fill=\"none\"/>");
        sb.Append("</g>\n<g clip-path=\"url(#rf-clip-").Append(Id(title)).Append(")\">\n");

        var colour = 0;
        var maxBw = memory.Length == 0 ? 0 : memory.Max(m => m.Value);
        foreach (var r in memory)
        {
            var lb = Math.Log10(r.Value);
            var xEnd = Math.Min(xHi, Math.Log10(maxPeak / r.Value));
            Roof(sb, r, RoofColours[colour++ % RoofColours.Length], X(xLo), Y(xLo + lb), X(xEnd), Y(xEnd + lb));
        }
        foreach (var r in compute)
        {
            var x0 = maxBw > 0 ? Math.Max(xLo, Math.Log10(r.Value / maxBw)) : xLo;
            Roof(sb, r, RoofColours[colour++ % RoofColours.Length], X(x0), Y(Math.Log10(r.Value)), X(xHi), Y(Math.Log10(r.Value)));
        }

        var kinds = Kinds(points);
        foreach (var p in points)
        {
            var o = p.Op;
            var tip = $"{Line(o.Name)}\nkind {o.Kind}, {o.DType}, {o.Bound.Name()}-bound\nintensity {Units.Intensity(p.Intensity)}\nachieved {Units.FlopRate(o.AchievedFlops)}"
                + (p.AttainableFlops > 0 ? $" ({Units.Percent(p.FractionOfRoof)} of its roof)" : "");
            sb.Append("<circle class=\"dot\" cx=\"").Append(C(X(Math.Log10(p.Intensity)))).Append("\" cy=\"").Append(C(Y(Math.Log10(o.AchievedFlops))))
              .Append("\" r=\"3.5\" fill=\"").Append(Palette[Array.IndexOf(kinds, o.Kind) % Palette.Length])
              .Append("\" data-op=\"").Append(Raw(o.Id)).Append("\" data-intensity=\"").Append(Raw(p.Intensity))
              .Append("\" data-achieved=\"").Append(Raw(o.AchievedFlops)).Append("\" data-tip=\"").Append(Esc(tip)).Append("\"/>\n");
        }
        sb.Append("</g>\n");
        if (data.MainMemoryBandwidth_Bps > 0 && ridge > 0 && Math.Log10(ridge) >= xLo && Math.Log10(ridge) <= xHi)
        {
            var ry = ridge * data.MainMemoryBandwidth_Bps;
            var tip = $"ridge point\n{Units.Intensity(ridge)}: {data.MainMemory} bandwidth meets the peak ({Units.FlopRate(ry)})\nleft of it an op is bound by bytes, right of it by math";
            sb.Append("<circle class=\"ridge\" cx=\"").Append(C(X(Math.Log10(ridge)))).Append("\" cy=\"").Append(C(Y(Math.Log10(ry))))
              .Append("\" r=\"5\" data-ridge=\"").Append(Raw(ridge)).Append("\" data-tip=\"").Append(Esc(tip)).Append("\"/>");
            sb.Append("<text x=\"").Append(C(X(Math.Log10(ridge)))).Append("\" y=\"").Append(C(Y(Math.Log10(ry)) - 10)).Append("\" text-anchor=\"middle\">ridge ")
              .Append(Esc(Units.Intensity(ridge))).Append("</text>\n");
        }
        sb.Append("</svg>\n");

        // Legend: roofs, then op kinds.
        sb.Append("<ul class=\"legend\">");
        colour = 0;
        foreach (var r in memory.Concat(compute))
        {
            sb.Append("<li><span class=\"sw").Append(r.IsCompute ? "" : " sw-dash").Append("\" style=\"background:").Append(RoofColours[colour % RoofColours.Length])
              .Append(";color:").Append(RoofColours[colour++ % RoofColours.Length]).Append("\"></span>").Append(Esc(RoofLabel(r))).Append("</li>");
        }
        foreach (var k in kinds)
        {
            sb.Append("<li><span class=\"sw sw-dot\" style=\"background:").Append(Palette[Array.IndexOf(kinds, k) % Palette.Length]).Append("\"></span>")
              .Append(Esc(k)).Append(" (").Append(points.Count(p => p.Op.Kind == k)).Append(")</li>");
        }
        sb.Append("</ul>\n");
        var skipped = data.Points.Count - points.Length;
        sb.Append("<p class=\"sub\">").Append(points.Length).Append(" ops with FLOPs as dots; ").Append(skipped)
          .Append(" without FLOPs (copies, KV writes) have no place on a roofline. Roofs drawn: the ones this run used (")
          .Append(data.Roofs.Count - data.UsedRoofs.Count).Append(" of the device's ").Append(data.Roofs.Count).Append(" roofs unused and not drawn).</p>\n");
    }

    private static void Roof(StringBuilder sb, RooflineRoof r, string colour, double x1, double y1, double x2, double y2)
    {
        sb.Append("<line class=\"roof ").Append(r.IsCompute ? "roof-compute" : "roof-memory").Append("\" stroke=\"").Append(colour)
          .Append("\" x1=\"").Append(C(x1)).Append("\" y1=\"").Append(C(y1)).Append("\" x2=\"").Append(C(x2)).Append("\" y2=\"").Append(C(y2))
          .Append("\" data-roof=\"").Append(Esc(r.Name)).Append("\" data-members=\"").Append(Esc(string.Join('|', r.Members)))
          .Append("\" data-value=\"").Append(Raw(r.Value)).Append("\" data-tip=\"").Append(Esc(RoofLabel(r))).Append("\"/>\n");
    }

    private static string RoofLabel(RooflineRoof r) => r.IsCompute ? $"{r.Name}: {Units.FlopRate(r.Value)}" : $"{r.Name}: {Units.Rate(r.Value)}";

    public static string[] Kinds(IEnumerable<RooflinePoint> points) =>
        points.Select(p => p.Op.Kind).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    /// <summary>A text as one tooltip line (newlines would split it).</summary>
    public static string Line(string s) => s.Replace('\n', ' ').Replace('\r', ' ');

    /// <summary>An id fragment from any text: letters and digits only, plus a hash for uniqueness.</summary>
    public static string Id(string s)
    {
        var sb = new StringBuilder();
        foreach (var c in s) if (char.IsAsciiLetterOrDigit(c)) sb.Append(c);
        uint h = 2166136261;
        foreach (var c in s) h = (h ^ c) * 16777619;
        return (sb.Length > 24 ? sb.ToString(0, 24) : sb.ToString()) + h.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Decade(double d, string unit)
    {
        var e = (int)d;
        string text = e switch
        {
            >= 15 => $"{Pow(e - 15)}P",
            >= 12 => $"{Pow(e - 12)}T",
            >= 9 => $"{Pow(e - 9)}G",
            >= 6 => $"{Pow(e - 6)}M",
            >= 3 => $"{Pow(e - 3)}k",
            >= 0 => Pow(e),
            >= -3 => Math.Pow(10, e).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture),
            _ => "1e" + e.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        return text + unit;
    }

    private static string Pow(int e) => e switch { 0 => "1", 1 => "10", 2 => "100", _ => "1e" + e.ToString(System.Globalization.CultureInfo.InvariantCulture) };
}
