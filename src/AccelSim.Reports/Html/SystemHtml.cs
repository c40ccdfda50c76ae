using System.Globalization;
using System.Text;
using AccelSim.Core.Metrics;
using AccelSim.Core.Systems;
using AccelSim.Reports.Internal;
using static AccelSim.Reports.Html.HtmlText;
using static AccelSim.Reports.Html.TimelineSvg;

namespace AccelSim.Reports.Html;

/// <summary>What the HTML report of <c>run --system</c> shows besides the simulator's <see cref="Result"/>: the
/// title and lines under it, the key figures (each with its JSON pointer into the system report), whether every
/// device fits its memory, the provenance rows and inputs.</summary>
public sealed record SystemHtml(
    string Title,
    IReadOnlyList<string> Lines,
    IReadOnlyList<HtmlFigure> Figures,
    bool Fits,
    string FitsMeaning,
    SystemResult Result,
    IReadOnlyList<KeyValuePair<string, string>> Details,
    RunProvenance? Provenance);

/// <summary>The page of a system run (docs/html-report.md, "run --system"): key figures, one row per simulated
/// device, the links that carried bytes, the collectives by kind, a timeline with one lane per device plus the
/// collectives, and the provenance. Pure and deterministic like the other pages; every cell that is a number
/// of the JSON report carries its pointer (<c>data-json</c>) and exact value (<c>data-value</c>).</summary>
public static class SystemHtmlReport
{

    /// <summary>Collective lanes at most: overlapping collectives are packed first-fit into this many lanes.</summary>
    public const int CollectiveLanes = 6;

    public static string Write(SystemHtml s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var r = s.Result;
        var sb = new StringBuilder(64 * 1024 + r.Ranks.Sum(x => x.Segments.Count) * 300 + r.Collectives.Count * 400);
        HtmlReport.Open(sb, "AccelSim system run: " + s.Title);
        sb.Append("<header><h1>").Append(Esc(s.Title)).Append("</h1>\n");
        foreach (var line in s.Lines) sb.Append("<p class=\"sub\">").Append(Esc(line)).Append("</p>\n");
        sb.Append("</header>\n<main>\n");

        sb.Append("<section id=\"figures\"><h2>Key figures</h2>\n");
        var figs = s.Figures.Select(f => new HtmlReport.Fig(f.Json, f.Label, f.Value, HtmlReport.Format(f.Value, f.Unit) + (f.Suffix.Length > 0 ? " " + f.Suffix : ""), f.Meaning, 0)).ToList();
        figs.Add(new HtmlReport.Fig("", "Fits in memory", s.Fits ? 1 : 0, s.Fits ? "fits" : "over capacity", s.FitsMeaning, 0, Bad: !s.Fits));
        HtmlReport.Cards(sb, figs);
        sb.Append("</section>\n");

        sb.Append("<section id=\"devices\"><h2>Devices</h2>\n<p class=\"sub\">Every simulated device; click a header to sort. Memory: the fullest tier's peak against its capacity.</p>\n");
        DeviceTable(sb, r);
        sb.Append("</section>\n");

        sb.Append("<section id=\"links\"><h2>Links</h2>\n");
        LinkTable(sb, r);
        sb.Append("</section>\n");

        sb.Append("<section id=\"collectives\"><h2>Collectives by kind</h2>\n");
        CollectiveTable(sb, r);
        sb.Append("</section>\n");

        sb.Append("<section id=\"timeline\"><h2>Timeline</h2>\n<p class=\"sub\">The compute segments of every device, and every collective and send below them.</p>\n");
        Timeline(sb, r);
        sb.Append("</section>\n");

        sb.Append("<section id=\"provenance\"><h2>Provenance</h2>\n");
        HtmlReport.ProvenanceTable(sb, [.. s.Details.Select(kv => (kv.Key, kv.Value))], s.Provenance);
        sb.Append("</section>\n");
        HtmlReport.Close(sb);
        return sb.ToString();
    }

    private static void Cell(StringBuilder sb, string json, double value, string text, string cls = "num")
    {
        sb.Append("<td class=\"").Append(cls).Append("\" data-json=\"").Append(Esc(json)).Append("\" data-value=\"").Append(Raw(value))
          .Append("\" data-v=\"").Append(Raw(value)).Append("\">").Append(Esc(text)).Append("</td>");
    }

