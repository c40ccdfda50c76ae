using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary><c>--stack</c> and <c>--launch</c> on run and compare (docs/stacks.md).</summary>
public class StackCliTests
{
    private static JObject RunJson(params string[] args)
    {
        var o = CliHarness.Run(["run", "--hardware", "h100", "--model", "llama2-7b", "--format", "json", .. args]);
        Assert.True(o.ExitCode == 0, o.Error);
        return JObject.Parse(o.Out);
    }

    [Fact]
    public void TheReportNamesTheStackAndTheLaunchMode()
    {
        var fused = RunJson("--phase", "decode", "--context", "512");
        Assert.Equal("fused", (string?)fused["workload"]!["stack"]);
        Assert.Equal("graph", (string?)fused["workload"]!["launch"]);
        var pytorch = RunJson("--phase", "decode", "--context", "512", "--stack", "pytorch", "--launch", "graph");
        Assert.Equal("pytorch", (string?)pytorch["workload"]!["stack"]);
        Assert.Equal("graph", (string?)pytorch["workload"]!["launch"]);
        Assert.Equal(37 * 32 + 10, (int)pytorch["workload"]!["ops"]!);
        Assert.True((double)pytorch["latency_s"]! > (double)fused["latency_s"]!);
        Assert.True((double)fused["utilisation"]!["compute"]! > 0);

        var table = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--stack", "pytorch");
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Contains("stack pytorch, launch eager", table.Out);
        Assert.Contains("launch eager: stack 'pytorch' launches its kernels from the host one by one", table.Out);
    }

    [Fact]
    public void TheStackFileGivesTheDefaultLaunchAndTheOptionOverridesIt()
    {
        var byDefault = RunJson("--phase", "decode", "--stack", "pytorch");
        var eager = RunJson("--phase", "decode", "--stack", "pytorch", "--launch", "eager");
        var graph = RunJson("--phase", "decode", "--stack", "pytorch", "--launch", "graph");
        Assert.Equal("eager", (string?)byDefault["workload"]!["launch"]);
        Assert.Equal("eager", (string?)byDefault["schedule"]);
        Assert.Equal((double)eager["latency_s"]!, (double)byDefault["latency_s"]!);
        Assert.Equal("stack", (string?)byDefault["launch"]!["from"]);
        Assert.Equal("option", (string?)eager["launch"]!["from"]);
        Assert.Equal("sequential", (string?)graph["schedule"]);
        // Batch-1 decode in plain PyTorch is launch-bound: the host issues ~1200 kernels.
        Assert.True((double)eager["latency_s"]! > 1.5 * (double)graph["latency_s"]!);
    }

    [Fact]
    public void ScheduleEagerIsAnAliasOfLaunchEager()
    {
        var alias = RunJson("--phase", "decode", "--schedule", "eager");
        var launch = RunJson("--phase", "decode", "--launch", "eager");
        Assert.Equal(launch.ToString(), alias.ToString());
        Assert.Equal("eager", (string?)alias["workload"]!["launch"]);

        var clash = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--schedule", "eager", "--launch", "graph");
        Assert.Equal(2, clash.ExitCode);
        Assert.Contains("--launch", clash.Error);
    }

    [Fact]
    public void EagerLaunchWithADataflowScheduleIsBadInput()
    {
        // An explicit schedule is a graph launch unless --launch eager says otherwise, and eager launch
        // runs on the sequential schedule only.
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--stack", "pytorch", "--schedule", "dataflow", "--launch", "eager");
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("--schedule sequential only", o.Error);
        var ok = RunJson("--stack", "pytorch", "--schedule", "dataflow");
        Assert.Equal("graph", (string?)ok["workload"]!["launch"]);
        Assert.Equal("dataflow", (string?)ok["schedule"]);
    }

