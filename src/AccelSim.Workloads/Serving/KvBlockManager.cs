namespace AccelSim.Workloads.Serving;

/// <summary>A paged KV cache: <see cref="CapacityBlocks"/> blocks of <see cref="BlockTokens"/> tokens each.
/// A request holds whole blocks; blocks in use never exceed the capacity (a reservation that would is refused).
/// <para>With prefix caching (vLLM's automatic prefix caching, SGLang's RadixAttention), requests that name the same
/// <see cref="ServingRequest.PrefixId"/> share the full blocks of their common prefix: the first request to hold
/// <see cref="ServingRequest.PrefixTokens"/> tokens' worth of full blocks registers them as the prefix's entry, and a
/// later request finds it (once its first holder has prefilled it), holds a reference to it and skips prefilling
/// those tokens. An entry no request holds stays cached until free blocks run out: then the least recently used
/// such entry is evicted. A prefix that no other request used goes back to the free blocks with its preempted holder.</para></summary>
public sealed class KvBlockManager
{
    private readonly Dictionary<int, PrefixEntry> _prefixes = [];
    private long _clock;

    public KvBlockManager(long capacityBlocks, int blockTokens, bool prefixCaching = false)
    {
        if (capacityBlocks < 1) throw new ArgumentOutOfRangeException(nameof(capacityBlocks), "expected at least one block");
        if (blockTokens < 1) throw new ArgumentOutOfRangeException(nameof(blockTokens), "expected at least one token per block");
        CapacityBlocks = capacityBlocks;
        BlockTokens = blockTokens;
        PrefixCaching = prefixCaching;
    }

    public long CapacityBlocks { get; }
    public int BlockTokens { get; }

    /// <summary>Whether requests with the same prefix id share their prefix's blocks.</summary>
    public bool PrefixCaching { get; }

    /// <summary>Blocks held by requests (a shared prefix counted once).</summary>
    public long UsedBlocks { get; private set; }
    public long PeakBlocks { get; private set; }

    /// <summary>Blocks of cached prefixes that no request holds: evicted (least recently used first) when a
    /// reservation needs them, so they count as free.</summary>
    public long CachedBlocks { get; private set; }

    public long FreeBlocks => CapacityBlocks - UsedBlocks;

    /// <summary>Prefill tokens looked up in the prefix cache (each admission's prefill target) and found there.</summary>
    public long PrefixLookupTokens { get; private set; }
    public long PrefixHitTokens { get; private set; }

    /// <summary>Cached prefixes evicted to make room.</summary>
    public int PrefixEvictions { get; private set; }

    /// <summary>Blocks that hold <paramref name="tokens"/> tokens.</summary>
    public long BlocksFor(long tokens) => (tokens + BlockTokens - 1) / BlockTokens;

    /// <summary>Whether <paramref name="r"/> could grow to hold <paramref name="tokens"/> tokens now.</summary>
    public bool CanHold(RequestState r, long tokens) => BlocksFor(tokens) - r.Blocks - r.SharedBlocks <= FreeBlocks;

    /// <summary>Tokens of <paramref name="r"/>'s prompt that a reservation now would find in the prefix cache: the
    /// entry's whole blocks when they lie within the request's prefix and before its last token to prefill; 0 for a
    /// request already holding blocks.</summary>
    public int PrefixHit(RequestState r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return (int)(HitBlocks(r, out _) * BlockTokens);
    }

    private long HitBlocks(RequestState r, out PrefixEntry? entry)
    {
        entry = null;
        if (!PrefixCaching || !Fresh(r) || r.Spec.PrefixId is not { } id || !_prefixes.TryGetValue(id, out var e)) return 0;
        if (!e.Ready && e.Owner.Prefilled < e.Blocks * BlockTokens) return 0;
        // A request shares a whole entry or nothing: holding blocks it does not use could leave it more than the
        // cache holds at its full length.
        if (PrefixBlocks(r) < e.Blocks) return 0;
        entry = e;
        return e.Blocks;
    }

    private static bool Fresh(RequestState r) => r.Prefix is null && r.Blocks == 0 && r.Cached == 0;

    /// <summary>Full blocks of <paramref name="r"/>'s prefix that may be shared: its prefix tokens, less the last
    /// token it prefills (which must run to produce the next token).</summary>
    private long PrefixBlocks(RequestState r) => Math.Min(r.Spec.PrefixTokens, r.Target - 1L) / BlockTokens;

