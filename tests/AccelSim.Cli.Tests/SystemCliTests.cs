using Newtonsoft.Json.Linq;
using Xunit.Abstractions;
using static AccelSim.Cli.Tests.CliHarness;

namespace AccelSim.Cli.Tests;

/// <summary><c>accelsim run --system</c> and <c>compare --system</c>: a model spread by a parallelism plan (or
/// per-rank traces) over a bundled system, end to end through the command line.</summary>
public class SystemCliTests(ITestOutputHelper output)
{
    private static readonly string[] Decode = ["--model", "llama2-7b", "--phase", "decode", "--batch", "8", "--context", "2048"];

    /// <summary>A small training step: Llama-2-7B, 256 tokens, 16 sequences in microbatches of 1 over tp2 pp2 dp2.</summary>
    private static readonly string[] Train = ["--system", "dgx-h100", "--model", "llama2-7b", "--phase", "train", "--seq", "256",
        "--global-batch", "16", "--microbatch", "1", "--tp", "2", "--pp", "2", "--dp", "2"];

    private static double D(JToken t) => (double)t;

    [Fact]
    public void A_decode_step_on_eight_h100s_of_a_dgx_node_with_tp8()
    {
        var table = CliHarness.Run(["run", "--system", "dgx-h100", .. Decode, "--tp", "8"]);
        Assert.True(table.ExitCode == 0, table.Error);
        output.WriteLine(table.Out);
        foreach (var s in new[] { "AccelSim system run", "dgx-h100 | 1 node, 8 devices, 8 used, 8 simulated | schedule sequential", "tp8 pp1 dp1", "Key figures",
                     "tokens/s", "model FLOP/s per device", "Devices", "Collectives by kind", "all-reduce", "fits on every device", "configs/systems/dgx-h100.json (sha256 " })
            Assert.Contains(s, table.Out);

        var j = Json(["run", "--system", "dgx-h100", .. Decode, "--tp", "8"]);
        Assert.Equal("accelsim.report/1", (string?)j["schema"]);
        Assert.Equal(8, (int)j["system"]!["ranks"]!);
        Assert.Equal(8, (int)j["system"]!["devices_used"]!);
        Assert.Equal(8, ((JArray)j["devices"]!).Count);
        Assert.Equal(8, (int)j["plan"]!["tp"]!);
        Assert.Equal("tp8 pp1 dp1", (string?)j["plan"]!["name"]);
        Assert.Equal(8, (long)j["throughput"]!["tokens"]!);
        Assert.Equal(8 / D(j["latency_s"]!), D(j["throughput"]!["tokens_per_s"]!), 6);
        Assert.True((bool)j["fits"]!);
        // Every tensor-parallel rank runs the same shard: the same time and energy on each.
        var devices = (JArray)j["devices"]!;
        Assert.All(devices, d => Assert.Equal(D(devices[0]["energy_j"]!), D(d["energy_j"]!)));
        var collectives = (JArray)j["network"]!["collectives"]!;
        Assert.NotEmpty(collectives);
        Assert.All(collectives, c => Assert.Equal("all-reduce", (string?)c["kind"]));
        Assert.All(collectives, c => Assert.Equal(8, (int)c["ranks"]!));
        // Model FLOPs split eight ways: each device runs at most the whole model's share plus replicated ops.
        var mfu = D(j["throughput"]!["model_flops_utilisation"]!);
        Assert.InRange(mfu, 1e-4, 1);
        var files = ((JArray)j["provenance"]!["files"]!).Select(f => (string?)f["role"]).ToArray();
        Assert.Contains("system", files);
        Assert.Contains("hardware", files);
    }

    [Fact]
    public void One_rank_of_a_system_reproduces_the_single_device_run_exactly()
    {
        var single = Json(["run", "--hardware", "h100", .. Decode]);
        var system = Json(["run", "--system", "dgx-h100", "--nodes", "1", "--tp", "1", .. Decode]);
        Assert.Equal(1, (int)system["system"]!["devices_used"]!);
        var device = Assert.Single((JArray)system["devices"]!);
        Assert.Equal(D(single["latency_s"]!), D(system["latency_s"]!));
        Assert.Equal(D(single["energy_j"]!), D(device["energy_j"]!));
        Assert.Equal((long)single["memory"]!["peak_bytes"]!["hbm"]!, (long)device["memory"]!["peak_bytes"]!["hbm"]!);
        Assert.Empty((JArray)system["network"]!["collectives"]!);
        // Model FLOPs of a one-rank, one-microbatch plan are the graph's.
        Assert.Equal(D(system["flops"]!), D(system["throughput"]!["model_flops"]!));
    }

