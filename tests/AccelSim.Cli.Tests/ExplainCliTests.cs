using System.Text.RegularExpressions;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary><c>accelsim run --explain</c> on every device family, and runs over a comma list of one shape option.</summary>
public class ExplainCliTests
{
    private static JObject Json(params string[] args)
    {
        var r = CliHarness.Run(args);
        Assert.True(r.ExitCode == 0, r.Error);
        return JObject.Parse(r.Out);
    }

    [Theory]
    [InlineData("h100", "sequential", "memory")]
    [InlineData("u280", "dataflow", "memory")]
    [InlineData("sn40l", "dataflow", "memory")]
    [InlineData("wse2", "dataflow", "latency")]
    public void Every_family_explains_its_top_entries(string hardware, string schedule, string bound)
    {
        var j = Json("run", "--hardware", hardware, "--model", "llama2-7b", "--phase", "decode", "--batch", "1", "--context", "2048",
            "--schedule", schedule, "--explain", "--format", "json");
        var explain = (JArray)j["explain"]!;
        Assert.Equal("run", (string?)explain[0]["scope"]);
        Assert.Contains($"{hardware} ran llama2-7b (decode, batch 1, 1 token)", (string?)explain[0]["text"]);
        var ops = explain.Skip(1).ToArray();
        // Five entries, or every distinct one where fewer (a dataflow run: the layer region, lm_head, embed, the final norm).
        Assert.Equal(schedule == "dataflow" ? 4 : 5, ops.Length);
        var first = ops[0];
        Assert.Equal(bound, (string?)first["bound"]);
        Assert.Contains(bound + "-bound", (string?)first["text"]);
        // The ridge is the device's peak for the entry's data type over the bandwidth of the tier it waited on.
        var ridge = (double)first["ridge_point_flop_per_byte"]!;
        Assert.Equal((double)first["peak_flops_per_s"]! / (double)first["tier_bandwidth_Bps"]!, ridge, 6);
        if (schedule == "dataflow")
        {
            // Each layer is one dataflow region of 12 ops, alike across the 32 layers.
            Assert.Equal(12, (int)first["ops_per_entry"]!);
            Assert.Equal(32, (int)first["count"]!);
            Assert.Contains("one dataflow region of 12 ops", (string?)first["text"]);
            Assert.Contains("fused its 387 ops into", (string?)explain[0]["text"]);
        }
        // Entries by total time, and their shares of busy time add up to at most 1.
        for (var i = 1; i < ops.Length; i++) Assert.True((double)ops[i - 1]["total_time_s"]! >= (double)ops[i]["total_time_s"]!);
        Assert.True(ops.Sum(o => (double)o["busy_time_share"]!) <= 1 + 1e-9);
    }

    [Fact]
    public void A_power_capped_prefill_and_an_offloaded_decode_say_so()
    {
        var prefill = Json("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "prefill", "--seq", "2048", "--explain", "2", "--format", "json");
        var e = (JArray)prefill["explain"]!;
        Assert.Equal(3, e.Count);
        Assert.Equal("power", (string?)e[1]["bound"]);
        Assert.Contains("700 W power cap holds the SM clock at", (string?)e[1]["text"]);
        Assert.Contains("700 W power cap holds the SM clock at 1,431 MHz", (string?)e[0]["text"]);

        var offload = Json("run", "--hardware", "h100", "--model", "llama2-70b", "--phase", "decode", "--placement", "offload", "--explain", "1", "--format", "json");
        var o = (JArray)offload["explain"]!;
        Assert.Equal("host", (string?)o[1]["tier"]);
        Assert.Contains("come from host, where the placement put what did not fit in hbm", (string?)o[1]["text"]);
        Assert.Contains("were placed in host", (string?)o[0]["text"]);
    }

    [Fact]
    public void The_bandwidth_lever_agrees_with_a_simulated_device_of_twice_the_bandwidth()
    {
        string[] args = ["run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--batch", "1", "--context", "4000", "--format", "json", "--ops"];
        var j = Json([.. args, "--explain", "10"]);
        var attn = ((JArray)j["explain"]!).Single(x => (string?)x["name"] == "layer*.attn (x32)");
        var factor = (double)attn["levers"]!.Single(l => (string?)l["change"] == "double hbm bandwidth")!["time_factor"]!;
        var faster = Json([.. args, "--set", "memory.hbm.bandwidth_Bps=6.7e12"]);
        double Attn(JObject r) => ((JArray)r["ops"]!).Single(o => (string?)o["name"] == "layer0.attn")!.Value<double>("duration_s");
        Assert.InRange(Attn(faster) / Attn(j), factor * 0.9, factor * 1.1);
    }

    [Fact]
    public void The_table_ends_with_the_explanation_and_plain_json_has_none()
    {
        var r = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--explain", "1");
        Assert.Equal(0, r.ExitCode);
        var why = r.Out.IndexOf("── Why", StringComparison.Ordinal);
        Assert.True(why > r.Out.IndexOf("ops by time", StringComparison.Ordinal));
        Assert.Contains("1. layer*.gate_up (x32):", r.Out[why..]);
        Assert.DoesNotContain("2. ", r.Out[why..]);
        Assert.Null(Json("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--format", "json")["explain"]);
        var bad = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--explain", "-1");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--explain", bad.Error);
    }

