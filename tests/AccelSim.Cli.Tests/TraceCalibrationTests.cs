using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary>The real PyTorch trace of a Hugging Face Llama (TinyLlama dimensions, prefill of 512 tokens,
/// eager mode on an H100), imported into traces/, against its measured forward time and its Kineto
/// kernel times (traces/tinyllama-prefill512.info.json, .kineto.json.gz).</summary>
public class TraceCalibrationTests
{
    [Fact]
    public void EagerRunOfTheRealTraceIsLaunchBoundAndWithinTenPercentOfItsMeasuredTime()
    {
        var info = JObject.Parse(File.ReadAllText(CliHarness.RepoFile("traces/tinyllama-prefill512.info.json")));
        var measuredS = (double)info["forward_ms_median"]! / 1e3;
        // The trace records an eager program, so a plain run is eager.
        var o = CliHarness.Run("run", "--hardware", "h100", "--trace", CliHarness.RepoFile("traces/tinyllama-prefill512.json.gz"), "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var r = JObject.Parse(o.Out);
        Assert.Equal("eager", (string?)r["schedule"]);
        var simulatedS = (double)r["latency_s"]!;
        Assert.InRange(simulatedS / measuredS, 0.9, 1.1);
        Assert.True((bool)r["host"]!["launch_bound"]!, "eager PyTorch at 512 tokens of a 1.1B model is launch-bound");
        Assert.Equal(866, (int)r["workload"]!["ops"]!);
    }

    [Fact]
    public void KernelsBackToBackMatchTheProfiledKernelTime()
    {
        // Kineto: 866 kernels summing to 4.670 ms plus 0.020 ms of memsets and copies (docs/pytorch-et.md).
        var kernels = Workloads.Import.KinetoSummary.Load(CliHarness.RepoFile("traces/tinyllama-prefill512.kineto.json.gz"));
        var o = CliHarness.Run("run", "--hardware", "h100", "--trace", CliHarness.RepoFile("traces/tinyllama-prefill512.json.gz"), "--schedule", "sequential", "--format", "json");
        Assert.True(o.ExitCode == 0, o.Error);
        var simulatedS = (double)JObject.Parse(o.Out)["latency_s"]!;
        Assert.InRange(simulatedS / (kernels.KernelTimeS + kernels.MemoryOpTimeS), 0.8, 1.2);
    }
}