    [Fact]
    public void Pipeline_schedules_show_the_bubble_and_interleaving_shrinks_it()
    {
        var runs = new Dictionary<string, JObject>();
        foreach (var s in new[] { "gpipe", "1f1b", "interleaved" })
            runs[s] = Json(["run", .. Train, "--pp-schedule", s]);
        double Latency(string s) => D(runs[s]["latency_s"]!);
        double MaxBusy(string s) => ((JArray)runs[s]["devices"]!).Max(d => D(d["busy_s"]!["compute"]!));
        output.WriteLine(string.Join(", ", runs.Keys.Select(s => $"{s} {Latency(s) * 1e3:F3} ms (busiest device {MaxBusy(s) * 1e3:F3} ms)")));

        // The bubble: the step is longer than any device's compute.
        Assert.True(Latency("gpipe") > MaxBusy("gpipe") * 1.05);
        Assert.True(Latency("1f1b") > MaxBusy("1f1b") * 1.05);
        // Eight microbatches per pipeline on two stages with two chunks each: interleaving is faster (Megatron's gain).
        Assert.True(Latency("interleaved") < Latency("1f1b"));
        Assert.Equal(2, (int)runs["interleaved"]["plan"]!["virtual_stages"]!);
        Assert.Equal(8, (int)runs["1f1b"]["plan"]!["microbatches"]!);
        // Folded: replica 0 (ranks 0, 1 and 4, 5) is simulated; the step's energy counts all eight devices.
        Assert.Equal([0, 1, 4, 5], ((JArray)runs["1f1b"]["devices"]!).Select(d => (int)d["rank"]!).ToArray());
        var devices = D(runs["1f1b"]["energy_breakdown_j"]!["devices"]!);
        var network = D(runs["1f1b"]["energy_breakdown_j"]!["network"]!);
        Assert.Equal(2 * devices + network, D(runs["1f1b"]["throughput"]!["step_energy_j"]!), 9);
    }

    [Fact]
    public void Folded_and_unfolded_runs_agree()
    {
        var folded = Json(["run", .. Train]);
        var unfolded = Json(["run", .. Train, "--no-fold"]);
        Assert.Equal(4, (int)folded["system"]!["simulated_ranks"]!);
        Assert.Equal(8, (int)unfolded["system"]!["simulated_ranks"]!);
        Assert.False((bool)unfolded["plan"]!["fold"]!);
        Assert.Equal(D(folded["latency_s"]!), D(unfolded["latency_s"]!));
        var byRank = ((JArray)unfolded["devices"]!).ToDictionary(d => (int)d["rank"]!);
        foreach (var d in (JArray)folded["devices"]!)
        {
            var rank = (int)d["rank"]!;
            Assert.Equal(D(d["energy_j"]!), D(byRank[rank]["energy_j"]!));
            // Replica 1 of the same (tp, stage) position: rank + tp.
            Assert.Equal(D(d["energy_j"]!), D(byRank[rank + 2]["energy_j"]!));
            Assert.Equal(D(d["busy_s"]!["compute"]!), D(byRank[rank + 2]["busy_s"]!["compute"]!));
        }
        // Folding mirrors the data-parallel collectives; replica 1's own tensor-parallel and pipeline traffic is
        // simulated only unfolded.
        Assert.True((long)folded["network"]!["bytes"]! <= (long)unfolded["network"]!["bytes"]!);
    }

