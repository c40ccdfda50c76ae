using AccelSim.Workloads.Serving;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Workloads.Tests.Serving;

/// <summary>The laws of prefix caching and swap preemption (docs/serving.md) under every policy: blocks in use, the
/// shared prefixes counted once and the cached ones beside them, never exceed the capacity; every request finishes
/// exactly once with its tokens; distinct prefix ids change nothing; hit rates are shares.</summary>
public class PrefixSwapLawTests
{
    private sealed record Case(ServingLawTests.Scenario Base, ServingRequest[] Requests, bool Swap, long SwapBlocks)
    {
        public override string ToString() => $"{Base}, swap {Swap} ({SwapBlocks} blocks), prefixes {string.Join(" ", Requests.Select(r => $"{r.PrefixId}:{r.PrefixTokens}"))}";
    }

    private static Case Make(int seed, bool distinct)
    {
        var s = ServingLawTests.Make(seed);
        var rng = new Random(seed ^ 0x5bd1e995);
        var groups = rng.Next(1, 5);
        var requests = s.Requests.Select((r, i) =>
        {
            var id = distinct ? i : rng.Next(groups);
            return r with { PrefixId = rng.Next(6) == 0 ? null : id, PrefixTokens = rng.Next(0, r.PromptTokens + 1) };
        }).ToArray();
        var longest = requests.Max(r => (long)r.PromptTokens + r.OutputTokens);
        return new Case(s, requests, rng.Next(2) == 0, rng.Next(0, (int)(3 * longest / s.BlockTokens) + 2));
    }

    private static Arbitrary<Case> Shared() => Arb.From(Gen.Choose(0, int.MaxValue).Select(x => Make(x, distinct: false)));
    private static Arbitrary<Case> Distinct() => Arb.From(Gen.Choose(0, int.MaxValue).Select(x => Make(x, distinct: true)));

    private static (ServingResult Result, int Finishes, bool WithinCapacity) Run(Case c, bool prefix, bool swap)
    {
        var s = c.Base;
        var kv = new KvBlockManager(s.Blocks, s.BlockTokens, prefix);
        var within = true;
        IterationCost Cost(ReadOnlySpan<SequenceWork> w)
        {
            within &= kv.UsedBlocks >= 0 && kv.CachedBlocks >= 0 && kv.UsedBlocks + kv.CachedBlocks <= kv.CapacityBlocks;
            return ServingLawTests.Analytic(w);
        }
        var options = swap ? s.Options with { Swap = new SwapSpace(c.SwapBlocks, 1e5, 1e9) } : s.Options;
        var finishes = 0;
        var result = ServingSimulator.Run(c.Requests, BatchSchedulers.Create(s.Scheduler), Cost, kv, options, 100, new Counter(() => finishes++));
        within &= kv.PeakBlocks <= kv.CapacityBlocks && kv.UsedBlocks == 0 && kv.CachedBlocks <= kv.CapacityBlocks;
        return (result, finishes, within);
    }

    private sealed class Counter(Action a) : IProgress<int>
    {
        public void Report(int value) => a();
    }

    private static bool AllFinishOnce(Case c, ServingResult r, int finishes) =>
        finishes == c.Requests.Length
        && r.InterTokenPs.Count == c.Requests.Sum(q => q.OutputTokens - 1)
        && r.Requests.All(q => q.Finished && q.Generated == q.Spec.OutputTokens && q.Blocks == 0 && q.SharedBlocks == 0 && q.SwappedBlocks == 0)
        && r.Requests.All(q => q.Spec.ArrivalPs <= q.FirstScheduledPs && q.FirstScheduledPs < q.FirstTokenPs && q.FirstTokenPs <= q.FinishPs);

    [Property(MaxTest = 300)]
    public Property Blocks_in_use_never_exceed_capacity_with_sharing() =>
        Prop.ForAll(Shared(), c =>
        {
            var (r, _, within) = Run(c, prefix: true, swap: c.Swap);
            return within && r.Iterations.All(i => i.KvBlocks <= r.KvCapacityBlocks);
        });

    [Property(MaxTest = 300)]
    public Property Every_request_finishes_exactly_once_with_its_tokens_with_prefix_caching() =>
        Prop.ForAll(Shared(), c =>
        {
            var (r, finishes, _) = Run(c, prefix: true, swap: false);
            return AllFinishOnce(c, r, finishes);
        });

    [Property(MaxTest = 300)]
    public Property Every_request_finishes_exactly_once_with_its_tokens_under_swap() =>
        Prop.ForAll(Shared(), c =>
        {
            var (r, finishes, within) = Run(c, prefix: false, swap: true);
            var sw = r.Swap!;
            return AllFinishOnce(c, r, finishes) && within && sw.Outs == sw.Ins && sw.OutBytes == sw.InBytes && sw.PeakBlocks <= c.SwapBlocks;
        });

    [Property(MaxTest = 200)]
    public Property Distinct_prefix_ids_give_the_run_without_prefix_caching() =>
        Prop.ForAll(Distinct(), c =>
        {
            var a = Run(c, prefix: true, swap: c.Swap).Result;
            var b = Run(c, prefix: false, swap: c.Swap).Result;
            var sa = ServingSummary.Compute(a, null);
            var sb = ServingSummary.Compute(b, null);
            return a.Iterations.SequenceEqual(b.Iterations) && a.InterTokenPs.SequenceEqual(b.InterTokenPs) && sa.PerRequest.SequenceEqual(sb.PerRequest)
                && a.MakespanPs == b.MakespanPs && a.KvPeakBlocks == b.KvPeakBlocks && a.Preemptions == b.Preemptions && a.PrefixCache!.HitTokens == 0;
        });

