using AccelSim.Core.Config;
using AccelSim.Workloads.Serving;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Workloads.Tests.Serving;

/// <summary>How Orca forms its iterations (<c>--orca-iterations</c>): <c>mixed</c> (Orca's selective batching) or
/// <c>prefill-first</c> (as vLLM's original scheduler). Laws: with prefill-first no iteration holds both a prompt's
/// prefill and a decode, and every request still finishes exactly once with its tokens inside the cache; where the
/// cache holds every request at once (so that neither Orca's reservation nor vLLM's paging ever binds), prefill-first
/// Orca and vLLM serve identically: they differ in the KV reservation alone.</summary>
public class OrcaIterationLawTests
{
    private static readonly OrcaReserve[] Modes = [OrcaReserve.Max, OrcaReserve.Pow2, OrcaReserve.Oracle];

    private static ServingLawTests.Scenario Make(int seed, bool roomy)
    {
        var s = ServingLawTests.Make(seed);
        var rng = new Random(seed ^ 0x0c4a);
        var longest = s.Requests.Max(r => r.PromptTokens + r.OutputTokens);
        // Roomy: every request's largest reservation at once. Otherwise at least one maximal reservation, often little
        // more, so that reservations bind.
        var maxBlocks = (longest + 400 + s.BlockTokens - 1L) / s.BlockTokens;
        var blocks = roomy ? maxBlocks * s.Requests.Length : maxBlocks + rng.Next(0, (int)maxBlocks * 2 + 1);
        return s with { Scheduler = "orca", Blocks = blocks };
    }

    private static int MaxSequence(ServingLawTests.Scenario s) => s.Requests.Max(r => r.PromptTokens + r.OutputTokens) + 400;

    private static ServingResult Run(ServingLawTests.Scenario s, IBatchScheduler scheduler, SchedulerOptions options, List<bool>? mixed = null) =>
        ServingSimulator.Run(s.Requests, scheduler, w =>
        {
            if (mixed is not null)
            {
                bool prefill = false, decode = false;
                foreach (var x in w)
                {
                    if (x.Context == 0) prefill = true;
                    else decode = true;
                }
                mixed.Add(prefill && decode);
            }
            return ServingLawTests.Analytic(w);
        }, new KvBlockManager(s.Blocks, s.BlockTokens), options, 100);

    private static SchedulerOptions Orca(ServingLawTests.Scenario s, OrcaReserve mode, OrcaIterations iterations) =>
        s.Options with { OrcaReserve = mode, OrcaIterations = iterations, MaxSequenceTokens = MaxSequence(s) };

    [Property(MaxTest = 150)]
    public Property Prefill_first_never_mixes_a_prefill_with_a_decode_and_every_request_finishes_within_the_cache() =>
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var s = Make(seed, roomy: false);
            return Modes.All(mode =>
            {
                var mixed = new List<bool>();
                var r = Run(s, new OrcaScheduler(), Orca(s, mode, OrcaIterations.PrefillFirst), mixed);
                return mixed.Count > 0 && !mixed.Contains(true)
                    && r.Requests.Count == s.Requests.Length
                    && r.Requests.All(q => q.Finished && q.Generated == q.Spec.OutputTokens && q.Blocks == 0 && q.Preemptions == 0)
                    && r.InterTokenPs.Count == s.Requests.Sum(q => q.OutputTokens - 1)
                    && r.KvPeakBlocks <= s.Blocks;
            }).Label($"seed {seed}");
        });

    [Property(MaxTest = 150)]
    public Property Where_the_cache_never_binds_prefill_first_orca_serves_as_vllm_does() =>
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var s = Make(seed, roomy: true);
            var vllm = Run(s, new VllmScheduler(), s.Options);
            return Modes.All(mode =>
            {
                var orca = Run(s, new OrcaScheduler(), Orca(s, mode, OrcaIterations.PrefillFirst));
                return orca.MakespanPs == vllm.MakespanPs
                    && orca.Iterations.Select(i => (i.StartPs, i.Sequences, i.Tokens)).SequenceEqual(vllm.Iterations.Select(i => (i.StartPs, i.Sequences, i.Tokens)))
                    && orca.Requests.OrderBy(q => q.Spec.Id).Select(q => (q.FirstTokenPs, q.FinishPs))
                        .SequenceEqual(vllm.Requests.OrderBy(q => q.Spec.Id).Select(q => (q.FirstTokenPs, q.FinishPs)));
            }).Label($"seed {seed}");
        });

    [Fact]
    public void Mixed_iterations_put_new_prompts_beside_the_running_decodes()
    {
        // Two requests, the second arriving while the first decodes: mixed prefills it in a decoding iteration,
        // prefill-first in an iteration of its own, which stalls the first request's decode for a whole iteration.
        ServingRequest[] requests = [new(0, 0, 100, 50), new(1, 20_000_000, 100, 50)];
        var s = new ServingLawTests.Scenario(0, "orca", requests, 1000, 16, new SchedulerOptions(8, 4096, 512));
        var mixed = new List<bool>();
        var separate = new List<bool>();
        var m = Run(s, new OrcaScheduler(), Orca(s, OrcaReserve.Oracle, OrcaIterations.Mixed), mixed);
        var p = Run(s, new OrcaScheduler(), Orca(s, OrcaReserve.Oracle, OrcaIterations.PrefillFirst), separate);
        Assert.Contains(true, mixed);
        Assert.DoesNotContain(true, separate);
        Assert.True(p.Requests.Single(q => q.Spec.Id == 0).FinishPs > m.Requests.Single(q => q.Spec.Id == 0).FinishPs);
    }

    [Theory]
    [InlineData("mixed", OrcaIterations.Mixed)]
    [InlineData("prefill-first", OrcaIterations.PrefillFirst)]
    public void The_policy_parses_and_names_itself(string text, OrcaIterations mode)
    {
        Assert.Equal(mode, OrcaIterationPolicy.Parse(text));
        Assert.Equal(text, OrcaIterationPolicy.Id(mode));
    }

    [Fact]
    public void An_unknown_policy_is_refused_by_its_parameter_name()
    {
        var e = Assert.Throws<InputException>(() => OrcaIterationPolicy.Parse("vllm"));
        Assert.Contains(RequestParameter.OrcaIterations, e.Message, StringComparison.Ordinal);
        Assert.Contains("mixed or prefill-first", e.Message, StringComparison.Ordinal);
    }
}
