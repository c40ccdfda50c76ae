using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary>Examples in the docs stay runnable.</summary>
public class DocsExampleTests
{
    [Fact]
    public void HypotheticalGpuExampleOfTheHardwareConfigDocRuns()
    {
        var doc = File.ReadAllText(CliHarness.RepoFile("docs/hardware-config.md"));
        var section = doc[doc.IndexOf("## Example: a hypothetical GPU", StringComparison.Ordinal)..];
        var start = section.IndexOf("```json", StringComparison.Ordinal) + "```json".Length;
        var json = section[start..section.IndexOf("```", start, StringComparison.Ordinal)];
        using var tmp = new CliHarness.TempDir();
        var path = tmp.File("h100-hbm4.json");
        File.WriteAllText(path, json);
        var hypothetical = CliHarness.Run("run", "--hardware", path, "--model", "llama2-7b", "--phase", "decode", "--format", "json");
        var h100 = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--format", "json");
        Assert.True(hypothetical.ExitCode == 0, hypothetical.Error);
        Assert.Equal("h100-hbm4", (string?)JObject.Parse(hypothetical.Out)["hardware"]!["name"]);
        // 2.4x the HBM bandwidth: a memory-bound decode step gets much faster (kernel start latencies do not shrink).
        Assert.True((double)JObject.Parse(hypothetical.Out)["latency_s"]! < 0.75 * (double)JObject.Parse(h100.Out)["latency_s"]!);
    }
}
