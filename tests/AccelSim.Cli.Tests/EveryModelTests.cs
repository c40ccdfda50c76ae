using AccelSim.Workloads.Configs;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary>Every bundled model config runs prefill, decode and a training step on the H100.</summary>
public class EveryModelTests
{
    public static TheoryData<string, string> ModelsAndPhases()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in BundledConfigs.Names(BundledConfigs.ModelsDir))
        foreach (var phase in new[] { "prefill", "decode", "train" })
            data.Add(model, phase);
        return data;
    }

    [Theory]
    [MemberData(nameof(ModelsAndPhases))]
    public void RunsOnH100(string model, string phase)
    {
        var shape = phase == "decode" ? new[] { "--context", "512" } : new[] { "--seq", "512" };
        var o = CliHarness.Run(["run", "--hardware", "h100", "--model", model, "--phase", phase, "--batch", "1", .. shape, "--format", "json"]);
        Assert.True(o.ExitCode == 0, o.Error);
        var r = JObject.Parse(o.Out);
        Assert.Equal(phase, (string?)r["workload"]!["phase"]);
        var latency = (double)r["latency_s"]!;
        Assert.True(latency > 0 && double.IsFinite(latency));
        Assert.True((double)r["flops"]! > 0);
        Assert.InRange((double)r["utilisation"]!["compute"]!, 0, 1);
    }
}
