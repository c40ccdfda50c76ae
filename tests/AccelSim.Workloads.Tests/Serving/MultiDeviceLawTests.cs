using AccelSim.Workloads.Serving;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Workloads.Tests.Serving;

/// <summary>The laws of serving across devices: disaggregated prefill and decode, and replicas behind a router.</summary>
public class MultiDeviceLawTests
{
    /// <summary>A decode device unlike the prefill one: slower per iteration, cheaper per cached token.</summary>
    private static IterationCost DecodeAnalytic(ReadOnlySpan<SequenceWork> work)
    {
        long tokens = 0, context = 0;
        foreach (var w in work)
        {
            tokens += w.Query;
            context += w.Context * w.Query;
        }
        return new IterationCost(7_000_000 + 30_000 * tokens + 3 * context, 2e-3 * tokens);
    }

    private static readonly KvLink Link = new(50e9, 2_000_000, "test link");
    private const double BytesPerToken = 131072;

    private static DisaggregatedResult Disagg(ServingLawTests.Scenario s) =>
        DisaggregatedServing.Run(s.Requests, new VllmScheduler(), ServingLawTests.Analytic, new KvBlockManager(s.Blocks, s.BlockTokens), 100,
            DecodeAnalytic, new KvBlockManager(s.Blocks, s.BlockTokens), 50, s.Options, BytesPerToken, Link);

    private static ReplicatedResult Replicated(ServingLawTests.Scenario s, int n, RouterPolicy router) =>
        ReplicatedServing.Run(s.Requests, n, router, _ => new ServingEngine(BatchSchedulers.Create(s.Scheduler), ServingLawTests.Analytic,
            new KvBlockManager(s.Blocks, s.BlockTokens), s.Options, 100), 100);

    private static Arbitrary<ServingLawTests.Scenario> Scenarios() => Arb.From(Gen.Choose(0, int.MaxValue).Select(ServingLawTests.Make));

    private static bool Complete(ServingResult r, ServingLawTests.Scenario s) =>
        r.Requests.Count == s.Requests.Length
        && r.InterTokenPs.Count == s.Requests.Sum(q => q.OutputTokens - 1)
        && r.Requests.All(q => q.Finished && q.Generated == q.Spec.OutputTokens)
        && r.Requests.All(q => q.Spec.ArrivalPs <= q.FirstScheduledPs && q.FirstScheduledPs < q.FirstTokenPs && q.FirstTokenPs <= q.FinishPs)
        && r.Requests.Select(q => q.Spec.Id).Order().SequenceEqual(s.Requests.Select(q => q.Id));

    [Property(MaxTest = 200)]
    public Property Disaggregated_every_request_finishes_exactly_once_with_its_tokens() =>
        Prop.ForAll(Scenarios(), s =>
        {
            var r = Disagg(s);
            var decoded = s.Requests.Count(q => q.OutputTokens > 1);
            return Complete(r.Combined, s)
                && r.Decode.Requests.Count == decoded
                && r.Decode.Requests.All(q => q.Blocks == 0 && q.Generated == q.Spec.OutputTokens)
                && r.Prefill.Requests.All(q => q.Generated == 1 && q.Blocks == 0)
                && r.Decode.Preemptions == 0
                && r.Decode.KvPeakBlocks <= s.Blocks;
        });

    private static DisaggregatedResult Pools(ServingLawTests.Scenario s, int prefill, int decode, bool paged = false) =>
        DisaggregatedServing.RunPools(s.Requests,
            prefill, _ => new ServingEngine(new VllmScheduler(), ServingLawTests.Analytic, new KvBlockManager(s.Blocks, s.BlockTokens), s.Options, 100), 100,
            decode, _ => new ServingEngine(paged ? new PagedDecodeScheduler() : new DecodeOnlyScheduler(), DecodeAnalytic, new KvBlockManager(s.Blocks, s.BlockTokens), s.Options, 50), 50,
            BytesPerToken, Link);