    [Fact]
    public void A_batch_list_gives_one_full_report_per_value()
    {
        var list = Json("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--batch", "1,4", "--context", "512", "--format", "json");
        Assert.Equal("accelsim.runs/1", (string?)list["schema"]);
        Assert.Equal("batch", (string?)list["axis"]);
        var runs = (JArray)list["runs"]!;
        Assert.Equal(2, runs.Count);
        for (var i = 0; i < 2; i++)
        {
            var batch = i == 0 ? "1" : "4";
            var single = Json("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--batch", batch, "--context", "512", "--format", "json");
            var r = (JObject)runs[i].DeepClone();
            Assert.True((bool)r["fits"]!);
            r.Remove("fits");
            Assert.True(JToken.DeepEquals(single, r), $"batch {batch}: the list's report differs from the single run's");
        }
    }

    [Fact]
    public void A_context_list_prints_one_row_per_value()
    {
        var r = CliHarness.Run("run", "--hardware", "h100", "--model", "llama3-8b", "--phase", "decode", "--batch", "16", "--context", "512,2048,4096");
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("One run per context", r.Out);
        foreach (var c in new[] { "512", "2048", "4096" }) Assert.Matches($@"│\s+{c} │", r.Out);
        Assert.Contains("Peak hbm", r.Out);
    }

    [Theory]
    [InlineData("--batch", "1,2", "--context", "512,1024", "at most one of --batch, --seq and --context")]
    [InlineData("--batch", "1,x", "--context", "512", "expected whole numbers separated by commas")]
    [InlineData("--batch", "1,2", "--timeline", "t.json", "writes one report per value")]
    public void Bad_lists_are_refused_with_exit_code_2(string o1, string v1, string o2, string v2, string message)
    {
        var r = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", o1, v1, o2, v2);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Error);
        Assert.Equal("", r.Out);
    }

    [Theory]
    [InlineData("## Explanation (`--explain`)", "accelsim run --hardware h100 --model llama2-7b --phase decode --batch 1 --context 2048 --explain 2")]
    [InlineData("## Runs over a list (`accelsim.runs/1`)", "accelsim run --hardware h100 --model llama3-8b --phase decode --context 512 --batch 1,16,256")]
    public void The_report_schema_examples_are_what_the_command_prints(string heading, string command)
    {
        var doc = File.ReadAllText(CliHarness.RepoFile("docs/report-schema.md"));
        var section = doc[doc.IndexOf(heading, StringComparison.Ordinal)..];
        var at = section.IndexOf("`" + command + "`", StringComparison.Ordinal);
        Assert.True(at >= 0, $"the section names `{command}`");
        var start = section.IndexOf("```\n", at, StringComparison.Ordinal) + 4;
        var example = section[start..section.IndexOf("```", start, StringComparison.Ordinal)];
        var r = CliHarness.Run(command.Split(' ')[1..]);
        Assert.True(r.ExitCode == 0, r.Error);
        static string Flat(string s) => Regex.Replace(s, @"\s+", " ").Trim();
        Assert.Contains(Flat(example), Flat(r.Out));
    }

    [Fact]
    public void The_explanation_is_byte_identical_run_to_run()
    {
        string[] args = ["run", "--hardware", "sn40l", "--model", "llama2-7b", "--phase", "prefill", "--seq", "256", "--schedule", "auto", "--explain", "--format", "json"];
        var a = CliHarness.Run(args);
        var b = CliHarness.Run(args);
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(a.Out, b.Out);
    }

    [Fact]
    public void A_seq_list_runs_each_prompt_length_and_a_bad_value_stops_before_any_run()
    {
        var j = Json("run", "--hardware", "h100", "--model", "gpt2-medium", "--phase", "prefill", "--seq", "128,256", "--format", "json");
        Assert.Equal("seq", (string?)j["axis"]);
        Assert.Equal([128L, 256L], ((JArray)j["values"]!).Select(v => (long)v));
        Assert.Equal([128L, 256L], ((JArray)j["runs"]!).Select(r => (long)r["workload"]!["seq"]!));

        var bad = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--context", "512,9000");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("max_position_embeddings", bad.Error);
        Assert.Equal("", bad.Out);
    }
}
