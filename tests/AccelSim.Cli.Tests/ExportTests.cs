using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

public class ExportTests
{
    [Theory]
    [InlineData("llama2-7b", "prefill", "trace.json")]
    [InlineData("llama3-8b", "decode", "trace.json.gz")]
    public void ExportThenRunReproducesTheDirectRunExactly(string model, string phase, string file)
    {
        using var tmp = new CliHarness.TempDir();
        var trace = tmp.File(file);
        var shape = phase == "prefill" ? new[] { "--seq", "256" } : new[] { "--context", "777" };
        var export = CliHarness.Run(["export", "--model", model, "--phase", phase, "--batch", "2", .. shape, "--out", trace]);
        Assert.True(export.ExitCode == 0, export.Error);
        Assert.True(File.Exists(trace));

        var direct = CliHarness.Run(["run", "--hardware", "h100", "--model", model, "--phase", phase, "--batch", "2", .. shape, "--format", "json", "--ops"]);
        var fromTrace = CliHarness.Run("run", "--hardware", "h100", "--trace", trace, "--format", "json", "--ops");
        Assert.True(direct.ExitCode == 0, direct.Error);
        Assert.True(fromTrace.ExitCode == 0, fromTrace.Error);
        Assert.Equal(direct.Out, fromTrace.Out);
        Assert.True((double)JObject.Parse(direct.Out)["latency_s"]! > 0);
    }

    [Fact]
    public void ExportToAMissingFolderIsABadInput()
    {
        var o = CliHarness.Run("export", "--model", "llama2-7b", "--out", "/nonexistent-folder/x.json");
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("does not exist", o.Error);
    }

    [Fact]
    public void MalformedTraceIsABadInputNamingThePath()
    {
        using var tmp = new CliHarness.TempDir();
        var trace = tmp.File("bad.json");
        File.WriteAllText(trace, "{\"schema\": \"accelsim.trace/99\"}");
        var o = CliHarness.Run("run", "--hardware", "h100", "--trace", trace);
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("bad.json", o.Error);
        Assert.Contains("schema", o.Error);
    }
}
