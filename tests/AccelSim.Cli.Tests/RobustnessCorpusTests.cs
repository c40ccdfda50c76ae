using System.Diagnostics;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary>Inputs that once aborted with an unhandled exception or returned a wrong figure with exit 0.
/// Each now gives exit 2 and one clear message naming the input, or the correct figure.</summary>
public class RobustnessCorpusTests
{
    private static void AssertRefused(CliHarness.Outcome o, params string[] mustContain)
    {
        Assert.True(o.ExitCode == 2, $"exit {o.ExitCode}; stderr: {o.Error}");
        Assert.DoesNotContain("   at ", o.Error);
        Assert.DoesNotContain("Exception", o.Error);
        Assert.StartsWith("error:", o.Error);
        Assert.Equal("", o.Out);
        foreach (var s in mustContain) Assert.Contains(s, o.Error);
    }

    private static JObject Json(CliHarness.Outcome o)
    {
        Assert.True(o.ExitCode == 0, o.Error);
        return JObject.Parse(o.Out);
    }

    // ---- 64-bit counts ----

    [Theory]
    [InlineData("3000000", "--m/--n/--k/--batch")] // once: unhandled ArgumentOutOfRangeException (negative FLOPs)
    [InlineData("2097152", "--m/--n/--k/--batch")] // once: 2^64 FLOPs wrapped to "0 FLOP" with exit 0
    public void MatMulPastTheCountRangeIsRefused(string size, string option)
    {
        var o = CliHarness.Run("op", "matmul", "--m", size, "--n", size, "--k", size, "--hardware", "h100");
        AssertRefused(o, option, "2^63 - 1");
    }

    [Fact]
    public void MatMulJustInsideTheCountRangeReportsItsExactFlops()
    {
        // 2 * 2^20^3 = 2^61 FLOPs: representable, and reported exactly.
        var r = Json(CliHarness.Run("op", "matmul", "--m", "1048576", "--n", "1048576", "--k", "1048576", "--hardware", "h100", "--format", "json"));
        Assert.Equal(1L << 61, (long)r["flops"]!);
        Assert.True((double)r["latency_s"]! > 0);
    }

    [Fact]
    public void CopyWhoseTrafficPassesTheCountRangeIsRefused()
    {
        // 9e18 bytes read plus 9e18 written: once an unhandled OverflowException.
        AssertRefused(CliHarness.Run("op", "copy", "--bytes", "9000000000000000000", "--hardware", "h100"), "--bytes", "2^63 - 1");
    }

    [Fact]
    public void AttentionPastTheCountRangeIsRefused()
    {
        // Once: wrapped FLOPs reported with exit 0.
        var o = CliHarness.Run("op", "attention", "--heads", "1000000", "--seq", "1000000", "--context", "100000000", "--hardware", "h100");
        AssertRefused(o, "--batch/--heads/--head-dim/--seq/--context", "2^63 - 1");
    }

    private static string Trace(string ops) => $$"""
        {
          "schema": "accelsim.trace/1",
          "workload": {"name":"huge","phase":"prefill","batch":1,"seq_len":1,"context":0,"tokens":1},
          "tensors": [
            {"id":0,"name":"x","shape":[16],"dtype":"bf16","role":"activation"},
            {"id":1,"name":"y","shape":[16],"dtype":"bf16","role":"activation"},
            {"id":2,"name":"z","shape":[16],"dtype":"bf16","role":"activation"}
          ],
          "ops": [{{ops}}]
        }
        """;

    [Fact]
    public void TraceWhoseTotalFlopsPassTheCountRangeIsRefusedNamingTheFile()
    {
        using var tmp = new CliHarness.TempDir();
        var path = tmp.File("huge-total.json");
        File.WriteAllText(path, Trace("""
            {"id":0,"name":"a","kind":"elementwise","inputs":[0],"outputs":[1],"flops":5000000000000000000,"dtype":"bf16"},
            {"id":1,"name":"b","kind":"elementwise","inputs":[1],"outputs":[2],"flops":5000000000000000000,"dtype":"bf16"}
            """));
        // Once: negative total FLOPs with exit 0.
        AssertRefused(CliHarness.Run("run", "--hardware", "h100", "--trace", path), "huge-total.json", "total FLOPs");
    }

