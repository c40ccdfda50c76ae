namespace AccelSim.Core.Network.Collectives;

/// <summary>The bandwidths nccl-tests reports. Algorithm bandwidth is bytes / time; bus bandwidth scales it
/// by the share of the buffer each rank's link must carry, so it is comparable to the link's rate whatever
/// the group size: 2(n-1)/n for all-reduce, (n-1)/n for reduce-scatter, all-gather and all-to-all, 1 for
/// broadcast, reduce and send/recv.</summary>
public static class CollectiveBandwidth
{
    /// <summary>The bus-bandwidth factor of <paramref name="kind"/> over <paramref name="ranks"/> ranks.</summary>
    public static double BusFactor(CollectiveKind kind, int ranks)
    {
        if (ranks < 1) throw new ArgumentOutOfRangeException(nameof(ranks), "a collective has at least one rank");
        double n = ranks;
        return kind switch
        {
            CollectiveKind.AllReduce => 2 * (n - 1) / n,
            CollectiveKind.ReduceScatter or CollectiveKind.AllGather or CollectiveKind.AllToAll => (n - 1) / n,
            CollectiveKind.Broadcast or CollectiveKind.Reduce or CollectiveKind.SendRecv => 1,
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    /// <summary>Bytes per second: <paramref name="bytes"/> over <paramref name="timePs"/> picoseconds.</summary>
    public static double Algorithm_Bps(long bytes, long timePs) =>
        timePs > 0 ? bytes / (timePs * 1e-12) : throw new ArgumentOutOfRangeException(nameof(timePs), "a duration must be positive");

    /// <summary>Algorithm bandwidth times <see cref="BusFactor"/>.</summary>
    public static double Bus_Bps(CollectiveKind kind, int ranks, long bytes, long timePs) =>
        Algorithm_Bps(bytes, timePs) * BusFactor(kind, ranks);
}
