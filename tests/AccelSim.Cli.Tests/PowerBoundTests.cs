using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary>Runs the power limit paces: the verdict, the table and the JSON report say so, with the
/// clock; the board never draws more than the limit.</summary>
public class PowerBoundTests
{
    private static JObject Json(params string[] args)
    {
        var o = CliHarness.Run([.. args, "--format", "json", "--ops"]);
        Assert.True(o.ExitCode == 0, o.Error);
        return JObject.Parse(o.Out);
    }

    [Fact]
    public void ACappedDecodeWithTwiceTheBandwidthIsPowerBound()
    {
        // Twice the H100's bandwidth: the decode GEMVs' bytes alone would draw more than the 700 W cap.
        string[] run = ["run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--batch", "1", "--context", "2048",
            "--set", "memory.hbm.bandwidth_Bps=6.7e12"];
        var report = Json(run);
        var wall = report["memory_wall"]!;
        Assert.Equal("power-bound", (string?)wall["verdict"]);
        var power = wall["time_by_bound_s"]!.Value<double>("power");
        Assert.True(power > wall["time_by_bound_s"]!.Value<double>("compute"));
        Assert.Equal(700, wall["power_bound"]!.Value<double>("cap_w"));
        var clock = wall["power_bound"]!.Value<double>("clock_hz");
        Assert.InRange(clock, 0.1e9, 1.98e9 - 1);
        Assert.InRange(report["power_w"]!.Value<double>("peak"), 0, 700 * (1 + 1e-9));
        var op = report["ops"]!.First(o => (string?)o["bound"] == "power");
        Assert.Equal(700, op["power_limit"]!.Value<double>("cap_w"));

        var table = CliHarness.Run(run);
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Contains("Verdict: power-bound overall: the 700 W cap holds the SM clock at ", table.Out);
        Assert.Contains($"{clock / 1e6:#,0} MHz", table.Out.Replace("\n", " "));
        Assert.Contains("power-bound ops", table.Out);
    }

    [Fact]
    public void WithoutTheCapTheSameRunIsNotPowerBound()
    {
        var report = Json("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--batch", "1", "--context", "2048",
            "--set", "memory.hbm.bandwidth_Bps=6.7e12", "--set", "power.cap_W=5000");
        var wall = report["memory_wall"]!;
        Assert.NotEqual("power-bound", (string?)wall["verdict"]);
        Assert.Equal(0, wall["time_by_bound_s"]!.Value<double>("power"));
        Assert.Null(wall["power_bound"]);
        Assert.DoesNotContain(report["ops"]!, o => (string?)o["bound"] == "power");
    }

    [Theory]
    [InlineData("prefill", "--seq", "2048", "6.7e12")]
    [InlineData("prefill", "--seq", "2048", "3.35e12")]
    [InlineData("decode", "--context", "2048", "13.4e12")]
    public void PeakPowerNeverExceedsTheCap(string phase, string option, string value, string bandwidth)
    {
        var report = Json("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", phase, option, value,
            "--set", $"memory.hbm.bandwidth_Bps={bandwidth}");
        Assert.InRange(report["power_w"]!.Value<double>("peak"), 0, 700 * (1 + 1e-9));
    }

    [Fact]
    public void OffloadedWeightsStreamingBesideCappedKernelsStayUnderTheCap()
    {
        // Llama-2-70B does not fit one H100: weights stream over PCIe on the copy engine while the prefill's
        // power-capped GEMMs run. Kernels leave the copy engines their share, so the board stays at 700 W
        // (it drew 716.7 W when each kernel took the whole cap).
        var report = Json("run", "--hardware", "h100", "--model", "llama2-70b", "--phase", "prefill", "--placement", "offload");
        Assert.True(report["ops"]!.Any(o => ((string?)o["note"] ?? "").StartsWith("dma host -> hbm", StringComparison.Ordinal)), "no weights streamed");
        Assert.InRange(report["power_w"]!.Value<double>("peak"), 600, 700 * (1 + 1e-9));
        Assert.Equal(700, report["memory_wall"]!["power_bound"]!.Value<double>("cap_w"));
    }
}
