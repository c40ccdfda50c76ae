using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary><c>accelsim serve</c> with prefix caching, swap preemption, cost and <c>--find-mix</c>: the report
/// fields, their laws against the plain run and bad input (docs/serving.md).</summary>
public class ServeFeatureCliTests
{
    private static JObject Json(params string[] args)
    {
        var o = CliHarness.Run(["serve", .. args, "--format", "json"]);
        Assert.True(o.ExitCode == 0, o.Error);
        Assert.Equal("", o.Error);
        return JObject.Parse(o.Out);
    }

    private static readonly string[] Base = ["--hardware", "h100", "--model", "llama3-8b", "--rate", "8", "--num-requests", "80",
        "--prompt-tokens", "1024", "--output-tokens", "16", "--seed", "3"];

    [Fact]
    public void Prefix_caching_reports_its_hit_rates_and_saves_prefill_time()
    {
        var plain = Json(Base);
        var cached = Json([.. Base, "--prefix-cache", "--prefix-groups", "4", "--prefix-tokens", "768"]);
        Assert.Null(plain["prefix_cache"]);
        var pc = cached["prefix_cache"]!;
        Assert.InRange((double)pc["token_hit_rate"]!, 0.5, 0.75);
        Assert.InRange((double)pc["request_hit_rate"]!, 0.9, 1);
        // Every hit skips 768 tokens (48 blocks of 16).
        Assert.Equal(0, (long)pc["saved_prefill_tokens"]! % 768);
        Assert.True((double)cached["ttft_s"]!["mean"]! < 0.7 * (double)plain["ttft_s"]!["mean"]!);
        Assert.Equal((int)plain["requests"]!, (int)cached["requests"]!);
    }

    [Fact]
    public void Prefix_caching_from_a_trace_and_distinct_ids_change_nothing()
    {
        using var dir = new CliHarness.TempDir();
        var shared = dir.File("shared.csv");
        var distinct = dir.File("distinct.csv");
        var plain = dir.File("plain.csv");
        File.WriteAllText(shared, "arrival_s,prompt_tokens,output_tokens,prefix_id,prefix_tokens\n" +
            string.Join("\n", Enumerable.Range(0, 20).Select(i => $"{i * 0.2},600,8,{i % 2},512")) + "\n");
        File.WriteAllText(distinct, "arrival_s,prompt_tokens,output_tokens,prefix_id,prefix_tokens\n" +
            string.Join("\n", Enumerable.Range(0, 20).Select(i => $"{i * 0.2},600,8,{i},512")) + "\n");
        File.WriteAllText(plain, "arrival_s,prompt_tokens,output_tokens\n" +
            string.Join("\n", Enumerable.Range(0, 20).Select(i => $"{i * 0.2},600,8")) + "\n");
        string[] common = ["--hardware", "h100", "--model", "llama3-8b"];
        var s = Json([.. common, "--requests", shared, "--prefix-cache"]);
        Assert.Equal(18.0 / 20, (double)s["prefix_cache"]!["request_hit_rate"]!, 9);
        Assert.Equal(18 * 512, (long)s["prefix_cache"]!["saved_prefill_tokens"]!);
        var d = Json([.. common, "--requests", distinct, "--prefix-cache"]);
        var p = Json([.. common, "--requests", plain]);
        Assert.Equal(0, (double)d["prefix_cache"]!["token_hit_rate"]!);
        foreach (var f in new[] { "ttft_s", "tpot_s", "e2e_s" }) Assert.Equal(p[f]!.ToString(), d[f]!.ToString());
    }

    [Fact]
    public void Swap_preemption_moves_blocks_over_the_host_link_and_every_request_finishes()
    {
        string[] tight = ["--hardware", "h100", "--model", "llama3-8b", "--rate", "20", "--num-requests", "60", "--prompt-tokens", "512",
            "--output-tokens", "256", "--kv-blocks", "300", "--seed", "1"];
        var swap = Json([.. tight, "--preemption", "swap"]);
        var sw = swap["swap"]!;
        Assert.True((int)sw["swapped_out"]! > 0);
        Assert.Equal((int)sw["swapped_out"]!, (int)sw["swapped_in"]!);
        Assert.Equal((long)sw["out_bytes"]!, (long)sw["in_bytes"]!);
        Assert.Equal(64e9, (double)sw["link_bandwidth_Bps"]!);
        Assert.Equal(4L << 30, (long)sw["swap_space_bytes"]!, 1L << 21);
        Assert.Equal(((long)sw["out_bytes"]! + (long)sw["in_bytes"]!) / 64e9, (double)sw["transfer_s"]!, 2);
        Assert.Equal(60, (int)swap["requests"]!);
        var recompute = Json(tight);
        Assert.Null(recompute["swap"]);
        Assert.True((int)recompute["preemptions"]! > 0);
    }

