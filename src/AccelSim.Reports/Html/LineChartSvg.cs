using System.Text;
using AccelSim.Reports.Internal;
using static AccelSim.Reports.Html.HtmlText;

namespace AccelSim.Reports.Html;

/// <summary>A quantity over time as an inline SVG line chart. A long run is drawn from at most
/// <see cref="Buckets"/> time buckets, each at the highest sample it holds (so a peak is never lost);
/// a short one sample by sample, as a step line.</summary>
internal static class LineChartSvg
{
    public const int Buckets = 480;
    private const double Width = 560, Height = 220, Left = 56, Right = 30, Top = 10, Bottom = 30;

    public static void Write(StringBuilder sb, HtmlSeries s, double durationS)
    {
        var n = Math.Min(s.TimesS.Count, s.Values.Count);
        var end = Math.Max(durationS, n > 0 ? s.TimesS[n - 1] : 0);
        var pts = new List<(double T, double V)>();
        if (n <= Buckets || end <= 0)
        {
            for (var i = 0; i < n; i++) pts.Add((s.TimesS[i], s.Values[i]));
        }
        else
        {
            var max = new double[Buckets];
            var has = new bool[Buckets];
            for (var i = 0; i < n; i++)
            {
                var b = Math.Clamp((int)(s.TimesS[i] / end * Buckets), 0, Buckets - 1);
                if (!has[b] || s.Values[i] > max[b]) max[b] = s.Values[i];
                has[b] = true;
            }
            for (var b = 0; b < Buckets; b++)
                if (has[b]) pts.Add((b * end / Buckets, max[b]));
        }
        var top = pts.Count == 0 ? 1 : Math.Max(1, pts.Max(p => p.V));
        var yStep = TimelineSvg.NiceStep(top, 4);
        var yMax = Math.Ceiling(top / yStep) * yStep;
        var pw = Width - Left - Right;
        var ph = Height - Top - Bottom;
        double X(double t) => Left + (end > 0 ? t / end : 0) * pw;
        double Y(double v) => Top + (1 - v / yMax) * ph;

        sb.Append("<svg class=\"line-chart\" viewBox=\"0 0 ").Append(C(Width)).Append(' ').Append(C(Height)).Append("\" role=\"img\" aria-label=\"")
          .Append(Esc(s.Label)).Append(" over time\" data-samples=\"").Append(n).Append("\" data-max=\"").Append(Raw(pts.Count == 0 ? 0 : pts.Max(p => p.V))).Append("\">\n<g class=\"grid\">");
        for (var v = 0.0; v <= yMax * (1 + 1e-9); v += yStep)
        {
            sb.Append("<line x1=\"").Append(C(Left)).Append("\" x2=\"").Append(C(Left + pw)).Append("\" y1=\"").Append(C(Y(v))).Append("\" y2=\"").Append(C(Y(v))).Append("\"/>");
            sb.Append("<text x=\"").Append(C(Left - 6)).Append("\" y=\"").Append(C(Y(v) + 4)).Append("\" text-anchor=\"end\">").Append(Esc(Units.Count(v))).Append("</text>");
        }
        if (end > 0)
        {
            var xStep = TimelineSvg.NiceStep(end, 5);
            for (var k = 0; k * xStep <= end * (1 + 1e-9); k++)
            {
                var x = X(k * xStep);
                sb.Append("<line x1=\"").Append(C(x)).Append("\" x2=\"").Append(C(x)).Append("\" y1=\"").Append(C(Top)).Append("\" y2=\"").Append(C(Top + ph)).Append("\"/>");
                sb.Append("<text x=\"").Append(C(x)).Append("\" y=\"").Append(C(Top + ph + 14)).Append("\" text-anchor=\"middle\">").Append(Esc(Units.Time(k * xStep))).Append("</text>");
            }
        }
        sb.Append("</g>\n<text class=\"muted\" x=\"").Append(C(Left + pw)).Append("\" y=\"").Append(C(Height - 2)).Append("\" text-anchor=\"end\">time</text>\n");
        if (pts.Count > 0)
        {
            sb.Append("<polyline fill=\"none\" stroke=\"#2b6cb0\" stroke-width=\"1.5\" points=\"");
            for (var i = 0; i < pts.Count; i++)
            {
                // A step line: the value holds until the next sample.
                if (i > 0) sb.Append(C(X(pts[i].T))).Append(',').Append(C(Y(pts[i - 1].V))).Append(' ');
                sb.Append(C(X(pts[i].T))).Append(',').Append(C(Y(pts[i].V))).Append(' ');
            }
            sb.Append(C(X(end))).Append(',').Append(C(Y(pts[^1].V))).Append("\"/>\n");
        }
        sb.Append("</svg>\n");
        if (n > Buckets) sb.Append("<p class=\"sub\">").Append(n).Append(" samples, drawn as the highest of each of ").Append(Buckets).Append(" time buckets.</p>\n");
    }
}