    [Theory]
    [InlineData("dgx-a100", "gpu")]
    [InlineData("hgx-h200", "gpu")]
    [InlineData("sn40l-8", "rdu")]
    [InlineData("cs2-cluster", "wafer")]
    [InlineData("u280-ring", "fpga")]
    public void Every_device_family_runs_as_a_system(string system, string kind)
    {
        var j = Json("run", "--system", system, "--model", "llama2-7b", "--phase", "decode", "--batch", "1", "--context", "512", "--tp", "2");
        var devices = (JArray)j["devices"]!;
        Assert.Equal(2, devices.Count);
        Assert.All(devices, d => Assert.Equal(kind, (string?)d["kind"]));
        Assert.True(D(j["latency_s"]!) > 0);
        Assert.NotEmpty((JArray)j["network"]!["collectives"]!);
        Assert.All((JArray)j["network"]!["collectives"]!, c => Assert.True(D(c["time_s"]!) > 0));
    }

    [Fact]
    public void A_mixed_system_runs_each_rank_on_its_own_device()
    {
        // h100-sn40l: ranks 0-15 are H100s, 16-23 SN40L sockets; tp8 dp3 unfolded puts replica 2 on the SN40Ls.
        var j = Json("run", "--system", "h100-sn40l", "--model", "llama2-7b", "--phase", "decode", "--batch", "3", "--context", "512",
            "--tp", "8", "--dp", "3", "--no-fold");
        var devices = (JArray)j["devices"]!;
        Assert.Equal(24, devices.Count);
        Assert.All(devices.Where(d => (int)d["rank"]! < 16), d => Assert.Equal("gpu", (string?)d["kind"]));
        Assert.All(devices.Where(d => (int)d["rank"]! >= 16), d => Assert.Equal("rdu", (string?)d["kind"]));
        // The SN40L node is a direct mesh: its links are named per pair.
        Assert.Contains((JArray)j["network"]!["links"]!, l => ((string)l["name"]!).StartsWith("node2.dev", StringComparison.Ordinal) && ((string)l["name"]!).Contains("-dev", StringComparison.Ordinal));
        var roles = ((JArray)j["provenance"]!["files"]!).Select(f => (string?)f["file"]).ToArray();
        Assert.Contains(roles, f => f!.EndsWith("h100.json", StringComparison.Ordinal));
        Assert.Contains(roles, f => f!.EndsWith("sn40l.json", StringComparison.Ordinal));
    }

    [Fact]
    public void Many_ranks_are_grouped_by_pipeline_stage_in_the_table()
    {
        var o = CliHarness.Run("run", "--system", "dgx-h100", "--nodes", "4", "--model", "llama2-7b", "--phase", "decode", "--batch", "4",
            "--context", "512", "--tp", "8", "--pp", "4", "--microbatch", "1");
        Assert.True(o.ExitCode == 0, o.Error);
        output.WriteLine(o.Out);
        Assert.Contains("4 nodes, 32 devices, 32 used, 32 simulated", o.Out);
        for (var s = 0; s < 4; s++) Assert.Contains($"stage {s}: ranks {8 * s}-{8 * s + 7}", o.Out);
        Assert.Contains("compute busy (mean)", o.Out);
        // One row per stage, not per rank.
        Assert.Equal(4, o.Out.Split('\n').Count(l => l.Contains("│ stage ", StringComparison.Ordinal)));

        // Devices too small for their shard: one warning per stage, not per rank.
        var small = CliHarness.Run("run", "--system", "dgx-h100", "--nodes", "4", "--model", "llama2-7b", "--phase", "decode", "--batch", "4",
            "--context", "512", "--tp", "8", "--pp", "4", "--microbatch", "1", "--set", "memory.hbm.capacity_bytes=100000000");
        Assert.True(small.ExitCode == 0, small.Error);
        var warnings = small.Out.Split('\n').Where(l => l.StartsWith("WARNING", StringComparison.Ordinal)).ToArray();
        Assert.Equal(4, warnings.Length);
        Assert.StartsWith("WARNING stage 0: ranks 0-7 (h100): hbm needs up to ", warnings[0]);
        Assert.Contains("DOES NOT FIT", small.Out);
    }

