using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using FsCheck;
using FsCheck.Fluent;

namespace AccelSim.Core.Tests;

/// <summary>First fit by tier (<see cref="Placement.FirstFit"/>): a function of the graph and the tier
/// budgets alone.</summary>
public class FirstFitPlacementTests
{
    private static readonly Gen<(long[] Weights, long[] Budgets)> Cases =
        from n in Gen.Choose(1, 12)
        from weights in Gen.ArrayOf(Gen.Choose(1, 100).Select(w => (long)w * 1_000_000), n)
        from tiers in Gen.Choose(1, 3)
        from budgets in Gen.ArrayOf(Gen.Choose(0, 400).Select(b => (long)b * 1_000_000), tiers)
        select (weights, budgets);

    private static TierBudget[] Tiers(long[] budgets) => budgets.Select((b, i) => new TierBudget($"t{i}", b)).ToArray();

    [Fact]
    public void EachTensorTakesTheFirstTierWithRoomInGraphOrder()
    {
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            var graph = LayeredGraphs.Build(c.Weights);
            var tiers = Tiers(c.Budgets);
            var placed = Placement.FirstFit(graph, tiers);
            // The oracle: walk the layers in order with a budget per tier; the last tier takes the rest.
            var left = c.Budgets.ToArray();
            foreach (var t in graph.TopologicalOrder().SelectMany(o => o.Inputs).Where(t => t.Role == TensorRole.Weight))
            {
                var i = 0;
                while (i < left.Length - 1 && t.Bytes > left[i]) i++;
                left[i] -= Math.Min(left[i], t.Bytes);
                if (placed[t.Id] != tiers[i].Tier) return false;
            }
            // Activations are the device's; every weight is placed; no bounded tier is over its budget.
            var inTier = tiers.Take(tiers.Length - 1).Select(b => graph.Tensors.Where(t => placed.GetValueOrDefault(t.Id) == b.Tier).Sum(t => t.Bytes));
            return graph.Tensors.All(t => placed.ContainsKey(t.Id) == (t.Role != TensorRole.Activation))
                   && inTier.Zip(c.Budgets).All(p => p.First <= p.Second);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void AskingTwiceOrAfterAnotherGraphGivesTheSamePlacement()
    {
        Prop.ForAll(Cases.ToArbitrary(), Cases.ToArbitrary(), (a, b) =>
        {
            var graph = LayeredGraphs.Build(a.Weights);
            var tiers = Tiers(a.Budgets);
            var first = Placement.FirstFit(graph, tiers);
            Placement.FirstFit(LayeredGraphs.Build(b.Weights), Tiers(b.Budgets));
            var second = Placement.FirstFit(graph, tiers);
            return first.OrderBy(kv => kv.Key).SequenceEqual(second.OrderBy(kv => kv.Key));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void TensorsAPlacementAlreadyNamedKeepTheirTierAndTakeNoBudget()
    {
        var graph = LayeredGraphs.Build([300, 300, 300]);
        var first = graph.Tensors.First(t => t.Role == TensorRole.Weight);
        var named = new WorkloadGraph(graph.Info, graph.Ops, new Dictionary<int, string> { [first.Id] = "far" });
        var placed = Placement.FirstFit(named, [new TierBudget("near", 600), new TierBudget("far", 0)]);
        Assert.False(placed.ContainsKey(first.Id));
        Assert.All(graph.Tensors.Where(t => t.Role == TensorRole.Weight && t.Id != first.Id), t => Assert.Equal("near", placed[t.Id]));
        Assert.Throws<ArgumentException>(() => Placement.FirstFit(graph, []));
    }
}
