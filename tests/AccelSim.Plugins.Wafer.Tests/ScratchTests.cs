using AccelSim.Core.Graph;
using AccelSim.Workloads;
using AccelSim.Workloads.Models;
using Xunit.Abstractions;

namespace AccelSim.Plugins.Wafer.Tests;

public class ScratchTests(ITestOutputHelper output)
{
    [Fact]
    public void Print()
    {
        var wse = WaferTestSupport.Model("wse2");
        var a100 = WaferTestSupport.Gpu("a100-80g");
        foreach (var n in new long[] { 4096, 8192, 16384, 32768 })
        {
            var g = SingleOps.MatMul(1, n, n, DType.Fp16);
            var (rw, mw) = WaferTestSupport.Run(g, wse);
            var (rg, mg) = WaferTestSupport.Run(g, a100);
            output.WriteLine($"gemv {n}: wse {mw.LatencyS * 1e6:F3} us {mw.Energy.TotalJ * 1e3:F4} mJ, a100 {mg.LatencyS * 1e6:F1} us {mg.Energy.TotalJ * 1e3:F3} mJ, speedup {mg.LatencyS / mw.LatencyS:F0} energy {mg.Energy.TotalJ / mw.Energy.TotalJ:F1} note {wse.Cost(g.Ops[0]).Note}");
        }
        foreach (var model in new[] { "llama3-8b", "llama2-7b", "llama2-70b" })
        {
            var g = WaferTestSupport.Llama(model, Phase.Decode, 1, 2048);
            var gpu = WaferTestSupport.Seconds(g, a100);
            foreach (var s in new[] { "sequential", "dataflow", "auto" })
            {
                var w2 = WaferTestSupport.Model("wse2");
                var (r, m) = WaferTestSupport.Run(g, w2, s);
                output.WriteLine($"{model} decode {s}: wse2 {m.LatencyS * 1e3:F4} ms a100 {gpu * 1e3:F3} ms speedup {gpu / m.LatencyS:F1} util {m.ComputeUtilisation:F4} {m.MemoryBandwidthUtilisation:F4} offchip {WaferTestSupport.OffChipBytes(r, w2)}");
            }
            var pg = WaferTestSupport.Llama(model, Phase.Prefill, 1, 2048);
            foreach (var s in new[] { "sequential", "dataflow" })
            {
                var (r, m) = WaferTestSupport.Run(pg, WaferTestSupport.Model("wse2"), s);
                output.WriteLine($"{model} prefill {s}: wse2 {m.LatencyS * 1e3:F4} ms a100 {WaferTestSupport.Seconds(pg, a100) * 1e3:F3} util {m.ComputeUtilisation:F4}");
            }
        }
        var gg = WaferTestSupport.Llama("llama3-8b", Phase.Decode, 1, 2048);
        foreach (var op in gg.Ops.Take(16)) output.WriteLine($"{op.Name}: {wse.Cost(op).Note} {(wse.Cost(op).LatencyPs + wse.Cost(op).ComputePs) / 1e6:F3} us");
    }
}
