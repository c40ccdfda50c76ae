using System.Globalization;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary><c>serve --system S --tp N</c>: a replica spread over N devices of a system, and the service-level
/// and length options the reproductions use.</summary>
public class ServeTensorParallelTests
{
    private static JObject Json(params string[] args)
    {
        var o = CliHarness.Run(["serve", .. args, "--format", "json"]);
        Assert.True(o.ExitCode == 0, o.Error);
        return JObject.Parse(o.Out);
    }

    private static readonly string[] Light = ["--model", "llama3-8b", "--scheduler", "sarathi", "--rate", "2", "--num-requests", "60",
        "--prompt-tokens", "512", "--output-tokens", "64"];

    [Fact]
    public void One_rank_of_a_system_serves_as_its_device_does_and_two_ranks_decode_faster_but_not_twice_as_fast()
    {
        var alone = Json(["--hardware", "a100-80g", .. Light]);
        var rank = Json(["--system", "dgx-a100", .. Light]);
        Assert.Equal((double)alone["tpot_s"]!["mean"]!, (double)rank["tpot_s"]!["mean"]!);
        Assert.Equal((double)alone["ttft_s"]!["mean"]!, (double)rank["ttft_s"]!["mean"]!);
        Assert.Null(rank["tensor_parallel"]);

        var tp2 = Json(["--system", "dgx-a100", "--tp", "2", .. Light]);
        var t1 = (double)alone["tpot_s"]!["mean"]!;
        var t2 = (double)tp2["tpot_s"]!["mean"]!;
        Assert.True(t2 < t1, $"tp2 {t2} vs tp1 {t1}");
        Assert.True(t2 > t1 / 2, $"tp2 {t2} vs tp1 {t1}: the all-reduces cost something");
        Assert.Equal("tp 2 on dgx-a100 ranks 0-1", (string)tp2["tensor_parallel"]!);
        // Each rank holds half of every token's cache beside half the weights: more blocks than one device.
        Assert.True((long)tp2["kv_cache"]!["blocks"]! > (long)alone["kv_cache"]!["blocks"]!);
    }

    [Theory]
    [InlineData(new[] { "--hardware", "a100-80g", "--tp", "2" }, "--tp", "give --system")]
    [InlineData(new[] { "--system", "dgx-a100", "--tp", "16" }, "--tp", "need 16 devices")]
    [InlineData(new[] { "--system", "dgx-a100", "--tp", "3" }, "tp", "divisor")]
    [InlineData(new[] { "--system", "dgx-a100", "--hardware", "h100" }, "--hardware", "one of --system and --hardware")]
    [InlineData(new[] { "--system", "dgx-a100", "--tp", "0" }, "--tp", "expected a whole number > 0")]
    [InlineData(new[] { "--hardware", "h100", "--slo", "attainment=1.5" }, "--slo", "attainment")]
    [InlineData(new[] { "--hardware", "h100", "--prompt-tokens", "lognormal:512,128,0" }, "--prompt-tokens", "lognormal:MEAN,SD[,MAX]")]
    public void Bad_tensor_parallel_and_slo_input_is_named_and_exits_2(string[] args, string option, string expected)
    {
        var o = CliHarness.Run(["serve", "--model", "llama3-8b", "--num-requests", "5", .. args]);
        Assert.Equal(2, o.ExitCode);
        Assert.Contains(option, o.Error);
        Assert.Contains(expected, o.Error);
        Assert.DoesNotContain("   at ", o.Error);
    }

    [Fact]
    public void A_length_cap_clamps_every_draw_and_attainment_decides_slo_met()
    {
        var csv = Path.Combine(Path.GetTempPath(), "accelsim-cap-" + Guid.NewGuid().ToString("N") + ".csv");
        try
        {
            Json("--hardware", "h100", "--model", "llama3-8b", "--rate", "4", "--num-requests", "200", "--prompt-tokens", "lognormal:512,512,600",
                "--output-tokens", "8", "--csv", csv);
            var prompts = File.ReadAllLines(csv).Skip(1).Select(l => int.Parse(l.Split(',')[2], CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(200, prompts.Length);
            Assert.Equal(600, prompts.Max());
            Assert.Contains(prompts, p => p < 600);
        }
        finally
        {
            File.Delete(csv);
        }

        string[] run = ["--hardware", "h100", "--model", "llama3-8b", "--rate", "8", "--num-requests", "60", "--prompt-tokens", "lognormal:1024,256", "--output-tokens", "4"];
        var median = ((double)Json(run)["ttft_s"]!["p50"]!).ToString("R", CultureInfo.InvariantCulture);
        var j = Json([.. run, "--slo", $"ttft_p99={median}"]);
        var share = (double)j["slo_attainment"]!;
        Assert.InRange(share, 0.4, 0.6);
        Assert.False((bool)j["slo_met"]!);
        var below = (share - 0.04).ToString(CultureInfo.InvariantCulture);
        var above = (share + 0.04).ToString(CultureInfo.InvariantCulture);
        Assert.True((bool)Json([.. run, "--slo", $"ttft_p99={median},attainment={below}"])["slo_met"]!);
        Assert.False((bool)Json([.. run, "--slo", $"ttft_p99={median},attainment={above}"])["slo_met"]!);
    }
}