    /// <summary>Grows <paramref name="r"/>'s blocks to hold <paramref name="tokens"/> tokens; false (and nothing
    /// changes) when the free blocks do not suffice. A request holding nothing yet first looks its prefix up: on a
    /// hit it shares the cached blocks and its prefill starts after them.</summary>
    public bool TryReserve(RequestState r, long tokens)
    {
        ArgumentNullException.ThrowIfNull(r);
        if (PrefixCaching && r.Spec.PrefixId is not null && Fresh(r))
        {
            var hit = HitBlocks(r, out var e);
            if (e is not null)
            {
                var pinned = e.Refs == 0 ? e.Blocks : 0;
                var own = Math.Max(0, BlocksFor(tokens) - hit);
                // The entry may be longer than this request's share of it; when holding all of it leaves no room,
                // the request computes its prompt itself (as a miss).
                if (own > CapacityBlocks - UsedBlocks - pinned) e = null;
            }
            if (e is not null)
            {
                var pinned = e.Refs == 0 ? e.Blocks : 0;
                var own = Math.Max(0, BlocksFor(tokens) - hit);
                if (pinned > 0)
                {
                    CachedBlocks -= pinned;
                    UsedBlocks += pinned;
                }
                e.Refs++;
                e.Ready = true;
                e.Hits++;
                e.LastUse = ++_clock;
                MakeRoom(own);
                r.Blocks = own;
                UsedBlocks += own;
                r.Prefix = e;
                r.SharedBlocks = hit;
                var skipped = (int)(hit * BlockTokens);
                r.Prefilled = skipped;
                r.Cached = skipped;
                r.PrefixHitTokens += skipped;
                PrefixLookupTokens += r.Target;
                PrefixHitTokens += skipped;
                Peak();
                return true;
            }
            if (!Grow(r, tokens)) return false;
            PrefixLookupTokens += r.Target;
            Register(r);
            return true;
        }
        if (!Grow(r, tokens)) return false;
        if (PrefixCaching && r.Prefix is null && r.Spec.PrefixId is not null) Register(r);
        return true;
    }

    private bool Grow(RequestState r, long tokens)
    {
        var extra = BlocksFor(tokens) - r.Blocks - r.SharedBlocks;
        if (extra <= 0) return true;
        if (extra > FreeBlocks) return false;
        MakeRoom(extra);
        r.Blocks += extra;
        UsedBlocks += extra;
        Peak();
        return true;
    }

    /// <summary>Makes the first full blocks of a request that computes its prefix itself the prefix's entry, once it
    /// holds them and no entry exists (the blocks move from the request's own count to the entry: nothing changes
    /// in use).</summary>
    private void Register(RequestState r)
    {
        if (r.Spec.PrefixId is not { } id || r.Prefix is not null || _prefixes.ContainsKey(id)) return;
        var k = PrefixBlocks(r);
        if (k < 1 || r.Blocks < k) return;
        var e = new PrefixEntry(id, k, r) { Refs = 1, LastUse = ++_clock };
        _prefixes.Add(id, e);
        r.Blocks -= k;
        r.SharedBlocks = k;
        r.Prefix = e;
    }

    private void MakeRoom(long blocks)
    {
        while (CapacityBlocks - UsedBlocks - CachedBlocks < blocks)
        {
            PrefixEntry? lru = null;
            foreach (var e in _prefixes.Values)
                if (e.Refs == 0 && (lru is null || e.LastUse < lru.LastUse)) lru = e;
            if (lru is null) throw new InvalidOperationException("the KV cache's free and cached blocks disagree");
            _prefixes.Remove(lru.Id);
            CachedBlocks -= lru.Blocks;
            PrefixEvictions++;
        }
    }

    private void Peak()
    {
        if (UsedBlocks > PeakBlocks) PeakBlocks = UsedBlocks;
    }

    /// <summary>Frees every block of <paramref name="r"/> (a finished request: its prefix stays cached).</summary>
    public void Release(RequestState r) => Release(r, finished: true);

    /// <summary>Frees every block of <paramref name="r"/>. The prefix entry it held stays cached (evictable) when no
    /// request holds it any more, unless <paramref name="finished"/> is false and no other request ever used it.</summary>
    public void Release(RequestState r, bool finished)
    {
        ArgumentNullException.ThrowIfNull(r);
        UsedBlocks -= r.Blocks;
        r.Blocks = 0;
        if (r.Prefix is not { } e) return;
        if (finished) e.Ready = true;
        e.Refs--;
        r.Prefix = null;
        r.SharedBlocks = 0;
        if (e.Refs > 0) return;
        UsedBlocks -= e.Blocks;
        if (e.Ready && (finished || e.Hits > 0))
        {
            CachedBlocks += e.Blocks;
            e.LastUse = ++_clock;
        }
        else _prefixes.Remove(e.Id);
    }

    /// <summary>A cached prefix: its full blocks, the requests holding it and the request that computed it.</summary>
    internal sealed class PrefixEntry(int id, long blocks, RequestState owner)
    {
        public int Id { get; } = id;
        public long Blocks { get; } = blocks;
        public RequestState Owner { get; } = owner;
        public int Refs { get; set; }
        public int Hits { get; set; }
        public bool Ready { get; set; }
        public long LastUse { get; set; }
    }
}
