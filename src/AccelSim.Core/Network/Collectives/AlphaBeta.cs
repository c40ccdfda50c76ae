using System.Numerics;

namespace AccelSim.Core.Network.Collectives;

/// <summary>Alpha-beta costs of the algorithms on a single switch where every rank has an up-link and a
/// down-link of one bandwidth and a send pays a latency α before it flows: the oracle for the lowering.
/// <see cref="LowerBound"/> is the longest chain of sends the algorithm makes wait for each other, each at
/// least α plus its bytes at the link rate (whole bytes, rounded down, so the bound holds for every split);
/// it never exceeds what the lowering takes on any fabric of those figures. <see cref="ClosedForm"/> is the
/// textbook time on an uncontended fabric; it equals the bound except for trees, where it is an estimate
/// from above: inner ranks exchange with two children at once. Formulas in docs/collectives.md.</summary>
public static class AlphaBeta
{
    /// <summary>A lower bound (ps) on <paramref name="algorithm"/>'s <paramref name="kind"/> over
    /// <paramref name="ranks"/> ranks of <paramref name="bytes"/>, with per-send latency
    /// <paramref name="alpha_ps"/> and link bandwidth <paramref name="bandwidth_Bps"/>.
    /// <paramref name="ranksPerNode"/> (hierarchical only; all ranks when 0) and
    /// <paramref name="pipelineChunks"/> (trees, ring broadcast and reduce) describe the lowering.</summary>
    public static long LowerBound(CollectiveKind kind, CollectiveAlgorithm algorithm, int ranks, long bytes, long alpha_ps, double bandwidth_Bps,
        int ranksPerNode = 0, int pipelineChunks = 8)
    {
        var ps = Cost(kind, algorithm, ranks, bytes, alpha_ps, bandwidth_Bps, ranksPerNode, pipelineChunks, lower: true);
        return (long)Math.Floor(ps * (1 - 1e-12));
    }

    /// <summary>The closed-form time (ps) on an uncontended fabric; arguments as <see cref="LowerBound"/>.</summary>
    public static double ClosedForm(CollectiveKind kind, CollectiveAlgorithm algorithm, int ranks, long bytes, long alpha_ps, double bandwidth_Bps,
        int ranksPerNode = 0, int pipelineChunks = 8) =>
        Cost(kind, algorithm, ranks, bytes, alpha_ps, bandwidth_Bps, ranksPerNode, pipelineChunks, lower: false);

    private static double Cost(CollectiveKind kind, CollectiveAlgorithm algorithm, int n, long bytes, long alpha, double bw,
        int ranksPerNode, int k, bool lower)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), "a collective has at least one rank");
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes), "bytes must not be negative");
        if (alpha < 0) throw new ArgumentOutOfRangeException(nameof(alpha), "latency must not be negative");
        if (!(bw > 0)) throw new ArgumentOutOfRangeException(nameof(bw), "bandwidth must be positive");
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), "a pipeline has at least one chunk");
        if (!Collective.Supports(kind, algorithm, n) || algorithm == CollectiveAlgorithm.Default)
            throw new ArgumentException($"{algorithm} does not implement {kind} over {n} ranks", nameof(algorithm));
        if (n == 1) return 0;
        double a = alpha;
        // One send of bytes·num/den: α plus its time at the link rate (whole bytes, rounded down, for the bound).
        double Send(long num, long den) => a + (lower ? (double)((Int128)bytes * num / den) : (double)bytes * num / den) / bw * 1e12;
        var h = algorithm == CollectiveAlgorithm.Tree ? Lowering.TreeHeight(n, doubleTree: kind == CollectiveKind.AllReduce) : 0;
        var p = 1 << BitOperations.Log2((uint)n);
        var log = BitOperations.Log2((uint)p);
        switch (algorithm, kind)
        {
            case (CollectiveAlgorithm.Ring, CollectiveKind.AllReduce):
                return 2.0 * (n - 1) * Send(1, n);
            case (CollectiveAlgorithm.Ring, CollectiveKind.ReduceScatter or CollectiveKind.AllGather):
                return (n - 1.0) * Send(1, n);
            case (CollectiveAlgorithm.Ring, CollectiveKind.Broadcast or CollectiveKind.Reduce):
                return (n - 2.0 + k) * Send(1, k);
            case (_, CollectiveKind.SendRecv):
            case (CollectiveAlgorithm.InNetwork, CollectiveKind.AllReduce):
                return Send(1, 1);
            case (CollectiveAlgorithm.Tree, CollectiveKind.AllReduce):
                // Up and down the deeper tree for the last chunk, behind k-1 chunks; each tree carries half. In
                // the steady state an inner rank's link carries four chunks a step: two children's (or to two
                // children) in each direction of the pipeline.
                return (2.0 * h + k - 1) * (lower ? Send(1, 2L * k) : 4 * Send(1, 2L * k) - 3 * a);
            case (CollectiveAlgorithm.Tree, _):
                // One direction: an inner rank takes from (or gives to) two children a step.
                return (h + k - 1.0) * (lower ? Send(1, k) : 2 * Send(1, k) - a);
            case (CollectiveAlgorithm.HalvingDoubling, CollectiveKind.AllReduce):
            {
                var steps = 0.0;
                for (var t = 0; t < log; t++) steps += 2 * Send(1, 2L << t); // halving step t and its doubling twin
                return steps + (n > p ? 2 * Send(1, 1) : 0);
            }
            case (CollectiveAlgorithm.HalvingDoubling, _):
            {
                var steps = 0.0;
                for (var t = 0; t < log; t++) steps += Send(1, 2L << t);
                return steps;
            }
            case (CollectiveAlgorithm.Direct, CollectiveKind.AllToAll or CollectiveKind.AllGather or CollectiveKind.ReduceScatter):
                return Send(n - 1, n);
            case (CollectiveAlgorithm.Direct, CollectiveKind.AllReduce):
                return 2 * Send(n - 1, n);
            case (CollectiveAlgorithm.Direct, _):
                return Send(n - 1, 1);
            case (CollectiveAlgorithm.Hierarchical, CollectiveKind.AllReduce):
            {
                var local = ranksPerNode <= 0 ? n : ranksPerNode;
                if (n % local != 0) throw new ArgumentException($"{n} ranks do not fill nodes of {local}", nameof(ranksPerNode));
                var nodes = n / local;
                return 2.0 * (local - 1) * Send(1, local) + 2.0 * (nodes - 1) * Send(1, (long)local * nodes);
            }
            default:
                throw new ArgumentException($"{algorithm} does not implement {kind}", nameof(algorithm));
        }
    }
}
