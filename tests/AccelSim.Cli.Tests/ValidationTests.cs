using AccelSim.Cli.Validation;
using AccelSim.Core.Config;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Configs;

namespace AccelSim.Cli.Tests;

public class ValidationTests
{
    private static string CalibrationFolder()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "shared", "calibration", "h100");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"no shared/calibration/h100 above {AppContext.BaseDirectory}");
    }

    private static readonly Lazy<ValidationReport> Report = new(() =>
        CalibrationValidator.Validate(CalibrationFolder(), new GpuPlugin().Create(HardwareConfigLoader.LoadNamed("h100"))));

    [Theory]
    [InlineData("gemm.json")]
    [InlineData("attention.json")]
    [InlineData("bandwidth.json")]
    public void EveryCalibrationFileIsWithinTenPercentMape(string file)
    {
        var summary = Assert.Single(Report.Value.Files, f => f.File == file);
        Assert.True(summary.Rows >= 10, $"{file}: only {summary.Rows} rows validated");
        Assert.True(summary.MapePct <= 10.0,
            $"{file}: MAPE {summary.MapePct:F2}% > 10%; worst: {string.Join("; ", Report.Value.Worst(5).Select(r => $"{r.Label} {r.ErrorPct:F1}%"))}");
    }

    [Fact]
    public void NoRowIsOffByMoreThanTwentyFivePercent()
    {
        var worst = Report.Value.Worst(1)[0];
        Assert.True(worst.AbsErrorPct <= 25.0, $"{worst.File} {worst.Label}: {worst.ErrorPct:F1}%");
    }

    [Fact]
    public void EveryMeasuredRowIsPredicted()
    {
        var r = Report.Value;
        Assert.Equal(83 + 20 + 15, r.Rows.Count);
        Assert.All(r.Rows, row => Assert.True(row.PredictedMs > 0 && double.IsFinite(row.PredictedMs), row.Label));
        Assert.Equal(r.Rows.Average(x => x.AbsErrorPct), r.OverallMapePct, 9);
        Assert.True(r.Worst(5).Zip(r.Worst(5).Skip(1)).All(p => p.First.AbsErrorPct >= p.Second.AbsErrorPct));
    }

    [Fact]
    public void ValidationIsDeterministic()
    {
        var again = CalibrationValidator.Validate(CalibrationFolder(), new GpuPlugin().Create(HardwareConfigLoader.LoadNamed("h100")));
        Assert.Equal(Report.Value.Rows, again.Rows);
    }

    [Fact]
    public void AMissingFolderIsBadInput()
    {
        var device = new GpuPlugin().Create(HardwareConfigLoader.LoadNamed("h100"));
        var e = Assert.Throws<InputException>(() => CalibrationValidator.Validate(Path.Combine(Path.GetTempPath(), "no-such-calibration-folder"), device));
        Assert.Contains("calibration folder", e.Message);
    }

    [Fact]
    public void AMalformedRowNamesItsPath()
    {
        var dir = Directory.CreateTempSubdirectory("accelsim-validation-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "gemm.json"), """{"rows":[{"tag":"x","dtype":"bf16","M":64,"N":64,"ms":0.01}]}""");
            var device = new GpuPlugin().Create(HardwareConfigLoader.LoadNamed("h100"));
            var e = Assert.Throws<InputException>(() => CalibrationValidator.Validate(dir.FullName, device));
            Assert.Equal("rows[0].K", Assert.Single(e.Problems).Path);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