    [Fact]
    public void BadStacksAreBadInput()
    {
        var trace = CliHarness.Run("run", "--hardware", "h100", "--trace", CliHarness.RepoFile("traces/tinyllama-prefill512.json.gz"), "--stack", "pytorch");
        Assert.Equal(2, trace.ExitCode);
        Assert.Contains("--stack", trace.Error);

        var unknown = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--stack", "vllm");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("fused, megatron-lm, pytorch", unknown.Error);

        var path = Path.Combine(Path.GetTempPath(), "accelsim-stack-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, """{ "name": "x", "lowering": { "norm": "fused", "rope": "unfused" } }""");
        try
        {
            var bad = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--stack", path);
            Assert.Equal(2, bad.ExitCode);
            Assert.Contains(path, bad.Error);
            Assert.Contains("lowering.rope", bad.Error);
            Assert.DoesNotContain("   at ", bad.Error);

            File.WriteAllText(path, """{ "name": "x", "host_cost_factor": "fast" }""");
            var factor = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--stack", path);
            Assert.Equal(2, factor.ExitCode);
            Assert.Contains("host_cost_factor", factor.Error);
            Assert.Contains("expected a number in (0, 100]", factor.Error);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void CompareRunsEveryDeviceWithTheStackAndLaunch()
    {
        var o = CliHarness.Run("compare", "--hardware", "h100,a100-80g", "--model", "llama2-7b", "--phase", "decode",
            "--stack", "pytorch", "--launch", "graph", "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var runs = (JArray)JObject.Parse(o.Out)["runs"]!;
        Assert.Equal(2, runs.Count);
        Assert.All(runs, r =>
        {
            Assert.Equal("pytorch", (string?)r["workload"]!["stack"]);
            Assert.Equal("graph", (string?)r["workload"]!["launch"]);
        });
        var table = CliHarness.Run("compare", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--stack", "pytorch", "--launch", "eager");
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Contains("stack pytorch | launch eager", table.Out);
        Assert.Contains("eager", table.Out);
    }

    [Fact]
    public void ValidateShowsTheEndToEndRows()
    {
        var o = CliHarness.Run("validate", "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var files = ((JArray)JObject.Parse(o.Out)["files"]!).Select(f => (string)f["file"]!).ToArray();
        Assert.Contains("e2e/llama2-7b.json (graph)", files);
        Assert.Contains("e2e/llama2-7b.json (eager)", files);
        var table = CliHarness.Run("validate", "--summary");
        Assert.Contains("e2e/llama2-7b.json (graph)", table.Out);
    }

    [Fact]
    public void AnExportedPytorchTraceRunsExactlyAsTheModel()
    {
        using var tmp = new CliHarness.TempDir();
        var trace = tmp.File("pytorch.json");
        var export = CliHarness.Run("export", "--model", "llama2-7b", "--phase", "decode", "--batch", "8", "--stack", "pytorch", "--out", trace);
        Assert.True(export.ExitCode == 0, export.Error);
        Assert.Contains("\"access\":\"strided\"", File.ReadAllText(trace));
        var direct = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--batch", "8",
            "--stack", "pytorch", "--launch", "eager", "--format", "json", "--ops");
        var fromTrace = CliHarness.Run("run", "--hardware", "h100", "--trace", trace, "--launch", "eager", "--format", "json", "--ops");
        Assert.True(fromTrace.ExitCode == 0, fromTrace.Error);
        Assert.Equal(direct.Out, fromTrace.Out);
    }

    [Fact]
    public void ListStacksShowsTheBundledStacks()
    {
        var o = CliHarness.Run("list", "stacks");
        Assert.True(o.ExitCode == 0, o.Error);
        Assert.Contains("unfused_fp32", o.Out);
        Assert.Contains("slice_copy", o.Out);
        Assert.Contains("fused", o.Out);
        Assert.Contains("megatron-lm", o.Out);
        Assert.Contains("masked", o.Out);
    }

    /// <summary>A run on a system builds every rank's graph under --stack, and its report names the stack.</summary>
    [Fact]
    public void ASystemRunBuildsUnderTheStackAndNamesIt()
    {
        JObject Run(string stack)
        {
            var o = CliHarness.Run("run", "--system", "dgx-a100", "--model", SystemReproduction.Experiment("megatron-lm/models/megatron-1.7b.json"),
                "--phase", "train", "--batch", "2", "--seq", "256", "--tp", "2", "--dp", "1", "--stack", stack, "--format", "json");
            Assert.True(o.ExitCode == 0, o.Error);
            return JObject.Parse(o.Out);
        }
        var fused = Run("fused");
        var megatron = Run("megatron-lm");
        Assert.Equal("fused", (string?)fused["provenance"]!["stack"]);
        Assert.Equal("megatron-lm", (string?)megatron["provenance"]!["stack"]);
        // Scores in memory, dropout masks: the same step takes longer.
        Assert.True((double)megatron["throughput"]!["iteration_s"]! > (double)fused["throughput"]!["iteration_s"]!);
    }
}
