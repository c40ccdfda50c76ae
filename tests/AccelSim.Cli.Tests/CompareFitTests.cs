using Newtonsoft.Json.Linq;
using static AccelSim.Cli.Tests.CliHarness;

namespace AccelSim.Cli.Tests;

/// <summary>`compare` says what does not fit, never names a run that does not fit as the fastest, and takes
/// the same hardware overrides and placement options as `run`, applied to every device.</summary>
public class CompareFitTests
{

    private static JObject Run(JObject compare, string hardware, string schedule = "sequential") =>
        (JObject)((JArray)compare["runs"]!).Single(r => (string)r["hardware"]!["name"]! == hardware && (string)r["schedule"]! == schedule);

    [Fact]
    public void AModelLargerThanEveryDeviceIsOverCapacityAndNothingIsFastest()
    {
        // llama3-70b in bf16: 141 GB of weights on an H100's 80 GB of HBM.
        string[] args = ["compare", "--hardware", "h100", "--model", "llama3-70b", "--phase", "decode"];
        var json = Json(args);
        var run = Run(json, "h100");
        Assert.False((bool)run["fits"]!);
        var over = (long)run["memory"]!["over_capacity_bytes"]!["hbm"]!;
        var peak = (long)run["memory"]!["peak_bytes"]!["hbm"]!;
        var capacity = (long)run["memory"]!["capacity_bytes"]!["hbm"]!;
        Assert.True(peak > 140_000_000_000L, $"hbm peak {peak} B");
        Assert.Equal(peak - capacity, over);
        Assert.Equal(JTokenType.Null, json["fastest"]!.Type);

        var table = CliHarness.Run(args);
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Contains($"h100 (sequential) does not fit: needs {Gb(peak)} of hbm, has {Gb(capacity)}", table.Out);
        Assert.Contains($"hbm {Gb(over)}", table.Out);
        Assert.Contains("fastest: none", table.Out);
        Assert.DoesNotContain("fastest: h100", table.Out);
    }

    private static string Gb(long bytes) => AccelSim.Reports.Quantities.Bytes(bytes);

    [Fact]
    public void TheFastestRunThatDoesNotFitIsNotCrowned()
    {
        // The H100 is faster but holds 80 GB of the 141 GB; the wafer streams its weights and fits.
        string[] args = ["compare", "--hardware", "h100,wse2", "--model", "llama3-70b", "--phase", "decode"];
        var json = Json(args);
        var h100 = Run(json, "h100");
        var wafer = Run(json, "wse2");
        Assert.True((double)h100["latency_s"]! < (double)wafer["latency_s"]!, "the test needs the device that does not fit to be the faster");
        Assert.False((bool)h100["fits"]!);
        Assert.True((bool)wafer["fits"]!);
        Assert.Equal("wse2", (string)json["fastest"]!["hardware"]!);

        var table = CliHarness.Run(args);
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Contains("fastest: wse2 (sequential) of the runs that fit", table.Out);
        Assert.Contains("h100 (sequential) does not fit: needs", table.Out);
        Assert.DoesNotContain("wse2 (sequential) does not fit", table.Out);
    }

    [Fact]
    public void RunsThatAllFitNameTheFastestWithoutAQualifier()
    {
        var table = CliHarness.Run("compare", "--hardware", "h100,a100-80g", "--model", "llama2-7b", "--phase", "decode");
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Contains("fastest: h100 (sequential)\n", table.Out);
        Assert.DoesNotContain("does not fit", table.Out);
    }

    [Fact]
    public void PlacementOffloadMakesItFitAndMatchesRun()
    {
        var json = Json("compare", "--hardware", "h100", "--model", "llama3-70b", "--phase", "decode", "--placement", "offload");
        var compared = Run(json, "h100");
        Assert.True((bool)compared["fits"]!);
        Assert.True((long)compared["memory"]!["spilled_bytes"]!["host"]! > 50_000_000_000L);
        Assert.Equal("h100", (string)json["fastest"]!["hardware"]!);
        var run = Json("run", "--hardware", "h100", "--model", "llama3-70b", "--phase", "decode", "--placement", "offload");
        Assert.Equal((double)run["latency_s"]!, (double)compared["latency_s"]!);
    }

    [Fact]
    public void KvPolicyAndExpertsAreThoseOfRun()
    {
        string[] shape = ["--model", "llama2-7b", "--phase", "decode", "--experts", "2"];
        var compared = Run(Json(["compare", "--hardware", "u280", .. shape, "--kv-policy", "swap", "--placement", "offload"]), "u280");
        var run = Json(["run", "--hardware", "u280", .. shape, "--kv-policy", "swap", "--placement", "offload"]);
        Assert.Equal((double)run["latency_s"]!, (double)compared["latency_s"]!);
        Assert.Equal((int)run["workload"]!["ops"]!, (int)compared["workload"]!["ops"]!);

        var bad = CliHarness.Run("compare", "--hardware", "h100", "--model", "llama2-7b", "--kv-policy", "sometimes");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--kv-policy", bad.Error);
    }

    [Fact]
    public void SetAppliesToEveryDevice()
    {
        string[] args = ["compare", "--hardware", "h100,h200", "--model", "llama2-7b", "--phase", "decode"];
        var plain = Json(args);
        var slow = Json([.. args, "--set", "memory.hbm.bandwidth_Bps=1e12"]);
        foreach (var hw in new[] { "h100", "h200" })
        {
            var before = (double)Run(plain, hw)["latency_s"]!;
            var after = (double)Run(slow, hw)["latency_s"]!;
            Assert.True(after > 2 * before, $"{hw}: {after} s with 1 TB/s of HBM, {before} s without");
            var run = Json("run", "--hardware", hw, "--model", "llama2-7b", "--phase", "decode", "--set", "memory.hbm.bandwidth_Bps=1e12");
            Assert.Equal((double)run["latency_s"]!, after);
        }
    }

    [Fact]
    public void ASetKeyThatADeviceLacksIsABadInputNamingTheDevice()
    {
        // The U280 has DDR; the H100 has none.
        var o = CliHarness.Run("compare", "--hardware", "h100,u280", "--model", "llama2-7b", "--phase", "decode", "--set", "memory.ddr.bandwidth_Bps=1e12");
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("memory.ddr.bandwidth_Bps", o.Error);
        Assert.Contains("'h100'", o.Error);
        Assert.DoesNotContain("'u280'", o.Error);
        Assert.Equal("", o.Out);

        var both = CliHarness.Run("compare", "--hardware", "h100,u280", "--model", "llama2-7b", "--set", "compute.warp_size=64");
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("'h100'", both.Error);
        Assert.Contains("'u280'", both.Error);
    }
}
