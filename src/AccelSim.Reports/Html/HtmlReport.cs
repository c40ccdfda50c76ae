using System.Globalization;
using System.Text;
using AccelSim.Core.Devices;
using AccelSim.Core.Metrics;
using AccelSim.Reports.Internal;
using static AccelSim.Reports.Html.HtmlText;

namespace AccelSim.Reports.Html;

/// <summary>The HTML report (<c>--html</c> on <c>run</c>, <c>compare</c> and <c>serve</c>; <c>run --system</c> in <see cref="SystemHtmlReport"/>): one self-contained
/// file that works offline: inline CSS, inline SVG and a small inline script, no fetch of any kind (its
/// content security policy forbids one). Pure: a report in, a string out, identical bytes for identical
/// reports. Every text from the inputs is escaped. Each key figure carries its JSON pointer into the
/// command's JSON report and its exact value (<c>data-json</c>, <c>data-value</c>), so the page and the
/// JSON can be checked against each other (docs/html-report.md).</summary>
public static class HtmlReport
{
    /// <summary>A figure as the page shows it. <see cref="Better"/>: -1 when lower is better, +1 when higher
    /// is, 0 when neither (a comparison marks the best run's value).</summary>
    internal sealed record Fig(string Json, string Label, double Value, string Text, string Meaning, int Better, bool Bad = false);

    /// <summary>The page of one run: key figures, roofline, timeline, energy and memory, op table, provenance.</summary>
    public static string Run(RunMetrics m, RooflineData roofline)
    {
        ArgumentNullException.ThrowIfNull(m);
        ArgumentNullException.ThrowIfNull(roofline);
        var facts = ReportFacts.From(m);
        var title = Title(m);
        var sb = new StringBuilder(64 * 1024 + m.Ops.Count * 1200);
        Open(sb, "AccelSim run: " + title);
        sb.Append("<header><h1>").Append(Esc(title)).Append("</h1>\n");
        sb.Append("<p class=\"sub\">").Append(Esc(WorkloadLine(m))).Append("</p>\n");
        if (m.Launch?.Note(m.Workload) is { } note) sb.Append("<p class=\"sub\">").Append(Esc(note)).Append("</p>\n");
        sb.Append("<p class=\"verdict\">").Append(Esc(Verdict(m, facts))).Append("</p>\n</header>\n<main>\n");

        sb.Append("<section id=\"figures\"><h2>Key figures</h2>\n");
        Cards(sb, RunFigures(m));
        sb.Append("</section>\n");

        sb.Append("<section id=\"roofline\"><h2>Roofline</h2>\n");
        RooflineSvg.Write(sb, roofline, "Roofline: " + title);
        sb.Append("</section>\n");

        sb.Append("<section id=\"timeline\"><h2>Timeline</h2>\n<p class=\"sub\">Every op on the engine that ran it, coloured by what bound it.</p>\n");
        TimelineSvg.Write(sb, m);
        sb.Append("</section>\n");

        sb.Append("<div class=\"cols\"><section id=\"energy\"><h2>Energy breakdown</h2>\n");
        EnergyBars(sb, m);
        sb.Append("</section>\n<section id=\"memory\"><h2>Memory breakdown</h2>\n");
        MemoryBars(sb, m);
        sb.Append("</section></div>\n");

        sb.Append("<section id=\"kinds\"><h2>Time by op kind</h2>\n");
        KindTable(sb, facts);
        sb.Append("</section>\n");

        sb.Append("<section id=\"ops\"><h2>Ops</h2>\n<p class=\"sub\">All ").Append(m.Ops.Count)
          .Append(" ops; click a header to sort. The note says why an op is bound as it is (a power-capped clock, the region mode a schedule chose, ...).</p>\n");
        OpTable(sb, m, facts);
        sb.Append("</section>\n");

        sb.Append("<section id=\"provenance\"><h2>Provenance</h2>\n");
        Provenance(sb, m);
        sb.Append("</section>\n");
        Close(sb);
        return sb.ToString();
    }

