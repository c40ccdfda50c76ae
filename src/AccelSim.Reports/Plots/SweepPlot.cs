using System.Globalization;
using ScottPlot;

namespace AccelSim.Reports.Plots;

/// <summary>One series of a sweep plot: the points whose colour column has one value.</summary>
public sealed record SweepSeries(string Name, IReadOnlyList<double> Xs, IReadOnlyList<double> Ys);

/// <summary>What a sweep plot shows: one scatter series per colour value, in the order given, and
/// optionally a Pareto front drawn over them as a highlighted step line.</summary>
public sealed record SweepPlotSpec(
    string Title,
    string XLabel,
    string YLabel,
    IReadOnlyList<SweepSeries> Series,
    bool LogX = false,
    bool LogY = false,
    SweepSeries? Front = null);

/// <summary>A scatter plot of a sweep's result table (<c>accelsim sweep plot</c>): x against y, one colour
/// per series, a legend, and the Pareto front as a step line. Log axes plot log10 values with decade ticks
/// labelled with the real values (every value must then be positive). Written as PNG or SVG; the same spec
/// gives the same SVG byte for byte.</summary>
public static class SweepPlot
{
    public const int DefaultWidth = 1000;
    public const int DefaultHeight = 700;

    /// <summary>The formats <see cref="Save"/> writes, by file extension.</summary>
    public static IReadOnlyList<string> Formats { get; } = ["png", "svg"];

    public static void Save(string path, string format, SweepPlotSpec spec, int width = DefaultWidth, int height = DefaultHeight)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(spec);
        var plot = Build(spec);
        switch (format)
        {
            case "png": plot.SavePng(path, width, height); break;
            case "svg":
                plot.SaveSvg(path, width, height);
                File.WriteAllText(path, RenumberClipPaths(File.ReadAllText(path)), new System.Text.UTF8Encoding(false));
                break;
            default: throw new ArgumentException($"unknown format '{format}'; expected {string.Join(" or ", Formats)}", nameof(format));
        }
    }

    /// <summary>The SVG canvas numbers its clip paths with a counter shared by the whole process, so the same
    /// plot drawn twice would differ in those ids: they are renumbered from 1 in order of appearance.</summary>
    internal static string RenumberClipPaths(string svg)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        return System.Text.RegularExpressions.Regex.Replace(svg, @"(id=""|url\(#)(cl_[0-9A-Fa-f]+)", m =>
        {
            if (!ids.TryGetValue(m.Groups[2].Value, out var id)) ids[m.Groups[2].Value] = id = "cl_" + (ids.Count + 1).ToString(CultureInfo.InvariantCulture);
            return m.Groups[1].Value + id;
        });
    }

    private static Plot Build(SweepPlotSpec spec)
    {
        double[] X(IReadOnlyList<double> v) => [.. v.Select(x => spec.LogX ? Math.Log10(x) : x)];
        double[] Y(IReadOnlyList<double> v) => [.. v.Select(y => spec.LogY ? Math.Log10(y) : y)];

        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < spec.Series.Count; i++)
        {
            var s = spec.Series[i];
            var scatter = plot.Add.ScatterPoints(X(s.Xs), Y(s.Ys));
            scatter.MarkerSize = 8;
            scatter.MarkerShape = MarkerShape.FilledCircle;
            scatter.Color = palette.GetColor(i).WithAlpha(0.8);
            scatter.LegendText = string.Create(CultureInfo.InvariantCulture, $"{s.Name} ({s.Xs.Count})");
        }
        if (spec.Front is { } front)
        {
            // The front in order of x: a staircase through its points, which bound the attainable region.
            var order = Enumerable.Range(0, front.Xs.Count).OrderBy(i => front.Xs[i]).ThenBy(i => front.Ys[i]).ToArray();
            var line = plot.Add.Scatter(X([.. order.Select(i => front.Xs[i])]), Y([.. order.Select(i => front.Ys[i])]));
            line.ConnectStyle = ConnectStyle.StepHorizontal;
            line.LineWidth = 2.5f;
            line.Color = Colors.Black;
            line.MarkerSize = 13;
            line.MarkerShape = MarkerShape.OpenCircle;
            line.MarkerLineWidth = 2;
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"{front.Name} ({front.Xs.Count})");
        }
        static double Span(IEnumerable<double> v) => v.Any() ? Math.Log10(v.Max() / v.Min()) : 0;
        if (spec.LogX) plot.Axes.Bottom.TickGenerator = LogTicks(Span(spec.Series.SelectMany(s => s.Xs)));
        if (spec.LogY) plot.Axes.Left.TickGenerator = LogTicks(Span(spec.Series.SelectMany(s => s.Ys)));
        plot.Grid.MajorLineColor = Colors.Black.WithAlpha(0.15);
        plot.Grid.MinorLineColor = Colors.Black.WithAlpha(0.05);
        plot.Title(spec.Title);
        plot.XLabel(spec.XLabel);
        plot.YLabel(spec.YLabel);
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    /// <summary>Ticks of a log axis whose data span <paramref name="decades"/>: at the decades when there
    /// is one or more, else between them too (a narrow range would show one label or none).</summary>
    private static ScottPlot.TickGenerators.NumericAutomatic LogTicks(double decades) => new()
    {
        MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        IntegerTicksOnly = decades >= 1,
        LabelFormatter = v => Number(Math.Pow(10, v)),
    };

    /// <summary>Three significant digits, without an exponent from 0.001 to a million.</summary>
    private static string Number(double x)
    {
        var r = double.Parse(x.ToString("G3", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return r.ToString(Math.Abs(r) is >= 1e-3 and < 1e6 ? "0.######" : "G3", CultureInfo.InvariantCulture);
    }

    /// <summary>An axis label for a result column, with its unit when the name carries one
    /// (<c>latency_s</c> gives "latency_s (s)", <c>tokens_per_s</c> "tokens_per_s (tokens/s)").</summary>
    public static string Label(string column)
    {
        ArgumentNullException.ThrowIfNull(column);
        string? unit = null;
        if (column.EndsWith("_per_s", StringComparison.Ordinal) && column.Length > "_per_s".Length)
        {
            var what = column[..^"_per_s".Length];
            unit = (what.Contains('_', StringComparison.Ordinal) ? what[(what.LastIndexOf('_') + 1)..] : what) + "/s";
        }
        else if (column.EndsWith("_flop_per_byte", StringComparison.Ordinal)) unit = "FLOP/byte";
        else if (column.EndsWith("_Bps", StringComparison.Ordinal)) unit = "B/s";
        else if (column.EndsWith("_bytes", StringComparison.Ordinal) || column == "bytes_moved") unit = "bytes";
        else if (column.EndsWith("_j", StringComparison.OrdinalIgnoreCase)) unit = "J";
        else if (column.EndsWith("_W", StringComparison.Ordinal)) unit = "W";
        else if (column.EndsWith("_Hz", StringComparison.Ordinal)) unit = "Hz";
        else if (column.EndsWith("_s", StringComparison.Ordinal)) unit = "s";
        else if (column == "flops") unit = "FLOP";
        else if (column.EndsWith("_fraction", StringComparison.Ordinal) || column.StartsWith("utilisation_", StringComparison.Ordinal)) unit = "fraction";
        return unit is null ? column : $"{column} ({unit})";
    }
}
