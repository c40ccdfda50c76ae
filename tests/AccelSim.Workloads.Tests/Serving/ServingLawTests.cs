using AccelSim.Core.Config;
using AccelSim.Workloads.Serving;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Workloads.Tests.Serving;

/// <summary>The serving laws of DESIGN.md under every policy, with an analytic iteration cost so that thousands of
/// scenarios run in seconds: every request finishes exactly once with exactly its tokens, the cache never holds
/// more blocks than it has, and a run is a pure function of its inputs.</summary>
public class ServingLawTests
{
    /// <summary>A fixed cost per iteration, per new token and per cached token attended: enough structure for
    /// batching to pay and for long contexts to cost.</summary>
    internal static IterationCost Analytic(ReadOnlySpan<SequenceWork> work)
    {
        long tokens = 0, context = 0;
        foreach (var w in work)
        {
            tokens += w.Query;
            context += w.Context * w.Query;
        }
        return new IterationCost(5_000_000 + 20_000 * tokens + 10 * context, 1e-3 * tokens);
    }

    internal sealed record Scenario(int Seed, string Scheduler, ServingRequest[] Requests, long Blocks, int BlockTokens, SchedulerOptions Options)
    {
        public override string ToString() =>
            $"seed {Seed}: {Scheduler}, {Requests.Length} requests, {Blocks} blocks of {BlockTokens}, {Options}";
    }

    internal static Scenario Make(int seed)
    {
        var rng = new Random(seed);
        var scheduler = BatchSchedulers.Ids[rng.Next(BatchSchedulers.Ids.Count)];
        var n = rng.Next(1, 40);
        var requests = new ServingRequest[n];
        long t = 0;
        for (var i = 0; i < n; i++)
        {
            t += rng.Next(0, 3) == 0 ? 0 : rng.Next(0, 50_000_000);
            requests[i] = new ServingRequest(i, t, rng.Next(1, 300), rng.Next(1, 60));
        }
        var blockTokens = rng.Next(1, 33);
        // The cache holds at least the longest request, often little more, so that paged policies preempt.
        var longest = requests.Max(r => (long)r.PromptTokens + r.OutputTokens - 1);
        var minBlocks = (longest + blockTokens - 1) / blockTokens;
        var blocks = minBlocks + rng.Next(0, (int)minBlocks * 3 + 1);
        var options = new SchedulerOptions(rng.Next(1, 17), rng.Next(1, 1024), rng.Next(1, 400));
        return new Scenario(seed, scheduler, requests, blocks, blockTokens, options);
    }

    internal static (ServingResult Result, int Finishes) Run(Scenario s)
    {
        var finishes = 0;
        var result = ServingSimulator.Run(s.Requests, BatchSchedulers.Create(s.Scheduler), Analytic, new KvBlockManager(s.Blocks, s.BlockTokens),
            s.Options, 100, new Counter(() => finishes++));
        return (result, finishes);
    }

    private sealed class Counter(Action a) : IProgress<int>
    {
        public void Report(int value) => a();
    }

    private static Arbitrary<Scenario> Scenarios() => Arb.From(Gen.Choose(0, int.MaxValue).Select(Make));

    [Property(MaxTest = 300)]
    public Property Every_request_finishes_exactly_once_with_exactly_its_tokens() =>
        Prop.ForAll(Scenarios(), s =>
        {
            var (r, finishes) = Run(s);
            return finishes == s.Requests.Length
                && r.InterTokenPs.Count == s.Requests.Sum(q => q.OutputTokens - 1)
                && r.Requests.All(q => q.Finished && q.Generated == q.Spec.OutputTokens && q.Blocks == 0)
                && r.Requests.All(q => q.Spec.ArrivalPs <= q.FirstScheduledPs && q.FirstScheduledPs < q.FirstTokenPs && q.FirstTokenPs <= q.FinishPs)
                && r.Requests.Select(q => q.Spec.Id).Distinct().Count() == s.Requests.Length;
        });

    [Property(MaxTest = 300)]
    public Property Kv_blocks_in_use_never_exceed_capacity() =>
        Prop.ForAll(Scenarios(), s =>
        {
            var (r, _) = Run(s);
            return r.KvPeakBlocks <= r.KvCapacityBlocks && r.Iterations.All(i => i.KvBlocks <= r.KvCapacityBlocks);
        });