    /// <summary>The page of a comparison: the key figures side by side with the best value of each marked (among
    /// the runs that fit), then one run's roofline and timeline at a time, chosen with a selector.</summary>
    public static string Compare(IReadOnlyList<ComparedHtmlRun> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count == 0) throw new ArgumentException("a comparison needs at least one run", nameof(runs));
        var first = runs[0].Run;
        var w = first.Workload;
        var title = $"{w.Name} {w.Phase}, batch {Inv(w.Batch)} on {string.Join(", ", runs.Select(r => r.Run.DisplayName).Distinct(StringComparer.Ordinal))}";
        var sb = new StringBuilder(64 * 1024 + runs.Sum(r => r.Run.Ops.Count) * 900);
        Open(sb, "AccelSim compare: " + title);
        sb.Append("<header><h1>").Append(Esc(title)).Append("</h1>\n<p class=\"sub\">")
          .Append(Esc($"{w.Name} | phase {w.Phase} | batch {Inv(w.Batch)} | seq {Inv(w.SeqLen)} | context {Inv(w.Context)} | {Units.Count(w.Tokens)} tokens | {first.OpCount} ops"
              + (w.Stack is null ? "" : $" | stack {w.Stack}") + $" | {runs.Count} runs"))
          .Append("</p>\n");
        var fastest = Comparison.FastestThatFits(runs.Select(r => r.Run));
        sb.Append("<p class=\"verdict\">").Append(Esc(fastest is null
            ? "No run fits in its device's memory (--placement offload streams what does not fit from a slower tier)."
            : $"Fastest: {fastest.DisplayName} ({fastest.Schedule}), {Units.Time(fastest.LatencyS)}" + (runs.Any(r => !Comparison.Fits(r.Run)) ? ", of the runs that fit." : ".")))
          .Append("</p>\n</header>\n<main>\n");

        sb.Append("<section id=\"figures\"><h2>Key figures side by side</h2>\n<p class=\"sub\">&#9733; marks the best value of a row among the runs that fit.</p>\n");
        var figs = runs.Select(r => CompareFigures(r.Run)).ToArray();
        var fits = runs.Select(r => Comparison.Fits(r.Run)).ToArray();
        var pool = fits.Any(f => f) ? fits : fits.Select(_ => true).ToArray();
        sb.Append("<div class=\"table-wrap\"><table class=\"compare\"><thead><tr><th>Figure</th>");
        foreach (var r in runs) sb.Append("<th class=\"num\">").Append(Esc(r.Run.DisplayName)).Append("<br>").Append(Esc(r.Run.Schedule)).Append("</th>");
        sb.Append("<th>What it means</th></tr></thead>\n<tbody>\n");
        for (var row = 0; row < figs[0].Count; row++)
        {
            var f0 = figs[0][row];
            double? best = null;
            if (f0.Better != 0)
            {
                for (var i = 0; i < runs.Count; i++)
                {
                    var v = figs[i][row].Value;
                    if (!pool[i] || !double.IsFinite(v)) continue;
                    if (best is null || (f0.Better < 0 ? v < best : v > best)) best = v;
                }
            }
            sb.Append("<tr><th>").Append(Esc(f0.Label)).Append("</th>");
            for (var i = 0; i < runs.Count; i++)
            {
                var f = figs[i][row];
                var isBest = best is { } b && pool[i] && f.Value == b;
                sb.Append("<td class=\"num").Append(isBest ? " best" : "").Append(f.Bad ? " bad" : "").Append('"');
                if (f.Json.Length > 0) sb.Append(" data-run=\"").Append(i).Append("\" data-json=\"").Append(Esc(f.Json)).Append("\" data-value=\"").Append(Raw(f.Value)).Append('"');
                sb.Append('>').Append(Esc(f.Text)).Append("</td>");
            }
            sb.Append("<td class=\"note\">").Append(Esc(f0.Meaning)).Append("</td></tr>\n");
        }
        sb.Append("</tbody></table></div>\n</section>\n");

