using System.Globalization;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary><c>accelsim serve</c>: the report contract, the laws that tie serving to single runs, every output,
/// every device family and bad input.</summary>
public class ServeCliTests
{
    private static JObject Json(params string[] args)
    {
        var o = CliHarness.Run(["serve", .. args, "--format", "json"]);
        Assert.True(o.ExitCode == 0, o.Error);
        Assert.Equal("", o.Error);
        return JObject.Parse(o.Out);
    }

    private static double RunLatency(params string[] args)
    {
        var o = CliHarness.Run(["run", "--hardware", "h100", "--model", "llama3-8b", .. args, "--format", "json"]);
        Assert.True(o.ExitCode == 0, o.Error);
        return (double)JObject.Parse(o.Out)["latency_s"]!;
    }

    [Fact]
    public void Json_carries_the_serve_schema()
    {
        var j = Json("--hardware", "h100", "--model", "llama3-8b", "--scheduler", "sarathi", "--rate", "8", "--num-requests", "60",
            "--prompt-tokens", "uniform:64-1024", "--output-tokens", "lognormal:64,32", "--slo", "ttft_p99=0.5,tpot_p99=0.05");
        Assert.Equal("accelsim.serve/1", (string?)j["schema"]);
        Assert.Equal(60, (int)j["requests"]!);
        foreach (var m in new[] { "ttft_s", "tpot_s", "e2e_s", "itl_s" })
        {
            var d = j[m]!;
            var (mean, p50, p90, p99) = ((double)d["mean"]!, (double)d["p50"]!, (double)d["p90"]!, (double)d["p99"]!);
            Assert.True(mean > 0 && p50 > 0 && p50 <= p90 && p90 <= p99, m);
        }
        foreach (var f in new[] { "throughput_tokens_per_s", "throughput_requests_per_s", "goodput_requests_per_s", "energy_j_per_request" })
            Assert.True((double)j[f]! > 0, f);
        Assert.InRange((double)j["slo_attainment"]!, 0, 1);
        Assert.True((double)j["goodput_requests_per_s"]! <= (double)j["throughput_requests_per_s"]! + 1e-12);
        Assert.Equal("sarathi", (string?)j["scheduler"]!["id"]);
        Assert.True((long)j["kv_cache"]!["peak_blocks"]! <= (long)j["kv_cache"]!["blocks"]!);
        Assert.True((double)j["memo"]!["observed_relative_rounding"]! <= (double)j["memo"]!["max_relative_rounding"]!);
        Assert.Null(j["capacity_requests_per_s"]);
        Assert.Contains("h100.json", j["provenance"]!["files"]![0]!["file"]!.ToString());
        Assert.Equal(64, j["provenance"]!["files"]![0]!["sha256"]!.ToString().Length);
        Assert.Equal("fused", (string?)j["provenance"]!["stack"]);
    }

    [Fact]
    public void At_a_rate_so_low_that_requests_never_overlap_ttft_and_tpot_are_the_single_run_prefill_and_decode()
    {
        using var dir = new CliHarness.TempDir();
        var trace = dir.File("sparse.csv");
        File.WriteAllText(trace, "arrival_s,prompt_tokens,output_tokens\n0,512,33\n100,512,33\n200,512,33\n");
        foreach (var scheduler in new[] { "static", "orca", "vllm", "sarathi" })
        {
            var j = Json("--hardware", "h100", "--model", "llama3-8b", "--scheduler", scheduler, "--requests", trace);
            var prefill = RunLatency("--phase", "prefill", "--seq", "512");
            // Decodes attend to 512..543 tokens; the middle one stands for them all (attention is linear in context).
            var decode = RunLatency("--phase", "decode", "--context", "528");
            var bound = (double)j["memo"]!["max_relative_rounding"]!;
            Assert.Equal(prefill, (double)j["ttft_s"]!["p99"]!, prefill * 1e-9);
            Assert.Equal(prefill, (double)j["ttft_s"]!["p50"]!, prefill * 1e-9);
            Assert.InRange((double)j["tpot_s"]!["mean"]!, decode * (1 - bound), decode * (1 + bound));
            Assert.Equal(0.0, (double)j["queue_s"]!["p99"]!);
        }
    }

