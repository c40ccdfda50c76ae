namespace AccelSim.Workloads.Models.Internal;

/// <summary>Expected routing of T tokens over E experts, k per token (see docs/workloads.md).
/// Expert i (0-based) is chosen by a token with probability q_i = min(1, c (1 - s)^i), with c such
/// that the q_i sum to k (a token picks k distinct experts); s = 0 gives q_i = k / E. Expert i then
/// receives T q_i rows on average and is touched by at least one token with probability
/// 1 - (1 - q_i)^T, so the expected number of distinct experts touched is the sum of those
/// (E (1 - (1 - k/E)^T) when uniform).</summary>
public static class MoeRouting
{
    /// <param name="Experts">E.</param>
    /// <param name="ExpectedTouched">Expected distinct experts with at least one token (fractional).</param>
    /// <param name="Groups">The grouped GEMM's batch: <see cref="ExpectedTouched"/> rounded, in 1..E.</param>
    /// <param name="RowsPerGroup">Average rows per touched expert, rounded up: ceil(T k / Groups).</param>
    public sealed record Result(long Experts, double ExpectedTouched, long Groups, long RowsPerGroup, IReadOnlyList<double> Selection);

    /// <summary>Per-expert selection probabilities q_i (they sum to k).</summary>
    public static double[] SelectionProbabilities(long experts, long topK, double skew)
    {
        if (experts <= 0 || topK <= 0 || topK > experts) throw new ArgumentOutOfRangeException(nameof(topK), "need 0 < k <= E");
        if (!(skew >= 0 && skew < 1)) throw new ArgumentOutOfRangeException(nameof(skew), "expected a skew in [0, 1)");
        var raw = new double[experts];
        for (var i = 0; i < experts; i++) raw[i] = Math.Pow(1 - skew, i);
        var q = new double[experts];
        // raw is non-increasing, so the experts that saturate at 1 are a prefix.
        for (var capped = 0; capped <= topK; capped++)
        {
            double rest = 0;
            for (var i = capped; i < experts; i++) rest += raw[i];
            var c = (topK - capped) / rest;
            if (capped == topK || c * raw[capped] <= 1)
            {
                for (var i = 0; i < experts; i++) q[i] = i < capped ? 1 : c * raw[i];
                return q;
            }
        }
        throw new InvalidOperationException("unreachable");
    }

    public static Result Route(long experts, long topK, long tokens, double skew)
    {
        var q = SelectionProbabilities(experts, topK, skew);
        double touched = 0;
        foreach (var qi in q) touched += 1 - Math.Pow(1 - qi, tokens);
        var groups = Math.Clamp((long)Math.Round(touched), 1, experts);
        var rows = tokens * topK;
        return new Result(experts, touched, groups, (rows + groups - 1) / groups, q);
    }
}
