using AccelSim.Core.Simulation;
using AccelSim.Workloads.Models;
using Xunit.Abstractions;

namespace AccelSim.Plugins.Rdu.Tests;

/// <summary>Headline results of the SN40L paper (Prabhakar et al., 2024), reproduced from the
/// bundled configs and the workload. Each test states the paper's figure and the factor allowed.</summary>
public class RduReproductionTests(ITestOutputHelper output)
{
    /// <summary>Paper: operator fusion with streaming dataflow is 2x to 13x faster than an unfused
    /// baseline on 8 sockets. Allowed: every case faster fused; the low end of the simulated range
    /// within 1.5x of 2x; the high end at least 13x / 3 (the upper end grows with the estimated
    /// kernel launch cost, and the paper's largest gains come from benchmarks not modelled here).</summary>
    [Fact]
    public void FusedStreamingDataflowIsTwoToThirteenTimesFasterThanUnfused()
    {
        var speedups = new List<double>();
        foreach (var c in Sn40lStudy.FusionCases)
        {
            var (seq, df) = Sn40lStudy.Fusion(c);
            var s = seq / df;
            output.WriteLine($"{c.Model} {c.Phase.Name()} batch {c.Batch} tokens {c.Tokens}: unfused {seq * 1e3:F3} ms, fused {df * 1e3:F3} ms, {s:F2}x");
            Assert.True(s > 1, $"{c.Model} {c.Phase.Name()}: fused is not faster ({s:F2}x)");
            speedups.Add(s);
        }
        output.WriteLine($"range {speedups.Min():F2}x - {speedups.Max():F2}x (paper: 2x - 13x)");
        Assert.InRange(speedups.Min(), 2 / 1.5, 2 * 1.5);
        Assert.InRange(speedups.Max(), 13 / 3.0, 13 * 1.5);
        // Decode (launch and synchronisation bound when unfused) gains more than prefill (compute bound).
        var decode = Sn40lStudy.FusionCases.Select((c, i) => (c, i)).Where(x => x.c.Phase == Phase.Decode).Max(x => speedups[x.i]);
        var prefill = Sn40lStudy.FusionCases.Select((c, i) => (c, i)).Where(x => x.c.Phase == Phase.Prefill).Max(x => speedups[x.i]);
        Assert.True(decode > prefill);
    }

    /// <summary>Paper: switching a model is 15x to 31x faster on the SN40L node (DDR to HBM) than on
    /// a DGX (host memory to HBM over PCIe): 15x against DGX H100 (PCIe Gen5), 31x against DGX A100
    /// (PCIe Gen4). Allowed factor 1.5 on each.</summary>
    [Fact]
    public void ModelSwitchingIsFifteenToThirtyOneTimesFasterThanADgx()
    {
        var sn = Sn40lStudy.Sn40lSwitchSeconds;
        var h100 = Sn40lStudy.DgxSwitchSeconds("h100");
        var a100 = Sn40lStudy.DgxSwitchSeconds("a100-80g");
        output.WriteLine($"7B expert {Sn40lStudy.ExpertBytes} B: sn40l-8 {sn * 1e3:F1} ms, DGX H100 {h100 * 1e3:F1} ms ({h100 / sn:F1}x), DGX A100 {a100 * 1e3:F1} ms ({a100 / sn:F1}x)");
        Assert.InRange(h100 / sn, 15 / 1.5, 15 * 1.5);
        Assert.InRange(a100 / sn, 31 / 1.5, 31 * 1.5);
    }