    [Fact]
    public void TraceOpWithFlopsNear2To63IsReportedPositive()
    {
        using var tmp = new CliHarness.TempDir();
        var path = tmp.File("huge-op.json");
        const long flops = 9_000_000_000_000_000_000;
        File.WriteAllText(path, Trace($$"""
            {"id":0,"name":"a","kind":"elementwise","inputs":[0],"outputs":[1],"flops":{{flops}},"dtype":"bf16"}
            """));
        var r = Json(CliHarness.Run("run", "--hardware", "h100", "--trace", path, "--format", "json"));
        Assert.Equal(flops, (long)r["flops"]!);
        Assert.True((double)r["latency_s"]! > 0);
        Assert.True((double)r["energy_j"]! > 0);
    }

    [Fact]
    public void TraceGemmShapePastTheCountRangeIsRefusedAtItsPath()
    {
        using var tmp = new CliHarness.TempDir();
        var path = tmp.File("huge-gemm.json");
        File.WriteAllText(path, Trace("""
            {"id":0,"name":"a","kind":"matmul","inputs":[0],"outputs":[1],"flops":1,"dtype":"bf16","gemm":{"batch":1,"m":4000000,"n":4000000,"k":4000000,"weight_shared":true}}
            """));
        AssertRefused(CliHarness.Run("run", "--hardware", "h100", "--trace", path), "huge-gemm.json", "ops[0].gemm", "2^63 - 1");
    }

    // ---- the picosecond clock ----

    [Fact]
    public void RunPastTheClockRangeIsRefusedNotWrapped()
    {
        // 2 x 4e18 bytes at 1e11 B/s is 8e7 s, beyond 2^63 ps (9.2e6 s): once a wrapped, negative or
        // too-small latency with exit 0.
        var o = CliHarness.Run("op", "copy", "--bytes", "4000000000000000000", "--hardware", "h100", "--set", "memory.hbm.bandwidth_Bps=1e11");
        AssertRefused(o, "time range of 106 days");
    }

    [Fact]
    public void RunInsideTheClockRangeIsSlowerWhenLarger()
    {
        double Latency(string bytes) => (double)Json(CliHarness.Run("op", "copy", "--bytes", bytes, "--hardware", "h100",
            "--set", "memory.hbm.bandwidth_Bps=1e12", "--format", "json"))["latency_s"]!;
        var small = Latency("100000000000000000");
        var large = Latency("1000000000000000000");
        Assert.True(large > small, $"{large} <= {small}");
        Assert.InRange(large, 1e6, 9.2e6);
    }

    [Fact]
    public void BandwidthThatRoundsToZeroIsRefusedNamingTheKey()
    {
        // Once: an unhandled ArgumentOutOfRangeException (a transfer rate of 0).
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--set", "memory.hbm.bandwidth_Bps=1e-30");
        AssertRefused(o, "memory.hbm.bandwidth_Bps", "at least 1 B/s");
    }

    [Fact]
    public void ComputeRateThatRoundsToNothingIsRefusedAsOutOfTime()
    {
        var o = CliHarness.Run("op", "matmul", "--m", "64", "--n", "64", "--k", "64", "--hardware", "h100", "--set", "compute.bf16.peak_flops=1e-300");
        Assert.Equal(2, o.ExitCode);
        Assert.StartsWith("error:", o.Error);
        Assert.DoesNotContain("Exception", o.Error);
    }

    // ---- config magnitudes and sanity limits ----

    private static string LlamaConfig(string extra) =>
        "{\"model_type\":\"llama\",\"hidden_size\":256,\"intermediate_size\":512,\"num_attention_heads\":4,"
        + "\"num_hidden_layers\":2,\"vocab_size\":1000" + extra + "}";