    [Property(MaxTest = 200)]
    public Property Pools_every_request_finishes_exactly_once_with_its_tokens() =>
        Prop.ForAll(Scenarios(), Gen.Choose(1, 3).ToArbitrary(), Gen.Choose(1, 4).ToArbitrary(), (s, p, d) =>
        {
            var r = Pools(s, p, d);
            var decoded = s.Requests.Count(q => q.OutputTokens > 1);
            var decodeAt = r.DecodeAssignment!;
            return Complete(r.Combined, s)
                && r.PrefillInstances == p && r.DecodeInstances == d
                && r.PrefillAssignment!.All(k => k >= 0 && k < p)
                && Enumerable.Range(0, s.Requests.Length).All(i => s.Requests[i].OutputTokens > 1 ? decodeAt[i] >= 0 && decodeAt[i] < d : decodeAt[i] == -1)
                && r.Decode.Requests.Count == decoded
                && r.Decode.Requests.Select(q => q.Spec.Id).Distinct().Count() == decoded
                && r.Decode.Requests.All(q => q.Blocks == 0 && q.Generated == q.Spec.OutputTokens)
                && r.Prefill.Requests.All(q => q.Generated == 1 && q.Blocks == 0)
                && r.Decode.Preemptions == 0
                && r.Decode.KvPeakBlocks <= s.Blocks
                // A request decodes only after its prefill and its transfer.
                && Enumerable.Range(0, s.Requests.Length).All(i => r.Combined.Requests[i].FinishPs >= r.Prefill.Requests[i].FirstTokenPs + (s.Requests[i].OutputTokens > 1 ? r.TransferPs[i] : 0));
        });

    /// <summary>Paged decode admission: the same laws, with preemptions allowed (a preempted request re-prefills on
    /// its decode instance and still emits each of its tokens once).</summary>
    [Property(MaxTest = 200)]
    public Property Paged_pools_every_request_finishes_exactly_once_with_its_tokens() =>
        Prop.ForAll(Scenarios(), Gen.Choose(1, 3).ToArbitrary(), Gen.Choose(1, 4).ToArbitrary(), (s, p, d) =>
        {
            var r = Pools(s, p, d, paged: true);
            var decoded = s.Requests.Count(q => q.OutputTokens > 1);
            return Complete(r.Combined, s)
                && r.Decode.Requests.Count == decoded
                && r.Decode.Requests.Select(q => q.Spec.Id).Distinct().Count() == decoded
                && r.Decode.Requests.All(q => q.Blocks == 0 && q.Generated == q.Spec.OutputTokens)
                && r.Decode.KvPeakBlocks <= s.Blocks
                && r.Combined.Preemptions == r.Prefill.Preemptions + r.Decode.Preemptions;
        });

    [Property(MaxTest = 100)]
    public Property One_prefill_and_one_decode_instance_is_the_disaggregated_run() =>
        Prop.ForAll(Scenarios(), s =>
        {
            var pools = Pools(s, 1, 1);
            var one = Disagg(s);
            static bool Same(ServingResult a, ServingResult b) =>
                a.MakespanPs == b.MakespanPs && a.IterationEnergyJ == b.IterationEnergyJ && a.IdleEnergyJ == b.IdleEnergyJ
                && a.Preemptions == b.Preemptions && a.KvPeakBlocks == b.KvPeakBlocks && a.Iterations.Count == b.Iterations.Count
                && a.Requests.Zip(b.Requests).All(p => p.First.Spec.Id == p.Second.Spec.Id && p.First.FirstTokenPs == p.Second.FirstTokenPs
                    && p.First.FinishPs == p.Second.FinishPs && p.First.MaxInterTokenPs == p.Second.MaxInterTokenPs)
                && a.InterTokenPs.SequenceEqual(b.InterTokenPs);
            return Same(pools.Combined, one.Combined) && Same(pools.Prefill, one.Prefill) && Same(pools.Decode, one.Decode)
                && pools.TransferPs.SequenceEqual(one.TransferPs) && pools.TransferBytes.SequenceEqual(one.TransferBytes);
        });

    [Property(MaxTest = 50)]
    public Property Pools_are_deterministic() =>
        Prop.ForAll(Scenarios(), Gen.Choose(1, 3).ToArbitrary(), Gen.Choose(1, 3).ToArbitrary(), (s, p, d) =>
        {
            var a = Pools(s, p, d);
            var b = Pools(s, p, d);
            return a.Combined.MakespanPs == b.Combined.MakespanPs && a.Combined.InterTokenPs.SequenceEqual(b.Combined.InterTokenPs)
                && a.PrefillAssignment!.SequenceEqual(b.PrefillAssignment!) && a.DecodeAssignment!.SequenceEqual(b.DecodeAssignment!)
                && a.Combined.Requests.Zip(b.Combined.Requests).All(x => x.First.FinishPs == x.Second.FinishPs);
        });

