using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Workloads.Models;

namespace AccelSim.Plugins.Wafer.Tests;

public class WaferRunTests
{
    public static TheoryData<string, string> HardwareAndModels()
    {
        var data = new TheoryData<string, string>();
        foreach (var h in WaferTestSupport.BundledWafers)
            foreach (var m in WaferTestSupport.BundledModels) data.Add(h, m);
        return data;
    }

    [Theory]
    [MemberData(nameof(HardwareAndModels))]
    public void EveryBundledModelRunsPrefillAndDecodeUnderEverySchedule(string hardware, string model)
    {
        var graphs = new[]
        {
            WaferTestSupport.Llama(model, Phase.Prefill, 1, 512),
            WaferTestSupport.Llama(model, Phase.Decode, 1, 2048),
        };
        foreach (var graph in graphs)
        {
            foreach (var schedule in new[] { "sequential", "dataflow", "auto" })
            {
                var device = WaferTestSupport.Model(hardware);
                var (_, m) = WaferTestSupport.Run(graph, device, schedule);
                var what = $"{hardware} {model} {graph.Info.Phase} {schedule}";
                Assert.True(double.IsFinite(m.LatencyS) && m.LatencyS > 0, $"{what}: latency {m.LatencyS}");
                Assert.InRange(m.ComputeUtilisation, 0, 1);
                Assert.InRange(m.MemoryBandwidthUtilisation, 0, 1);
                Assert.True(m.Energy.TotalJ > 0, $"{what}: no energy");
                Assert.Equal(graph.TotalFlops, m.TotalFlops);
            }
        }
    }

    [Fact]
    public void ModelsThatFitStayOnTheWaferAndLargerOnesStreamFromMemoryX()
    {
        var small = WaferTestSupport.Llama("llama3-8b", Phase.Decode, 1, 2048);
        var device = WaferTestSupport.Model("wse2");
        var (r, _) = WaferTestSupport.Run(small, device);
        Assert.Equal(0, WaferTestSupport.OffChipBytes(r, device));
        Assert.DoesNotContain(r.Program.Tasks, t => t.Cost.Note!.Contains("memoryx"));

        // llama2-70b (~138 GB in bf16) cannot live in 40 GB of SRAM: what does not fit streams every token.
        var device2 = WaferTestSupport.Model("wse2");
        var big = Placement.Apply(WaferTestSupport.Llama("llama2-70b", Phase.Decode, 1, 2048), device2, PlacementPolicy.Resident).Graph;
        var (r2, m2) = WaferTestSupport.Run(big, device2);
        var weights = big.Tensors.Where(t => t.Role != TensorRole.Activation).Sum(t => t.Bytes);
        var offChip = WaferTestSupport.OffChipBytes(r2, device2);
        Assert.InRange(offChip, weights - device2.Spec.ResidentBudgetBytes - 1_000_000_000L, weights);
        Assert.Contains(r2.Program.Tasks, t => t.Cost.Note!.Contains("streamed from memoryx"));
        Assert.True(m2.LatencyS >= offChip / device2.Spec.MemoryXBandwidthBps, "streaming runs no faster than the external link");
        Assert.True(m2.Memory.PeakBytes["memoryx"] > 0);
    }

    [Fact]
    public void RunsAreDeterministic()
    {
        var graph = WaferTestSupport.Llama("mistral-7b", Phase.Decode, 2, 1024);
        string Fingerprint(string schedule)
        {
            var device = WaferTestSupport.Model("wse3");
            var (r, m) = WaferTestSupport.Run(graph, device, schedule);
            return string.Join(";", r.Program.Tasks.Select(t => $"{t.Cost.LatencyPs},{t.Cost.ComputePs},{t.Cost.Note}"))
                + $"|{r.MakespanPs}|{m.Energy.TotalJ:R}";
        }
        foreach (var s in new[] { "sequential", "dataflow", "auto" })
            Assert.Equal(Fingerprint(s), Fingerprint(s));
    }

    [Fact]
    public void ReusingOneDeviceForAnotherGraphStartsAFreshPlacement()
    {
        var device = WaferTestSupport.Model("wse2");
        var first = WaferTestSupport.Llama("llama2-70b", Phase.Decode, 1, 128);
        var second = WaferTestSupport.Llama("llama2-70b", Phase.Decode, 1, 128);
        var a = WaferTestSupport.Run(first, device).Result;
        var b = WaferTestSupport.Run(second, device).Result;
        Assert.Equal(WaferTestSupport.OffChipBytes(a, device), WaferTestSupport.OffChipBytes(b, device));
        Assert.Equal(a.MakespanPs, b.MakespanPs);
    }

    [Fact]
    public void AutoIsNeverSlowerThanEitherSchedule()
    {
        foreach (var graph in new[] { WaferTestSupport.Llama("llama3-8b", Phase.Decode, 1, 2048), WaferTestSupport.Llama("llama2-7b", Phase.Prefill, 1, 1024) })
        {
            var seq = WaferTestSupport.Seconds(graph, WaferTestSupport.Model("wse2"), "sequential");
            var df = WaferTestSupport.Seconds(graph, WaferTestSupport.Model("wse2"), "dataflow");
            var auto = WaferTestSupport.Seconds(graph, WaferTestSupport.Model("wse2"), "auto");
            Assert.True(auto <= Math.Min(seq, df) * (1 + 1e-6), $"{graph.Info.Phase}: auto {auto} seq {seq} dataflow {df}");
        }
    }
}