        sb.Append("<section id=\"runs\"><h2>Each run</h2>\n<p class=\"selector\"><label for=\"run-select\">Run: </label><select id=\"run-select\">");
        for (var i = 0; i < runs.Count; i++)
            sb.Append("<option value=\"").Append(i).Append('"').Append(i == 0 ? " selected" : "").Append('>').Append(Esc($"{runs[i].Run.DisplayName} ({runs[i].Run.Schedule})")).Append("</option>");
        sb.Append("</select></p>\n");
        for (var i = 0; i < runs.Count; i++)
        {
            var r = runs[i].Run;
            var t = Title(r);
            sb.Append("<section class=\"run-detail\" data-run=\"").Append(i).Append('"').Append(i == 0 ? "" : " hidden").Append(">\n<h3>").Append(Esc(t + " (" + r.Schedule + ")")).Append("</h3>\n");
            sb.Append("<p class=\"verdict\">").Append(Esc(Verdict(r, ReportFacts.From(r)))).Append("</p>\n");
            RooflineSvg.Write(sb, runs[i].Roofline, $"Roofline: {t} ({r.Schedule})");
            TimelineSvg.Write(sb, r);
            if (r.Provenance is { } p)
            {
                sb.Append("<p class=\"sub\">Inputs: ");
                ProvenanceFiles(sb, p);
                sb.Append("</p>\n");
            }
            sb.Append("</section>\n");
        }
        sb.Append("</section>\n");
        Close(sb);
        return sb.ToString();
    }

    /// <summary>The page of a serving run: latency percentiles, key figures, queue, batch and KV cache over time,
    /// and the provenance.</summary>
    public static string Serve(ServeHtml s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var title = $"{s.Model} served on {s.Hardware}, scheduler {s.Scheduler}";
        var sb = new StringBuilder(64 * 1024);
        Open(sb, "AccelSim serve: " + title);
        sb.Append("<header><h1>").Append(Esc(title)).Append("</h1>\n<p class=\"sub\">")
          .Append(Esc($"{s.Hardware} ({s.Kind}) | {s.Model} | scheduler {s.Scheduler} | arrivals {s.Arrivals} | {Units.Time(s.DurationS)} served")).Append("</p>\n</header>\n<main>\n");

        sb.Append("<section id=\"latency\"><h2>Latency</h2>\n<div class=\"table-wrap\"><table class=\"metrics\"><thead><tr><th>Metric</th>");
        foreach (var h in new[] { "mean", "p50", "p90", "p99", "max" }) sb.Append("<th class=\"num\">").Append(h).Append("</th>");
        sb.Append("<th>What it means</th></tr></thead>\n<tbody>\n");
        foreach (var d in s.Distributions)
        {
            sb.Append("<tr><th>").Append(Esc(d.Label)).Append("</th>");
            foreach (var (key, v) in new[] { ("mean", d.Mean), ("p50", d.P50), ("p90", d.P90), ("p99", d.P99), ("max", d.Max) })
            {
                sb.Append("<td class=\"num\" data-json=\"").Append(Esc(d.Json + "/" + key)).Append("\" data-value=\"").Append(Raw(v)).Append("\">")
                  .Append(Esc(Units.Time(v))).Append("</td>");
            }
            sb.Append("<td class=\"note\">").Append(Esc(d.Meaning)).Append("</td></tr>\n");
        }
        sb.Append("</tbody></table></div>\n</section>\n");

        sb.Append("<section id=\"figures\"><h2>Key figures</h2>\n");
        Cards(sb, s.Figures.Select(f => new Fig(f.Json, f.Label, f.Value, Format(f.Value, f.Unit) + (f.Suffix.Length > 0 ? " " + f.Suffix : ""), f.Meaning, 0)).ToArray());
        if (s.Details.Count > 0)
        {
            sb.Append("<table class=\"details\"><tbody>\n");
            foreach (var (k, v) in s.Details) sb.Append("<tr><th>").Append(Esc(k)).Append("</th><td>").Append(Esc(v)).Append("</td></tr>\n");
            sb.Append("</tbody></table>\n");
        }
        sb.Append("</section>\n");

        sb.Append("<section id=\"series\"><h2>Over time</h2>\n<div class=\"cols\">\n");
        foreach (var series in s.Series)
        {
            sb.Append("<div class=\"series\"><h3>").Append(Esc(series.Label)).Append("</h3>\n");
            LineChartSvg.Write(sb, series, s.DurationS);
            sb.Append("<p class=\"sub\">").Append(Esc(series.Meaning)).Append("</p></div>\n");
        }
        sb.Append("</div>\n</section>\n");

        sb.Append("<section id=\"provenance\"><h2>Provenance</h2>\n");
        var rows = new List<(string, string)> { ("hardware", $"{s.Hardware} ({s.Kind})"), ("model", s.Model), ("scheduler", s.Scheduler), ("arrivals", s.Arrivals) };
        ProvenanceTable(sb, rows, s.Provenance);
        sb.Append("</section>\n");
        Close(sb);
        return sb.ToString();
    }

    // ---- the figures ----

    internal static IReadOnlyList<Fig> RunFigures(RunMetrics m)
    {
        var mw = m.MemoryWall;
        var iv = m.Interval;
        var list = new List<Fig>
        {
            new("/latency_s", "Latency", m.LatencyS, TableReport.WithInterval(m.LatencyS, iv?.LatencyLowS, iv?.LatencyHighS, Units.Time, iv),
                "Time from the first op's start to the last op's end" + IntervalNote(iv), -1),
            new("/tokens_per_s", "Throughput", m.TokensPerS, Units.Count(m.TokensPerS) + " tokens/s", $"{Units.Count(m.Workload.Tokens)} tokens processed, per second of latency.", 1),
            new("/energy_j", "Energy", m.Energy.TotalJ, TableReport.WithInterval(m.Energy.TotalJ, iv?.EnergyLowJ, iv?.EnergyHighJ, Units.Energy, iv),
                "Dynamic energy of the math and of every byte moved, plus static power over the latency.", -1),
            new("/power_w/average", "Average power", m.AveragePowerW, Units.Num(m.AveragePowerW, 1) + " W",
                $"Energy over latency; ops running at once drew at most {Units.Num(m.PeakPowerW, 1)} W.", 0),
            new("/utilisation/compute", "Compute utilisation", m.ComputeUtilisation, Units.Percent(m.ComputeUtilisation),
                "Time the math would take at the device's peak FLOP/s, over the latency.", 0),
            new("/utilisation/memory_bandwidth", "Memory-bandwidth utilisation", m.MemoryBandwidthUtilisation, Units.Percent(m.MemoryBandwidthUtilisation),
                "Main-memory bytes over what its bandwidth could move in the latency.", 0),
            new("/memory_wall/memory_bound_time_fraction", "Memory-bound share", mw.MemoryBoundTimeFraction, Units.Percent(mw.MemoryBoundTimeFraction),
                $"Share of the latency spent in ops whose bytes take longer than their math ({Inv(mw.MemoryBoundOps)} of {Inv(m.OpCount)} ops).", -1),
            new("/memory_wall/stall_s", "Time waiting for bytes", mw.StallS, Units.Time(mw.StallS),
                $"Time ops waited for data after their math was done ({Units.Percent(m.LatencyS > 0 ? mw.StallS / m.LatencyS : 0)} of the latency): what the memory wall costs here.", -1),
            new("/memory_wall/arithmetic_intensity_flop_per_byte", "Arithmetic intensity", mw.ArithmeticIntensity, Units.Intensity(mw.ArithmeticIntensity),
                $"FLOPs per off-chip byte of the whole run; below the ridge point ({Units.Intensity(mw.RidgePoint)}) bytes set the pace, above it math does.", 0),
            new("/tokens_per_j", "Energy efficiency", m.TokensPerJ, Units.Num(m.TokensPerJ, 2) + " tokens/J", "Tokens processed per joule.", 1),
        };
        list.Add(FitsFig(m));
        if (m.Carbon is { } c)
            list.Add(new("/carbon/total_g", "Carbon", c.TotalG, Units.Num(c.TotalG * 1e3, 3) + " mgCO2e",
                $"Operational (energy x PUE {Units.Num(c.Inputs.Pue, 2)} x grid intensity) plus the embodied share of the device's lifetime.", -1));
        return list;
    }

    private static IReadOnlyList<Fig> CompareFigures(RunMetrics m)
    {
        var mw = m.MemoryWall;
        return
        [
            new("/latency_s", "Latency", m.LatencyS, Units.Time(m.LatencyS), "First op start to last op end.", -1),
            new("/tokens_per_s", "Throughput", m.TokensPerS, Units.Count(m.TokensPerS) + " tokens/s", "Tokens processed per second of latency.", 1),
            new("/energy_j", "Energy", m.Energy.TotalJ, Units.Energy(m.Energy.TotalJ), "Dynamic (compute + memory) plus static energy.", -1),
            new("/tokens_per_j", "Energy efficiency", m.TokensPerJ, Units.Num(m.TokensPerJ, 2) + " tokens/J", "Tokens processed per joule.", 1),
            new("/power_w/average", "Average power", m.AveragePowerW, Units.Num(m.AveragePowerW, 1) + " W", "Energy over latency.", -1),
            new("/utilisation/compute", "Compute utilisation", m.ComputeUtilisation, Units.Percent(m.ComputeUtilisation), "Time the math needs at peak, over the latency.", 0),
            new("/utilisation/memory_bandwidth", "Memory-bandwidth utilisation", m.MemoryBandwidthUtilisation, Units.Percent(m.MemoryBandwidthUtilisation), "Main-memory bytes over bandwidth x latency.", 0),
            new("/off_chip_bytes", "Off-chip bytes", m.OffChipBytes, Units.Bytes(m.OffChipBytes), "Bytes that crossed an off-chip channel.", -1),
            new("/memory_wall/memory_bound_time_fraction", "Memory-bound share", mw.MemoryBoundTimeFraction, Units.Percent(mw.MemoryBoundTimeFraction), "Share of the latency in memory-bound ops.", -1),
            new("/memory_wall/stall_s", "Time waiting for bytes", mw.StallS, Units.Time(mw.StallS), "Time ops waited for data after their math was done.", -1),
            new("/memory_wall/arithmetic_intensity_flop_per_byte", "Arithmetic intensity", mw.ArithmeticIntensity, Units.Intensity(mw.ArithmeticIntensity), "FLOPs per off-chip byte.", 0),
            new("/memory_wall/ridge_point_flop_per_byte", "Ridge point", mw.RidgePoint, Units.Intensity(mw.RidgePoint), "Peak FLOP/s over main-memory bandwidth.", 0),
            FitsFig(m),
            new("/provenance/estimate_time_share", "On estimates", m.Provenance?.EstimateTimeShare ?? double.NaN,
                m.Provenance?.EstimateTimeShare is { } share ? Units.Percent(share) : "n/a", "Share of busy time that depends on estimate-tagged parameters.", -1),
        ];
    }

    private static Fig FitsFig(RunMetrics m)
    {
        var fits = Comparison.Fits(m);
        string meaning;
        if (fits)
        {
            var fullest = m.Memory.CapacityBytes.Where(kv => kv.Value > 0)
                .OrderByDescending(kv => m.Memory.PeakBytes.GetValueOrDefault(kv.Key) / (double)kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).FirstOrDefault();
            meaning = fullest.Key is null ? "Peak occupancy stays within every memory tier's capacity."
                : $"Peak occupancy stays within every tier's capacity; fullest: {fullest.Key}, {Units.Bytes(m.Memory.PeakBytes.GetValueOrDefault(fullest.Key))} of {Units.Bytes(fullest.Value)}.";
        }
        else meaning = string.Join(" ", TableReport.CapacityWarnings(m).Select(w => char.ToUpperInvariant(w[0]) + w[1..] + "."));
        var over = m.Memory.OverCapacityBytes.Where(kv => kv.Value > 0).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        var text = fits ? "fits" : "over capacity: " + string.Join(", ", over.Select(kv => $"{kv.Key} +{Units.Bytes(kv.Value)}"));
        return new Fig("", "Fits in memory", fits ? 1 : 0, text, meaning, 0, Bad: !fits);
    }

    private static string IntervalNote(PredictionInterval? iv) => iv switch
    {
        { HasBounds: true } => $". The {Units.Num(iv.Level * 100, 0)}% interval comes from the validation residuals ({iv.Source}).",
        { Note: { } n } => " (" + n + ").",
        _ => ".",
    };

    internal static string Format(double v, HtmlUnit unit) => unit switch
    {
        HtmlUnit.Seconds => Units.Time(v),
        HtmlUnit.Joules => Units.Energy(v),
        HtmlUnit.Fraction => Units.Percent(v),
        HtmlUnit.Count => Units.Count(v),
        HtmlUnit.Bytes => Units.Bytes(v),
        HtmlUnit.FlopRate => Units.FlopRate(v),
        HtmlUnit.Usd => Usd(v),
        _ => double.IsFinite(v) ? v.ToString("G4", CultureInfo.InvariantCulture) : "n/a",
    };

    internal static string Usd(double v)
    {
        if (!double.IsFinite(v)) return "n/a";
        if (v == 0) return "$0";
        var decimals = Math.Clamp(3 - (int)Math.Floor(Math.Log10(Math.Abs(v))), 2, 12);
        return "$" + v.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    internal static void Cards(StringBuilder sb, IReadOnlyList<Fig> figs)
    {
        sb.Append("<div class=\"figs\">\n");
        foreach (var f in figs)
        {
            sb.Append("<div class=\"fig").Append(f.Bad ? " bad" : "").Append("\"><div class=\"fig-label\">").Append(Esc(f.Label)).Append("</div><div class=\"fig-value\"");
            if (f.Json.Length > 0) sb.Append(" data-json=\"").Append(Esc(f.Json)).Append("\" data-value=\"").Append(Raw(f.Value)).Append('"');
            else if (f.Label == "Fits in memory") sb.Append(" data-fits=\"").Append(f.Value > 0 ? "true" : "false").Append('"');
            sb.Append('>').Append(Esc(f.Text)).Append("</div><div class=\"fig-note\">").Append(Esc(f.Meaning)).Append("</div></div>\n");
        }
        sb.Append("</div>\n");
    }

    // ---- the sections of a run ----

    private static void EnergyBars(StringBuilder sb, RunMetrics m)
    {
        var e = m.Energy;
        var parts = new List<(string Name, string Json, double J)> { ("compute", "/energy_breakdown_j/compute", e.ComputeJ) };
        foreach (var tier in e.MemoryJ.Keys.Order(StringComparer.Ordinal))
            if (e.MemoryJ[tier] > 0) parts.Add(("memory " + tier, "/energy_breakdown_j/memory/" + tier, e.MemoryJ[tier]));
        parts.Add(("static", "/energy_breakdown_j/static", e.StaticJ));
        sb.Append("<div class=\"bars\">\n");
        foreach (var (name, json, j) in parts)
        {
            var share = e.TotalJ > 0 ? j / e.TotalJ : 0;
            BarRow(sb, name, share, $"{Units.Energy(j)} ({Units.Percent(share)})", json, j, false);
        }
        sb.Append("</div>\n<p class=\"sub\">Total ").Append(Esc(Units.Energy(e.TotalJ))).Append("; memory tiers that moved no byte are left out.</p>\n");
    }

    private static void MemoryBars(StringBuilder sb, RunMetrics m)
    {
        var mem = m.Memory;
        sb.Append("<h3>Peak occupancy per tier</h3>\n<div class=\"bars\">\n");
        foreach (var tier in mem.CapacityBytes.Keys.Order(StringComparer.Ordinal))
        {
            var cap = mem.CapacityBytes[tier];
            var peak = mem.PeakBytes.GetValueOrDefault(tier);
            var over = mem.OverCapacityBytes.GetValueOrDefault(tier);
            var text = $"{Units.Bytes(peak)} of {Units.Bytes(cap)}" + (cap > 0 ? $" ({Units.Percent(peak / (double)cap)})" : "") + (over > 0 ? $", {Units.Bytes(over)} over" : "");
            BarRow(sb, tier, cap > 0 ? peak / (double)cap : 0, text, "/memory/peak_bytes/" + tier, peak, over > 0);
        }
        sb.Append("</div>\n");
        var channels = mem.BytesMovedByChannel.Keys.Concat(mem.StallSByChannel.Keys).Distinct().Order(StringComparer.Ordinal)
            .Where(c => mem.BytesMovedByChannel.GetValueOrDefault(c) > 0 || mem.StallSByChannel.GetValueOrDefault(c) > 0).ToArray();
        sb.Append("<h3>Bytes moved per link</h3>\n<div class=\"bars\">\n");
        var most = channels.Length == 0 ? 0 : channels.Max(c => mem.BytesMovedByChannel.GetValueOrDefault(c));
        foreach (var c in channels)
        {
            var bytes = mem.BytesMovedByChannel.GetValueOrDefault(c);
            var stall = mem.StallSByChannel.GetValueOrDefault(c);
            BarRow(sb, c, most > 0 ? bytes / (double)most : 0, $"{Units.Bytes(bytes)}, engines stalled {Units.Time(stall)}", "/memory/bytes_moved_by_channel/" + c, bytes, false);
        }
        sb.Append("</div>\n<p class=\"sub\">Links that carried no byte are left out; a stall is time engines waited on the link.</p>\n");
    }

    private static void BarRow(StringBuilder sb, string label, double fraction, string text, string json, double value, bool over)
    {
        var pct = Math.Clamp(double.IsFinite(fraction) ? fraction : 0, 0, 1) * 100;
        sb.Append("<span class=\"bar-label\">").Append(Esc(label)).Append("</span><span class=\"bar\"><span class=\"bar-fill").Append(over ? " over" : "")
          .Append("\" style=\"width:").Append(C(pct)).Append("%\"></span></span><span class=\"bar-value\" data-json=\"").Append(Esc(json))
          .Append("\" data-value=\"").Append(Raw(value)).Append("\">").Append(Esc(text)).Append("</span>\n");
    }

    private static void KindTable(StringBuilder sb, ReportFacts facts)
    {
        sb.Append("<table class=\"sortable kinds\"><thead><tr><th>Kind</th><th class=\"num\" data-type=\"num\">Ops</th><th class=\"num\" data-type=\"num\">Time</th>")
          .Append("<th class=\"num\" data-type=\"num\">Share of busy time</th><th>Mostly</th></tr></thead>\n<tbody>\n");
        foreach (var k in facts.ByKind)
        {
            sb.Append("<tr><td>").Append(Esc(k.Kind)).Append("</td><td class=\"num\">").Append(k.Ops).Append("</td><td class=\"num\" data-v=\"").Append(Raw(k.TimeS)).Append("\">")
              .Append(Esc(Units.Time(k.TimeS))).Append("</td><td class=\"num\" data-v=\"").Append(Raw(k.Fraction)).Append("\">").Append(Esc(Units.Percent(k.Fraction)))
              .Append("</td><td>").Append(Esc(k.DominantBound.Name())).Append("-bound</td></tr>\n");
        }
        sb.Append("</tbody></table>\n");
    }

    private static void OpTable(StringBuilder sb, RunMetrics m, ReportFacts facts)
    {
        sb.Append("<div class=\"table-wrap\"><table class=\"sortable ops\" id=\"op-table\"><thead><tr>");
        foreach (var (name, num) in new[] { ("#", true), ("Op", false), ("Kind", false), ("Layer", true), ("Engine", false), ("Start", true), ("Time", true),
                     ("Bound", false), ("FLOPs", true), ("Bytes", true), ("FLOP/B", true), ("Achieved", true), ("Energy", true), ("Note", false) })
            sb.Append("<th").Append(num ? " class=\"num\" data-type=\"num\"" : "").Append('>').Append(Esc(name)).Append("</th>");
        sb.Append("</tr></thead>\n<tbody>\n");
        for (var i = 0; i < m.Ops.Count; i++)
        {
            var o = m.Ops[i];
            long bytes = 0;
            foreach (var v in o.BytesByTier.Values) bytes += v;
            var start = Core.Time.Ps.ToSeconds(o.StartPs);
            var time = facts.OpTimeS[i];
            var note = o.Note ?? "";
            if (o.PowerLimit is { } p)
                note = (note.Length > 0 ? note + "; " : "") + string.Create(CultureInfo.InvariantCulture, $"power cap {p.CapW:#,0} W holds the {p.Clock} at {p.ClockHz / 1e6:#,0} MHz");
            sb.Append("<tr data-op=\"").Append(Raw(o.Id)).Append("\"><td class=\"num\">").Append(Raw(o.Id)).Append("</td><td>").Append(Esc(o.Name)).Append("</td><td>").Append(Esc(o.Kind))
              .Append("</td><td class=\"num\">").Append(o.Layer).Append("</td><td>").Append(Esc(o.Engine))
              .Append("</td><td class=\"num\" data-v=\"").Append(Raw(start)).Append("\">").Append(Esc(Units.Time(start)))
              .Append("</td><td class=\"num\" data-v=\"").Append(Raw(time)).Append("\">").Append(Esc(Units.Time(time)))
              .Append("</td><td class=\"b-").Append(o.Bound.Name()).Append("-text\">").Append(Esc(o.Bound.Name()))
              .Append("</td><td class=\"num\" data-v=\"").Append(Raw(o.Flops)).Append("\">").Append(Esc(Units.Flops(o.Flops)))
              .Append("</td><td class=\"num\" data-v=\"").Append(Raw(bytes)).Append("\">").Append(Esc(Units.Bytes(bytes)))
              .Append("</td><td class=\"num\" data-v=\"").Append(Raw(o.ArithmeticIntensity)).Append("\">").Append(Esc(double.IsFinite(o.ArithmeticIntensity) ? Units.Num(o.ArithmeticIntensity, 1) : "n/a"))
              .Append("</td><td class=\"num\" data-v=\"").Append(Raw(o.AchievedFlops)).Append("\">").Append(Esc(Units.FlopRate(o.AchievedFlops)))
              .Append("</td><td class=\"num\" data-v=\"").Append(Raw(o.EnergyJ)).Append("\">").Append(Esc(Units.Energy(o.EnergyJ)))
              .Append("</td><td class=\"note\">").Append(Esc(note)).Append("</td></tr>\n");
        }
        sb.Append("</tbody></table></div>\n");
    }

    private static void Provenance(StringBuilder sb, RunMetrics m)
    {
        var w = m.Workload;
        var rows = new List<(string, string)>
        {
            ("hardware", $"{m.DisplayName} ({m.HardwareKind})"),
            ("model", w.Name),
            ("phase", w.Phase),
            ("batch, seq, context", $"{Inv(w.Batch)}, {Inv(w.SeqLen)}, {Inv(w.Context)}"),
            ("schedule", m.Schedule),
        };
        if (m.Interval is { } iv) rows.Add(("interval source", iv.Source + (iv.Note is { } n ? " (" + n + ")" : "")));
        if (m.Carbon is { } c) rows.Add(("carbon inputs", $"{c.Inputs.GridSource}; {c.Inputs.EmbodiedSource}"));
        ProvenanceTable(sb, rows, m.Provenance);
    }

    internal static void ProvenanceTable(StringBuilder sb, List<(string Key, string Value)> rows, RunProvenance? p)
    {
        if (p is not null)
        {
            rows.Add(("stack", p.Stack));
            rows.Add(("launch", p.Launch));
            rows.Add(("parameters by tag", string.Join(", ", p.ParameterCounts.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{Inv(k.Value)} {k.Key}"))));
            if (p.EstimateTimeShare is { } share)
                rows.Add(("on estimates", $"{Units.Percent(share)} of busy time depends on estimate-tagged parameters (latency {(p.EstimateLatencyChange is >= 0 ? "+" : "")}{Units.Percent(p.EstimateLatencyChange ?? 0)} with estimates x{Units.Num(p.EstimatePerturbation, 3)})"));
            rows.Add(("overrides", p.Overrides.Count == 0 ? "none" : string.Join(", ", p.Overrides.Select(o => $"{o.Key}={o.Value}"))));
        }
        sb.Append("<table class=\"provenance\"><tbody>\n");
        foreach (var (k, v) in rows) sb.Append("<tr><th>").Append(Esc(k)).Append("</th><td>").Append(Esc(v)).Append("</td></tr>\n");
        sb.Append("</tbody></table>\n");
        if (p is null || p.Files.Count == 0) return;
        sb.Append("<h3>Input files</h3>\n<table class=\"files\"><thead><tr><th>Role</th><th>File</th><th>SHA-256</th></tr></thead>\n<tbody>\n");
        foreach (var f in p.Files)
            sb.Append("<tr><td>").Append(Esc(f.Role)).Append("</td><td><code>").Append(Esc(f.Name)).Append("</code></td><td class=\"hash\" data-sha256=\"").Append(Esc(f.Sha256)).Append("\">").Append(Esc(f.Sha256)).Append("</td></tr>\n");
        sb.Append("</tbody></table>\n");
    }

    private static void ProvenanceFiles(StringBuilder sb, RunProvenance p)
    {
        sb.Append(Esc(string.Join(", ", p.Files.Select(f => $"{f.Name} (sha256 {f.Sha256[..Math.Min(8, f.Sha256.Length)]})")) + $" | stack {p.Stack}, launch {p.Launch}"));
    }

    // ---- page frame ----

    internal static void Open(StringBuilder sb, string title)
    {
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"")
          .Append(HtmlAssets.ContentSecurityPolicy).Append("\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"AccelSim\">\n<title>")
          .Append(Esc(title)).Append("</title>\n<style>\n").Append(HtmlAssets.Css).Append("\n</style>\n</head>\n<body>\n");
    }

    internal static void Close(StringBuilder sb)
    {
        sb.Append("</main>\n<footer>Written by AccelSim; this page is self-contained and works offline. Figures match the command's JSON report (docs/report-schema.md).</footer>\n")
          .Append("<div id=\"tip\" class=\"tip\" hidden></div>\n<script>\n").Append(HtmlAssets.Js).Append("\n</script>\n</body>\n</html>\n");
    }

    internal static string Title(RunMetrics m)
    {
        var w = m.Workload;
        return $"{w.Name} {w.Phase}, batch {Inv(w.Batch)}, seq {Inv(w.SeqLen)}" + (w.Context > 0 ? $", context {Inv(w.Context)}" : "") + $" on {m.DisplayName}";
    }

    private static string WorkloadLine(RunMetrics m)
    {
        var w = m.Workload;
        return $"{m.DisplayName} ({m.HardwareKind}) | {w.Name} | phase {w.Phase} | batch {Inv(w.Batch)} | seq {Inv(w.SeqLen)} | context {Inv(w.Context)} | "
            + $"{Units.Count(w.Tokens)} tokens | {Inv(m.OpCount)} ops | schedule {m.Schedule}"
            + (w.Stack is null ? "" : $" | stack {w.Stack}") + (w.Launch is null ? "" : $" | launch {w.Launch}");
    }

    /// <summary>The verdict as the table report words it, in plain text.</summary>
    internal static string Verdict(RunMetrics m, ReportFacts facts)
    {
        var mw = m.MemoryWall;
        var share = facts.TotalOpTimeS > 0 ? facts.TimeS(facts.Dominant) / facts.TotalOpTimeS : 0;
        var intensity = double.IsPositiveInfinity(mw.ArithmeticIntensity)
            ? "no byte leaves the chip (arithmetic intensity unbounded)"
            : $"arithmetic intensity {Units.Intensity(mw.ArithmeticIntensity)} is {(mw.ArithmeticIntensity < mw.RidgePoint ? "below" : "at or above")} the ridge point {Units.Intensity(mw.RidgePoint)}";
        var waitingOn = "";
        if (facts.Dominant == Bound.Memory && m.Memory.StallSByChannel.Count > 0)
        {
            var (channel, stall) = m.Memory.StallSByChannel.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).First();
            if (stall > 0) waitingOn = $", most of the wait on {channel}";
        }
        var held = facts.Dominant == Bound.Power && facts.Power is { } p
            ? string.Create(CultureInfo.InvariantCulture, $"the {p.CapW:#,0} W cap holds the {p.Clock} at {p.ClockHz / 1e6:#,0} MHz; ")
            : "";
        return $"Verdict: {facts.Dominant.Name()}-bound overall: {held}{Units.Percent(share)} of busy time in {facts.Dominant.Name()}-bound ops{waitingOn}; {intensity}.";
    }

    private static string Inv(long v) => v.ToString(CultureInfo.InvariantCulture);
}
