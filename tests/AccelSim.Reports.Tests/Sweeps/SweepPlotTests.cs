using AccelSim.Reports.Plots;

namespace AccelSim.Reports.Tests.Sweeps;

public class SweepPlotTests
{
    private static SweepPlotSpec Spec() => new("t", "batch", SweepPlot.Label("tokens_per_s"),
        [new SweepSeries("a", [1, 2, 4], [10, 20, 40]), new SweepSeries("b", [1, 2, 4], [5, 30, 35])],
        LogX: true, LogY: true, Front: new SweepSeries("front", [1, 2, 4], [10, 30, 40]));

    [Fact]
    public void The_same_plot_drawn_twice_in_one_process_is_the_same_svg()
    {
        var dir = Directory.CreateTempSubdirectory("accelsim-sweepplot-");
        try
        {
            var a = Path.Combine(dir.FullName, "a.svg");
            var b = Path.Combine(dir.FullName, "b.svg");
            SweepPlot.Save(a, "svg", Spec());
            SweepPlot.Save(b, "svg", Spec());
            Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
            Assert.Contains("url(#cl_1)", File.ReadAllText(a), StringComparison.Ordinal);
            Assert.Throws<ArgumentException>(() => SweepPlot.Save(Path.Combine(dir.FullName, "c.gif"), "gif", Spec()));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Clip_paths_are_numbered_in_order_of_appearance() =>
        Assert.Equal("""<clipPath id="cl_1"/><g clip-path="url(#cl_1)"/><clipPath id="cl_2"/><g clip-path="url(#cl_2)"/>""",
            SweepPlot.RenumberClipPaths("""<clipPath id="cl_17"/><g clip-path="url(#cl_17)"/><clipPath id="cl_1a"/><g clip-path="url(#cl_1a)"/>"""));
}
