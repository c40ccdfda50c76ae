using AccelSim.Workloads.Models;
using Xunit.Abstractions;

namespace AccelSim.Plugins.Rdu.Tests;

public class ExploreTests(ITestOutputHelper output)
{
    [Fact]
    public void Print()
    {
        var node = RduTestSupport.Model("sn40l-8");
        foreach (var (m, ph, b, t) in new[] { ("llama2-7b", Phase.Decode, 1L, 2048L), ("llama2-7b", Phase.Decode, 16L, 2048L), ("llama2-70b", Phase.Decode, 1L, 2048L), ("llama3-8b", Phase.Decode, 1L, 2048L), ("llama2-7b", Phase.Prefill, 1L, 2048L), ("llama2-70b", Phase.Prefill, 1L, 2048L), ("mistral-7b", Phase.Prefill, 4L, 4096L) })
        {
            var g = RduTestSupport.Llama(m, ph, b, t);
            var seq = RduTestSupport.Seconds(g, node, "sequential");
            var df = RduTestSupport.Seconds(g, node, "dataflow");
            var au = RduTestSupport.Seconds(g, node, "auto");
            output.WriteLine($"{m} {ph} b{b} t{t}: seq {seq * 1e3:F3} ms, dataflow {df * 1e3:F3} ms, auto {au * 1e3:F3} ms, speedup {seq / df:F2}");
        }
        var step = RduTestSupport.Llama("llama2-7b", Phase.Decode, 1, 2048);
        var bytes = RduWorkloads.WeightBytes(step);
        var sn = node.ModelSwitchSeconds(bytes);
        foreach (var gpu in new[] { "h100", "a100-80g" })
        {
            var dgx = RduTestSupport.Dgx(gpu);
            var pin = AccelSim.Core.Simulation.DataflowSchedule.Estimate(dgx.HostCopy(bytes, AccelSim.Plugins.Gpu.HostDirection.HostToDevice, AccelSim.Plugins.Gpu.HostMemory.Pinned), dgx.Topology) / 1e12;
            var pag = AccelSim.Core.Simulation.DataflowSchedule.Estimate(dgx.HostCopy(bytes, AccelSim.Plugins.Gpu.HostDirection.HostToDevice, AccelSim.Plugins.Gpu.HostMemory.Pageable), dgx.Topology) / 1e12;
            var dec = RduTestSupport.Seconds(step, dgx);
            output.WriteLine($"{gpu}: switch pinned {pin * 1e3:F1} ms pageable {pag * 1e3:F1} ms; sn40l {sn * 1e3:F1} ms; ratio {pin / sn:F1} / {pag / sn:F1}; decode {dec * 1e3:F3} ms");
        }
    }
}
