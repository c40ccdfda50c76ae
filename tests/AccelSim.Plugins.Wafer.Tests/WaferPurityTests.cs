using System.Globalization;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Workloads.Models;
using FsCheck;
using FsCheck.Fluent;

namespace AccelSim.Plugins.Wafer.Tests;

/// <summary>The wafer's costs are pure: which weights live in SRAM is decided by the placement
/// transform (first fit by tier, in the graph's order), never by the order ops are costed in.</summary>
public class WaferPurityTests
{
    // llama2-70b streams about 109 GB of its 138 GB from memoryx on a wse2: first fit decides which.
    private static readonly Lazy<WorkloadGraph> Big = new(() =>
        Placement.Apply(WaferTestSupport.Llama("llama2-70b", Phase.Decode, 1, 1024), WaferTestSupport.Model("wse2"), PlacementPolicy.Resident).Graph);

    private static string Fingerprint(OpCost c) => string.Create(CultureInfo.InvariantCulture,
        $"{c.Engine}|{c.LatencyPs}|{c.ComputePs}|{c.MathPs}|{c.ComputeEnergyPj:R}|{c.Note}|{Transfers(c)}");

    private static string Transfers(OpCost c) =>
        string.Join(";", c.Transfers.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Channel},{t.Bytes},{t.RateCap_Bps:R},{t.EnergyPj:R}")));

    private static Dictionary<int, string> Costs(IDeviceModel device, IEnumerable<Op> order)
    {
        var costs = new Dictionary<int, string>();
        foreach (var op in order) costs[op.Id] = Fingerprint(device.Cost(op));
        return costs;
    }

    [Fact]
    public void EveryOpOfAWaferGraphCostsTheSameForwardAndInReverse()
    {
        var graph = Big.Value;
        var forward = Costs(WaferTestSupport.Model("wse2").ForPlacement(graph), graph.Ops);
        var reverse = Costs(WaferTestSupport.Model("wse2").ForPlacement(graph), graph.Ops.Reverse());
        Assert.Equal(forward.OrderBy(kv => kv.Key), reverse.OrderBy(kv => kv.Key));
        // The case has teeth: some ops stream their weights, others read them from SRAM.
        Assert.Contains(forward.Values, c => c.Contains("streamed from memoryx", StringComparison.Ordinal));
        Assert.Contains(forward.Values, c => c.Contains("resident in SRAM", StringComparison.Ordinal));

        // Asked twice on one device, and once more in reverse: the same answers.
        var reused = WaferTestSupport.Model("wse2").ForPlacement(graph);
        Costs(reused, graph.Ops);
        Assert.Equal(forward.OrderBy(kv => kv.Key), Costs(reused, graph.Ops.Reverse()).OrderBy(kv => kv.Key));
    }

    [Fact]
    public void CostsInAnyOrderAreTheCostsInGraphOrder()
    {
        var graph = Big.Value;
        var expected = Costs(WaferTestSupport.Model("wse2").ForPlacement(graph), graph.Ops);
        var reused = WaferTestSupport.Model("wse2");
        Prop.ForAll(Gen.Shuffle(graph.Ops.ToArray()).ToArbitrary(), order =>
        {
            var fresh = Costs(WaferTestSupport.Model("wse2").ForPlacement(graph), order);
            var again = Costs(reused.ForPlacement(graph), order);
            return expected.All(kv => fresh[kv.Key] == kv.Value && again[kv.Key] == kv.Value);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(10));
    }

    [Fact]
    public void PlacementIsFirstFitInGraphOrderWithinTheResidentBudget()
    {
        var device = WaferTestSupport.Model("wse2");
        var graph = WaferTestSupport.Llama("llama2-70b", Phase.Decode, 1, 1024);
        var placed = Placement.Apply(graph, device, PlacementPolicy.Resident).Graph;
        long left = device.ResidentBudgetBytes, streamed = 0;
        var seen = new HashSet<int>();
        foreach (var op in graph.TopologicalOrder())
            foreach (var t in op.Inputs.Concat(op.Outputs))
            {
                if (t.Role == TensorRole.Activation || !seen.Add(t.Id)) continue;
                var fits = t.Bytes <= left;
                if (fits) left -= t.Bytes;
                else streamed += t.Bytes;
                Assert.Equal(fits ? null : "memoryx", placed.TierOf.GetValueOrDefault(t.Id));
            }
        Assert.Equal(streamed, device.StreamedBytes(graph));
        Assert.Equal(0, device.StreamedBytes(placed));
        // Placing the placed graph again changes nothing.
        var again = Placement.Apply(placed, device, PlacementPolicy.Resident).Graph;
        Assert.Equal(placed.TierOf.OrderBy(kv => kv.Key), again.TierOf.OrderBy(kv => kv.Key));
        // Unplaced, nothing streams: the device never places by itself.
        Assert.All(graph.Tensors, t => Assert.Equal(device.Topology.TierIndex("sram"), device.PlaceTensor(t)));
    }

    [Fact]
    public void ADeviceThatRanOtherGraphsRunsThisOneAsAFreshDeviceDoes()
    {
        var device = WaferTestSupport.Model("wse2");
        foreach (var (model, phase) in new[] { ("llama2-13b", Phase.Prefill), ("llama2-70b", Phase.Decode) })
        {
            var other = WaferTestSupport.Llama(model, phase, 1, 512);
            WaferTestSupport.Run(Placement.Apply(other, device, PlacementPolicy.Resident).Graph, device, "auto");
        }
        var graph = Big.Value;
        foreach (var schedule in new[] { "sequential", "dataflow", "auto" })
        {
            var (a, _) = WaferTestSupport.Run(graph, device, schedule);
            var (b, _) = WaferTestSupport.Run(graph, WaferTestSupport.Model("wse2"), schedule);
            Assert.Equal(b.MakespanPs, a.MakespanPs);
            Assert.Equal(b.ChannelBytes, a.ChannelBytes);
            Assert.Equal(b.TierPeakBytes, a.TierPeakBytes);
        }
    }
}
