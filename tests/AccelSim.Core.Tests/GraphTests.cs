using AccelSim.Core.Graph;
using AccelSim.Core.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Core.Tests;

public class GraphTests
{
    private static Tensor T(int id, long bytes = 16) => new(id, $"t{id}", [bytes], DType.Int8, TensorRole.Activation);

    private static Op O(int id, Tensor[] ins, Tensor[] outs) => new(id, $"op{id}", OpKind.Generic, -1, ins, outs, 10, DType.Bf16);

    private static WorkloadGraph G(params Op[] ops) => new(new WorkloadInfo("g", "op", 1, 0, 0, 0), ops);

    /// <summary>a -> b, a -> c, b -> d, c -> d.</summary>
    private static WorkloadGraph Diamond()
    {
        Tensor x = T(0), ta = T(1), tb = T(2), tc = T(3), td = T(4);
        return G(O(0, [x], [ta]), O(1, [ta], [tb]), O(2, [ta], [tc]), O(3, [tb, tc], [td]));
    }

    private static bool IsValidOrder(WorkloadGraph g, IReadOnlyList<Op> order)
    {
        if (order.Count != g.Ops.Count || order.Select(o => o.Id).Distinct().Count() != order.Count) return false;
        var pos = new int[order.Count];
        for (var i = 0; i < order.Count; i++) pos[order[i].Id] = i;
        return g.Graph.Edges.All(e => pos[e.Source.Id] < pos[e.Target.Id]);
    }

    [Fact]
    public void Edges_run_from_producer_to_consumer()
    {
        var g = Diamond();
        Assert.Equal(4, g.Graph.EdgeCount);
        Assert.Equal([1, 2], g.Successors(g.Ops[0]).Select(o => o.Id).Order());
        Assert.Equal([1, 2], g.Predecessors(g.Ops[3]).Select(o => o.Id).Order());
        Assert.Equal(5, g.Tensors.Count);
        Assert.False(g.Producer.ContainsKey(0));
        Assert.Equal(3, g.Producer[4].Id);
    }

    [Fact]
    public void Topological_order_of_a_diamond_is_insertion_stable()
    {
        Assert.Equal([0, 1, 2, 3], Diamond().TopologicalOrder().Select(o => o.Id));
    }

    [Fact]
    public void Topological_order_puts_producers_first_even_when_ops_are_listed_out_of_order()
    {
        // op0 consumes what op2 produces; op1 is independent.
        Tensor x = T(0), a = T(1), b = T(2);
        var g = G(O(0, [a], [b]), O(1, [x], [T(3)]), O(2, [x], [a]));
        var order = g.TopologicalOrder();
        Assert.True(IsValidOrder(g, order));
        Assert.Equal([1, 2, 0], order.Select(o => o.Id));
    }

    [Property(MaxTest = 60)]
    public Property Topological_order_is_valid_and_agrees_with_QuikGraph() =>
        Prop.ForAll(ShuffledDags().ToArbitrary(), g =>
        {
            var ours = g.TopologicalOrder();
            var theirs = g.QuikGraphTopologicalOrder().ToList();
            return IsValidOrder(g, ours) && IsValidOrder(g, theirs);
        });

    [Property(MaxTest = 40)]
    public Property Topological_order_of_an_already_ordered_graph_is_the_insertion_order() =>
        Prop.ForAll(DagGen.Arbitrary(20), c =>
        {
            var g = c.Graph();
            return g.TopologicalOrder().Select(o => o.Id).SequenceEqual(Enumerable.Range(0, g.Ops.Count));
        });

    /// <summary>Random DAGs whose ops are listed in a random order (ids renumbered), so that the
    /// insertion order is not a topological order.</summary>
    private static Gen<WorkloadGraph> ShuffledDags() =>
        from c in DagGen.Cases(16)
        from perm in Gen.Shuffle(Enumerable.Range(0, c.Nodes.Length).ToArray())
        select Relabel(c.Graph(), perm);

