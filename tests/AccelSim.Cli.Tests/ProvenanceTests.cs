using System.Security.Cryptography;
using AccelSim.Core.Config;
using AccelSim.Workloads.Configs;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

public class ProvenanceTests
{
    public static TheoryData<string> BundledHardware()
    {
        var data = new TheoryData<string>();
        foreach (var name in BundledConfigs.Names(BundledConfigs.HardwareDir)) data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(BundledHardware))]
    public void EveryNumericFieldOfEveryBundledConfigHasATag(string name)
    {
        // Product over family: every numeric leaf of the merged description, from whichever file it came.
        var config = HardwareConfigLoader.LoadNamed(name);
        var numeric = config.NumericPaths();
        Assert.NotEmpty(numeric);
        var untagged = numeric.Where(p => config.TagOf(p) is null).ToArray();
        Assert.True(untagged.Length == 0, $"{name}: no provenance tag for {string.Join(", ", untagged)}");
        Assert.All(numeric, p => Assert.True(Enum.IsDefined(config.TagOf(p)!.Value)));
    }

    [Fact]
    public void FamilyFieldsTakeTheFamilyTagAndProductFieldsTheProductTag()
    {
        var h100 = HardwareConfigLoader.LoadNamed("h100");
        Assert.Equal(ParameterSource.Datasheet, h100.TagOf("memory.hbm.bandwidth_Bps"));
        Assert.Equal(ParameterSource.Fitted, h100.TagOf("memory.hbm.achievable_fraction"));
        Assert.Equal(ParameterSource.Measured, h100.TagOf("power.static_W"));
        Assert.Equal(ParameterSource.Datasheet, h100.TagOf("gemm.tiles[0].m"));
        Assert.Equal(ParameterSource.Fitted, h100.TagOf("gemm.tiles[0].efficiency"));
        Assert.Equal(ParameterSource.Estimate, h100.TagOf("gemm.fallback.math_fraction"));
        Assert.Equal(ParameterSource.Fitted, h100.TagOf("gemm.fallback.vectors_per_clock_per_sm"));
        var a100 = HardwareConfigLoader.LoadNamed("a100-80g");
        Assert.Equal(ParameterSource.Estimate, a100.TagOf("memory.hbm.achievable_fraction"));
        Assert.Equal(2, h100.Files.Count);
        Assert.Equal("configs/hardware/families/hopper.json", h100.Files[1].Name);
    }

    [Theory]
    [InlineData("\"compute.*.peak_flops\": \"guess\"", "expected datasheet, measured, fitted or estimate")]
    [InlineData("\"compute.nothing_here\": \"estimate\"", "covers no numeric field")]
    [InlineData("\"*\": \"estimate\"", "below the top level")]
    public void ABadProvenanceObjectIsABadInput(string entry, string expected)
    {
        using var dir = new CliHarness.TempDir();
        var path = dir.File("gpu.json");
        var text = File.ReadAllText(CliHarness.RepoFile("configs/hardware/h100.json"));
        text = text.Replace("\"provenance\": {", "\"provenance\": {\n    " + entry + ",", StringComparison.Ordinal);
        File.WriteAllText(path, text);
        Directory.CreateDirectory(dir.File("families"));
        File.Copy(CliHarness.RepoFile("configs/hardware/families/hopper.json"), dir.File("families/hopper.json"));
        var o = CliHarness.Run("run", "--hardware", path, "--model", "llama2-7b", "--phase", "decode");
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("provenance.", o.Error);
        Assert.Contains(expected, o.Error);
    }

    [Fact]
    public void ARunNamesItsFilesTheirHashesTheOverridesAndTheStack()
    {
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--context", "512",
            "--set", "memory.hbm.bandwidth_Bps=4e12", "--format", "json");
        Assert.Equal(0, o.ExitCode);
        var j = JObject.Parse(o.Out);
        Assert.True((bool)j["hardware"]!["modified"]!);
        var p = (JObject)j["provenance"]!;
        var files = (JArray)p["files"]!;
        Assert.Equal("configs/hardware/h100.json", (string?)files[0]["file"]);
        var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(BundledConfigs.HardwareDir, "h100.json"))));
        Assert.Equal(sha, (string?)files[0]["sha256"]);
        Assert.Equal("family", (string?)files[1]["role"]);
        Assert.Equal("memory.hbm.bandwidth_Bps", (string?)p["overrides"]![0]!["path"]);
        Assert.Equal("4e12", (string?)p["overrides"]![0]!["value"]);
        Assert.Equal("fused", (string?)p["stack"]);
        Assert.Equal("graph", (string?)p["launch"]);
        var share = (double)p["estimate_time_share"]!;
        Assert.InRange(share, 0, 1);

        var table = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--context", "512",
            "--set", "memory.hbm.bandwidth_Bps=4e12");
        Assert.Contains("h100* (gpu)", table.Out);
        Assert.Contains("Overrides: memory.hbm.bandwidth_Bps=4e12", table.Out);

        var eager = JObject.Parse(CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--context", "512",
            "--schedule", "eager", "--format", "json").Out);
        Assert.Equal("eager", (string?)eager["provenance"]!["launch"]);
    }

    [Fact]
    public void TheEstimateShareSeesEstimatesThatDriveTime()
    {
        // On the FPGA nearly every efficiency is an estimate, so almost all busy time depends on them;
        // on the H100 a decode rests on datasheet and fitted figures only.
        var fpga = JObject.Parse(CliHarness.Run("run", "--hardware", "u280", "--model", "llama2-7b", "--phase", "decode", "--context", "512", "--format", "json").Out);
        Assert.True((double)fpga["provenance"]!["estimate_time_share"]! > 0.9);
        var gpu = JObject.Parse(CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--context", "512", "--format", "json").Out);
        Assert.True((double)gpu["provenance"]!["estimate_time_share"]! < 0.05);
    }

    [Fact]
    public void ReportsAreByteIdenticalAcrossRuns()
    {
        string[] args = ["run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "prefill", "--seq", "256", "--format", "json"];
        Assert.Equal(CliHarness.Run(args).Out, CliHarness.Run(args).Out);
        string[] cmp = ["compare", "--hardware", "h100,u280", "--model", "llama2-7b", "--phase", "decode", "--context", "512"];
        Assert.Equal(CliHarness.Run(cmp).Out, CliHarness.Run(cmp).Out);
    }

    [Fact]
    public void CompareCarriesProvenancePerColumnAndCapacityNamesItsInputs()
    {
        var j = JObject.Parse(CliHarness.Run("compare", "--hardware", "h100,wse2", "--model", "llama2-7b", "--phase", "decode", "--context", "512", "--format", "json").Out);
        var runs = (JArray)j["runs"]!;
        Assert.Equal("configs/hardware/h100.json", (string?)runs[0]["provenance"]!["files"]![0]!["file"]);
        Assert.Equal("configs/hardware/wse2.json", (string?)runs[1]["provenance"]!["files"]![0]!["file"]);
        var cap = JObject.Parse(CliHarness.Run("capacity", "--hardware", "h100", "--model", "llama2-7b", "--context", "4096", "--format", "json").Out);
        Assert.Equal("configs/hardware/h100.json", (string?)cap["provenance"]!["files"]![0]!["file"]);
    }

    [Fact]
    public void ValidateNamesItsHardwareFilesAndTheBundledDataWithoutAnAbsolutePath()
    {
        var o = CliHarness.Run("validate", "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var json = Newtonsoft.Json.Linq.JObject.Parse(o.Out);
        Assert.Equal("validation/h100 (bundled)", (string?)json["folder"]);
        var files = (Newtonsoft.Json.Linq.JArray)json["provenance"]!["files"]!;
        Assert.Equal("configs/hardware/h100.json", (string?)files[0]["file"]);
        Assert.Equal(64, ((string?)files[0]["sha256"])!.Length);
        Assert.Contains("pytorch", (string?)json["provenance"]!["stack"]);
        var table = CliHarness.Run("validate", "--summary", "--set", "memory.hbm.bandwidth_Bps=4e12");
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Contains("Validation of h100* against validation/h100 (bundled)", table.Out);
        Assert.Contains("Overrides:", table.Out);
    }

    [Fact]
    public void ListHardwareAsJsonGivesEveryCardAndEveryParametersTag()
    {
        var o = CliHarness.Run("list", "hardware", "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var devices = (Newtonsoft.Json.Linq.JArray)Newtonsoft.Json.Linq.JObject.Parse(o.Out)["devices"]!;
        Assert.Equal(BundledConfigs.Names(BundledConfigs.HardwareDir).Count, devices.Count);
        var h100 = devices.Single(d => (string?)d["name"] == "h100");
        Assert.Equal(989.4e12, (double)h100["peak_flops"]!["bf16"]!, 1e6);
        Assert.Equal(700.0, (double)h100["power_cap_w"]!);
        Assert.Equal(989.4e12 / 3.35e12, (double)h100["ridge_point_flop_per_byte"]!, 1e-9);
        Assert.Equal("datasheet", (string?)h100["parameters"]!["memory.hbm.bandwidth_Bps"]!["provenance"]);
        Assert.All(devices, d => Assert.All(((Newtonsoft.Json.Linq.JObject)d["parameters"]!).Properties(),
            p => Assert.NotEqual("untagged", (string?)p.Value["provenance"])));
        var models = CliHarness.Run("list", "models", "--format", "json");
        Assert.Equal(2, models.ExitCode);
        Assert.Contains("--format", models.Error);
    }
}
