namespace AccelSim.Core.Network.Collectives;

/// <summary>The knobs of collective lowering: the default choice's size thresholds and the pipeline depth of
/// chunked algorithms. They describe the communication library's policy, not hardware.</summary>
public sealed record CollectiveOptions
{
    /// <summary>The defaults (docs/collectives.md).</summary>
    public static readonly CollectiveOptions Defaults = new();

    /// <summary>All-reduce, broadcast and reduce of at most this many bytes use a tree by default (latency
    /// grows with log n rather than n).</summary>
    public long TreeMaxBytes { get; init; } = 256 << 10;

    /// <summary>An all-reduce of at least this many bytes inside one node uses the switch's reduction when the
    /// fabric has one.</summary>
    public long InNetworkMinBytes { get; init; } = 1 << 20;

    /// <summary>Chunks a pipelined algorithm (tree, ring broadcast and reduce) cuts its buffer into.</summary>
    public int PipelineChunks { get; init; } = 8;

    internal void Validate()
    {
        if (TreeMaxBytes < 0) throw new ArgumentOutOfRangeException(nameof(TreeMaxBytes), "must not be negative");
        if (InNetworkMinBytes < 0) throw new ArgumentOutOfRangeException(nameof(InNetworkMinBytes), "must not be negative");
        if (PipelineChunks < 1) throw new ArgumentOutOfRangeException(nameof(PipelineChunks), "a pipeline has at least one chunk");
    }
}
