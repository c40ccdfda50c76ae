using AccelSim.Core.Memory;
using AccelSim.Core.Metrics;
using AccelSim.Core.Plugins;
using AccelSim.Core.Simulation;
using AccelSim.Workloads;

namespace AccelSim.Plugins.Gpu.Tests;

/// <summary><see cref="SensitivityAnalysis"/> against its closed form: a large copy through HBM takes
/// bytes / bandwidth, so its latency moves as 1 / HBM bandwidth and not at all with the peak FLOP/s.</summary>
public class SensitivityAnalysisTests
{
    [Fact]
    public void ALargeCopyIsElasticToHbmBandwidthAndNotToPeakFlops()
    {
        var config = GpuTestSupport.Load("h100");
        var report = SensitivityAnalysis.Run(config, new PluginRegistry([new GpuPlugin()]), SingleOps.Copy(4L << 30),
            new SequentialSchedule(), PlacementPolicy.Resident, KvPolicy.Fit);
        var bandwidth = report.Parameters.Single(e => e.Path == "memory.hbm.bandwidth_Bps");
        Assert.InRange(bandwidth.Latency, -1.02, -0.9);
        Assert.Equal("datasheet", bandwidth.Tag);
        var peak = report.Parameters.SingleOrDefault(e => e.Path == "compute.bf16.peak_flops");
        Assert.True(peak is null || Math.Abs(peak.Latency) < 1e-3, $"bf16 peak elasticity {peak?.Latency}");
        // Largest first; every numeric parameter is either studied or skipped with a reason.
        Assert.Equal(report.Parameters.OrderByDescending(e => e.Magnitude).Select(e => e.Magnitude), report.Parameters.Select(e => e.Magnitude));
        Assert.Equal(config.NumericPaths().Count(), report.Parameters.Count + report.Skipped.Count);
        Assert.Equal(SensitivityAnalysis.Step, report.Step);
    }
}
