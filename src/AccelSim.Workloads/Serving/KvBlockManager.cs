namespace AccelSim.Workloads.Serving;

/// <summary>A paged KV cache: <see cref="CapacityBlocks"/> blocks of <see cref="BlockTokens"/> tokens each.
/// A request holds whole blocks; blocks in use never exceed the capacity (a reservation that would is refused).</summary>
public sealed class KvBlockManager
{
    public KvBlockManager(long capacityBlocks, int blockTokens)
    {
        if (capacityBlocks < 1) throw new ArgumentOutOfRangeException(nameof(capacityBlocks), "expected at least one block");
        if (blockTokens < 1) throw new ArgumentOutOfRangeException(nameof(blockTokens), "expected at least one token per block");
        CapacityBlocks = capacityBlocks;
        BlockTokens = blockTokens;
    }

    public long CapacityBlocks { get; }
    public int BlockTokens { get; }
    public long UsedBlocks { get; private set; }
    public long PeakBlocks { get; private set; }
    public long FreeBlocks => CapacityBlocks - UsedBlocks;

    /// <summary>Blocks that hold <paramref name="tokens"/> tokens.</summary>
    public long BlocksFor(long tokens) => (tokens + BlockTokens - 1) / BlockTokens;

    /// <summary>Whether <paramref name="r"/> could grow to hold <paramref name="tokens"/> tokens now.</summary>
    public bool CanHold(RequestState r, long tokens) => BlocksFor(tokens) - r.Blocks <= FreeBlocks;

    /// <summary>Grows <paramref name="r"/>'s blocks to hold <paramref name="tokens"/> tokens; false (and nothing
    /// changes) when the free blocks do not suffice.</summary>
    public bool TryReserve(RequestState r, long tokens)
    {
        ArgumentNullException.ThrowIfNull(r);
        var extra = BlocksFor(tokens) - r.Blocks;
        if (extra <= 0) return true;
        if (extra > FreeBlocks) return false;
        r.Blocks += extra;
        UsedBlocks += extra;
        if (UsedBlocks > PeakBlocks) PeakBlocks = UsedBlocks;
        return true;
    }

    /// <summary>Frees every block of <paramref name="r"/>.</summary>
    public void Release(RequestState r)
    {
        ArgumentNullException.ThrowIfNull(r);
        UsedBlocks -= r.Blocks;
        r.Blocks = 0;
    }
}