    private static string WriteModel(CliHarness.TempDir tmp, string name, string json)
    {
        var path = tmp.File(name);
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void IntegerBeyond64BitsIsReadAsANumberAndRangeChecked()
    {
        // Once: an unhandled InvalidCastException (a BigInteger where a number was expected). Now the
        // value is read as the number it is, and an epsilon of 1e20 is out of its range.
        using var tmp = new CliHarness.TempDir();
        var path = WriteModel(tmp, "big-eps.json", LlamaConfig(",\"rms_norm_eps\": 100000000000000000000"));
        AssertRefused(CliHarness.Run("run", "--hardware", "h100", "--model", path, "--seq", "16", "--format", "json"), "big-eps.json", "rms_norm_eps");
    }

    [Fact]
    public void CountBeyond64BitsIsRefusedNamingTheKey()
    {
        using var tmp = new CliHarness.TempDir();
        var path = WriteModel(tmp, "big-heads.json", LlamaConfig("").Replace("\"num_attention_heads\":4", "\"num_attention_heads\":100000000000000000000"));
        AssertRefused(CliHarness.Run("run", "--hardware", "h100", "--model", path), "big-heads.json", "num_attention_heads");
    }

    [Theory]
    [InlineData("\"num_hidden_layers\":2", "\"num_hidden_layers\":2147483647", "num_hidden_layers")]
    [InlineData("\"vocab_size\":1000", "\"vocab_size\":2000000000", "vocab_size")]
    [InlineData("\"num_attention_heads\":4", "\"num_attention_heads\":1048576", "num_attention_heads")]
    public void AbsurdCountsFailFast(string from, string to, string key)
    {
        // Once: memory grew without bound building 2^31 layers.
        using var tmp = new CliHarness.TempDir();
        var path = WriteModel(tmp, "absurd.json", LlamaConfig("").Replace(from, to));
        var watch = Stopwatch.StartNew();
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", path);
        AssertRefused(o, "absurd.json", key, "sanity limit");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }

    [Fact]
    public void AbsurdExpertCountFailsFast()
    {
        using var tmp = new CliHarness.TempDir();
        var mixtral = JObject.Parse(File.ReadAllText(CliHarness.RepoFile("configs/models/mixtral-8x7b.json")));
        mixtral["num_local_experts"] = int.MaxValue;
        var path = WriteModel(tmp, "many-experts.json", mixtral.ToString());
        AssertRefused(CliHarness.Run("run", "--hardware", "h100", "--model", path), "many-experts.json", "num_local_experts", "sanity limit");
    }

    [Theory]
    [InlineData("--batch", "100000000")]
    [InlineData("--seq", "4000000000")]
    public void AbsurdRequestSizesFailFast(string option, string value)
    {
        AssertRefused(CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", option, value), option, "sanity limit");
    }

    [Fact]
    public void AbsurdExpertSwitchCountFailsFast()
    {
        // Once: an unhandled ArgumentOutOfRangeException sizing a list of 2^31 ops.
        AssertRefused(CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--experts", "2147483647"), "--experts", "sanity limit");
    }

    [Fact]
    public void AbsurdCapacityContextIsRefusedNamingTheOption() =>
        AssertRefused(CliHarness.Run("capacity", "--hardware", "h100", "--model", "llama2-7b", "--context", "9223372036854775807"),
            "--context", "sanity limit");

    [Fact]
    public void HardwareIntegerBeyond64BitsIsRangeChecked()
    {
        using var tmp = new CliHarness.TempDir();
        var h100 = File.ReadAllText(CliHarness.RepoFile("configs/hardware/h100.json"));
        var path = tmp.File("huge-sms.json");
        File.WriteAllText(path, h100.Replace("\"sm_count\": 132", "\"sm_count\": 100000000000000000000000"));
        AssertRefused(CliHarness.Run("op", "copy", "--bytes", "100", "--hardware", path), "huge-sms.json", "compute.sm_count");
    }

    // ---- output files ----

    private static CliHarness.Outcome MatMulTo(params string[] outputs) =>
        CliHarness.Run(["op", "matmul", "--m", "64", "--n", "64", "--k", "64", "--hardware", "h100", "--format", "json", .. outputs]);

    [Fact]
    public void OutToAFolderIsRefused()
    {
        using var tmp = new CliHarness.TempDir();
        AssertRefused(MatMulTo("--out", tmp.Path), "--out", "is a folder");
    }

    [Fact]
    public void OutToAnEmptyPathIsRefused() => AssertRefused(MatMulTo("--out", ""), "--out", "empty path");

    [Fact]
    public void OutUnderARegularFileIsRefused()
    {
        using var tmp = new CliHarness.TempDir();
        File.WriteAllText(tmp.File("file.txt"), "x");
        AssertRefused(MatMulTo("--out", Path.Combine(tmp.File("file.txt"), "x.json")), "--out", "not a folder");
        Assert.Equal("x", File.ReadAllText(tmp.File("file.txt")));
    }

    [Fact]
    public void OutInAMissingFolderIsRefused()
    {
        using var tmp = new CliHarness.TempDir();
        AssertRefused(MatMulTo("--out", Path.Combine(tmp.Path, "missing", "x.json")), "--out", "does not exist");
    }

    [Theory]
    [InlineData("/dev/full")]
    [InlineData("/dev/null")]
    public void OutToADeviceIsRefusedAndTheDeviceIsKept(string device)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(device)) return;
        // Once, as root: the device node was replaced by a JSON file.
        AssertRefused(MatMulTo("--out", device), "--out", "not a regular file");
        Assert.Equal("character special file", FileType(device));
    }

    private static string FileType(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("stat", ["-c", "%F", path]) { RedirectStandardOutput = true })!;
        var text = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return text;
    }