    [Property(MaxTest = 100)]
    public Property Same_inputs_same_run() =>
        Prop.ForAll(Scenarios(), s =>
        {
            var a = ServingSummary.Compute(Run(s).Result, null);
            var b = ServingSummary.Compute(Run(s).Result, null);
            return a.PerRequest.SequenceEqual(b.PerRequest) && a.EnergyJ == b.EnergyJ && a.Iterations == b.Iterations;
        });

    [Property(MaxTest = 200)]
    public Property Iterations_never_overlap_and_respect_the_batch_limits() =>
        Prop.ForAll(Scenarios(), s =>
        {
            var (r, _) = Run(s);
            var ok = true;
            for (var i = 1; i < r.Iterations.Count; i++) ok &= r.Iterations[i].StartPs >= r.Iterations[i - 1].StartPs + r.Iterations[i - 1].DurationPs;
            // Sarathi's budget bounds prefill chunks; decodes always run (each is one token).
            if (s.Scheduler == "sarathi")
                ok &= r.Iterations.All(i => i.Tokens <= Math.Max(s.Options.Chunk, i.Sequences));
            return ok && r.Iterations.All(i => i.Sequences <= s.Options.MaxBatch);
        });

    [Fact]
    public void Paged_policies_preempt_by_recomputation_when_the_cache_runs_out_and_still_finish_everything()
    {
        // Eight requests that each grow to 200 tokens in a cache of 400 tokens: decodes run out of blocks.
        var requests = Enumerable.Range(0, 8).Select(i => new ServingRequest(i, 0, 40, 161)).ToArray();
        foreach (var id in new[] { "vllm", "sarathi" })
        {
            var kv = new KvBlockManager(25, 16);
            var result = ServingSimulator.Run(requests, BatchSchedulers.Create(id), Analytic, kv, new SchedulerOptions(8, 8192, 512), 0);
            Assert.True(result.Preemptions > 0, id);
            Assert.All(result.Requests, r => Assert.Equal(161, r.Generated));
            Assert.True(result.KvPeakBlocks <= 25);
            Assert.Contains(result.Requests, r => r.Preemptions > 0);
        }
    }

    [Fact]
    public void Static_batching_waits_for_the_whole_batch_and_continuous_batching_does_not()
    {
        // A long request and a short one arrive together, a third just after: static batching admits the third only
        // when both are done; Orca admits it at the next iteration.
        var requests = new[] { new ServingRequest(0, 0, 10, 100), new ServingRequest(1, 0, 10, 2), new ServingRequest(2, 1, 10, 2) };
        RequestState Third(string id) => ServingSimulator.Run(requests, BatchSchedulers.Create(id), Analytic, new KvBlockManager(1000, 16),
            new SchedulerOptions(), 0).Requests[2];
        var first = ServingSimulator.Run(requests, BatchSchedulers.Create("static"), Analytic, new KvBlockManager(1000, 16), new SchedulerOptions(), 0).Requests[0];
        Assert.True(Third("static").FirstScheduledPs >= first.FinishPs);
        Assert.True(Third("orca").FirstScheduledPs < first.FinishPs);
    }

    [Fact]
    public void Sarathi_chunks_a_long_prompt_under_its_budget_while_decodes_keep_going()
    {
        var requests = new[] { new ServingRequest(0, 0, 16, 50), new ServingRequest(1, 10_000_000, 2000, 2) };
        var result = ServingSimulator.Run(requests, new SarathiScheduler(), Analytic, new KvBlockManager(1000, 16), new SchedulerOptions(Chunk: 256), 0);
        Assert.All(result.Iterations, i => Assert.True(i.Tokens <= 256));
        // The decoding request never waits more than one chunked iteration between tokens.
        var longest = result.Iterations.Max(i => i.DurationPs);
        Assert.True(result.Requests[0].MaxInterTokenPs <= longest);
        // vLLM prefills the 2000 tokens in one iteration, stalling the decode for longer.
        var vllm = ServingSimulator.Run(requests, new VllmScheduler(), Analytic, new KvBlockManager(1000, 16), new SchedulerOptions(), 0);
        Assert.True(vllm.Requests[0].MaxInterTokenPs > result.Requests[0].MaxInterTokenPs);
    }

    [Fact]
    public void A_request_longer_than_the_cache_is_refused_by_name()
    {
        var e = Assert.Throws<InputException>(() => ServingSimulator.Run([new ServingRequest(7, 0, 100, 100)], new VllmScheduler(), Analytic,
            new KvBlockManager(4, 16), new SchedulerOptions(), 0));
        Assert.Equal("request 7", e.Problems[0].Path);
        Assert.Contains("13 KV blocks", e.Message);
    }
}