    private static void DeviceTable(StringBuilder sb, SystemResult r)
    {
        sb.Append("<div class=\"table-wrap\"><table class=\"sortable devices\"><thead><tr>");
        foreach (var (name, num) in new[] { ("Rank", true), ("Device", false), ("Compute busy", true), ("Compute util", true), ("Mem-BW util", true),
                     ("Comm exposed", true), ("Comm overlapped", true), ("Energy", true), ("Memory tier", false), ("Memory peak", true), ("Capacity", true), ("Peak / capacity", true) })
            sb.Append("<th").Append(num ? " class=\"num\" data-type=\"num\"" : "").Append('>').Append(Esc(name)).Append("</th>");
        sb.Append("</tr></thead>\n<tbody>\n");
        for (var i = 0; i < r.Ranks.Count; i++)
        {
            var x = r.Ranks[i];
            var p = $"/devices/{i}";
            var busy = Core.Time.Ps.ToSeconds(x.ComputeBusyPs);
            var exposed = Core.Time.Ps.ToSeconds(x.ExposedCommPs);
            var hidden = Core.Time.Ps.ToSeconds(x.HiddenCommPs);
            var t = x.Memory.OrderByDescending(m => m.CapacityBytes > 0 ? (double)m.PeakBytes / m.CapacityBytes : 0).ThenBy(m => m.Tier, StringComparer.Ordinal).FirstOrDefault();
            sb.Append("<tr data-rank=\"").Append(x.Rank).Append("\"><td class=\"num\" data-json=\"").Append(p).Append("/rank\" data-value=\"")
              .Append(x.Rank).Append("\">").Append(x.Rank).Append("</td><td>").Append(Esc(x.DeviceName)).Append("</td>");
            Cell(sb, p + "/busy_s/compute", busy, Units.Time(busy));
            Cell(sb, p + "/utilisation/compute", x.Metrics.ComputeUtilisation, Units.Percent(x.Metrics.ComputeUtilisation));
            Cell(sb, p + "/utilisation/memory_bandwidth", x.Metrics.MemoryBandwidthUtilisation, Units.Percent(x.Metrics.MemoryBandwidthUtilisation));
            Cell(sb, p + "/communication/exposed_s", exposed, Units.Time(exposed));
            Cell(sb, p + "/communication/overlapped_s", hidden, Units.Time(hidden));
            Cell(sb, p + "/energy_j", x.Metrics.Energy.TotalJ, Units.Energy(x.Metrics.Energy.TotalJ));
            if (t is null) sb.Append("<td>n/a</td><td></td><td></td><td></td>");
            else
            {
                sb.Append("<td>").Append(Esc(t.Tier)).Append("</td>");
                Cell(sb, p + "/memory/peak_bytes/" + t.Tier, t.PeakBytes, Units.Bytes(t.PeakBytes));
                Cell(sb, p + "/memory/capacity_bytes/" + t.Tier, t.CapacityBytes, Units.Bytes(t.CapacityBytes));
                var frac = t.CapacityBytes > 0 ? t.PeakBytes / (double)t.CapacityBytes : 0;
                sb.Append("<td class=\"num").Append(t.Overflows ? " bad" : "").Append("\" data-v=\"").Append(Raw(frac)).Append("\">").Append(Esc(Units.Percent(frac)))
                  .Append(t.Overflows ? Esc($", {Units.Bytes(t.PeakBytes - t.CapacityBytes)} over") : "").Append("</td>");
            }
            sb.Append("</tr>\n");
        }
        sb.Append("</tbody></table></div>\n");
    }