    [Fact]
    public void Throughput_never_exceeds_the_saturated_largest_batch()
    {
        // Every iteration of n sequences emits at most n tokens and costs at least a decode step of n sequences.
        var bestDecode = RunLatency("--phase", "decode", "--batch", "64", "--context", "1");
        foreach (var scheduler in new[] { "static", "orca", "vllm", "sarathi" })
        {
            var j = Json("--hardware", "h100", "--model", "llama3-8b", "--scheduler", scheduler, "--rate", "1000", "--num-requests", "200",
                "--prompt-tokens", "128", "--output-tokens", "64", "--max-batch", "64");
            Assert.True((double)j["throughput_tokens_per_s"]! <= 64 / bestDecode, scheduler);
            Assert.True((double)j["mean_batch"]! > 8, scheduler);
        }
    }

    [Fact]
    public void Continuous_batching_beats_static_batching_under_load()
    {
        string[] load = ["--hardware", "h100", "--model", "llama3-8b", "--rate", "20", "--num-requests", "200", "--prompt-tokens", "256",
            "--output-tokens", "uniform:8-256", "--max-batch", "32"];
        var stat = Json([.. load, "--scheduler", "static"]);
        var vllm = Json([.. load, "--scheduler", "vllm"]);
        Assert.True((double)vllm["e2e_s"]!["mean"]! < (double)stat["e2e_s"]!["mean"]!);
    }

    [Fact]
    public void The_same_seed_gives_the_same_bytes_and_another_seed_another_run()
    {
        string[] args = ["serve", "--hardware", "h100", "--model", "llama3-8b", "--rate", "6", "--num-requests", "80", "--arrival", "gamma", "--cv", "2",
            "--output-tokens", "uniform:1-100", "--format", "json"];
        var a = CliHarness.Run([.. args, "--seed", "4"]);
        var b = CliHarness.Run([.. args, "--seed", "4"]);
        var c = CliHarness.Run([.. args, "--seed", "5"]);
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(a.Out, b.Out);
        Assert.NotEqual(a.Out, c.Out);
    }

    [Fact]
    public void Table_csv_timeline_and_out_are_written()
    {
        using var dir = new CliHarness.TempDir();
        var o = CliHarness.Run("serve", "--hardware", "h100", "--model", "llama3-8b", "--rate", "5", "--num-requests", "40",
            "--slo", "ttft_p99=1,tpot_p99=0.05", "--csv", dir.File("r.csv"), "--timeline", dir.File("t.json"), "--out", dir.File("o.json"));
        Assert.True(o.ExitCode == 0, o.Error);
        foreach (var s in new[] { "TTFT", "TPOT", "throughput (tokens/s)", "goodput", "energy per request", "KV cache (hbm)" })
            Assert.Contains(s, o.Out);
        var lines = File.ReadAllLines(dir.File("r.csv"));
        Assert.Equal(41, lines.Length);
        Assert.StartsWith("id,arrival_s,prompt_tokens,output_tokens,queue_s,ttft_s,tpot_s", lines[0]);
        Assert.All(lines.Skip(1), l => Assert.Equal(11, l.Split(',').Length));
        var timeline = JObject.Parse(File.ReadAllText(dir.File("t.json")));
        var names = ((JArray)timeline["traceEvents"]!).Select(e => (string?)e["name"]).Distinct().ToArray();
        Assert.Contains("KV blocks in use", names);
        Assert.Contains("waiting requests", names);
        Assert.Equal("accelsim.serve/1", (string?)JObject.Parse(File.ReadAllText(dir.File("o.json")))["schema"]);
    }

