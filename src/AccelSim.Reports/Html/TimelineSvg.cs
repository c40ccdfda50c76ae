using System.Globalization;
using System.Text;
using AccelSim.Core.Devices;
using AccelSim.Core.Metrics;
using AccelSim.Reports.Internal;
using static AccelSim.Reports.Html.HtmlText;

namespace AccelSim.Reports.Html;

/// <summary>A run's ops on a timeline as inline SVG: one lane per engine, one bar per op coloured by what bound
/// it, with a tooltip (name, start, duration, bound, bytes, FLOPs, note). The page's script zooms it (wheel or
/// buttons) and pans it (drag); the bars as written show the whole run, so the page reads without the script.</summary>
internal static class TimelineSvg
{
    internal const double Width = 1100, Left = 120, Right = 34, Top = 8, Lane = 22, Bar = 16, AxisSpace = 24;

    public static void Write(StringBuilder sb, RunMetrics m)
    {
        var engines = new List<string>();
        foreach (var o in m.Ops)
            if (!engines.Contains(o.Engine)) engines.Add(o.Engine);
        var endPs = m.Ops.Count == 0 ? 0 : m.Ops.Max(o => o.EndPs);
        var end = Core.Time.Ps.ToSeconds(endPs);
        var pw = Width - Left - Right;
        var clip = "tl-clip-" + RooflineSvg.Id(m.DisplayName + m.Schedule + m.Workload.Name);
        OpenFrame(sb, engines, end, m.Ops.Count.ToString(CultureInfo.InvariantCulture) + " ops", clip);
        foreach (var o in m.Ops)
        {
            var s = Core.Time.Ps.ToSeconds(o.StartPs);
            var e = Core.Time.Ps.ToSeconds(o.EndPs);
            var lane = engines.IndexOf(o.Engine);
            var x0 = end > 0 ? Left + s / end * pw : Left;
            var w = end > 0 ? Math.Max((e - s) / end * pw, 0.5) : 0.5;
            long bytes = 0;
            foreach (var v in o.BytesByTier.Values) bytes += v;
            var tip = new StringBuilder()
                .Append(RooflineSvg.Line(o.Name)).Append('\n')
                .Append("kind ").Append(o.Kind).Append(", layer ").Append(o.Layer).Append(", engine ").Append(o.Engine).Append('\n')
                .Append("start ").Append(Units.Time(s)).Append('\n')
                .Append("duration ").Append(Units.Time(e - s)).Append('\n')
                .Append("bound ").Append(o.Bound.Name()).Append('\n')
                .Append("bytes ").Append(Units.Bytes(bytes)).Append('\n')
                .Append("FLOPs ").Append(Units.Flops(o.Flops));
            if (o.Note is { Length: > 0 } note) tip.Append('\n').Append(RooflineSvg.Line(note));
            sb.Append("<rect class=\"op b-").Append(o.Bound.Name()).Append("\" x=\"").Append(C(x0)).Append("\" y=\"").Append(C(Top + lane * Lane + (Lane - Bar) / 2))
              .Append("\" width=\"").Append(C(w)).Append("\" height=\"").Append(C(Bar)).Append("\" data-op=\"").Append(Raw(o.Id))
              .Append("\" data-s=\"").Append(Raw(s)).Append("\" data-e=\"").Append(Raw(e)).Append("\" data-tip=\"").Append(Esc(tip.ToString())).Append("\"/>\n");
        }
        sb.Append("</g>\n</svg>\n");
        sb.Append("<ul class=\"legend\"><li><span class=\"sw sw-dot b-compute\" style=\"background:#3182ce\"></span>compute-bound</li>")
          .Append("<li><span class=\"sw sw-dot\" style=\"background:#e53e3e\"></span>memory-bound</li>")
          .Append("<li><span class=\"sw sw-dot\" style=\"background:#a0aec0\"></span>latency-bound</li>")
          .Append("<li><span class=\"sw sw-dot\" style=\"background:#dd6b20\"></span>power-bound</li>")
          .Append("<li>wheel or +/&#8722; to zoom, drag or arrows to pan, hover an op for its figures</li></ul>\n</div>\n");
    }