    private static void LinkTable(StringBuilder sb, SystemResult r)
    {
        var used = r.Links.Where(l => l.Bytes > 0).ToArray();
        sb.Append("<p class=\"sub\">").Append(used.Length).Append(" of ").Append(r.Links.Count)
          .Append(" links carried bytes; the others are left out. Utilisation: bytes over bandwidth x the step time.</p>\n");
        if (used.Length == 0) return;
        sb.Append("<div class=\"table-wrap\"><table class=\"sortable links\"><thead><tr><th>Link</th><th class=\"num\" data-type=\"num\">Bandwidth</th>")
          .Append("<th class=\"num\" data-type=\"num\">Bytes</th><th class=\"num\" data-type=\"num\">Busy</th><th class=\"num\" data-type=\"num\">Utilisation</th>")
          .Append("<th class=\"num\" data-type=\"num\">Energy</th></tr></thead>\n<tbody>\n");
        for (var j = 0; j < used.Length; j++)
        {
            var l = used[j];
            var p = $"/network/links/{j}";
            var busy = Core.Time.Ps.ToSeconds(l.BusyPs);
            sb.Append("<tr><td>").Append(Esc(l.Name)).Append("</td>");
            Cell(sb, p + "/bandwidth_Bps", l.Bandwidth_Bps, Units.Bytes(l.Bandwidth_Bps) + "/s");
            Cell(sb, p + "/bytes", l.Bytes, Units.Bytes(l.Bytes));
            Cell(sb, p + "/busy_s", busy, Units.Time(busy));
            Cell(sb, p + "/utilisation", l.Utilisation, Units.Percent(l.Utilisation));
            Cell(sb, p + "/energy_j", l.EnergyJ, Units.Energy(l.EnergyJ));
            sb.Append("</tr>\n");
        }
        sb.Append("</tbody></table></div>\n");
    }

    private static void CollectiveTable(StringBuilder sb, SystemResult r)
    {
        if (r.Collectives.Count == 0)
        {
            sb.Append("<p class=\"sub\">No collective or send ran.</p>\n");
            return;
        }
        sb.Append("<p class=\"sub\">").Append(r.Collectives.Count).Append(" collectives and sends (each one is in the JSON report's <code>network.collectives</code>).</p>\n");
        sb.Append("<table class=\"sortable collectives\"><thead><tr><th>Kind</th><th>Algorithm</th><th class=\"num\" data-type=\"num\">Calls</th>")
          .Append("<th class=\"num\" data-type=\"num\">Bytes (sum)</th><th class=\"num\" data-type=\"num\">Time (sum)</th><th class=\"num\" data-type=\"num\">Bus bandwidth (mean)</th></tr></thead>\n<tbody>\n");
        foreach (var g in r.Collectives.GroupBy(c => (Kind: SystemReport.Kebab(c.Kind.ToString()), Algorithm: SystemReport.Kebab(c.Algorithm.ToString())))
                     .OrderBy(g => g.Key.Kind, StringComparer.Ordinal).ThenBy(g => g.Key.Algorithm, StringComparer.Ordinal))
        {
            var bytes = g.Sum(c => (double)c.Bytes);
            var time = Core.Time.Ps.ToSeconds(g.Sum(c => c.DurationPs));
            var bw = g.Average(c => c.BusBandwidth_Bps);
            sb.Append("<tr data-kind=\"").Append(Esc(g.Key.Kind)).Append("\"><td>").Append(Esc(g.Key.Kind)).Append("</td><td>").Append(Esc(g.Key.Algorithm))
              .Append("</td><td class=\"num\" data-v=\"").Append(g.Count()).Append("\">").Append(g.Count())
              .Append("</td><td class=\"num\" data-v=\"").Append(Raw(bytes)).Append("\">").Append(Esc(Units.Bytes(bytes)))
              .Append("</td><td class=\"num\" data-v=\"").Append(Raw(time)).Append("\">").Append(Esc(Units.Time(time)))
              .Append("</td><td class=\"num\" data-v=\"").Append(Raw(bw)).Append("\">").Append(Esc(Units.Bytes(bw) + "/s")).Append("</td></tr>\n");
        }
        sb.Append("</tbody></table>\n");
    }