    [Theory]
    [InlineData("--hardware", "wse2", "--preemption", "swap", "host.pcie.bandwidth_Bps")]
    [InlineData("--hardware", "h100", "--scheduler", "orca", "--preemption", "swap", "never preempts")]
    [InlineData("--hardware", "h100", "--swap-space", "8", "applies to --preemption swap")]
    [InlineData("--hardware", "h100", "--scheduler", "orca", "--orca-reserve", "half", "--orca-reserve")]
    [InlineData("--hardware", "h100", "--scheduler", "vllm", "--orca-reserve", "pow2", "applies to --scheduler orca")]
    [InlineData("--hardware", "h100", "--scheduler", "orca", "--orca-iterations", "vllm", "--orca-iterations")]
    [InlineData("--hardware", "h100", "--scheduler", "sarathi", "--orca-iterations", "prefill-first", "applies to --scheduler orca")]
    [InlineData("--hardware", "h100", "--scheduler", "orca", "--kv-blocks", "100", "reserves 8192 tokens")]
    [InlineData("--hardware", "h100", "--prefix-tokens", "64", "give --prefix-cache")]
    [InlineData("--hardware", "h100", "--prefix-cache", "--prefix-groups", "4", "--prefix-tokens")]
    [InlineData("--hardware", "h100", "--find-mix", "--rate", "2", "--slo", "tpot_p99=0.1", "bound on waiting")]
    [InlineData("--hardware", "h100,h100", "--find-mix", "--rate", "2", "--slo", "ttft_p99=1", "distinct device types")]
    [InlineData("--hardware", "h100,v100", "--find-mix", "--rate", "2", "--slo", "ttft_p99=1", "cost.usd_per_hour")]
    public void Bad_feature_input_is_refused_by_name(params string[] args)
    {
        var o = CliHarness.Run(["serve", "--model", "llama3-8b", "--num-requests", "5", .. args[..^1]]);
        Assert.Equal(2, o.ExitCode);
        Assert.Contains(args[^1], o.Error);
        Assert.DoesNotContain("   at ", o.Error);
    }

    [Fact]
    public void The_cost_is_the_devices_price_over_the_run()
    {
        var one = Json(Base);
        var c = one["cost"]!;
        Assert.Equal(7.52, (double)c["usd_per_hour"]!);
        var run = 7.52 * (double)one["duration_s"]! / 3600;
        Assert.Equal(run, (double)c["run_usd"]!, 12);
        Assert.Equal(run / 80, (double)c["usd_per_request"]!, 12);
        Assert.Equal(run / (80 * 16) * 1e6, (double)c["usd_per_million_output_tokens"]!, 9);
        Assert.Equal(run / (80 * (1024 + 16)) * 1e6, (double)c["usd_per_million_tokens"]!, 9);
        var two = Json([.. Base, "--replicas", "2"]);
        Assert.Equal(2 * 7.52, (double)two["cost"]!["usd_per_hour"]!, 12);
        Assert.Equal(2, (int)two["cost"]!["devices"]!);
        // A device without a price gives no cost.
        Assert.Null(Json("--hardware", "v100", "--model", "gpt2-medium", "--num-requests", "5")["cost"]);
    }

    [Fact]
    public void A_run_on_a_priced_device_reports_its_cost_per_million_tokens()
    {
        var o = CliHarness.Run("run", "--hardware", "a100-80g", "--model", "llama3-8b", "--phase", "decode", "--batch", "32", "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var j = JObject.Parse(o.Out);
        var c = j["cost"]!;
        Assert.Equal(3.67, (double)c["usd_per_hour"]!);
        Assert.Equal(3.67 * (double)j["latency_s"]! / 3600, (double)c["run_usd"]!, 15);
        Assert.Equal(3.67 / 3600 / (double)j["tokens_per_s"]! * 1e6, (double)c["usd_per_million_tokens"]!, 9);
        var v100 = CliHarness.Run("run", "--hardware", "v100", "--model", "gpt2-medium", "--format", "json");
        Assert.Null(JObject.Parse(v100.Out)["cost"]);
    }
}

/// <summary>Mélange's direction (Griggs et al., arXiv:2404.14527): on a mixed workload (80% short conversational,
/// 20% long summarization requests) under a tight TPOT SLO, a mix of a small cheap GPU for the short requests and a
/// large one for the long requests costs less than the best single type (docs/serving.md, experiments/melange).</summary>
public class ServeFindMixTests
{
    [Fact]
    public void A_heterogeneous_mix_is_cheaper_than_the_best_single_type_on_a_mixed_workload()
    {
        var trace = CliHarness.RepoFile("experiments/melange/mixed_80_20.csv");
        var o = CliHarness.Run(["serve", "--find-mix", "--hardware", "a100-80g,a6000", "--model", "llama2-7b", "--requests", trace,
            "--rate", "20", "--slo", "tpot_p99=0.04,queue_p50=2", "--num-requests", "1000", "--max-batch", "128", "--mix-buckets", "1024",
            "--seed", "1", "--format", "json"]);
        Assert.True(o.ExitCode == 0, o.Error);
        var j = JObject.Parse(o.Out);
        Assert.Equal("accelsim.serve-mix/1", (string?)j["schema"]);
        var mix = (double)j["mix"]!["usd_per_hour"]!;
        var singles = ((JObject)j["single_type"]!).Properties().Select(p => (double)p.Value["usd_per_hour"]!).ToArray();
        Assert.True(mix < singles.Min(), $"mix ${mix}/h against single types {string.Join(", ", singles)}");
        // Short requests go to the small GPU, long ones to the large one.
        Assert.Equal(["a6000", "a100-80g"], j["mix"]!["bucket_hardware"]!.Select(t => (string?)t));
        Assert.True((int)j["mix"]!["counts"]!["a6000"]! > 0 && (int)j["mix"]!["counts"]!["a100-80g"]! > 0);
        // Per replica, the large GPU serves more of either bucket; per dollar, the small one serves more short requests.
        var b = j["buckets"]!;
        foreach (var bucket in b)
            Assert.True((double)bucket["capacity_requests_per_s"]!["a100-80g"]! > (double)bucket["capacity_requests_per_s"]!["a6000"]!);
        Assert.True((double)b[0]!["capacity_requests_per_s"]!["a6000"]! / 0.80 > (double)b[0]!["capacity_requests_per_s"]!["a100-80g"]! / 3.67);
        Assert.True((double)b[1]!["capacity_requests_per_s"]!["a6000"]! / 0.80 < (double)b[1]!["capacity_requests_per_s"]!["a100-80g"]! / 3.67);
    }
}