    /// <summary>Paper: Samba-CoE (150 7B experts, each request routed to one) on the 8-socket node
    /// is 3.7x faster than on a DGX H100 and 6.6x faster than on a DGX A100. Setup here: uniform
    /// routing, experts resident as HBM allows, a 128-token prompt and 20 generated tokens per
    /// request, SN40L fused, DGX kernel by kernel with free tensor-parallel communication. Allowed
    /// factor 2 on each (the request length is this reproduction's choice and the DGX model favours
    /// the DGX); and the advantage must grow as requests get shorter, towards the switching ratio.</summary>
    [Fact]
    public void SambaCoeIsThreePointSevenTimesADgxH100AndSixPointSixTimesADgxA100()
    {
        var sn = Sn40lStudy.Sn40lRequestSeconds();
        var h100 = Sn40lStudy.DgxRequestSeconds("h100");
        var a100 = Sn40lStudy.DgxRequestSeconds("a100-80g");
        output.WriteLine($"per request ({Sn40lStudy.PromptTokens} prompt + {Sn40lStudy.OutputTokens} output tokens): sn40l-8 {sn * 1e3:F1} ms (hit rate {Sn40lStudy.HitRate(RduTestSupport.Model(Sn40lStudy.Node)):F3}), " +
            $"DGX H100 {h100 * 1e3:F1} ms ({h100 / sn:F2}x, hit rate {Sn40lStudy.HitRate(RduTestSupport.Dgx("h100")):F3}), DGX A100 {a100 * 1e3:F1} ms ({a100 / sn:F2}x)");
        Assert.InRange(h100 / sn, 3.7 / 2, 3.7 * 2);
        Assert.InRange(a100 / sn, 6.6 / 2, 6.6 * 2);
        Assert.True(a100 > h100);

        var previous = double.MaxValue;
        foreach (var tokens in new long[] { 0, 5, 20, 80 })
        {
            var r = Sn40lStudy.DgxRequestSeconds("h100", tokens) / Sn40lStudy.Sn40lRequestSeconds(tokens);
            output.WriteLine($"  {tokens} output tokens: {r:F2}x over DGX H100, {Sn40lStudy.DgxRequestSeconds("a100-80g", tokens) / Sn40lStudy.Sn40lRequestSeconds(tokens):F2}x over DGX A100");
            Assert.True(r < previous);
            previous = r;
        }
    }

    /// <summary>The Composition-of-Experts workload: N switches then a decode step costs N switches
    /// (each the analytic DDR-to-HBM time) plus the step, on the node.</summary>
    [Fact]
    public void CompositionOfExpertsWorkloadCostsItsSwitchesPlusTheStep()
    {
        var node = RduTestSupport.Model(Sn40lStudy.Node);
        var step = RduTestSupport.Llama("llama2-7b", Phase.Decode, 1, 2048);
        var bytes = RduWorkloads.WeightBytes(step);
        var coe = RduWorkloads.CompositionOfExperts(step, 3);
        Assert.Equal(step.Ops.Count + 3, coe.Ops.Count);
        foreach (var schedule in new[] { "sequential", "dataflow", "auto" })
        {
            var expected = 3 * node.ModelSwitchSeconds(bytes) + RduTestSupport.Seconds(step, node, schedule);
            Assert.Equal(expected, RduTestSupport.Seconds(coe, node, schedule), expected * 1e-9);
        }
        // The experts at rest sit in DDR, the switched copies in HBM.
        var (result, metrics) = RduTestSupport.Run(coe, node, "dataflow");
        Assert.True(metrics.Memory.PeakBytes["ddr"] >= 3 * bytes);
        Assert.True(metrics.Memory.BytesMoved["ddr"] == 3 * bytes);
        Assert.True(result.MakespanPs > 0);
        // Switch time is the analytic DDR-to-HBM copy: launch + bytes over the node's achievable DDR rate.
        var s = node.Spec;
        var analytic = s.KernelLaunchS + bytes / Math.Min(s.Sockets * s.DdrBandwidthBps * s.DdrAchievableFraction, s.Sockets * s.HbmBandwidthBps * s.HbmAchievableFraction);
        Assert.Equal(analytic, node.ModelSwitchSeconds(bytes), analytic * 1e-6);
        Assert.Throws<AccelSim.Core.Config.InputException>(() => RduWorkloads.CompositionOfExperts(step, -1));
    }

    /// <summary>An unfused op is the analytic kernel: launch + stage + max(compute, HBM bytes).</summary>
    [Fact]
    public void UnfusedMatMulIsItsRoofline()
    {
        var node = RduTestSupport.Model("sn40l");
        var op = AccelSim.Workloads.SingleOps.MatMul(4096, 4096, 4096, AccelSim.Core.Graph.DType.Bf16).Ops[0];
        var s = node.Spec;
        var compute = op.Flops / (s.PeakFlops[AccelSim.Core.Graph.DType.Bf16] * s.GemmEfficiency);
        var memory = op.Bytes / (s.HbmBandwidthBps * s.HbmAchievableFraction);
        var expected = s.KernelLaunchS + s.StageLatencyS + Math.Max(compute, memory);
        var g = new AccelSim.Core.Graph.WorkloadGraph(new AccelSim.Core.Graph.WorkloadInfo("mm", "op", 1, 4096, 0, 4096), [op]);
        Assert.Equal(expected, RduTestSupport.Seconds(g, node), expected * 1e-6);
    }
}
