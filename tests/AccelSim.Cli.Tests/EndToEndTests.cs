using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary>The command line end to end: every bundled model on every bundled GPU, report contract,
/// output files, plugins, determinism.</summary>
public class EndToEndTests
{
    public static TheoryData<string, string, string> ModelsOnGpus()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var hw in new[] { "h100", "h200", "a100-80g", "rtx4090", "v100" })
        foreach (var model in new[] { "llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "llama3-70b", "mistral-7b" })
        foreach (var phase in new[] { "prefill", "decode" })
            data.Add(hw, model, phase);
        return data;
    }

    [Theory]
    [MemberData(nameof(ModelsOnGpus))]
    public void EveryBundledModelRunsOnEveryBundledGpu(string hardware, string model, string phase)
    {
        var shape = phase == "prefill" ? new[] { "--seq", "512" } : new[] { "--context", "1024" };
        var o = CliHarness.Run(["run", "--hardware", hardware, "--model", model, "--phase", phase, "--batch", "2", .. shape, "--format", "json"]);
        Assert.True(o.ExitCode == 0, o.Error);
        var report = JObject.Parse(o.Out);
        Assert.Equal("accelsim.report/1", (string?)report["schema"]);
        Assert.Equal(hardware, (string?)report["hardware"]!["name"]);
        Assert.Equal(phase, (string?)report["workload"]!["phase"]);
        var latency = (double)report["latency_s"]!;
        Assert.True(latency > 0 && double.IsFinite(latency));
        var compute = (double)report["utilisation"]!["compute"]!;
        var memory = (double)report["utilisation"]!["memory_bandwidth"]!;
        Assert.InRange(compute, 0, 1);
        Assert.InRange(memory, 0, 1);
        Assert.True((double)report["energy_j"]! > 0);
        // Decode at small batch is memory-bound on every GPU; prefill of 2 x 512 tokens is not mostly.
        var fraction = (double)report["memory_wall"]!["memory_bound_time_fraction"]!;
        if (phase == "decode") Assert.True(fraction > 0.5, $"decode memory-bound fraction {fraction}");
    }

    [Fact]
    public void AWorkloadThatNeverLeavesTheChipHasUnboundedIntensityNotZero()
    {
        // llama2-7b fits in a WSE-2's SRAM: no byte crosses an off-chip channel.
        string[] args = ["run", "--hardware", "wse2", "--model", "llama2-7b", "--phase", "decode", "--context", "512"];
        var json = CliHarness.Run([.. args, "--format", "json"]);
        Assert.True(json.ExitCode == 0, json.Error);
        var r = JObject.Parse(json.Out);
        Assert.Equal(0L, (long)r["off_chip_bytes"]!);
        Assert.Equal(JTokenType.Null, r["memory_wall"]!["arithmetic_intensity_flop_per_byte"]!.Type);
        var table = CliHarness.Run(args);
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Contains("no off-chip bytes", table.Out);
        Assert.Contains("no byte leaves the chip", table.Out);
        Assert.DoesNotContain("0.00 FLOP/B", table.Out);
    }

    [Fact]
    public void TheVerdictNamesTheLinkTheBytesWaitOn()
    {
        // A GEMM on a wafer waits on its fabric, an offloaded 70B decode on the host link.
        var wafer = CliHarness.Run("op", "matmul", "--m", "4096", "--n", "4096", "--k", "4096", "--dtype", "bf16", "--hardware", "wse2");
        Assert.True(wafer.ExitCode == 0, wafer.Error);
        Assert.Contains("most of the wait on fabric", wafer.Out);
        var offload = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-70b", "--phase", "decode", "--placement", "offload");
        Assert.True(offload.ExitCode == 0, offload.Error);
        Assert.Contains("most of the wait on pcie", offload.Out);
    }

    [Fact]
    public void EagerOnADeviceWithoutAHostSaysItRunsKernelByKernel()
    {
        var eager = CliHarness.Run("run", "--hardware", "u280", "--model", "llama2-7b", "--phase", "decode", "--schedule", "eager", "--format", "json");
        var sequential = CliHarness.Run("run", "--hardware", "u280", "--model", "llama2-7b", "--phase", "decode", "--format", "json");
        Assert.True(eager.ExitCode == 0, eager.Error);
        Assert.Contains("no host model", eager.Error);
        Assert.Equal("sequential", (string?)JObject.Parse(eager.Out)["schedule"]);
        Assert.Equal(sequential.Out, eager.Out);
        var gpu = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--schedule", "eager", "--format", "json");
        Assert.DoesNotContain("no host model", gpu.Error);
    }

    [Fact]
    public void ManyExpertSwitchesNeverOverfillMainMemory()
    {
        // 150 experts of 13.5 GB through an 8-socket SN40L's 550 GB of HBM: the switched-in experts are
        // a cache, evicted oldest first, not 2 TB resident at once.
        var o = CliHarness.Run("run", "--hardware", "sn40l-8", "--model", "llama2-7b", "--phase", "decode", "--context", "2048",
            "--schedule", "dataflow", "--experts", "150", "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var memory = JObject.Parse(o.Out)["memory"]!;
        var capacity = (long)memory["capacity_bytes"]!["hbm"]!;
        var peak = (long)memory["peak_bytes"]!["hbm"]!;
        var atRest = (long)memory["spilled_bytes"]!["ddr"]!;
        Assert.Equal(0, atRest % 150);
        var expert = atRest / 150;
        Assert.InRange(expert, 13e9, 14e9); // a 7B bf16 model
        Assert.InRange(peak, capacity - 2 * expert, capacity);
        Assert.Equal(0L, (long)memory["over_capacity_bytes"]!["hbm"]!);
        Assert.Equal(0L, (long)memory["spilled_bytes"]!["hbm"]!);
    }

    [Fact]
    public void TableOutputShowsTheKeyFigures()
    {
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "prefill", "--batch", "1", "--seq", "2048");
        Assert.True(o.ExitCode == 0, o.Error);
        Assert.Contains("h100", o.Out);
        Assert.Contains("llama2-7b", o.Out);
        Assert.Contains("tokens/s", o.Out);
        Assert.Contains("hbm", o.Out);
    }

    [Fact]
    public void JsonReportHasTheContractFields()
    {
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", "llama3-8b", "--phase", "decode", "--batch", "4", "--context", "2048", "--format", "json", "--ops");
        Assert.True(o.ExitCode == 0, o.Error);
        var r = JObject.Parse(o.Out);
        foreach (var key in new[] { "schema", "hardware", "workload", "schedule", "latency_s", "tokens_per_s", "utilisation", "energy_j", "energy_breakdown_j", "memory", "memory_wall", "ops" })
            Assert.True(r.ContainsKey(key), $"missing {key}");
        foreach (var key in new[] { "memory_bound_ops", "memory_bound_time_fraction", "stall_s", "arithmetic_intensity_flop_per_byte", "ridge_point_flop_per_byte" })
            Assert.NotNull(r["memory_wall"]![key]);
        var ops = (JArray)r["ops"]!;
        Assert.Equal((int)r["workload"]!["ops"]!, ops.Count);
        var op = ops[0];
        foreach (var key in new[] { "id", "name", "kind", "engine", "start_s", "end_s", "flops", "bytes", "bound", "energy_j" })
            Assert.NotNull(op[key]);
        // FLOPs are conserved: the per-op FLOPs add up to the report's total.
        var sum = ops.Sum(t => (double)t["flops"]!);
        Assert.Equal((double)r["flops"]!, sum, 6);
    }

    [Fact]
    public void SameInputsGiveByteIdenticalReports()
    {
        var a = CliHarness.Run("run", "--hardware", "a100-80g", "--model", "mistral-7b", "--phase", "prefill", "--seq", "1024", "--format", "json", "--ops");
        var b = CliHarness.Run("run", "--hardware", "a100-80g", "--model", "mistral-7b", "--phase", "prefill", "--seq", "1024", "--format", "json", "--ops");
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(a.Out, b.Out);
    }

    [Fact]
    public void OutAndTimelineFilesAreWritten()
    {
        using var tmp = new CliHarness.TempDir();
        var report = tmp.File("report.json");
        var timeline = tmp.File("timeline.json");
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--context", "512", "--out", report, "--timeline", timeline);
        Assert.True(o.ExitCode == 0, o.Error);
        var r = JObject.Parse(File.ReadAllText(report));
        Assert.Equal("accelsim.report/1", (string?)r["schema"]);
        var t = JToken.Parse(File.ReadAllText(timeline));
        var events = t is JObject obj ? (JArray)obj["traceEvents"]! : (JArray)t;
        Assert.Contains(events, e => (string?)e["ph"] == "X");
        Assert.Contains(events, e => (string?)e["ph"] == "C");
        Assert.Equal(2, Directory.GetFiles(tmp.Path).Length);
    }

    [Fact]
    public void SetOverridesChangeTheResult()
    {
        var slow = CliHarness.Run("op", "matmul", "--m", "1", "--n", "8192", "--k", "8192", "--hardware", "h100", "--format", "json");
        var fast = CliHarness.Run("op", "matmul", "--m", "1", "--n", "8192", "--k", "8192", "--hardware", "h100", "--format", "json", "--set", "memory.hbm.bandwidth_Bps=6.7e12");
        Assert.True(slow.ExitCode == 0, slow.Error);
        Assert.True(fast.ExitCode == 0, fast.Error);
        var ts = (double)JObject.Parse(slow.Out)["latency_s"]!;
        var tf = (double)JObject.Parse(fast.Out)["latency_s"]!;
        Assert.True(tf < ts * 0.8, $"doubling HBM bandwidth should speed up a GEMV: {ts} -> {tf}");
    }

    [Fact]
    public void OpAttentionRuns()
    {
        var o = CliHarness.Run("op", "attention", "--batch", "1", "--heads", "32", "--kv-heads", "8", "--head-dim", "128", "--seq", "2048", "--context", "0", "--hardware", "h100", "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var r = JObject.Parse(o.Out);
        Assert.Equal("attention", (string?)r["ops"]![0]!["kind"]);
    }

    [Fact]
    public void ListCommandsShowBundledConfigsAndPlugins()
    {
        var hw = CliHarness.Run("list", "hardware");
        Assert.Equal(0, hw.ExitCode);
        foreach (var name in new[] { "h100", "h200", "a100-80g", "rtx4090", "v100" }) Assert.Contains(name, hw.Out);
        var models = CliHarness.Run("list", "models");
        Assert.Equal(0, models.ExitCode);
        foreach (var name in new[] { "llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "llama3-70b", "mistral-7b" }) Assert.Contains(name, models.Out);
        var plugins = CliHarness.Run("list", "plugins");
        Assert.Equal(0, plugins.ExitCode);
        Assert.Contains("gpu", plugins.Out);
        Assert.Contains("memory.hbm.bandwidth_Bps", plugins.Out);
    }

    [Fact]
    public void ListModelsReadsGpt2StyleKeysThroughTheLoader()
    {
        // gpt2-medium.json names its fields n_layer, n_embd and n_head; the list must show them as a run reads them.
        var models = CliHarness.Run("list", "models");
        Assert.Equal(0, models.ExitCode);
        var row = models.Out.Split('\n').Single(l => l.Contains("│ gpt2-medium ", StringComparison.Ordinal));
        var cells = row.Split('│', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["gpt2-medium", "gpt2", "24", "1024", "16/16"], cells.Take(5));
    }

    [Fact]
    public void OpTableShowsTheKernelsFiguresInsteadOfPerTokenOnes()
    {
        var table = CliHarness.Run("op", "matmul", "--m", "256", "--n", "256", "--k", "256", "--hardware", "h100");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("Latency", table.Out);
        Assert.DoesNotContain("tokens", table.Out);
        foreach (var row in new[] { "Achieved rate", "Achieved bandwidth", "Arithmetic intensity", "Bound", "Off-chip bytes" })
            Assert.Contains("│ " + row, table.Out);
        Assert.Contains("B/s", table.Out);
        var json = CliHarness.Run("op", "matmul", "--m", "256", "--n", "256", "--k", "256", "--hardware", "h100", "--format", "json");
        Assert.Equal(0, json.ExitCode);
        var o = Newtonsoft.Json.Linq.JObject.Parse(json.Out);
        Assert.Equal(Newtonsoft.Json.Linq.JTokenType.Null, o["tokens_per_s"]!.Type);
        var kernel = o["kernel"]!;
        Assert.Equal((double)o["flops"]! / (double)o["latency_s"]!, (double)kernel["flops_per_s"]!, 1e-6);
        Assert.Equal((double)o["off_chip_bytes"]! / (double)o["latency_s"]!, (double)kernel["bytes_per_s"]!, 1e-6);
        Assert.Equal((double)o["memory_wall"]!["arithmetic_intensity_flop_per_byte"]!, (double)kernel["arithmetic_intensity_flop_per_byte"]!);
        Assert.Contains((string)kernel["bound"]!, new[] { "compute", "memory", "latency", "power" });
        // A run of a model keeps its per-token rate and has no kernel object.
        var run = Newtonsoft.Json.Linq.JObject.Parse(CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--batch", "1", "--context", "128", "--format", "json").Out);
        Assert.Equal(Newtonsoft.Json.Linq.JTokenType.Float, run["tokens_per_s"]!.Type);
        Assert.Null(run["kernel"]);
    }

    [Fact]
    public void ListModelsLeavesNoCellBlankForAnyBundledModel()
    {
        var models = CliHarness.Run("list", "models");
        Assert.Equal(0, models.ExitCode);
        var names = Directory.GetFiles(Path.GetDirectoryName(CliHarness.RepoFile("configs/models/llama2-7b.json"))!, "*.json").Select(Path.GetFileNameWithoutExtension).ToArray();
        Assert.NotEmpty(names);
        var rows = models.Out.Split('\n').Where(l => l.StartsWith("│ ", StringComparison.Ordinal))
            .Select(l => l.Split('│')[1..^1].Select(c => c.Trim()).ToArray()).ToList();
        foreach (var name in names)
        {
            var row = rows.SingleOrDefault(r => r[0] == name);
            Assert.True(row is not null, $"list models has no row for {name}");
            Assert.DoesNotContain("invalid", row);
            for (var c = 0; c < 5; c++) Assert.False(string.IsNullOrEmpty(row[c]), $"{name}: column {c} is blank");
            Assert.Matches(@"^\d+$", row[2]);
            Assert.Matches(@"^\d+$", row[3]);
            Assert.Matches(@"^\d+/\d+$", row[4]);
        }
    }

    [Fact]
    public void ExternalPluginIsLoadedFromAFolder()
    {
        var folder = CliHarness.TestPluginFolder();
        Assert.True(File.Exists(Path.Combine(folder, "AccelSim.TestPlugin.dll")), $"test plugin not built at {folder}");
        var list = CliHarness.Run("--plugins", folder, "list", "plugins");
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("toy", list.Out);
        var run = CliHarness.Run("--plugins", folder, "op", "matmul", "--m", "1024", "--n", "1024", "--k", "1024", "--hardware", CliHarness.TestData("toy.json"), "--format", "json");
        Assert.True(run.ExitCode == 0, run.Error);
        var r = JObject.Parse(run.Out);
        Assert.Equal("toy", (string?)r["hardware"]!["kind"]);
        // Roofline device: 2*1024^3 FLOP at 1e12 FLOP/s = 2.147 ms vs 6 MiB at 1e11 B/s = 0.063 ms.
        Assert.Equal(2.147483648e-3, (double)r["latency_s"]!, 9);
    }

    [Fact]
    public void MissingPluginFolderIsBadInputNotACrash()
    {
        var o = CliHarness.Run("--plugins", "/nonexistent/plugins", "list", "plugins");
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("does not exist", o.Error);
    }
}

public class ScheduleTests
{
    [Fact]
    public void EagerScheduleOfASmallModelIsLaunchBoundOnAGpu()
    {
        // Decode of a 7B model at batch 1 runs ~400 short kernels; eager issue from the host must not be faster
        // than the same kernels back to back (CUDA-graph style), and the host shows up in the report.
        var graph = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--context", "128", "--format", "json");
        var eager = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--context", "128", "--format", "json", "--schedule", "eager");
        Assert.True(eager.ExitCode == 0, eager.Error);
        var g = JObject.Parse(graph.Out);
        var e = JObject.Parse(eager.Out);
        Assert.Equal("eager", (string?)e["schedule"]);
        Assert.True((double)e["latency_s"]! >= (double)g["latency_s"]!);
        Assert.True((double)e["host"]!["dispatch_s"]! > 0);
        Assert.Equal((double)g["flops"]!, (double)e["flops"]!);
    }

    [Fact]
    public void CompareShowsEveryDeviceAndSchedule()
    {
        var o = CliHarness.Run("compare", "--hardware", "h100,a100-80g", "--model", "llama2-7b", "--phase", "decode", "--batch", "8", "--context", "2048", "--schedule", "sequential,dataflow", "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var runs = (JArray)JObject.Parse(o.Out)["runs"]!;
        Assert.Equal(4, runs.Count);
        Assert.Equal(new[] { "h100", "h100", "a100-80g", "a100-80g" }, runs.Select(r => (string)r["hardware"]!["name"]!).ToArray());
        Assert.Equal(new[] { "sequential", "dataflow", "sequential", "dataflow" }, runs.Select(r => (string)r["schedule"]!).ToArray());
        var table = CliHarness.Run("compare", "--hardware", "h100,a100-80g", "--model", "llama2-7b", "--phase", "decode", "--batch", "8");
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Contains("fastest: h100", table.Out);
    }

    [Fact]
    public void UnknownScheduleIsABadInput()
    {
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--schedule", "magic");
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("magic", o.Error);
    }

    [Fact]
    public void AnFpgaOffloadsWhatDoesNotFitInHbmToDdr()
    {
        // llama2-13b (26 GB of fp16 weights) on a U280 with 8 GiB of HBM and 32 GiB of DDR4.
        var o = CliHarness.Run("run", "--hardware", "u280", "--model", "llama2-13b", "--phase", "decode", "--placement", "offload", "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var memory = JObject.Parse(o.Out)["memory"]!;
        var peak = (long)memory["peak_bytes"]!["hbm"]!;
        Assert.True(peak > 0 && peak <= (long)memory["capacity_bytes"]!["hbm"]!, $"hbm peak {peak} B");
        var streamed = (long)memory["bytes_moved_by_channel"]!["ddr"]!;
        Assert.True(streamed > 10_000_000_000L, $"{streamed} B over ddr");
        Assert.Equal(streamed, (long)memory["spilled_bytes"]!["ddr"]!);
        // No faster than the streamed bytes over the DDR4 peak (DS963: 2 x 19.2 GB/s).
        Assert.True((double)JObject.Parse(o.Out)["latency_s"]! >= streamed / 38.4e9);

        // Everything in HBM is refused with the way out named.
        var fit = CliHarness.Run("run", "--hardware", "u280", "--model", "llama2-13b", "--phase", "decode", "--placement", "fit");
        Assert.Equal(2, fit.ExitCode);
        Assert.Contains("--placement offload", fit.Error);
    }
}