    [Property(MaxTest = 200)]
    public Property Replicated_every_request_finishes_exactly_once_with_its_tokens() =>
        Prop.ForAll(Scenarios(), Gen.Choose(1, 5).ToArbitrary(), Gen.Elements(RouterPolicy.RoundRobin, RouterPolicy.LeastOutstandingTokens).ToArbitrary(),
            (s, n, router) =>
            {
                var r = Replicated(s, n, router);
                return Complete(r.Combined, s)
                    && r.Replicas.Sum(x => x.Requests.Count) == s.Requests.Length
                    && r.Assignment.All(k => k >= 0 && k < n)
                    && r.Replicas.All(x => x.Requests.All(q => q.Blocks == 0));
            });

    [Property(MaxTest = 100)]
    public Property One_replica_is_the_single_device_run() =>
        Prop.ForAll(Scenarios(), Gen.Elements(RouterPolicy.RoundRobin, RouterPolicy.LeastOutstandingTokens).ToArbitrary(), (s, router) =>
        {
            var one = Replicated(s, 1, router).Combined;
            var (single, _) = ServingLawTests.Run(s);
            return one.MakespanPs == single.MakespanPs && one.IterationEnergyJ == single.IterationEnergyJ && one.IdleEnergyJ == single.IdleEnergyJ
                && one.Requests.Zip(single.Requests).All(p => p.First.FirstTokenPs == p.Second.FirstTokenPs && p.First.FinishPs == p.Second.FinishPs)
                && one.InterTokenPs.SequenceEqual(single.InterTokenPs);
        });

