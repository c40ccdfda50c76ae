using AccelSim.Core.Graph;
using AccelSim.Workloads;
using AccelSim.Workloads.Models;
using Xunit.Abstractions;

namespace AccelSim.Plugins.Wafer.Tests;

/// <summary>WaferLLM (He et al., OSDI 2025) headline results, reproduced from the device configs and
/// the workload. The figures come out of the model; the paper's numbers appear only as the targets.</summary>
public class WaferLlmReproductionTests(ITestOutputHelper output)
{
    /// <summary>Paper: MeshGEMV on WSE-2 is up to 606x faster and 16x more energy-efficient than
    /// cuBLAS GEMV on one A100. The paper reports the best of a sweep of GEMV sizes; we sweep square
    /// fp16 GEMVs from 4K to 32K (the largest a 40 GB wafer and an 80 GB A100 both hold with room)
    /// and take the best. Allowed factor: 2x on both figures.</summary>
    [Fact]
    public void GemvOnWse2IsHundredsOfTimesFasterThanOnA100()
    {
        var wse = WaferTestSupport.Model("wse2");
        var a100 = WaferTestSupport.Gpu("a100-80g");
        double bestSpeed = 0, energyAtBest = 0;
        foreach (var n in new long[] { 4096, 8192, 16384, 32768 })
        {
            var g = SingleOps.MatMul(1, n, n, DType.Fp16);
            var (_, w) = WaferTestSupport.Run(g, wse);
            var (_, a) = WaferTestSupport.Run(g, a100);
            var speed = a.LatencyS / w.LatencyS;
            var energy = a.Energy.TotalJ / w.Energy.TotalJ;
            output.WriteLine($"GEMV {n}x{n} fp16: wse2 {w.LatencyS * 1e6:F3} us, a100 {a.LatencyS * 1e6:F1} us, speedup {speed:F0}x, energy efficiency {energy:F1}x");
            if (speed > bestSpeed) (bestSpeed, energyAtBest) = (speed, energy);
        }
        Assert.InRange(bestSpeed, 606 / 2.0, 606 * 2.0);
        Assert.InRange(energyAtBest, 16 / 2.0, 16 * 2.0);
    }

    /// <summary>Paper: end-to-end decode on WSE-2 is 10-20x faster than A100 GPU clusters running
    /// SGLang/vLLM; the arXiv v2 reports 2700 tokens/s per request for Llama3-8B (0.37 ms per token)
    /// and 39x faster decoding. We compare llama3-8b decode, batch 1, 2048 cached tokens, bf16, on
    /// one WSE-2 against one A100-80G. A cluster decodes a token faster than one A100 (tensor
    /// parallelism), so the speedup over one A100 must be at least the paper's lower bound (10x);
    /// the upper bound is 3x the paper's 20x. Per-token latency within 2x of the paper's 0.37 ms.</summary>
    [Fact]
    public void Llama3DecodeOnWse2IsAnOrderOfMagnitudeFasterThanOneA100()
    {
        var graph = WaferTestSupport.Llama("llama3-8b", Phase.Decode, 1, 2048);
        var wafer = WaferTestSupport.Seconds(graph, WaferTestSupport.Model("wse2"), "auto");
        var gpu = WaferTestSupport.Seconds(graph, WaferTestSupport.Gpu("a100-80g"));
        output.WriteLine($"llama3-8b decode b1 ctx2048: wse2 {wafer * 1e3:F4} ms/token ({1 / wafer:F0} tok/s), a100 {gpu * 1e3:F3} ms/token, speedup {gpu / wafer:F1}x");
        Assert.InRange(gpu / wafer, 10, 60);
        Assert.InRange(wafer, 0.37e-3 / 2, 0.37e-3 * 2);
    }
}
