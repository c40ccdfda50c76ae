using System.Globalization;
using ScottPlot;

namespace AccelSim.Reports.Plots;

/// <summary>Predicted against measured kernel times as a log-log scatter: one colour per group
/// (calibration file), the 1:1 line, lines at +-10%, and the overall mean absolute percentage error
/// in the title. Takes plain arrays, so any validation source can use it.</summary>
public static class ValidationPlot
{
    /// <summary>Relative band drawn either side of the 1:1 line.</summary>
    public const double Band = 0.10;

    /// <summary>Writes the plot as a PNG to <paramref name="path"/>. Times are in milliseconds and
    /// must be positive; <paramref name="groups"/> names each point's group (legend order is the
    /// order of first appearance).</summary>
    public static void SavePng(string path, string device, IReadOnlyList<double> measuredMs, IReadOnlyList<double> predictedMs,
        IReadOnlyList<string> groups, int width = 900, int height = 800)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(measuredMs);
        ArgumentNullException.ThrowIfNull(predictedMs);
        ArgumentNullException.ThrowIfNull(groups);
        if (measuredMs.Count != predictedMs.Count || measuredMs.Count != groups.Count)
            throw new ArgumentException("measured, predicted and groups must have the same length");
        if (measuredMs.Count == 0) throw new ArgumentException("nothing to plot", nameof(measuredMs));
        for (var i = 0; i < measuredMs.Count; i++)
        {
            if (!(measuredMs[i] > 0) || !(predictedMs[i] > 0) || !double.IsFinite(measuredMs[i]) || !double.IsFinite(predictedMs[i]))
                throw new ArgumentException($"point {i}: times must be positive and finite for a log-log plot");
        }

        var plot = new Plot();
        var mape = 0.0;
        for (var i = 0; i < measuredMs.Count; i++) mape += Math.Abs(predictedMs[i] - measuredMs[i]) / measuredMs[i];
        mape = mape / measuredMs.Count * 100;

        var lo = Math.Floor(Math.Log10(Math.Min(measuredMs.Min(), predictedMs.Min())));
        var hi = Math.Ceiling(Math.Log10(Math.Max(measuredMs.Max(), predictedMs.Max())));

        var identity = plot.Add.Line(lo, lo, hi, hi);
        identity.Color = Colors.Black;
        identity.LineWidth = 1.5f;
        identity.LegendText = "predicted = measured";
        foreach (var (factor, label) in new[] { (1 + Band, "+10%"), (1 - Band, "-10%") })
        {
            var d = Math.Log10(factor);
            var line = plot.Add.Line(lo, lo + d, hi, hi + d);
            line.Color = Colors.Gray;
            line.LineWidth = 1;
            line.LinePattern = LinePattern.Dashed;
            line.LegendText = label;
        }

        var palette = new ScottPlot.Palettes.Category10();
        var order = groups.Distinct(StringComparer.Ordinal).ToArray();
        for (var g = 0; g < order.Length; g++)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            var errors = new List<double>();
            for (var i = 0; i < groups.Count; i++)
            {
                if (!string.Equals(groups[i], order[g], StringComparison.Ordinal)) continue;
                xs.Add(Math.Log10(measuredMs[i]));
                ys.Add(Math.Log10(predictedMs[i]));
                errors.Add(Math.Abs(predictedMs[i] - measuredMs[i]) / measuredMs[i] * 100);
            }
            LogLogStyle.Points(plot, xs.ToArray(), ys.ToArray(), palette.GetColor(g).WithAlpha(0.8),
                string.Create(CultureInfo.InvariantCulture, $"{order[g]} ({xs.Count}, MAPE {errors.Average():F1}%)"));
        }

        LogLogStyle.Axes(plot);
        plot.Axes.SetLimits(lo, hi, lo, hi);
        plot.Title(string.Create(CultureInfo.InvariantCulture,
            $"{device}: predicted vs measured kernel time, MAPE {mape:F2}% ({measuredMs.Count} kernels)"));
        plot.XLabel("measured (ms)");
        plot.YLabel("predicted (ms)");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, width, height);
    }
}