    [Fact]
    public void A_plan_that_does_not_fit_is_reported_in_the_json_and_the_table()
    {
        string[] args = ["run", "--system", "dgx-h100", "--model", "llama2-70b", "--phase", "decode", "--batch", "1", "--context", "512", "--tp", "1"];
        var j = Json(args);
        Assert.False((bool)j["fits"]!);
        var d = Assert.Single((JArray)j["devices"]!);
        Assert.True((bool)d["memory"]!["overflows"]!);
        Assert.True((long)d["memory"]!["over_capacity_bytes"]!["hbm"]! > 0);
        var table = CliHarness.Run(args);
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("DOES NOT FIT", table.Out);
        Assert.Contains("WARNING rank 0 (h100): hbm needs", table.Out);
        // Eight-way tensor parallelism fits.
        Assert.True((bool)Json([.. args[..^1], "8"])["fits"]!);
    }

    [Fact]
    public void Bad_plans_and_flags_exit_2_naming_the_flag_and_write_nothing()
    {
        using var tmp = new CliHarness.TempDir();
        var report = tmp.File("report.json");
        var o = Fails(["run", "--system", "dgx-h100", .. Decode, "--tp", "3", "--out", report]);
        Assert.Contains("--tp", o.Error);
        Assert.Contains("num_attention_heads (32)", o.Error);
        Assert.False(File.Exists(report));

        Assert.Contains("--system and --hardware exclude each other", Fails(["run", "--system", "dgx-h100", "--hardware", "h100", .. Decode]).Error);
        Assert.Contains("give --hardware (one device) or --system", Fails(["run", .. Decode]).Error);
        Assert.Contains("--tp", Fails(["run", "--hardware", "h100", .. Decode, "--tp", "2"]).Error);
        Assert.Contains("--nodes 2 holds them", Fails(["run", "--system", "dgx-h100", .. Decode, "--tp", "8", "--dp", "2"]).Error);
        Assert.Contains("--pp-schedule", Fails(["run", "--system", "dgx-h100", .. Decode, "--pp-schedule", "zigzag"]).Error);
        Assert.Contains("--tp", Fails(["run", "--system", "dgx-h100", .. Decode, "--tp", "two"]).Error);
        Assert.Contains("--schedule", Fails(["run", "--system", "dgx-h100", .. Decode, "--schedule", "eager"]).Error);
        Assert.Contains("--placement", Fails(["run", "--system", "dgx-h100", .. Decode, "--tp", "2", "--placement", "ssd-pipelined"]).Error);
        Assert.Contains("--nodes", Fails(["run", "--system", "sn40l-8", .. Decode, "--nodes", "0"]).Error);
        Assert.Contains("--microbatch", Fails(["run", .. Train, "--microbatch", "3"]).Error);
        Assert.Contains("--tp", Fails(["run", "--system", "dgx-h100", "--trace", CliHarness.RepoFile("traces/chakra-multirank/workload.0.et")[..^"/workload.0.et".Length], "--tp", "2"]).Error);
        Assert.Contains("--tp", Fails(["compare", "--system", "dgx-h100", .. Decode, "--tp", "1,3"]).Error);
    }

    [Fact]
    public void A_system_report_is_deterministic_and_its_files_match_the_console()
    {
        using var tmp = new CliHarness.TempDir();
        string[] args = ["run", .. Train, "--pp-schedule", "interleaved", "--format", "json"];
        var a = CliHarness.Run([.. args, "--out", tmp.File("a.json"), "--timeline", tmp.File("t.json")]);
        var b = CliHarness.Run(args);
        Assert.True(a.ExitCode == 0, a.Error);
        Assert.Equal(a.Out, b.Out);
        Assert.Equal(a.Out, File.ReadAllText(tmp.File("a.json")));
        var timeline = JObject.Parse(File.ReadAllText(tmp.File("t.json")));
        var names = ((JArray)timeline["traceEvents"]!).Where(e => (string?)e["name"] == "process_name").Select(e => (string?)e["args"]!["name"]).ToArray();
        Assert.Contains("r0 h100", names);
        Assert.Contains("network", names);

        // Golden-ish: the fields and their relations.
        var j = JObject.Parse(a.Out);
        var t = j["throughput"]!;
        Assert.Equal(16, (long)t["samples"]!);
        Assert.Equal(16 * 256, (long)t["tokens"]!);
        Assert.Equal(D(j["latency_s"]!), D(t["iteration_s"]!));
        Assert.Equal(D(t["model_flops"]!) / D(t["iteration_s"]!) / 8, D(t["model_flops_per_s_per_device"]!), 3);
        Assert.Equal(D(t["model_flops_per_s_per_device"]!) / D(t["peak_flops_per_device"]!), D(t["model_flops_utilisation"]!), 12);
        Assert.InRange(D(t["model_flops_utilisation"]!), 0.01, 1);
        // Hardware FLOPs include the replicated ops (norms on every tp rank): at least the model's.
        Assert.True(D(t["hardware_flops_per_s_per_device"]!) >= D(t["model_flops_per_s_per_device"]!) * 0.999);
        Assert.Equal("interleaved", (string?)j["plan"]!["pp_schedule"]);
        var comm = j["network"]!["communication"]!;
        Assert.Equal(D(comm["time_s"]!), D(comm["exposed_s"]!) + D(comm["overlapped_s"]!), 12);
        Assert.Contains((JArray)j["network"]!["collectives"]!, c => (string?)c["kind"] == "broadcast" && (int)c["ranks"]! == 2);
    }