    /// <summary>N replicas fed round robin at N times the rate of deterministic arrivals of equal requests: replica
    /// k sees the single device's arrivals shifted by k gaps, so every request's latencies are the single device's.</summary>
    [Property(MaxTest = 60)]
    public Property Round_robin_at_n_times_the_rate_keeps_every_latency() =>
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
            {
                var rng = new Random(seed);
                int n = rng.Next(1, 6), gapPs = rng.Next(1_000_000, 80_000_001), prompt = rng.Next(1, 401), output = rng.Next(1, 61);
                var scheduler = BatchSchedulers.Ids[rng.Next(BatchSchedulers.Ids.Count)];
                const int count = 24;
                var options = new SchedulerOptions(8, 1024, 256);
                var single = Enumerable.Range(0, count).Select(i => new ServingRequest(i, (long)i * gapPs * n, prompt, output)).ToArray();
                var fast = Enumerable.Range(0, count * n).Select(i => new ServingRequest(i, (long)i * gapPs, prompt, output)).ToArray();
                ServingEngine Engine(int _) => new(BatchSchedulers.Create(scheduler), ServingLawTests.Analytic, new KvBlockManager(4096, 16), options, 100);
                var one = ReplicatedServing.Run(single, 1, RouterPolicy.RoundRobin, Engine, 100).Combined;
                var many = ReplicatedServing.Run(fast, n, RouterPolicy.RoundRobin, Engine, 100).Combined;
                return many.Requests.All(q =>
                {
                    var p = one.Requests[q.Spec.Id / n];
                    return q.FirstTokenPs - q.Spec.ArrivalPs == p.FirstTokenPs - p.Spec.ArrivalPs && q.FinishPs - q.Spec.ArrivalPs == p.FinishPs - p.Spec.ArrivalPs;
                });
            });

    /// <summary>Requests so far apart that they never meet: TTFT is the prefill device's cost of the prompt, and the
    /// time from the first token to the last is the KV transfer plus the decode device's cost of every decode.</summary>
    [Property(MaxTest = 100)]
    public Property Isolated_requests_take_prefill_then_transfer_then_decode() =>
        Prop.ForAll(Gen.Choose(1, 2000).ToArbitrary(), Gen.Choose(2, 100).ToArbitrary(), (prompt, output) =>
        {
            var requests = Enumerable.Range(0, 4).Select(i => new ServingRequest(i, i * 1_000_000_000_000L, prompt, output)).ToArray();
            var r = DisaggregatedServing.Run(requests, new VllmScheduler(), ServingLawTests.Analytic, new KvBlockManager(1000, 16), 100,
                DecodeAnalytic, new KvBlockManager(1000, 16), 50, new SchedulerOptions(), BytesPerToken, Link);
            var ttft = ServingLawTests.Analytic([new SequenceWork(prompt, 0)]).TimePs;
            var transfer = Link.TimePs((long)Math.Ceiling(prompt * BytesPerToken));
            long decode = 0;
            for (var g = 1; g < output; g++) decode += DecodeAnalytic([new SequenceWork(1, prompt + g - 1)]).TimePs;
            return r.Combined.Requests.All(q => q.FirstTokenPs - q.Spec.ArrivalPs == ttft && q.FinishPs - q.FirstTokenPs == transfer + decode)
                && r.TransferPs.All(t => t == transfer);
        });

    /// <summary>Two transfers leaving one prefill instance at once share its link: each takes the latency and twice
    /// the bytes' time; from two instances each takes what it takes alone.</summary>
    [Fact]
    public void Transfers_from_one_instance_share_its_link()
    {
        const long bytes = 1_000_000_000; // 20 ms alone at 50 GB/s
        var alone = Link.TimePs(bytes);
        Assert.Equal(2_000_000 + 20_000_000_000, alone);
        var shared = Link.Transfers([(0, bytes, 0), (0, bytes, 0)], 1);
        Assert.Equal([2_000_000 + 40_000_000_000, 2_000_000 + 40_000_000_000], shared);
        var apart = Link.Transfers([(0, bytes, 0), (0, bytes, 1)], 2);
        Assert.Equal([alone, alone], apart);
        // The second joins 12 ms after the first (each after the 2 us latency): the first has 400 MB left, which
        // takes 16 ms at half the rate; the second has then 600 MB left, 12 ms alone.
        var staggered = Link.Transfers([(0, bytes, 0), (12_000_000_000, bytes, 0)], 1);
        Assert.Equal([2_000_000 + 28_000_000_000, 2_000_000 + 40_000_000_000], staggered);
    }

    /// <summary>Contention never helps: every transfer lands no earlier than it would alone, and no later than
    /// if every transfer of its instance that started by its end had gone before it, one after another.</summary>
    [Property(MaxTest = 200)]
    public Property Contended_transfers_land_between_alone_and_one_after_another() =>
        Prop.ForAll(Gen.ListOf(Gen.Choose(0, 50).SelectMany(t => Gen.Choose(1, 400).SelectMany(b => Gen.Choose(0, 2).Select(c => (StartPs: t * 1_000_000_000L, Bytes: b * 1_000_000L, Source: c))))).ToArbitrary(), raw =>
        {
            var moves = raw
                .OrderBy(m => m.StartPs).ToArray();
            var landed = Link.Transfers(moves, 3);
            return Enumerable.Range(0, moves.Length).All(i =>
            {
                var m = moves[i];
                if (landed[i] < m.StartPs + Link.TimePs(m.Bytes)) return false;
                var before = moves.Where(o => o.Source == m.Source && o.StartPs <= landed[i]).Sum(o => o.Bytes);
                return landed[i] <= m.StartPs + Link.TimePs(before) + moves.Length; // a picosecond of rounding per re-share
            });
        });

    [Property(MaxTest = 50)]
    public Property Disaggregated_and_replicated_runs_are_deterministic() =>
        Prop.ForAll(Scenarios(), s =>
        {
            var a = Disagg(s).Combined;
            var b = Disagg(s).Combined;
            var c = Replicated(s, 3, RouterPolicy.LeastOutstandingTokens).Combined;
            var d = Replicated(s, 3, RouterPolicy.LeastOutstandingTokens).Combined;
            return a.MakespanPs == b.MakespanPs && a.InterTokenPs.SequenceEqual(b.InterTokenPs)
                && c.MakespanPs == d.MakespanPs && c.InterTokenPs.SequenceEqual(d.InterTokenPs)
                && a.Requests.Zip(b.Requests).All(p => p.First.FinishPs == p.Second.FinishPs)
                && c.Requests.Zip(d.Requests).All(p => p.First.FinishPs == p.Second.FinishPs);
        });

    /// <summary>Least outstanding tokens sends a request to an idle replica before a busy one.</summary>
    [Fact]
    public void Least_outstanding_tokens_avoids_the_busy_replica()
    {
        // A long request, then two short ones while it still runs: round robin puts the third on the long one's replica.
        var requests = new[] { new ServingRequest(0, 0, 2000, 200), new ServingRequest(1, 1_000_000, 10, 2), new ServingRequest(2, 2_000_000, 10, 2) };
        ServingEngine Engine(int _) => new(new VllmScheduler(), ServingLawTests.Analytic, new KvBlockManager(4096, 16), new SchedulerOptions(), 100);
        var rr = ReplicatedServing.Run(requests, 2, RouterPolicy.RoundRobin, Engine, 100);
        var lot = ReplicatedServing.Run(requests, 2, RouterPolicy.LeastOutstandingTokens, Engine, 100);
        Assert.Equal([0, 1, 0], rr.Assignment);
        Assert.Equal([0, 1, 1], lot.Assignment);
        Assert.True(lot.Combined.Requests[2].FinishPs < rr.Combined.Requests[2].FinishPs);
    }
}
