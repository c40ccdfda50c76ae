using AccelSim.Workloads.Configs;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary>`compare` runs every bundled device of every family on every bundled model, prefill and decode,
/// under both schedules.</summary>
public class AllDevicesTests
{
    private static string[] Hardware() => BundledConfigs.Names(BundledConfigs.HardwareDir).ToArray();

    public static TheoryData<string, string> ModelsAndPhases()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in BundledConfigs.Names(BundledConfigs.ModelsDir))
        foreach (var phase in new[] { "prefill", "decode" })
            data.Add(model, phase);
        return data;
    }

    [Fact]
    public void EveryFamilyHasABundledDevice()
    {
        var list = CliHarness.Run("list", "hardware");
        Assert.Equal(0, list.ExitCode);
        foreach (var kind in new[] { "gpu", "fpga", "wafer", "rdu" }) Assert.Contains($" {kind} ", list.Out);
    }

    [Theory]
    [MemberData(nameof(ModelsAndPhases))]
    public void CompareRunsEveryDeviceUnderBothSchedules(string model, string phase)
    {
        var hardware = Hardware();
        var shape = phase == "prefill" ? new[] { "--seq", "256" } : new[] { "--context", "512" };
        var o = CliHarness.Run(["compare", "--hardware", string.Join(',', hardware), "--model", model, "--phase", phase, .. shape,
            "--schedule", "sequential,dataflow", "--format", "json"]);
        Assert.True(o.ExitCode == 0, o.Error);
        var runs = (JArray)JObject.Parse(o.Out)["runs"]!;
        Assert.Equal(2 * hardware.Length, runs.Count);
        for (var i = 0; i < runs.Count; i += 2)
        {
            var seq = runs[i];
            var flow = runs[i + 1];
            Assert.Equal("sequential", (string?)seq["schedule"]);
            Assert.Equal("dataflow", (string?)flow["schedule"]);
            foreach (var r in new[] { seq, flow })
            {
                var latency = (double)r["latency_s"]!;
                Assert.True(latency > 0 && double.IsFinite(latency), $"{r["hardware"]!["name"]}: latency {latency}");
                Assert.InRange((double)r["utilisation"]!["compute"]!, 0, 1);
                Assert.InRange((double)r["utilisation"]!["memory_bandwidth"]!, 0, 1);
            }
            // The law of the schedules: dataflow never moves more off-chip bytes than sequential.
            Assert.True((long)flow["off_chip_bytes"]! <= (long)seq["off_chip_bytes"]!,
                $"{seq["hardware"]!["name"]}: dataflow {flow["off_chip_bytes"]} > sequential {seq["off_chip_bytes"]} off-chip bytes");
            Assert.Equal((double)seq["flops"]!, (double)flow["flops"]!);
        }
    }
}
