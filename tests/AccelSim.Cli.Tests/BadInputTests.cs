namespace AccelSim.Cli.Tests;

/// <summary>Every user mistake gets exit code 2, one clear message naming the file, the JSON path and the
/// expectation, and no stack trace.</summary>
public class BadInputTests
{
    private static void AssertBadInput(CliHarness.Outcome o, params string[] mustContain)
    {
        Assert.Equal(2, o.ExitCode);
        Assert.DoesNotContain("   at ", o.Error);
        Assert.DoesNotContain("Exception", o.Error);
        Assert.StartsWith("error:", o.Error);
        foreach (var s in mustContain) Assert.Contains(s, o.Error);
    }

    [Fact]
    public void UnknownHardwareNameListsTheBundledOnes()
    {
        var o = CliHarness.Run("run", "--hardware", "h999", "--model", "llama2-7b");
        AssertBadInput(o, "h999", "h100");
    }

    [Fact]
    public void MalformedHardwareJsonNamesFileAndLine()
    {
        using var tmp = new CliHarness.TempDir();
        var path = tmp.File("broken.json");
        File.WriteAllText(path, "{\n  \"name\": \"x\",\n  \"kind\": \"gpu\",\n  \"compute\": { \"sm_count\": 132, }\n  oops\n}");
        var o = CliHarness.Run("op", "matmul", "--m", "64", "--n", "64", "--k", "64", "--hardware", path);
        AssertBadInput(o, "broken.json", "line");
    }

    [Fact]
    public void MissingFieldNamesItsPath()
    {
        using var tmp = new CliHarness.TempDir();
        var path = tmp.File("toy-missing.json");
        File.WriteAllText(path, "{ \"name\": \"t\", \"kind\": \"toy\", \"compute\": { \"peak_flops\": 1e12 }, \"memory\": { \"dram\": { \"capacity_bytes\": 1e9 } } }");
        var o = CliHarness.Run("--plugins", CliHarness.TestPluginFolder(), "op", "matmul", "--m", "8", "--n", "8", "--k", "8", "--hardware", path);
        AssertBadInput(o, "toy-missing.json", "memory.dram.bandwidth_Bps", "missing");
    }

    [Fact]
    public void NegativeFieldNamesItsPathAndTheExpectation()
    {
        using var tmp = new CliHarness.TempDir();
        var path = tmp.File("toy-negative.json");
        File.WriteAllText(path, "{ \"name\": \"t\", \"kind\": \"toy\", \"compute\": { \"peak_flops\": -5 }, \"memory\": { \"dram\": { \"bandwidth_Bps\": 1e11, \"capacity_bytes\": 1e9 } } }");
        var o = CliHarness.Run("--plugins", CliHarness.TestPluginFolder(), "op", "matmul", "--m", "8", "--n", "8", "--k", "8", "--hardware", path);
        AssertBadInput(o, "toy-negative.json", "compute.peak_flops", "> 0", "-5");
    }

    [Fact]
    public void UnknownKindNamesTheKnownPlugins()
    {
        using var tmp = new CliHarness.TempDir();
        var path = tmp.File("quantum.json");
        File.WriteAllText(path, "{ \"name\": \"q\", \"kind\": \"quantum\" }");
        var o = CliHarness.Run("op", "copy", "--bytes", "1024", "--hardware", path);
        AssertBadInput(o, "quantum.json", "kind", "gpu");
    }

    [Fact]
    public void UnsupportedModelTypeIsNamed()
    {
        using var tmp = new CliHarness.TempDir();
        var path = tmp.File("config.json");
        File.WriteAllText(path, "{ \"model_type\": \"mamba\", \"hidden_size\": 768, \"num_hidden_layers\": 2, \"vocab_size\": 1000 }");
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", path);
        AssertBadInput(o, "config.json", "model_type", "mamba");
    }

    [Theory]
    [InlineData("--m", "0")]
    [InlineData("--k", "-3")]
    public void ImpossibleShapeIsRejected(string option, string value)
    {
        var args = new List<string> { "op", "matmul", "--m", "64", "--n", "64", "--k", "64", "--hardware", "h100" };
        var i = args.IndexOf(option);
        args[i + 1] = value;
        var o = CliHarness.Run(args.ToArray());
        AssertBadInput(o, option);
    }

    [Fact]
    public void SetWithUnknownPathSuggestsNearOnes()
    {
        var o = CliHarness.Run("op", "matmul", "--m", "64", "--n", "64", "--k", "64", "--hardware", "h100", "--set", "memory.hbm.bandwith_Bps=1e12");
        AssertBadInput(o, "memory.hbm.bandwith_Bps", "memory.hbm.bandwidth_Bps");
    }

    [Fact]
    public void SetWithNonNumberIsRejected()
    {
        var o = CliHarness.Run("op", "matmul", "--m", "64", "--n", "64", "--k", "64", "--hardware", "h100", "--set", "memory.hbm.bandwidth_Bps=fast");
        AssertBadInput(o, "memory.hbm.bandwidth_Bps", "number", "fast");
    }

    [Fact]
    public void SetWithNegativeValueIsRejectedByTheBinder()
    {
        var o = CliHarness.Run("op", "matmul", "--m", "64", "--n", "64", "--k", "64", "--hardware", "h100", "--set", "memory.hbm.bandwidth_Bps=-1");
        AssertBadInput(o, "memory.hbm.bandwidth_Bps");
    }

    [Fact]
    public void UnknownOptionIsABadInput()
    {
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--frobnicate");
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("--frobnicate", o.Error);
    }

    [Fact]
    public void FailedRunLeavesNoOutputFile()
    {
        using var tmp = new CliHarness.TempDir();
        var outFile = tmp.File("report.json");
        // The report is ready to write when the timeline's folder turns out not to exist.
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--out", outFile,
            "--timeline", Path.Combine(tmp.Path, "no-such-folder", "t.json"));
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("no-such-folder", o.Error);
        Assert.False(File.Exists(outFile));
        Assert.Empty(Directory.GetFiles(tmp.Path));
    }
}