    [Fact]
    public void SeveralOutputsAreWrittenAllOrNone()
    {
        using var tmp = new CliHarness.TempDir();
        Directory.CreateDirectory(tmp.File("timeline-folder"));
        // Once: a.json was left behind when the timeline could not be written.
        AssertRefused(MatMulTo("--out", tmp.File("a.json"), "--timeline", tmp.File("timeline-folder")), "--timeline", "is a folder");
        Assert.False(File.Exists(tmp.File("a.json")));

        File.WriteAllText(tmp.File("a.json"), "previous");
        AssertRefused(MatMulTo("--out", tmp.File("a.json"), "--roofline", Path.Combine(tmp.File("a.json"), "r.csv")), "--roofline");
        Assert.Equal("previous", File.ReadAllText(tmp.File("a.json")));
        Assert.Equal(new[] { "a.json" }, Names(tmp.Path));

        var ok = MatMulTo("--out", tmp.File("a.json"), "--timeline", tmp.File("t.json"));
        Assert.True(ok.ExitCode == 0, ok.Error);
        Assert.Equal(ok.Out.Trim(), File.ReadAllText(tmp.File("a.json")).Trim());
        Assert.True(new FileInfo(tmp.File("t.json")).Length > 0);
        Assert.Equal(new[] { "a.json", "t.json" }, Names(tmp.Path));
    }

    private static string[] Names(string folder) =>
        Directory.GetFiles(folder).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void TwoOutputsNamingOneFileAreRefused()
    {
        using var tmp = new CliHarness.TempDir();
        AssertRefused(MatMulTo("--out", tmp.File("a.json"), "--timeline", tmp.File("a.json")), "--timeline", "also the target of --out");
        Assert.False(File.Exists(tmp.File("a.json")));
    }

    [Fact]
    public void ExportToAFolderIsRefusedBeforeBuilding()
    {
        using var tmp = new CliHarness.TempDir();
        AssertRefused(CliHarness.Run("export", "--model", "llama2-7b", "--out", tmp.Path), "--out", "is a folder");
    }

    // ---- conflicting or ignored options ----