    [Fact]
    public void Find_capacity_returns_a_rate_that_meets_the_slo_and_one_just_above_that_does_not()
    {
        string[] args = ["--hardware", "h100", "--model", "llama3-8b", "--num-requests", "150", "--prompt-tokens", "1024", "--output-tokens", "64",
            "--slo", "ttft_p99=0.25,tpot_p99=0.03", "--scheduler", "sarathi"];
        var j = Json([.. args, "--rate", "2", "--find-capacity"]);
        var cap = (double)j["capacity_requests_per_s"]!;
        Assert.True(cap > 0);
        Assert.True((bool)Json([.. args, "--rate", cap.ToString("R", CultureInfo.InvariantCulture)])["slo_met"]!);
        Assert.False((bool)Json([.. args, "--rate", (cap * 1.05).ToString("R", CultureInfo.InvariantCulture)])["slo_met"]!);
    }

    [Theory]
    [InlineData("h100")]
    [InlineData("u280")]
    [InlineData("wse2")]
    [InlineData("sn40l")]
    [InlineData("vhk158")]
    public void Every_device_family_serves(string hardware)
    {
        var j = Json("--hardware", hardware, "--model", "gpt2-medium", "--rate", "2", "--num-requests", "20", "--prompt-tokens", "128", "--output-tokens", "16");
        Assert.Equal(20, (int)j["requests"]!);
        Assert.True((double)j["tpot_s"]!["p50"]! > 0);
        Assert.True((double)j["energy_j_per_request"]! > 0);
    }

