using AccelSim.Core.Config;
using AccelSim.Workloads.Serving;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Workloads.Tests.Serving;

/// <summary>Orca's contiguous KV reservation (<c>--orca-reserve</c> max, pow2, oracle) under the serving laws: every
/// request finishes exactly once with its tokens, the cache never reserves more than it holds and a reservation
/// never holds less than its request uses. What holds by construction about the modes: a request's reservation is
/// ordered oracle &lt;= pow2 &lt;= max, so from the same queue the first admission takes oracle &gt;= pow2 &gt;= max
/// requests. Later batch sizes and throughput follow different histories and are not ordered by construction
/// (the reproduction on OPT-13B checks the throughput order).</summary>
public class OrcaReservationLawTests
{
    private static readonly OrcaReserve[] Modes = [OrcaReserve.Max, OrcaReserve.Pow2, OrcaReserve.Oracle];

    private sealed record Case(ServingLawTests.Scenario S, int MaxSequence)
    {
        public override string ToString() => $"{S}, max sequence {MaxSequence}";
    }

    private static Case Make(int seed)
    {
        var s = ServingLawTests.Make(seed) with { Scheduler = "orca" };
        var rng = new Random(seed ^ 0x5eed);
        var longest = s.Requests.Max(r => r.PromptTokens + r.OutputTokens);
        var maxSequence = longest + rng.Next(0, 400);
        // The cache holds at least one maximal reservation, often little more, so that reservations bind.
        var minBlocks = (maxSequence + s.BlockTokens - 1L) / s.BlockTokens;
        return new Case(s with { Blocks = Math.Max(s.Blocks, minBlocks + rng.Next(0, (int)minBlocks * 2 + 1)) }, maxSequence);
    }

    private static Arbitrary<Case> Cases() => Arb.From(Gen.Choose(0, int.MaxValue).Select(Make));

    private static ServingResult Run(Case c, OrcaReserve mode) => ServingSimulator.Run(c.S.Requests, new OrcaScheduler(), ServingLawTests.Analytic,
        new KvBlockManager(c.S.Blocks, c.S.BlockTokens), c.S.Options with { OrcaReserve = mode, MaxSequenceTokens = c.MaxSequence }, 100);

    [Property(MaxTest = 150)]
    public Property Every_request_finishes_exactly_once_with_its_tokens_and_reservations_stay_within_the_cache() =>
        Prop.ForAll(Cases(), c => Modes.All(mode =>
        {
            var r = Run(c, mode);
            var kr = r.KvReservation!;
            return r.Requests.Count == c.S.Requests.Length
                && r.Requests.All(q => q.Finished && q.Generated == q.Spec.OutputTokens && q.Blocks == 0 && q.Preemptions == 0)
                && r.InterTokenPs.Count == c.S.Requests.Sum(q => q.OutputTokens - 1)
                && r.KvPeakBlocks <= c.S.Blocks
                && kr.PeakReservedTokens <= c.S.Blocks * c.S.BlockTokens
                && r.Iterations.All(i => i.KvBlocks <= c.S.Blocks)
                && kr.UsedTokenS <= kr.ReservedTokenS * (1 + 1e-12)
                && kr.WastedShare is >= 0 and <= 1;
        }));

    [Property(MaxTest = 300)]
    public Property A_reservation_is_ordered_oracle_pow2_max_and_holds_the_request() =>
        Prop.ForAll(Gen.Choose(1, 4000).ToArbitrary(), Gen.Choose(1, 4000).ToArbitrary(), Gen.Choose(0, 4000).ToArbitrary(), (p, o, extra) =>
        {
            var max = p + o + extra;
            var oracle = OrcaReservation.Tokens(OrcaReserve.Oracle, p, o, max);
            var pow2 = OrcaReservation.Tokens(OrcaReserve.Pow2, p, o, max);
            var m = OrcaReservation.Tokens(OrcaReserve.Max, p, o, max);
            return oracle == p + o - 1 && oracle <= pow2 && pow2 <= m && m == max
                && (pow2 == max || (pow2 & (pow2 - 1)) == 0) && pow2 < 2L * (p + o);
        });

    [Property(MaxTest = 150)]
    public Property From_the_same_queue_the_first_admission_takes_oracle_at_least_pow2_at_least_max() =>
        Prop.ForAll(Cases(), c =>
        {
            var atOnce = c with { S = c.S with { Requests = c.S.Requests.Select(q => q with { ArrivalPs = 0 }).ToArray() } };
            var first = Modes.Select(m => Run(atOnce, m).Iterations[0].Sequences).ToArray();
            return (first[2] >= first[1] && first[1] >= first[0]).Label($"max {first[0]}, pow2 {first[1]}, oracle {first[2]}");
        });

    [Fact]
    public void Max_without_the_models_maximum_sequence_length_is_refused()
    {
        var e = Assert.Throws<AccelSim.Core.Config.InputException>(() => new SchedulerOptions { OrcaReserve = OrcaReserve.Max }.Validate());
        Assert.Contains(RequestParameter.OrcaReserve, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Max_wastes_more_of_the_reserved_cache_than_oracle()
    {
        var requests = Enumerable.Range(0, 40).Select(i => new ServingRequest(i, i * 10_000_000L, 50 + i * 7 % 90, 20 + i * 13 % 70)).ToArray();
        var c = new Case(new ServingLawTests.Scenario(0, "orca", requests, 400, 16, new SchedulerOptions(32, 4096, 512)), 1024);
        var max = Run(c, OrcaReserve.Max).KvReservation!;
        var oracle = Run(c, OrcaReserve.Oracle).KvReservation!;
        Assert.True(max.WastedShare > 0.8, $"max wastes {max.WastedShare}");
        Assert.True(oracle.WastedShare < max.WastedShare, $"oracle {oracle.WastedShare}, max {max.WastedShare}");
    }
}
