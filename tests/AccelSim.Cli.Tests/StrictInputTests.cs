using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary>Strict inputs: a corpus of bad hardware configs, model configs, JSON and option combinations, each
/// made from a bundled file with one mistake. Every one exits with code 2 and prints exactly one message naming
/// the file (or option), the JSON path and the expectation, and no stack trace.</summary>
public class StrictInputTests
{
    private static readonly string[] Copy = ["op", "copy", "--bytes", "1024"];

    private static void AssertOneError(CliHarness.Outcome o, params string[] mustContain)
    {
        Assert.True(o.ExitCode == 2, $"exit {o.ExitCode}; stderr: {o.Error}");
        Assert.DoesNotContain("   at ", o.Error);
        Assert.DoesNotContain("Exception", o.Error);
        var lines = o.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "expected one message, got:\n" + o.Error);
        Assert.StartsWith("error:", lines[0]);
        foreach (var s in mustContain) Assert.Contains(s, lines[0]);
    }

    private static JObject Bundled(string kind, string name) =>
        JObject.Parse(File.ReadAllText(CliHarness.RepoFile(Path.Combine("configs", kind, name + ".json"))));

    /// <summary>The bundled h100 with one change, written to a temporary file; runs <paramref name="args"/> on it.</summary>
    private static CliHarness.Outcome OnH100(Action<JObject> change, params string[] args)
    {
        using var tmp = new CliHarness.TempDir();
        var j = Bundled("hardware", "h100");
        change(j);
        var path = tmp.File("gpu.json");
        File.WriteAllText(path, j.ToString());
        return CliHarness.Run([.. args, "--hardware", path]);
    }

    private static CliHarness.Outcome WithModel(string name, Action<JObject> change)
    {
        using var tmp = new CliHarness.TempDir();
        var j = Bundled("models", name);
        change(j);
        var path = tmp.File("config.json");
        File.WriteAllText(path, j.ToString());
        return CliHarness.Run("run", "--hardware", "h100", "--model", path, "--phase", "decode", "--context", "16");
    }

    private static CliHarness.Outcome RawHardware(string text)
    {
        using var tmp = new CliHarness.TempDir();
        var path = tmp.File("gpu.json");
        File.WriteAllText(path, text);
        return CliHarness.Run([.. Copy, "--hardware", path]);
    }

    // ---- unknown keys in hardware configs

    [Fact]
    public void MisspeltOptionalHardwareKeyIsAnErrorNamingTheRightOne()
    {
        var o = OnH100(j =>
        {
            var c = (JObject)j["compute"]!;
            c["tensor_peak_clock_Mhz"] = c["tensor_peak_clock_MHz"] ?? 1830;
            c.Remove("tensor_peak_clock_MHz");
        }, Copy);
        AssertOneError(o, "gpu.json", "compute.tensor_peak_clock_Mhz", "unknown key", "did you mean compute.tensor_peak_clock_MHz");
    }

    [Fact]
    public void KeyOfAnotherDeviceKindIsAnError()
    {
        var o = OnH100(j => j["memory"]!["sram"] = new JObject { ["capacity_bytes"] = 1e6 }, Copy);
        AssertOneError(o, "gpu.json", "memory.sram.capacity_bytes", "unknown key", "'gpu'", "memory.hbm.capacity_bytes");
    }

    [Fact]
    public void MisspeltRequiredKeyIsOneMessageNamingTheMissingKey()
    {
        var o = OnH100(j =>
        {
            var c = (JObject)j["compute"]!;
            c["sm_cout"] = c["sm_count"];
            c.Remove("sm_count");
        }, Copy);
        AssertOneError(o, "gpu.json", "compute.sm_cout", "did you mean compute.sm_count (required, missing)");
    }

    [Fact]
    public void UnknownKeyInAFamilyFileNamesTheFamilyFile()
    {
        using var tmp = new CliHarness.TempDir();
        Directory.CreateDirectory(tmp.File("families"));
        var family = JObject.Parse(File.ReadAllText(CliHarness.RepoFile("configs/hardware/families/hopper.json")));
        family["launch"]!["kernel_start_sec"] = 1e-6;
        File.WriteAllText(Path.Combine(tmp.Path, "families", "hopper.json"), family.ToString());
        var product = Bundled("hardware", "h100");
        File.WriteAllText(tmp.File("gpu.json"), product.ToString());
        var o = CliHarness.Run([.. Copy, "--hardware", tmp.File("gpu.json")]);
        AssertOneError(o, Path.Combine("families", "hopper.json"), "launch.kernel_start_sec", "did you mean launch.kernel_start_s");
    }

    [Fact]
    public void CommentsAndProvenanceAreNotUnknownKeys()
    {
        var o = OnH100(j =>
        {
            j["_comment"] = "a note";
            j["provenance"] = new JObject { ["compute.sm_count"] = "datasheet", ["memory.*"] = "estimate" };
            j["compute"]!["sm_count_provenance"] = "datasheet table 1";
            j["memory"]!["notes"] = "HBM3";
        }, Copy);
        Assert.True(o.ExitCode == 0, o.Error);
    }

    [Fact]
    public void EveryBundledHardwareConfigIsCleanUnderStrictBinding()
    {
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(CliHarness.RepoFile("configs/hardware/h100.json"))!, "*.json"))
        {
            var o = CliHarness.Run([.. Copy, "--hardware", file]);
            Assert.True(o.ExitCode == 0, $"{Path.GetFileName(file)}: {o.Error}");
        }
    }

    // ---- JSON syntax: true line and column, trailing commas, duplicate keys

    [Fact]
    public void TrailingCommaInAnObjectGivesLineAndColumn()
    {
        var o = RawHardware("{\n  \"name\": \"x\",\n  \"kind\": \"gpu\",\n  \"compute\": { \"sm_count\": 132, }\n}\n");
        AssertOneError(o, "gpu.json", "line 4, column 31", "trailing comma before '}'", "compute.sm_count");
    }

    [Fact]
    public void TrailingCommaInAnArrayGivesLineAndColumn()
    {
        var o = RawHardware("{\n  \"name\": \"x\",\n  \"kind\": \"gpu\",\n  \"gemm\": { \"tiles\": [ {\"m\": 128},\n  ] }\n}\n");
        AssertOneError(o, "gpu.json", "line 4, column 34", "trailing comma before ']'");
    }

    [Fact]
    public void DuplicateKeyGivesLineAndColumn()
    {
        var o = RawHardware("{\n  \"name\": \"x\",\n  \"kind\": \"gpu\",\n  \"name\": \"y\"\n}\n");
        AssertOneError(o, "gpu.json", "line 4, column", "'name' already exists");
    }

    [Fact]
    public void EmptyFileSaysSo()
    {
        var o = RawHardware("");
        AssertOneError(o, "gpu.json", "empty");
    }

    [Fact]
    public void TruncatedFileGivesARealLine()
    {
        var o = RawHardware("{\n  \"name\": \"x\",\n  \"kind\": \"gpu\"\n");
        AssertOneError(o, "gpu.json", "line 4, column 1");
    }

    // ---- types and ranges

    [Fact]
    public void StringWhereAHardwareNumberBelongsIsAnError()
    {
        var o = OnH100(j => j["compute"]!["sm_count"] = "132", Copy);
        AssertOneError(o, "gpu.json", "compute.sm_count", "expected a number", "\"132\"");
    }

    [Fact]
    public void IntegerBeyond64BitsInAHardwareConfigIsARangeError()
    {
        var o = OnH100(j => j["compute"]!["sm_count"] = new JValue(System.Numerics.BigInteger.Parse("100000000000000000000000")), Copy);
        AssertOneError(o, "gpu.json", "compute.sm_count", "[1, 1000000]");
    }

    [Fact]
    public void StringWhereAModelBooleanBelongsIsAnError()
    {
        var o = WithModel("falcon-7b", j => j["multi_query"] = "yes");
        AssertOneError(o, "config.json", "multi_query", "expected true or false", "\"yes\"");
    }

    [Fact]
    public void IntegerBeyond64BitsInAModelConfigIsARangeError()
    {
        var o = WithModel("llama2-7b", j => j["rms_norm_eps"] = new JValue(System.Numerics.BigInteger.Parse("100000000000000000000")));
        AssertOneError(o, "config.json", "rms_norm_eps", "expected a number in (0, 1)");
    }

    [Fact]
    public void HugeFloatWhereAWholeNumberBelongsIsARangeError()
    {
        var o = WithModel("llama2-7b", j => j["num_hidden_layers"] = 1e30);
        AssertOneError(o, "config.json", "num_hidden_layers", "whole number in [1, 2147483647]");
    }

    // ---- unknown keys in model configs

    [Fact]
    public void MisspeltModelKeyNamesTheMissingOne()
    {
        var o = WithModel("llama2-7b", j =>
        {
            j["num_hiden_layers"] = j["num_hidden_layers"];
            j.Remove("num_hidden_layers");
        });
        AssertOneError(o, "config.json", "num_hiden_layers", "unknown key", "did you mean num_hidden_layers (required, missing)");
    }

    [Fact]
    public void KeyUnknownToHuggingFaceIsAnError()
    {
        var o = WithModel("llama3-8b", j => j["rope_thetta"] = 500000.0);
        AssertOneError(o, "config.json", "rope_thetta", "unknown key", "model_type 'llama'", "rope_theta");
    }

    [Fact]
    public void KnownButUnusedHuggingFaceKeysAreAccepted()
    {
        var o = WithModel("llama2-7b", j =>
        {
            j["output_attentions"] = false;
            j["rope_theta"] = 10000.0;
            j["attention_dropout"] = 0.0;
            j["repetition_penalty"] = 1.0;
            j["_comment"] = "a note";
        });
        Assert.True(o.ExitCode == 0, o.Error);
    }

    // ---- bundled names

    [Fact]
    public void BundledNamesMatchCaseInsensitively()
    {
        var o = CliHarness.Run("run", "--hardware", "H100", "--model", "Llama2-7B", "--phase", "decode", "--context", "16", "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var report = JObject.Parse(o.Out);
        Assert.Equal("h100", (string?)report["hardware"]!["name"]);
        Assert.Equal("llama2-7b", (string?)report["workload"]!["name"]);
    }

    [Theory]
    [InlineData("--hardware", "h1OO", "did you mean h100")]
    [InlineData("--model", "llama2-7", "did you mean llama2-7b")]
    public void UnknownBundledNameSuggestsTheNearest(string option, string value, string suggestion)
    {
        var args = new List<string> { "run", "--hardware", "h100", "--model", "llama2-7b" };
        args[args.IndexOf(option) + 1] = value;
        AssertOneError(CliHarness.Run([.. args]), option, value, suggestion);
    }

    // ---- options the workload ignores

    [Theory]
    [InlineData("--seq with decode", "--seq", "--phase", "decode", "--seq", "512")]
    [InlineData("--context with prefill", "--context", "--phase", "prefill", "--context", "512")]
    [InlineData("--context with train", "--context", "--phase", "train", "--context", "512")]
    [InlineData("--recompute without train", "--recompute", "--phase", "prefill", "--recompute")]
    [InlineData("--expert-skew on a dense model", "--expert-skew", "--phase", "decode", "--expert-skew", "0.5")]
    [InlineData("--kv-policy swap without a KV cache", "--kv-policy", "--phase", "train", "--seq", "128", "--kv-policy", "swap")]
    public void OptionTheWorkloadIgnoresIsAnError(string what, string option, params string[] extra)
    {
        var o = CliHarness.Run(["run", "--hardware", "h100", "--model", "llama2-7b", .. extra]);
        Assert.True(o.ExitCode == 2, what);
        AssertOneError(o, option);
    }

    [Fact]
    public void ExpertSkewOnAMoeModelIsAccepted()
    {
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", "mixtral-8x7b", "--phase", "decode", "--context", "16", "--expert-skew", "0.5");
        Assert.True(o.ExitCode == 0, o.Error);
    }

    [Fact]
    public void ModelShapingOptionsWithATraceAreErrors()
    {
        using var tmp = new CliHarness.TempDir();
        var trace = tmp.File("t.json");
        Assert.Equal(0, CliHarness.Run("export", "--model", "llama2-7b", "--phase", "decode", "--context", "16", "--out", trace).ExitCode);
        var o = CliHarness.Run("run", "--hardware", "h100", "--trace", trace, "--seq", "128");
        AssertOneError(o, "--seq", "--model workloads only");
        Assert.Equal(0, CliHarness.Run("run", "--hardware", "h100", "--trace", trace).ExitCode);
    }

    [Fact]
    public void ForwardTimeWithoutAKinetoProfileIsAnError()
    {
        using var tmp = new CliHarness.TempDir();
        var et = CliHarness.RepoFile("traces/tinyllama-prefill512.pytorch-et.json.gz");
        var o = CliHarness.Run("import", "pytorch-et", et, "--out", tmp.File("t.json"), "--forward-ms", "12");
        AssertOneError(o, "--forward-ms", "--kineto");
        Assert.False(File.Exists(tmp.File("t.json")));
    }

    // ---- --set values are errors of the --set, not of the file

    [Theory]
    [InlineData("memory.hbm.bandwidth_Bps=abc", "expected a number, got 'abc'")]
    [InlineData("memory.hbm.bandwidth_Bps=-1", "expected a number > 0, got -1")]
    [InlineData("memory.hbm.achievable_fraction=1.5", "got 1.5")]
    public void BadSetValueNamesTheSet(string set, string expectation)
    {
        var o = CliHarness.Run([.. Copy, "--hardware", "h100", "--set", set]);
        AssertOneError(o, "--set", set[..set.IndexOf('=')], expectation);
        Assert.DoesNotContain("h100.json", o.Error);
        Assert.DoesNotContain("hopper.json", o.Error);
    }
}