    [Theory]
    [InlineData("--batch", "4")]
    [InlineData("--phase", "decode")]
    [InlineData("--dtype", "fp8")]
    public void ModelShapeOptionsWithATraceAreErrors(string option, string value)
    {
        var trace = CliHarness.RepoFile("traces/tinyllama-prefill512.json.gz");
        AssertRefused(CliHarness.Run("run", "--hardware", "h100", "--trace", trace, option, value), option, "applies to --model");
    }

    [Fact]
    public void ModelAndTraceTogetherAreAnError()
    {
        var trace = CliHarness.RepoFile("traces/tinyllama-prefill512.json.gz");
        AssertRefused(CliHarness.Run("run", "--hardware", "h100", "--trace", trace, "--model", "llama2-7b"), "exactly one of --model or --trace");
    }

    [Fact]
    public void ForwardTimeWithoutAProfileIsAnError()
    {
        using var tmp = new CliHarness.TempDir();
        var et = CliHarness.RepoFile("traces/tinyllama-prefill512.pytorch-et.json.gz");
        AssertRefused(CliHarness.Run("import", "pytorch-et", et, "--out", tmp.File("x.json"), "--forward-ms", "10"), "--forward-ms", "--kineto");
        Assert.False(File.Exists(tmp.File("x.json")));
    }

    [Fact]
    public void ValidateSummaryWithJsonIsAnError() =>
        AssertRefused(CliHarness.Run("validate", "--summary", "--format", "json"), "--summary");

    // ---- defaults that fit the model ----

    [Fact]
    public void DecodeDefaultsFitTheModelsPositions()
    {
        // Once: exit 2, default context 2048 > max_position_embeddings 1024.
        var r = Json(CliHarness.Run("run", "--hardware", "h100", "--model", "gpt2-medium", "--phase", "decode", "--format", "json"));
        Assert.Equal(1023, (long)r["workload"]!["context"]!);
    }

    [Fact]
    public void EveryBundledModelRunsItsOwnDefaultsInEveryPhase()
    {
        using var tmp = new CliHarness.TempDir();
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(CliHarness.RepoFile("configs/models/llama2-7b.json"))!, "*.json"))
        {
            var model = Path.GetFileNameWithoutExtension(file);
            foreach (var phase in new[] { "prefill", "decode", "train" })
            {
                var o = CliHarness.Run("export", "--model", model, "--phase", phase, "--out", tmp.File("x.json"));
                Assert.True(o.ExitCode == 0, $"{model} {phase}: {o.Error}");
            }
        }
    }

    [Fact]
    public void AnExplicitContextBeyondThePositionsIsStillAnError() =>
        AssertRefused(CliHarness.Run("run", "--hardware", "h100", "--model", "gpt2-medium", "--phase", "decode", "--context", "2048"),
            "max_position_embeddings", "1024");

    // ---- validate, plugins ----

    [Fact]
    public void ValidateWithNoRowsIsAnError()
    {
        // Once: "MAPE 0.0%" with exit 0.
        using var tmp = new CliHarness.TempDir();
        File.WriteAllText(tmp.File("gemm.json"), "{\"rows\": []}");
        AssertRefused(CliHarness.Run("validate", "--data", tmp.Path), "no measurement rows");
    }

    [Fact]
    public void ValidateWithAnEmptyFolderIsAnError()
    {
        using var tmp = new CliHarness.TempDir();
        AssertRefused(CliHarness.Run("validate", "--data", tmp.Path), "no calibration files");
    }

    [Fact]
    public void MissingPluginFolderIsAnError() =>
        AssertRefused(CliHarness.Run("--plugins", "/nonexistent/plugins", "list", "plugins"), "--plugins", "/nonexistent/plugins", "does not exist");

    // ---- progress ----

    [Fact]
    public void JsonOnStdoutStaysCleanWithProgressEnabled()
    {
        // Progress draws only on an interactive stderr; captured output is the report alone.
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--seq", "128", "--format", "json");
        Assert.Equal(0, o.ExitCode);
        Assert.Equal("accelsim.report/1", (string?)JObject.Parse(o.Out)["schema"]);
        Assert.Equal("", o.Error);
    }
}