    /// <summary>Opens a timeline: its zoom and pan controls, the SVG with one labelled lane per entry of
    /// <paramref name="lanes"/>, the time axis over [0, <paramref name="end"/>] seconds, and the clipped group the
    /// bars go in (closed by the caller). Shared by every page that draws a timeline.</summary>
    internal static void OpenFrame(StringBuilder sb, IReadOnlyList<string> lanes, double end, string what, string clip)
    {
        var pw = Width - Left - Right;
        var bottom = Top + lanes.Count * Lane;
        var height = bottom + AxisSpace;
        sb.Append("<div class=\"timeline\" data-left=\"").Append(C(Left)).Append("\" data-width=\"").Append(C(pw))
          .Append("\" data-top=\"").Append(C(Top)).Append("\" data-bottom=\"").Append(C(bottom)).Append("\" data-end=\"").Append(Raw(end)).Append("\">\n");
        sb.Append("<div class=\"tl-controls\"><button type=\"button\" data-zoom=\"in\" title=\"zoom in\">+</button>")
          .Append("<button type=\"button\" data-zoom=\"out\" title=\"zoom out\">&#8722;</button>")
          .Append("<button type=\"button\" data-zoom=\"left\" title=\"pan left\">&#8592;</button>")
          .Append("<button type=\"button\" data-zoom=\"right\" title=\"pan right\">&#8594;</button>")
          .Append("<button type=\"button\" data-zoom=\"reset\" title=\"whole run\">reset</button>")
          .Append("<span class=\"tl-range\" data-t0=\"0\" data-t1=\"").Append(Raw(end)).Append("\">0 s to ").Append(Esc(Units.Time(end)))
          .Append(" (").Append(Esc(Units.Time(end))).Append(" shown)</span></div>\n");
        sb.Append("<svg viewBox=\"0 0 ").Append(C(Width)).Append(' ').Append(C(height)).Append("\" role=\"img\" aria-label=\"timeline of ")
          .Append(Esc(what)).Append("\">\n");
        sb.Append("<defs><clipPath id=\"").Append(clip).Append("\"><rect x=\"").Append(C(Left)).Append("\" y=\"0\" width=\"").Append(C(pw))
          .Append("\" height=\"").Append(C(height)).Append("\"/></clipPath></defs>\n<g class=\"axis\">");
        for (var i = 0; i < lanes.Count; i++)
        {
            sb.Append("<text x=\"").Append(C(Left - 6)).Append("\" y=\"").Append(C(Top + i * Lane + Lane / 2 + 4)).Append("\" text-anchor=\"end\">")
              .Append(Esc(lanes[i])).Append("</text>");
            sb.Append("<line x1=\"").Append(C(Left)).Append("\" x2=\"").Append(C(Left + pw)).Append("\" y1=\"").Append(C(Top + (i + 1) * Lane))
              .Append("\" y2=\"").Append(C(Top + (i + 1) * Lane)).Append("\"/>");
        }
        sb.Append("</g>\n<g class=\"grid tl-ticks\">");
        if (end > 0)
        {
            var step = NiceStep(end, 6);
            for (var k = 0; k * step <= end * (1 + 1e-9); k++)
            {
                var t = k * step;
                var x = Left + t / end * pw;
                sb.Append("<line x1=\"").Append(C(x)).Append("\" x2=\"").Append(C(x)).Append("\" y1=\"").Append(C(Top)).Append("\" y2=\"").Append(C(bottom)).Append("\"/>");
                sb.Append("<text x=\"").Append(C(x)).Append("\" y=\"").Append(C(bottom + 14)).Append("\" text-anchor=\"middle\">").Append(Esc(Units.Time(t))).Append("</text>");
            }
        }
        sb.Append("</g>\n<g clip-path=\"url(#").Append(clip).Append(")\">\n");
    }

    /// <summary>A tick step of 1, 2 or 5 times a power of ten giving about <paramref name="n"/> ticks over
    /// <paramref name="span"/> (the page's script uses the same rule).</summary>
    public static double NiceStep(double span, int n)
    {
        var raw = span / n;
        var p = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var m = raw / p;
        return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
    }
}
