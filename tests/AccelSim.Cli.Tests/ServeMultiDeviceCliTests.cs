using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary><c>accelsim serve</c> across devices: disaggregated prefill and decode (one device kind or two, with a
/// named link or a system's route) and replicas behind a router.</summary>
public class ServeMultiDeviceCliTests
{
    private static JObject Json(params string[] args)
    {
        var o = CliHarness.Run(["serve", .. args, "--format", "json"]);
        Assert.True(o.ExitCode == 0, o.Error);
        Assert.Equal("", o.Error);
        return JObject.Parse(o.Out);
    }

    private static double RunLatency(string hardware, params string[] args)
    {
        var o = CliHarness.Run(["run", "--hardware", hardware, "--model", "llama3-8b", .. args, "--format", "json"]);
        Assert.True(o.ExitCode == 0, o.Error);
        return (double)JObject.Parse(o.Out)["latency_s"]!;
    }

    /// <summary>Requests that never meet: TTFT is the prefill device's prefill of the prompt (the first token comes
    /// from the prefill device), and TPOT is the KV transfer spread over the decodes plus the decode device's decode step.</summary>
    [Theory]
    [InlineData("sn40l")]
    [InlineData("wse2")]
    public void Gpu_prefill_and_another_family_decode_keep_the_single_run_latencies(string decodeHardware)
    {
        using var dir = new CliHarness.TempDir();
        var trace = dir.File("sparse.csv");
        File.WriteAllText(trace, "arrival_s,prompt_tokens,output_tokens\n0,512,33\n100,512,33\n200,512,33\n");
        var j = Json("--scheduler", "disagg", "--hardware", "h100", "--decode-hardware", decodeHardware, "--kv-link-bandwidth", "25e9",
            "--kv-link-latency", "1e-5", "--model", "llama3-8b", "--requests", trace);
        var prefill = RunLatency("h100", "--phase", "prefill", "--seq", "512");
        var decode = RunLatency(decodeHardware, "--phase", "decode", "--context", "528");
        var dg = j["disaggregation"]!;
        var bytesPerToken = (double)j["kv_cache"]!["bytes_per_token"]!;
        var transfer = 1e-5 + 512 * bytesPerToken / 25e9;
        Assert.Equal(transfer, (double)dg["kv_transfer_s"]!["mean"]!, 1e-9);
        Assert.Equal(prefill, (double)j["ttft_s"]!["p99"]!, prefill * 1e-9);
        var bound = (double)j["memo"]!["max_relative_rounding"]!;
        var tpot = (double)j["tpot_s"]!["mean"]!;
        Assert.InRange(tpot - transfer / 32, decode * (1 - bound), decode * (1 + bound));
        Assert.Equal(decodeHardware, (string?)dg["decode_hardware"]!["name"]);
        Assert.Equal("h100", (string?)j["hardware"]!["name"]);
        Assert.Equal("disagg", (string?)j["scheduler"]!["id"]);
        Assert.Equal(3, (int)dg["prefill"]!["iterations"]!);
        Assert.Equal(0.0, (double)j["queue_s"]!["p99"]!);
    }

    [Fact]
    public void A_system_moves_the_kv_cache_over_its_route_between_the_two_ranks()
    {
        var j = Json("--scheduler", "disagg", "--system", "h100-sn40l", "--prefill-device", "0", "--decode-device", "16", "--model", "llama3-8b",
            "--rate", "4", "--num-requests", "40", "--prompt-tokens", "uniform:64-1024", "--output-tokens", "uniform:2-64");
        var dg = j["disaggregation"]!;
        Assert.Equal("h100", (string?)j["hardware"]!["name"]);
        Assert.Equal("sn40l", (string?)dg["decode_hardware"]!["name"]);
        Assert.Contains("rank 0 to rank 16", (string?)dg["kv_link"]!["path"]);
        // NDR InfiniBand, 50 GB/s at 94% efficiency, is the route's bottleneck (the system's file).
        Assert.Equal(47e9, (double)dg["kv_link"]!["bandwidth_Bps"]!, 1.0);
        Assert.True((double)dg["kv_transfer_s"]!["max"]! > (double)dg["kv_link"]!["latency_s"]!);
        Assert.Equal(40, (int)j["requests"]!);
        // Within a node the route is NVLink: faster than the network.
        var local = Json("--scheduler", "disagg", "--system", "h100-sn40l", "--prefill-device", "0", "--decode-device", "1", "--model", "llama3-8b",
            "--rate", "4", "--num-requests", "40", "--prompt-tokens", "uniform:64-1024", "--output-tokens", "uniform:2-64");
        Assert.True((double)local["disaggregation"]!["kv_transfer_s"]!["mean"]! < (double)dg["kv_transfer_s"]!["mean"]!);
        Assert.Equal("h100", (string?)local["disaggregation"]!["decode_hardware"]!["name"]);
    }

    [Fact]
    public void A_tensor_parallel_prefill_instance_prefills_faster_hands_over_the_whole_cache_and_counts_its_devices()
    {
        string[] load = ["--scheduler", "disagg", "--system", "dgx-a100", "--prefill-device", "0", "--decode-device", "2", "--model", "llama3-8b",
            "--rate", "1", "--num-requests", "30", "--prompt-tokens", "2048", "--output-tokens", "16"];
        var one = Json(load);
        var two = Json([.. load, "--prefill-tp", "2"]);
        Assert.Equal(one.ToString(), Json([.. load, "--prefill-tp", "1"]).ToString());
        Assert.Null(one["tensor_parallel"]);
        Assert.Contains("tp 2", (string?)two["tensor_parallel"]);
        // At 1 request/s nothing queues: TTFT is the prefill and the hand-off. Two ranks prefill faster than one, but
        // less than twice as fast (the all-reduces).
        var (t1, t2) = ((double)one["ttft_s"]!["p50"]!, (double)two["ttft_s"]!["p50"]!);
        Assert.True(t2 < t1 && t2 > t1 / 2, $"TTFT p50 tp 1 {t1}, tp 2 {t2}");
        // Every rank's share of the KV cache reaches the decode device: the same bytes as from one device.
        Assert.Equal((double)one["disaggregation"]!["kv_transfer_bytes"]!, (double)two["disaggregation"]!["kv_transfer_bytes"]!);
        Assert.Equal(2, (int)one["cost"]!["devices"]!);
        Assert.Equal(3, (int)two["cost"]!["devices"]!);
        Assert.Equal(1.5 * (double)one["cost"]!["usd_per_hour"]!, (double)two["cost"]!["usd_per_hour"]!, 9);
    }

    [Fact]
    public void Replicas_share_the_load_and_each_request_finishes_once()
    {
        string[] load = ["--hardware", "h100", "--model", "llama3-8b", "--rate", "40", "--num-requests", "200", "--prompt-tokens", "uniform:64-2048",
            "--output-tokens", "uniform:2-256", "--max-batch", "32"];
        var one = Json(load);
        var rr = Json([.. load, "--replicas", "4"]);
        var lot = Json([.. load, "--replicas", "4", "--router", "least-outstanding-tokens"]);
        foreach (var j in new[] { rr, lot })
        {
            Assert.Equal(200, (int)j["requests"]!);
            var per = (JArray)j["replicas"]!["per_replica"]!;
            Assert.Equal(4, per.Count);
            Assert.Equal(200, per.Sum(x => (int)x["requests"]!));
            Assert.True((double)j["e2e_s"]!["mean"]! < (double)one["e2e_s"]!["mean"]!);
        }
        Assert.Equal("round-robin", (string?)rr["replicas"]!["router"]);
        Assert.All((JArray)rr["replicas"]!["per_replica"]!, x => Assert.Equal(50, (int)x["requests"]!));
        Assert.Null(one["replicas"]);
        Assert.Null(one["disaggregation"]);
    }

    /// <summary>One prefill and one decode instance named explicitly is the plain disaggregated run, byte for byte;
    /// a pool of decode instances under a load that overflows one decode device's cache serves every request and
    /// meets the SLO for more of them.</summary>
    [Fact]
    public void Decode_instances_share_the_load_and_one_of_each_is_the_plain_run()
    {
        string[] args = ["serve", "--scheduler", "disagg", "--hardware", "h100", "--kv-link-bandwidth", "50e9", "--model", "llama3-8b",
            "--rate", "30", "--num-requests", "200", "--output-tokens", "uniform:1-400", "--kv-blocks", "600", "--slo", "tpot_p99=0.05,attainment=0.9", "--format", "json"];
        var plain = CliHarness.Run(args);
        Assert.Equal(0, plain.ExitCode);
        Assert.Equal(plain.Out, CliHarness.Run([.. args, "--prefill-replicas", "1", "--decode-replicas", "1"]).Out);
        var one = JObject.Parse(plain.Out);
        Assert.Null(one["disaggregation"]!["decode_instances"]);
        var pool = JObject.Parse(CliHarness.Run([.. args, "--prefill-replicas", "2", "--decode-replicas", "3"]).Out);
        Assert.Equal(2, (int)pool["disaggregation"]!["prefill_instances"]!);
        Assert.Equal(3, (int)pool["disaggregation"]!["decode_instances"]!);
        Assert.Equal(200, (int)pool["requests"]!);
        Assert.True((double)pool["slo_attainment"]! > (double)one["slo_attainment"]!, $"{pool["slo_attainment"]} vs {one["slo_attainment"]}");
    }

    [Fact]
    public void The_same_inputs_give_the_same_bytes()
    {
        string[] args = ["serve", "--scheduler", "disagg", "--hardware", "h100", "--decode-hardware", "sn40l", "--kv-link-bandwidth", "50e9", "--model", "llama3-8b",
            "--rate", "6", "--num-requests", "40", "--output-tokens", "uniform:1-100", "--format", "json"];
        Assert.Equal(CliHarness.Run(args).Out, CliHarness.Run(args).Out);
        string[] replicated = ["serve", "--hardware", "h100", "--model", "llama3-8b", "--rate", "20", "--num-requests", "60", "--replicas", "3",
            "--router", "least-outstanding-tokens", "--output-tokens", "uniform:1-100", "--format", "json"];
        Assert.Equal(CliHarness.Run(replicated).Out, CliHarness.Run(replicated).Out);
    }

    [Theory]
    [InlineData("--replicas 0", "--replicas")]
    [InlineData("--replicas 2 --router random", "--router")]
    [InlineData("--decode-hardware sn40l", "applies to --scheduler disagg")]
    [InlineData("--scheduler disagg --kv-link-bandwidth -1", "--kv-link-bandwidth")]
    [InlineData("--scheduler disagg --kv-link-bandwidth 1e9 --decode-hardware nosuch", "nosuch")]
    [InlineData("--scheduler disagg --kv-link-bandwidth 1e9 --replicas 2", "--replicas")]
    [InlineData("--scheduler disagg --kv-link-bandwidth 1e9 --prefill-device 0", "give --system")]
    [InlineData("--scheduler disagg --kv-link-bandwidth 1e9 --prefill-replicas 0", "--prefill-replicas")]
    [InlineData("--scheduler disagg --kv-link-bandwidth 1e9 --decode-replicas -1", "--decode-replicas")]
    [InlineData("--decode-replicas 2", "applies to --scheduler disagg")]
    [InlineData("--prefill-tp 2", "applies to --scheduler disagg")]
    [InlineData("--prefill-tp 0", "--prefill-tp")]
    [InlineData("--scheduler disagg --kv-link-bandwidth 1e9 --prefill-tp 2", "give --system")]
    public void Bad_input_is_named_and_exits_2(string extra, string expected)
    {
        var o = CliHarness.Run(["serve", "--hardware", "h100", "--model", "llama3-8b", "--num-requests", "5", .. extra.Split(' ')]);
        Assert.Equal(2, o.ExitCode);
        Assert.Contains(expected, o.Error);
        Assert.DoesNotContain("   at ", o.Error);
        Assert.Equal("", o.Out);
    }

    [Theory]
    [InlineData("--prefill-device 0 --decode-device 0", "--decode-device")]
    [InlineData("--prefill-device 0 --decode-device 24", "--decode-device")]
    [InlineData("--decode-device 3", "--prefill-device")]
    [InlineData("--prefill-device 0 --decode-device 3 --hardware h100", "the system names the devices")]
    [InlineData("--prefill-device 0 --decode-device 1 --prefill-replicas 20 --decode-replicas 20", "need 40 devices")]
    [InlineData("--prefill-device 0 --decode-device 1 --prefill-tp 4 --prefill-replicas 4 --decode-replicas 9", "need 25 devices")]
    [InlineData("--prefill-device 16 --decode-device 0 --prefill-tp 2", "rank 0 is h100")]
    public void Bad_system_ranks_are_named_and_exit_2(string extra, string expected)
    {
        var o = CliHarness.Run(["serve", "--scheduler", "disagg", "--system", "h100-sn40l", "--model", "llama3-8b", "--num-requests", "5", .. extra.Split(' ')]);
        Assert.Equal(2, o.ExitCode);
        Assert.Contains(expected, o.Error);
        Assert.DoesNotContain("   at ", o.Error);
        Assert.Equal("", o.Out);
    }
}
