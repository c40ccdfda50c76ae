using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary>An imported PyTorch trace records an eager program: run and compare launch it eagerly unless
/// the user picks a schedule, and the report says why. Host costs per kind come from the family config.</summary>
public class RecordedLaunchTests
{
    private static string TinyLlama => CliHarness.RepoFile("traces/tinyllama-prefill512.json.gz");

    private const string Note = "launch eager: the trace records an eager PyTorch program";

    [Fact]
    public void AnImportedTraceRunsEagerByDefaultAndSaysSo()
    {
        var json = CliHarness.Run("run", "--hardware", "h100", "--trace", TinyLlama, "--format", "json");
        Assert.True(json.ExitCode == 0, json.Error);
        var r = JObject.Parse(json.Out);
        Assert.Equal("eager", (string?)r["schedule"]);
        Assert.Equal("eager", (string?)r["launch"]!["mode"]);
        Assert.Equal("workload", (string?)r["launch"]!["from"]);
        Assert.Equal(Note, (string?)r["launch"]!["note"]);
        Assert.True((double)r["host"]!["dispatch_s"]! > 0);

        var table = CliHarness.Run("run", "--hardware", "h100", "--trace", TinyLlama);
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Contains("schedule eager", table.Out);
        Assert.Contains(Note, table.Out);

        // The same as asking for it, apart from who asked.
        var asked = JObject.Parse(CliHarness.Run("run", "--hardware", "h100", "--trace", TinyLlama, "--schedule", "eager", "--format", "json").Out);
        Assert.Equal((double)r["latency_s"]!, (double)asked["latency_s"]!);
        Assert.Equal("option", (string?)asked["launch"]!["from"]);
        Assert.Equal(JValue.CreateNull(), asked["launch"]!["note"]);
    }

    [Fact]
    public void AnExplicitScheduleOverridesTheRecordedLaunch()
    {
        var o = CliHarness.Run("run", "--hardware", "h100", "--trace", TinyLlama, "--schedule", "sequential", "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var r = JObject.Parse(o.Out);
        Assert.Equal("sequential", (string?)r["schedule"]);
        Assert.Null(r["launch"]);
        Assert.Equal(0.0, (double)r["host"]!["dispatch_s"]!);
        var table = CliHarness.Run("run", "--hardware", "h100", "--trace", TinyLlama, "--schedule", "sequential");
        Assert.DoesNotContain("launch eager", table.Out);
    }

    [Fact]
    public void ABuiltWorkloadStillRunsSequentialByDefault()
    {
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--context", "128", "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var r = JObject.Parse(o.Out);
        Assert.Equal("sequential", (string?)r["schedule"]);
        Assert.Null(r["launch"]);
    }

    [Fact]
    public void CompareUsesTheRecordedLaunchToo()
    {
        var o = CliHarness.Run("compare", "--hardware", "h100,a100-80g", "--trace", TinyLlama, "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var runs = (JArray)JObject.Parse(o.Out)["runs"]!;
        Assert.Equal(2, runs.Count);
        Assert.All(runs, r => Assert.Equal("eager", (string?)r["schedule"]));
        Assert.All(runs, r => Assert.Equal("workload", (string?)r["launch"]!["from"]));
        var table = CliHarness.Run("compare", "--hardware", "h100", "--trace", TinyLlama);
        Assert.Contains(Note, table.Out);
        var seq = JObject.Parse(CliHarness.Run("compare", "--hardware", "h100", "--trace", TinyLlama, "--schedule", "sequential", "--format", "json").Out);
        Assert.Equal("sequential", (string?)seq["runs"]![0]!["schedule"]);
    }

    [Fact]
    public void AnUnknownHostKindInAConfigNamesTheFileAndPath()
    {
        using var tmp = new CliHarness.TempDir();
        var product = JObject.Parse(File.ReadAllText(CliHarness.RepoFile("configs/hardware/h100.json")));
        product["host"] ??= new JObject();
        product["host"]!["dispatch"] = new JObject { ["by_kind"] = new JObject { ["matmull"] = 1e-5 } };
        var path = tmp.File("my-h100.json");
        File.WriteAllText(path, product.ToString());
        var o = CliHarness.Run("run", "--hardware", path, "--trace", TinyLlama);
        Assert.Equal(2, o.ExitCode);
        Assert.DoesNotContain("   at ", o.Error);
        Assert.Contains("my-h100.json", o.Error);
        Assert.Contains("host.dispatch.by_kind.matmull", o.Error);
        Assert.Contains("unknown kind", o.Error);
    }
}