    [Property(MaxTest = 300)]
    public Property Hit_rates_are_shares() =>
        Prop.ForAll(Shared(), c =>
        {
            var p = Run(c, prefix: true, swap: c.Swap).Result.PrefixCache!;
            return p.TokenHitRate is >= 0 and <= 1 && p.RequestHitRate is >= 0 and <= 1 && p.HitTokens <= p.LookupTokens;
        });

    [Fact]
    public void A_hit_skips_the_cached_prefill_and_its_attention_still_reads_the_cached_context()
    {
        // Two requests of 100 prompt tokens sharing a 64-token prefix; the second arrives after the first finished.
        var requests = new[]
        {
            new ServingRequest(0, 0, 100, 4, 7, 64),
            new ServingRequest(1, 1_000_000_000_000, 100, 4, 7, 64),
        };
        var seen = new List<SequenceWork[]>();
        var kv = new KvBlockManager(100, 16, prefixCaching: true);
        var r = ServingSimulator.Run(requests, new VllmScheduler(), w =>
        {
            seen.Add(w.ToArray());
            return ServingLawTests.Analytic(w);
        }, kv, new SchedulerOptions(), 0);
        Assert.Equal(new SequenceWork(100, 0), seen[0][0]);
        var second = seen.First(w => w.Length == 1 && w[0].Query > 1 && !ReferenceEquals(w, seen[0]));
        Assert.Equal(new SequenceWork(100 - 64, 64), second[0]);
        Assert.Equal(64, r.Requests[1].PrefixHitTokens);
        Assert.Equal(0.5, r.PrefixCache!.RequestHitRate);
        Assert.Equal(64.0 / 200, r.PrefixCache.TokenHitRate);
        Assert.True(r.Requests[1].FirstTokenPs - r.Requests[1].Spec.ArrivalPs < r.Requests[0].FirstTokenPs);
    }

    [Fact]
    public void Cached_prefixes_are_evicted_least_recently_used_first_when_blocks_run_out()
    {
        // Prefixes 1, 2, 3 of 4 blocks each in a cache of 12 blocks, one after another; the third request needs room.
        var t = 1_000_000_000_000L;
        var requests = new[]
        {
            new ServingRequest(0, 0, 65, 1, 1, 64),
            new ServingRequest(1, t, 65, 1, 2, 64),
            new ServingRequest(2, 2 * t, 65, 1, 1, 64),
            new ServingRequest(3, 3 * t, 120, 1, 3, 64),
            new ServingRequest(4, 4 * t, 65, 1, 1, 64),
            new ServingRequest(5, 5 * t, 65, 1, 2, 64),
        };
        var kv = new KvBlockManager(12, 16, prefixCaching: true);
        var r = ServingSimulator.Run(requests, new VllmScheduler(), ServingLawTests.Analytic, kv, new SchedulerOptions(), 0);
        // Request 3 needs 8 blocks: 4 free, so the least recently used prefix (2) goes; prefix 1 (used by request 2) stays.
        Assert.Equal(64, r.Requests[2].PrefixHitTokens);
        Assert.Equal(64, r.Requests[4].PrefixHitTokens);
        Assert.Equal(0, r.Requests[5].PrefixHitTokens);
        Assert.True(r.PrefixCache!.Evictions >= 1);
    }

    [Fact]
    public void Swap_preemption_keeps_the_progress_and_charges_the_host_link()
    {
        // Eight requests that each grow to 200 tokens in a cache of 400 tokens: decodes run out of blocks.
        var requests = Enumerable.Range(0, 8).Select(i => new ServingRequest(i, 0, 40, 161)).ToArray();
        var options = new SchedulerOptions(8, 8192, 512);
        var recompute = ServingSimulator.Run(requests, new VllmScheduler(), ServingLawTests.Analytic, new KvBlockManager(25, 16), options, 0);
        var swap = ServingSimulator.Run(requests, new VllmScheduler(), ServingLawTests.Analytic, new KvBlockManager(25, 16),
            options with { Swap = new SwapSpace(1000, 16 * 131072.0, 64e9) }, 0);
        Assert.True(swap.Swap!.Outs > 0);
        Assert.Equal(swap.Swap.Outs, swap.Swap.Ins);
        Assert.Equal(swap.Swap.OutBytes, swap.Swap.InBytes);
        Assert.All(swap.Requests, q => Assert.Equal(161, q.Generated));
        // Swapped requests never prefill again: the prefill tokens are the prompts only.
        var prefillTokensSwap = swap.Requests.Sum(q => q.Target);
        Assert.Equal(8 * 40, prefillTokensSwap);
        Assert.True(recompute.Requests.Sum(q => q.Target) > 8 * 40);
        // Each swap moves whole blocks at 64 GB/s: the transfers took time.
        Assert.True(swap.Swap.TransferPs >= (long)(swap.Swap.OutBytes / 64e9 * 1e12));
        // No swap space: preemption falls back to recomputation.
        var none = ServingSimulator.Run(requests, new VllmScheduler(), ServingLawTests.Analytic, new KvBlockManager(25, 16),
            options with { Swap = new SwapSpace(0, 16 * 131072.0, 64e9) }, 0);
        Assert.Equal(0, none.Swap!.Outs);
        Assert.Equal(recompute.MakespanPs, none.MakespanPs);
    }
}