    [Fact]
    public void Find_capacity_takes_a_traces_lengths_and_draws_the_arrivals()
    {
        using var dir = new CliHarness.TempDir();
        var one = dir.File("one.csv");
        File.WriteAllText(one, "arrival_s,prompt_tokens,output_tokens\n0,512,64\n");
        string[] common = ["--hardware", "h100", "--model", "llama3-8b", "--num-requests", "60", "--rate", "4", "--seed", "3",
            "--slo", "ttft_p99=0.25,tpot_p99=0.03", "--find-capacity"];
        // One row: the same requests as fixed lengths, so the same capacity and report.
        var traced = Json([.. common, "--requests", one]);
        var fixedLengths = Json([.. common, "--prompt-tokens", "512", "--output-tokens", "64"]);
        Assert.Equal("poisson 4/s, lengths of one.csv", (string?)traced["arrivals"]);
        Assert.True((double)traced["capacity_requests_per_s"]! > 0);
        Assert.Equal((double)fixedLengths["capacity_requests_per_s"]!, (double)traced["capacity_requests_per_s"]!);
        Assert.Equal((double)fixedLengths["duration_s"]!, (double)traced["duration_s"]!);

        // Several rows: request i takes row i mod n, at the seed's arrivals (not the file's).
        var three = dir.File("three.csv");
        File.WriteAllText(three, "arrival_s,prompt_tokens,output_tokens\n0,100,10\n0,300,30\n0,200,20\n");
        var csv = dir.File("r.csv");
        Json([.. common, "--requests", three, "--csv", csv]);
        var rows = File.ReadAllLines(csv).Skip(1).Select(l => l.Split(',')).OrderBy(c => int.Parse(c[0], CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(60, rows.Length);
        for (var i = 0; i < rows.Length; i++)
        {
            Assert.Equal(new[] { "100", "300", "200" }[i % 3], rows[i][2]);
            Assert.Equal(new[] { "10", "30", "20" }[i % 3], rows[i][3]);
        }
        Assert.True(double.Parse(rows[^1][1], CultureInfo.InvariantCulture) > 0);

        var o = CliHarness.Run(["serve", .. common, "--requests", three, "--prompt-tokens", "64"]);
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("--prompt-tokens: the lengths come from --requests", o.Error);
    }

    [Fact]
    public void An_azure_trace_is_served_as_published()
    {
        using var dir = new CliHarness.TempDir();
        var trace = dir.File("azure.csv");
        File.WriteAllText(trace, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:46.7042120,396,109\n2023-11-16 18:15:47.0000000,1200,8\n");
        var j = Json("--hardware", "h100", "--model", "llama3-8b", "--requests", trace, "--scheduler", "orca");
        Assert.Equal(3, (int)j["requests"]!);
    }

    [Theory]
    [InlineData("--scheduler", "fifo", "--scheduler")]
    [InlineData("--scheduler", "disagg", "--kv-link-bandwidth")]
    [InlineData("--prompt-tokens", "uniform:9-3", "--prompt-tokens")]
    [InlineData("--rate", "0", "--rate")]
    [InlineData("--slo", "ttft=2", "--slo")]
    [InlineData("--find-capacity", null, "needs a service-level objective")]
    [InlineData("--block-size", "0", "--block-size")]
    [InlineData("--prompt-tokens", "9000", "positions")]
    public void Bad_input_is_named_and_exits_2(string option, string? value, string expected)
    {
        string[] args = ["serve", "--hardware", "h100", "--model", "llama3-8b", "--num-requests", "5", option];
        var o = CliHarness.Run(value is null ? args : [.. args, value]);
        Assert.Equal(2, o.ExitCode);
        Assert.Contains(expected, o.Error);
        Assert.DoesNotContain("   at ", o.Error);
        Assert.Equal("", o.Out);
    }

    [Fact]
    public void A_bad_trace_names_its_line_and_column_and_writes_nothing()
    {
        using var dir = new CliHarness.TempDir();
        var trace = dir.File("bad.csv");
        File.WriteAllText(trace, "arrival_s,prompt_tokens,output_tokens\n0,100,10\n1,abc,10\n");
        var o = CliHarness.Run("serve", "--hardware", "h100", "--model", "llama3-8b", "--requests", trace, "--csv", dir.File("r.csv"));
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("bad.csv", o.Error);
        Assert.Contains("line 3, column prompt_tokens", o.Error);
        Assert.False(File.Exists(dir.File("r.csv")));
        var missing = CliHarness.Run("serve", "--hardware", "h100", "--model", "llama3-8b", "--requests", dir.File("none.csv"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no such request trace file", missing.Error);
    }
}

/// <summary>docs/serving.md shows real output: its worked example is what the command prints today.</summary>
public class ServeDocsTests
{
    [Theory]
    [InlineData("llama3-8b on h100 (gpu), scheduler sarathi", "serve --hardware h100 --model llama3-8b --scheduler sarathi --arrival poisson --rate 4 --num-requests 1000 --prompt-tokens 512 --output-tokens 128 --slo ttft_p99=2,tpot_p99=0.1 --seed 1")]
    [InlineData("llama3-8b on h100 (gpu), scheduler disagg", "serve --scheduler disagg --system h100-sn40l --prefill-device 0 --decode-device 16 --model llama3-8b --rate 4 --num-requests 1000 --prompt-tokens 512 --output-tokens 128 --seed 1")]
    public void A_worked_example_is_what_the_command_prints(string firstLine, string command)
    {
        var doc = File.ReadAllText(CliHarness.RepoFile("docs/serving.md")).Replace("\r\n", "\n");
        Assert.Contains("accelsim " + command, doc);
        var start = doc.IndexOf("```\n" + firstLine, StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/serving.md has no worked example starting '{firstLine}'");
        start += 4;
        var block = doc[start..doc.IndexOf("\n```", start, StringComparison.Ordinal)];
        var o = CliHarness.Run(command.Split(' '));
        Assert.True(o.ExitCode == 0, o.Error);
        static string Normalise(string t) => string.Join('\n', t.Replace("\r\n", "\n").Split('\n').Select(l => l.TrimEnd())).Trim('\n');
        Assert.Equal(Normalise(block), Normalise(o.Out));
    }
}