    /// <summary>One lane per simulated device (its compute segments) and up to <see cref="CollectiveLanes"/> lanes of
    /// collectives, drawn the way <see cref="TimelineSvg"/> draws ops, so the page's script zooms, pans and shows
    /// the tooltips.</summary>
    private static void Timeline(StringBuilder sb, SystemResult r)
    {
        // First-fit packing of the collectives into lanes, in the result's order (deterministic).
        var laneEnds = new List<long>();
        var collLane = new int[r.Collectives.Count];
        for (var i = 0; i < r.Collectives.Count; i++)
        {
            var c = r.Collectives[i];
            var lane = laneEnds.FindIndex(e => e <= c.StartPs);
            if (lane < 0)
            {
                if (laneEnds.Count < CollectiveLanes) { laneEnds.Add(0); lane = laneEnds.Count - 1; }
                else lane = laneEnds.IndexOf(laneEnds.Min());
            }
            laneEnds[lane] = Math.Max(laneEnds[lane], c.EndPs);
            collLane[i] = lane;
        }
        var labels = r.Ranks.Select(x => "rank " + x.Rank.ToString(CultureInfo.InvariantCulture)).ToList();
        for (var k = 0; k < laneEnds.Count; k++) labels.Add(laneEnds.Count == 1 ? "collectives" : "collectives " + (k + 1).ToString(CultureInfo.InvariantCulture));

        var end = r.MakespanS;
        var pw = Width - Left - Right;
        const string clip = "tl-clip-system";
        TimelineSvg.OpenFrame(sb, labels, end,
            FormattableString.Invariant($"{r.Ranks.Count} devices and {r.Collectives.Count} collectives"), clip);
        void Rect(string cls, int lane, long startPs, long endPs, string tip, string data)
        {
            var s = Core.Time.Ps.ToSeconds(startPs);
            var e = Core.Time.Ps.ToSeconds(endPs);
            var x0 = end > 0 ? Left + s / end * pw : Left;
            var w = end > 0 ? Math.Max((e - s) / end * pw, 0.5) : 0.5;
            sb.Append("<rect class=\"op ").Append(cls).Append("\" x=\"").Append(C(x0)).Append("\" y=\"").Append(C(Top + lane * Lane + (Lane - Bar) / 2))
              .Append("\" width=\"").Append(C(w)).Append("\" height=\"").Append(C(Bar)).Append("\" ").Append(data)
              .Append(" data-s=\"").Append(Raw(s)).Append("\" data-e=\"").Append(Raw(e)).Append("\" data-tip=\"").Append(Esc(tip)).Append("\"/>\n");
        }
        for (var i = 0; i < r.Ranks.Count; i++)
        {
            var x = r.Ranks[i];
            foreach (var seg in x.Segments.Where(g => !g.IsComm && g.EndPs > g.StartPs))
            {
                var tip = $"{RooflineSvg.Line(seg.Label)}\nrank {x.Rank.ToString(CultureInfo.InvariantCulture)} ({x.DeviceName})\nstart {Units.Time(Core.Time.Ps.ToSeconds(seg.StartPs))}\n" +
                          $"duration {Units.Time(Core.Time.Ps.ToSeconds(seg.EndPs - seg.StartPs))}\nwaited {Units.Time(Core.Time.Ps.ToSeconds(seg.StartPs - seg.ReadyPs))} after ready";
                Rect("b-compute", i, seg.StartPs, seg.EndPs, tip, $"data-rank=\"{x.Rank.ToString(CultureInfo.InvariantCulture)}\"");
            }
        }
        for (var i = 0; i < r.Collectives.Count; i++)
        {
            var c = r.Collectives[i];
            var tip = $"{RooflineSvg.Line(c.Key)}\n{SystemReport.Kebab(c.Kind.ToString())} ({SystemReport.Kebab(c.Algorithm.ToString())}) over {c.Group.Count.ToString(CultureInfo.InvariantCulture)} ranks\n" +
                      $"start {Units.Time(Core.Time.Ps.ToSeconds(c.StartPs))}\nduration {Units.Time(Core.Time.Ps.ToSeconds(c.DurationPs))}\n" +
                      $"bytes {Units.Bytes(c.Bytes)}, on the wire {Units.Bytes(c.BytesOnWire)}\nbus bandwidth {Units.Bytes(c.BusBandwidth_Bps)}/s";
            Rect("b-power", r.Ranks.Count + collLane[i], c.StartPs, c.EndPs, tip, $"data-collective=\"{i.ToString(CultureInfo.InvariantCulture)}\"");
        }
        sb.Append("</g>\n</svg>\n");
        sb.Append("<ul class=\"legend\"><li><span class=\"sw sw-dot\" style=\"background:#3182ce\"></span>compute segment</li>")
          .Append("<li><span class=\"sw sw-dot\" style=\"background:#dd6b20\"></span>collective or send</li>")
          .Append("<li>wheel or +/&#8722; to zoom, drag or arrows to pan, hover a bar for its figures</li></ul>\n</div>\n");
    }
}
