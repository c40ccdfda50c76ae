using AccelSim.Workloads.Configs;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

public class ErrorBarsAndSensitivityTests
{
    [Fact]
    public void TheBundledErrorModelIsWhatValidateComputesToday()
    {
        using var dir = new CliHarness.TempDir();
        var path = dir.File("gpu.json");
        var o = CliHarness.Run("validate", "--summary", "--write-error-model", path);
        Assert.Equal(0, o.ExitCode);
        var bundled = File.ReadAllText(CliHarness.RepoFile("configs/error-models/gpu.json")).ReplaceLineEndings("\n");
        Assert.Equal(File.ReadAllText(path), bundled);
    }

    [Fact]
    public void AnH100RunHasAnIntervalAroundItsPrediction()
    {
        var j = JObject.Parse(CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "prefill", "--seq", "512", "--format", "json").Out);
        var latency = (double)j["latency_s"]!;
        var energy = (double)j["energy_j"]!;
        var iv = (JObject)j["interval"]!;
        Assert.Equal(0.9, (double)iv["level"]!);
        var lo = (double)iv["latency_s"]!["low"]!;
        var hi = (double)iv["latency_s"]!["high"]!;
        Assert.True(lo < latency && latency < hi, $"{lo} < {latency} < {hi}");
        Assert.True(hi / lo < 1.5, "an interval from residuals of a few percent stays narrow");
        Assert.True((double)iv["energy_j"]!["low"]! < energy && energy < (double)iv["energy_j"]!["high"]!);
        var table = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "prefill", "--seq", "512").Out;
        Assert.Contains("(90% interval ", table);
    }

    [Theory]
    [InlineData("u280", "no measurements for the fpga family: no interval")]
    [InlineData("wse2", "no measurements for the wafer family: no interval")]
    [InlineData("sn40l", "no measurements for the rdu family: no interval")]
    [InlineData("a100-80g", "no measurements for a100-80g")]
    public void DevicesWithoutMeasurementsSaySoInsteadOfAnInterval(string hardware, string note)
    {
        var j = JObject.Parse(CliHarness.Run("run", "--hardware", hardware, "--model", "llama2-7b", "--phase", "decode", "--context", "512", "--format", "json").Out);
        Assert.Equal(JTokenType.Null, j["interval"]!["latency_s"]!["low"]!.Type);
        Assert.Contains(note, (string?)j["interval"]!["note"]);
        Assert.Contains(note, CliHarness.Run("run", "--hardware", hardware, "--model", "llama2-7b", "--phase", "decode", "--context", "512").Out);
    }

    private static Dictionary<string, (double Latency, double Energy, string Tag)> Sensitivity(params string[] workload)
    {
        var o = CliHarness.Run(["sensitivity", "--hardware", "h100", "--model", "llama2-7b", "--top", "1000", "--format", "json", .. workload]);
        Assert.Equal(0, o.ExitCode);
        return ((JArray)JObject.Parse(o.Out)["parameters"]!).ToDictionary(p => (string)p["path"]!,
            p => ((double)p["latency_elasticity"]!, (double)p["energy_elasticity"]!, (string)p["provenance"]!));
    }

    [Fact]
    public void DecodeIsElasticToBandwidthAndNotToPeakFlops()
    {
        var e = Sensitivity("--phase", "decode", "--batch", "1", "--context", "2048");
        var bw = e["memory.hbm.bandwidth_Bps"];
        Assert.InRange(bw.Latency, -1.05, -0.7);
        Assert.Equal("datasheet", bw.Tag);
        Assert.InRange(e["compute.fp16.peak_flops"].Latency, -0.05, 0.05);
        Assert.Equal(0, e["carbon.lifetime_years"].Latency);
    }

    [Fact]
    public void PrefillIsElasticToPeakFlopsAndHardlyToBandwidth()
    {
        var e = Sensitivity("--phase", "prefill", "--batch", "1", "--seq", "2048");
        // llama2-7b runs in its torch_dtype, fp16; the H100 is power-capped in prefill, so a faster peak gains less than 1:1.
        Assert.True(e["compute.fp16.peak_flops"].Latency < -0.5, $"fp16 peak elasticity {e["compute.fp16.peak_flops"].Latency}");
        Assert.InRange(e["memory.hbm.bandwidth_Bps"].Latency, -0.2, 0.05);
    }

    [Fact]
    public void MoreSmsOrAFasterClockNeverSlowAPrefill()
    {
        // More SMs of the same design raise the peaks they are quoted for (compute.peak_sm_count): the
        // elasticity was +0.555 when the same peak was split over more SMs. Only the clock and SM count
        // the peaks are quoted at slow it when raised, by definition (less work per SM per clock).
        var e = Sensitivity("--phase", "prefill", "--batch", "1", "--seq", "2048");
        Assert.InRange(e["compute.sm_count"].Latency, -1, 0);
        Assert.InRange(e["compute.clock_MHz"].Latency, -1, -0.3);
        Assert.Equal(e["compute.tensor_peak_clock_MHz"].Latency, e["compute.peak_sm_count"].Latency, 3);
        Assert.Equal(-e["compute.fp16.peak_flops"].Latency, e["compute.peak_sm_count"].Latency, 3);
    }

    [Fact]
    public void SensitivityIsDeterministicAndListsTheTopTen()
    {
        string[] args = ["sensitivity", "--hardware", "u280", "--model", "llama2-7b", "--phase", "decode", "--context", "512"];
        var a = CliHarness.Run(args);
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(a.Out, CliHarness.Run(args).Out);
        Assert.Contains("│ 10 ", a.Out);
        Assert.DoesNotContain("│ 11 ", a.Out);
        Assert.Contains("estimate", a.Out);
    }

    [Fact]
    public void ListHardwareShowsACardPerDevice()
    {
        var o = CliHarness.Run("list", "hardware");
        Assert.Equal(0, o.ExitCode);
        var devices = BundledConfigs.Names(BundledConfigs.HardwareDir).Count;
        Assert.Equal(devices, o.Out.Split("ridge point").Length - 1);
        Assert.Equal(devices, o.Out.Split("power cap").Length - 1);
        Assert.Contains("700 W", o.Out); // the H100's cap
        Assert.Contains("none in the config", o.Out); // wafer and RDU configs give no cap
        var one = CliHarness.Run("list", "hardware", "u280");
        Assert.Equal(0, one.ExitCode);
        Assert.Contains("DSPs", one.Out);
        Assert.Contains("memory.hbm.bandwidth_Bps", one.Out);
        Assert.Contains("datasheet", one.Out);
    }
}
