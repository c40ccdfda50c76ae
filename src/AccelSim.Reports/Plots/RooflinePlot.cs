using System.Globalization;
using AccelSim.Core.Metrics;
using ScottPlot;

namespace AccelSim.Reports.Plots;

/// <summary>A log-log roofline of a run: the compute peaks of the data types its ops used (one horizontal
/// roof per peak) and the memory roofs of the channels its bytes crossed (one diagonal per channel: HBM,
/// L2, the host link, ...; a channel the run never touched is not drawn), and every op with FLOPs as a point
/// at (arithmetic intensity, achieved FLOP/s), coloured by op kind. Ops without FLOPs (copies, KV writes)
/// have no place on a roofline and are counted in the title. A run with no FLOPs at all gets the device's
/// highest peak as its ceiling.</summary>
public static class RooflinePlot
{
    public static void SavePng(string path, RooflineData data, string? title = null, int width = 1100, int height = 800)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(data);
        var computeRoofs = ComputeRoofs(data);
        var memoryRoofs = data.UsedRoofs.Where(r => !r.IsCompute).ToArray();
        if (computeRoofs.Length == 0) throw new ArgumentException("the device has no compute peak to draw", nameof(data));
        var points = data.Points.Where(p => p.Op.Flops > 0 && p.Intensity > 0 && p.Op.AchievedFlops > 0).ToArray();

        var maxPeak = computeRoofs.Max(r => r.Value);
        var minBw = memoryRoofs.Length == 0 ? maxPeak : memoryRoofs.Min(r => r.Value);
        var xs = points.Select(p => p.Intensity).ToArray();
        var ys = points.Select(p => p.Op.AchievedFlops).ToArray();
        var xLo = Math.Floor(Math.Log10(Math.Min(xs.Length > 0 ? xs.Min() : 1, 0.1)));
        var ridge = maxPeak / (data.MainMemoryBandwidth_Bps > 0 ? data.MainMemoryBandwidth_Bps : minBw);
        var xHi = Math.Ceiling(Math.Log10(Math.Max(xs.Length > 0 ? xs.Max() * 2 : 1, ridge * 10)));
        var yHi = Math.Ceiling(Math.Log10(maxPeak * 2));
        var yLo = Math.Floor(Math.Log10(Math.Min(ys.Length > 0 ? ys.Min() : maxPeak, minBw * Math.Pow(10, xLo))));

        var plot = new Plot();
        var roofPalette = new ScottPlot.Palettes.Tsitsulin();
        var i = 0;
        foreach (var r in memoryRoofs)
        {
            // Diagonal y = x + log10(bandwidth), up to where it meets the highest compute peak.
            var xEnd = Math.Min(xHi, Math.Log10(maxPeak / r.Value));
            var line = plot.Add.Line(xLo, xLo + Math.Log10(r.Value), xEnd, xEnd + Math.Log10(r.Value));
            line.Color = roofPalette.GetColor(i++);
            line.LineWidth = 2;
            line.LinePattern = LinePattern.Dashed;
            line.LegendText = $"{r.Name}: {Quantities.ByteRate(r.Value)}";
        }
        foreach (var r in computeRoofs)
        {
            var x0 = memoryRoofs.Length == 0 ? xLo : Math.Max(xLo, Math.Log10(r.Value / memoryRoofs.Max(m => m.Value)));
            var line = plot.Add.Line(x0, Math.Log10(r.Value), xHi, Math.Log10(r.Value));
            line.Color = roofPalette.GetColor(i++);
            line.LineWidth = 2;
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"{r.Name}: {r.Value / 1e12:G4} TFLOP/s");
        }

        var palette = new ScottPlot.Palettes.Category10();
        var kinds = points.Select(p => p.Op.Kind).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        for (var k = 0; k < kinds.Length; k++)
        {
            var sel = points.Where(p => p.Op.Kind == kinds[k]).ToArray();
            LogLogStyle.Points(plot, sel.Select(p => Math.Log10(p.Intensity)).ToArray(), sel.Select(p => Math.Log10(p.Op.AchievedFlops)).ToArray(),
                palette.GetColor(k).WithAlpha(0.75), string.Create(CultureInfo.InvariantCulture, $"{kinds[k]} ({sel.Length})"));
        }

        LogLogStyle.Axes(plot);
        plot.Axes.SetLimits(xLo, xHi, yLo, yHi);
        var skipped = data.Points.Count - points.Length;
        plot.Title(title ?? string.Create(CultureInfo.InvariantCulture,
            $"{data.Device}: roofline, {points.Length} ops ({skipped} without FLOPs not shown)"));
        plot.XLabel("arithmetic intensity (FLOP/byte)");
        plot.YLabel("achieved FLOP/s");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, width, height);
    }

    /// <summary>The compute roofs a plot of the run draws: those it used, else (a run without FLOPs) the
    /// device's highest peak alone.</summary>
    public static RooflineRoof[] ComputeRoofs(RooflineData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var used = data.UsedRoofs.Where(r => r.IsCompute).ToArray();
        if (used.Length > 0) return used;
        return data.Roofs.Where(r => r.IsCompute && r.Value > 0).OrderByDescending(r => r.Value).Take(1).ToArray();
    }
}
