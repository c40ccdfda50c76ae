namespace AccelSim.Core.Network.Collectives;

/// <summary>What a collective computes, with the byte count read as nccl-tests reads it: all-reduce,
/// broadcast, reduce and send/recv move a buffer of that size; reduce-scatter takes an input of that size
/// per rank and leaves each rank a 1/n slice; all-gather leaves each rank an output of that size (a 1/n
/// slice from each); all-to-all sends a 1/n slice of a buffer of that size to every rank.</summary>
public enum CollectiveKind
{
    AllReduce,
    ReduceScatter,
    AllGather,
    AllToAll,
    /// <summary>From the first rank of the group to every other.</summary>
    Broadcast,
    /// <summary>From every rank to the first rank of the group.</summary>
    Reduce,
    /// <summary>Every rank sends the buffer to the next rank of the group and receives one from the previous.</summary>
    SendRecv,
}

/// <summary>How a collective is lowered into sends (docs/collectives.md).</summary>
public enum CollectiveAlgorithm
{
    /// <summary>Chosen by <see cref="Collective.Choose"/> from the kind, the size and the fabric.</summary>
    Default,
    /// <summary>A ring: 2(n-1) steps for all-reduce, n-1 for reduce-scatter and all-gather; a pipelined
    /// chain for broadcast and reduce. Across nodes with the same number L of ranks on each, L rings (NCCL's
    /// channels), each with 1/L of the buffer, crossing between nodes on rail c (local rank c to local rank c).</summary>
    Ring,
    /// <summary>Trees, pipelined in chunks: for all-reduce a double binary tree (two trees, each carrying half the
    /// buffer, a reduce up and a broadcast down); for broadcast and reduce one binary tree rooted at the first rank.</summary>
    Tree,
    /// <summary>Recursive halving then doubling (Rabenseifner) for all-reduce, recursive halving for
    /// reduce-scatter, recursive doubling for all-gather (power-of-two groups).</summary>
    HalvingDoubling,
    /// <summary>Every pair at once: all-to-all, all-gather, reduce-scatter, a reduce-scatter then all-gather
    /// for all-reduce, the root to every rank (broadcast) or every rank to the root (reduce).</summary>
    Direct,
    /// <summary>All-reduce: a ring reduce-scatter inside each node, a ring all-reduce among the ranks of the
    /// same local index across nodes, a ring all-gather inside each node.</summary>
    Hierarchical,
    /// <summary>All-reduce reduced in the switch (NVLS, SHARP): each rank's data goes up its link once and the
    /// result comes down once. Only inside one node whose fabric reduces in the network.</summary>
    InNetwork,
}