    [Fact]
    public void Compare_runs_each_pipeline_schedule_and_names_the_fastest()
    {
        var j = Json(["compare", .. Train, "--pp-schedule", "1f1b,interleaved"]);
        Assert.Equal("accelsim.compare/1", (string?)j["schema"]);
        var runs = (JArray)j["runs"]!;
        Assert.Equal(2, runs.Count);
        Assert.Equal(new[] { "1f1b", "interleaved" }, runs.Select(r => (string)r["plan"]!["pp_schedule"]!).ToArray());
        Assert.True(D(runs[1]["latency_s"]!) < D(runs[0]["latency_s"]!));
        Assert.Equal("tp2 pp2 dp2 interleavedx2", (string?)j["fastest"]!["plan"]);

        var table = CliHarness.Run(["compare", "--system", "dgx-h100", .. Decode, "--tp", "1,2,4,8"]);
        Assert.True(table.ExitCode == 0, table.Error);
        output.WriteLine(table.Out);
        foreach (var tp in new[] { 1, 2, 4, 8 }) Assert.Contains($"tp{tp} pp1 dp1", table.Out);
        Assert.Contains("fastest: tp8 pp1 dp1", table.Out);
    }

    [Fact]
    public void Per_rank_chakra_traces_run_on_a_system()
    {
        var dir = Path.GetDirectoryName(CliHarness.RepoFile("traces/chakra-multirank/workload.0.et"))!;
        var j = Json("run", "--system", "dgx-h100", "--trace", dir);
        Assert.Equal(4, ((JArray)j["devices"]!).Count);
        Assert.Equal(4, (int)j["system"]!["devices_used"]!);
        Assert.Equal("chakra-multirank", (string?)j["plan"]!["trace"]);
        var collectives = (JArray)j["network"]!["collectives"]!;
        Assert.Contains(collectives, c => (string?)c["kind"] == "all-reduce");
        Assert.Contains(collectives, c => (int)c["ranks"]! == 2);
        Assert.True(D(j["latency_s"]!) > 0);
        Assert.True(j["throughput"]!["tokens_per_s"]!.Type == JTokenType.Null);
        var table = CliHarness.Run("run", "--system", "dgx-h100", "--trace", dir);
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Contains("chakra-multirank (trace, 4 ranks)", table.Out);
        Assert.Contains("the other 4 devices stay idle", table.Out);
    }

    [Fact]
    public void Set_overrides_apply_to_the_systems_devices()
    {
        var base_ = Json(["run", "--system", "dgx-h100", .. Decode, "--tp", "8"]);
        var faster = Json(["run", "--system", "dgx-h100", .. Decode, "--tp", "8", "--set", "memory.hbm.bandwidth_Bps=6.7e12"]);
        Assert.True(D(faster["latency_s"]!) < D(base_["latency_s"]!));
        Assert.Equal("memory.hbm.bandwidth_Bps", (string?)faster["provenance"]!["overrides"]![0]!["path"]);
    }
}