    private static WorkloadGraph Relabel(WorkloadGraph g, int[] perm)
    {
        // perm[newIndex] = old op index
        var ops = new Op[perm.Length];
        for (var i = 0; i < perm.Length; i++)
        {
            var o = g.Ops[perm[i]];
            ops[i] = new Op(i, o.Name, o.Kind, o.Layer, o.Inputs, o.Outputs, o.Flops, o.ComputeDType);
        }
        return new WorkloadGraph(g.Info, ops);
    }

    [Fact]
    public void Critical_path_of_a_diamond_takes_the_longer_branch()
    {
        var g = Diamond();
        long[] cost = [1, 5, 2, 1];
        var (length, path) = g.CriticalPath(o => cost[o.Id]);
        Assert.Equal(7, length);
        Assert.Equal([0, 1, 3], path.Select(o => o.Id));

        cost = [1, 2, 9, 1];
        (length, path) = g.CriticalPath(o => cost[o.Id]);
        Assert.Equal(11, length);
        Assert.Equal([0, 2, 3], path.Select(o => o.Id));
    }

    [Fact]
    public void Critical_path_of_independent_ops_is_the_largest_op()
    {
        var g = G(O(0, [T(0)], [T(1)]), O(1, [T(0)], [T(2)]), O(2, [T(0)], [T(3)]));
        long[] cost = [3, 8, 5];
        var (length, path) = g.CriticalPath(o => cost[o.Id]);
        Assert.Equal(8, length);
        Assert.Equal([1], path.Select(o => o.Id));
    }

    [Property(MaxTest = 40)]
    public Property Critical_path_is_a_lower_bound_of_a_serial_run_and_at_least_every_op() =>
        Prop.ForAll(DagGen.Arbitrary(20), c =>
        {
            var g = c.Graph();
            var (length, path) = g.CriticalPath(o => o.Flops);
            var pathValid = path.Zip(path.Skip(1)).All(p => g.Successors(p.First).Contains(p.Second));
            return length <= g.TotalFlops && g.Ops.All(o => o.Flops <= length)
                && path.Sum(o => o.Flops) == length && pathValid;
        });

    [Fact]
    public void A_cycle_is_detected()
    {
        Tensor a = T(1), b = T(2);
        var g = G(O(0, [b], [a]), O(1, [a], [b]));
        var ex = Assert.Throws<InvalidOperationException>(() => g.TopologicalOrder());
        Assert.Contains("cycle", ex.Message);
    }

    [Fact]
    public void A_tensor_with_two_producers_is_rejected()
    {
        var shared = T(5);
        var ex = Assert.Throws<ArgumentException>(() => G(O(0, [T(0)], [shared]), O(1, [T(0)], [shared])));
        Assert.Contains("t5", ex.Message);
        Assert.Contains("op0", ex.Message);
        Assert.Contains("op1", ex.Message);
    }

    [Fact]
    public void Op_ids_must_follow_insertion_order()
    {
        Assert.Throws<ArgumentException>(() => G(O(1, [T(0)], [T(1)])));
    }

    [Fact]
    public void Bytes_and_flops_of_ops_and_shapes()
    {
        var t = new Tensor(0, "w", [4096, 4096], DType.Bf16, TensorRole.Weight);
        Assert.Equal(4096L * 4096 * 2, t.Bytes);
        Assert.Equal(3, new Tensor(1, "q", [5], DType.Int4, TensorRole.Weight).Bytes);
        Assert.Equal(2L * 4 * 8 * 16 * 32, new GemmShape(4, 8, 16, 32).Flops);
        // Causal prefill over 4 tokens: 1+2+3+4 = 10 query-key pairs.
        Assert.Equal(4L * 1 * 2 * 8 * 10, new AttentionShape(1, 2, 1, 8, 4, 4, true).Flops);
        // Decode of 1 token over 3 cached + itself: 4 pairs, causal or not.
        Assert.Equal(new AttentionShape(1, 2, 1, 8, 1, 4, false).Flops, new AttentionShape(1, 2, 1, 8, 1, 4, true).Flops);
        var g = Diamond();
        Assert.Equal(40, g.TotalFlops);
        Assert.Equal(g.Ops.Sum(o => o.BytesRead + o.BytesWritten), g.TotalBytes);
    }
}
