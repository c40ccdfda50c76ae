using System.Globalization;
using ScottPlot;

namespace AccelSim.Reports.Plots;

/// <summary>What every log-log plot of the project shares: data plotted as log10 values, decade ticks
/// labelled with the real values, a light grid, and points drawn as filled circles.</summary>
internal static class LogLogStyle
{
    public static void Axes(Plot plot)
    {
        plot.Axes.Bottom.TickGenerator = LogTicks();
        plot.Axes.Left.TickGenerator = LogTicks();
        plot.Grid.MajorLineColor = Colors.Black.WithAlpha(0.15);
        plot.Grid.MinorLineColor = Colors.Black.WithAlpha(0.05);
        plot.Grid.MinorLineWidth = 1;
    }

    public static void Points(Plot plot, double[] log10Xs, double[] log10Ys, Color color, string legend)
    {
        var scatter = plot.Add.Scatter(log10Xs, log10Ys);
        scatter.LineWidth = 0;
        scatter.MarkerSize = 7;
        scatter.MarkerShape = MarkerShape.FilledCircle;
        scatter.Color = color;
        scatter.LegendText = legend;
    }

    private static ScottPlot.TickGenerators.NumericAutomatic LogTicks() => new()
    {
        MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        IntegerTicksOnly = true,
        LabelFormatter = v => Math.Pow(10, v).ToString("G3", CultureInfo.InvariantCulture),
    };
}
