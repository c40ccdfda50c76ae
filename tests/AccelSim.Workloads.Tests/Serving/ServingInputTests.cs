using AccelSim.Core.Config;
using AccelSim.Core.Time;
using AccelSim.Workloads.Serving;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Workloads.Tests.Serving;

public class ServingInputTests
{
    [Fact]
    public void Poisson_gaps_have_the_rate_and_a_coefficient_of_variation_of_one()
    {
        var r = Arrivals.Generate(20_000, 4, 1, LengthDistribution.Fixed(10), LengthDistribution.Fixed(10), seed: 3);
        var gaps = r.Zip(r.Skip(1), (a, b) => Ps.ToSeconds(b.ArrivalPs - a.ArrivalPs)).ToArray();
        var mean = gaps.Average();
        var sd = Math.Sqrt(gaps.Select(g => (g - mean) * (g - mean)).Average());
        Assert.InRange(mean, 0.25 * 0.97, 0.25 * 1.03);
        Assert.InRange(sd / mean, 0.96, 1.04);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(3.0)]
    public void Gamma_gaps_have_the_rate_and_the_coefficient_of_variation_asked(double cv)
    {
        var r = Arrivals.Generate(40_000, 2, cv, LengthDistribution.Fixed(10), LengthDistribution.Fixed(10), seed: 5);
        var gaps = r.Zip(r.Skip(1), (a, b) => Ps.ToSeconds(b.ArrivalPs - a.ArrivalPs)).ToArray();
        var mean = gaps.Average();
        var sd = Math.Sqrt(gaps.Select(g => (g - mean) * (g - mean)).Average());
        Assert.InRange(mean, 0.5 * 0.95, 0.5 * 1.05);
        Assert.InRange(sd / mean, cv * 0.93, cv * 1.07);
    }

    [Fact]
    public void The_same_seed_gives_the_same_requests_and_another_seed_others()
    {
        var lengths = LengthDistribution.Parse("lognormal:512,256", "--prompt-tokens");
        var a = Arrivals.Generate(500, 3, 2, lengths, LengthDistribution.Parse("uniform:1-200", "--output-tokens"), seed: 9);
        var b = Arrivals.Generate(500, 3, 2, lengths, LengthDistribution.Parse("uniform:1-200", "--output-tokens"), seed: 9);
        var c = Arrivals.Generate(500, 3, 2, lengths, LengthDistribution.Parse("uniform:1-200", "--output-tokens"), seed: 10);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.All(a, x => Assert.InRange(x.OutputTokens, 1, 200));
        Assert.InRange(a.Average(x => x.PromptTokens), 450, 580);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("uniform:5-2")]
    [InlineData("normal:abc")]
    [InlineData("zipf:1,2")]
    public void A_bad_length_is_refused_with_what_was_expected(string text)
    {
        var e = Assert.Throws<InputException>(() => LengthDistribution.Parse(text, "--prompt-tokens"));
        Assert.Equal("--prompt-tokens", e.Problems[0].Path);
        Assert.Contains("uniform:MIN-MAX", e.Message);
    }

    [Fact]
    public void A_native_trace_is_read_in_arrival_order_with_its_prefixes()
    {
        var text = "arrival_s,prompt_tokens,output_tokens,prefix_id\n0.5,100,10,3\n0.25,200,20,\n";
        var r = RequestTrace.Read(new StringReader(text), "t.csv");
        Assert.Equal(2, r.Count);
        Assert.Equal(new ServingRequest(0, Ps.FromSeconds(0.25), 200, 20), r[0]);
        Assert.Equal(new ServingRequest(1, Ps.FromSeconds(0.5), 100, 10, 3), r[1]);
    }

    [Fact]
    public void An_azure_trace_is_read_as_it_is_published()
    {
        var text = "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n";
        var r = RequestTrace.Read(new StringReader(text), "AzureLLMInferenceTrace_code.csv");
        Assert.Equal(0, r[0].ArrivalPs);
        Assert.Equal(4_314_579_000_000, r[1].ArrivalPs);
        Assert.Equal((396, 109), (r[1].PromptTokens, r[1].OutputTokens));
    }

    [Fact]
    public void Every_bad_line_of_a_trace_is_named_with_its_column()
    {
        var text = "arrival_s,prompt_tokens,output_tokens\n0,100,10\n-1,100,10\n0.5,x,10\n0.6,5\n";
        var e = Assert.Throws<InputException>(() => RequestTrace.Read(new StringReader(text), "t.csv"));
        Assert.Equal(["line 3, column arrival_s", "line 4, column prompt_tokens", "line 5"], e.Problems.Select(p => p.Path));
        Assert.All(e.Problems, p => Assert.Equal("t.csv", p.File));
        var header = Assert.Throws<InputException>(() => RequestTrace.Read(new StringReader("a,b,c\n1,2,3\n"), "t.csv"));
        Assert.Equal("line 1", header.Problems[0].Path);
    }

    [Property(MaxTest = 500)]
    public Property A_bucket_rounds_up_by_less_than_its_bound_and_keeps_order() =>
        Prop.ForAll(Arb.From(Gen.Choose(1, int.MaxValue)), Arb.From(Gen.Choose(1, 12)), (x, bits) =>
        {
            var b = IterationCostModel.Bucket(x, bits);
            var next = IterationCostModel.Bucket(x + 1L, bits);
            return b >= x && b - x < x * Math.Pow(2, -bits) && next >= b && (x > 2L << bits || b == x);
        });

    [Fact]
    public void A_service_level_is_parsed_and_a_bad_one_refused()
    {
        Assert.Equal(new ServiceLevel(2, 0.1), ServiceLevel.Parse("ttft_p99=2,tpot_p99=0.1"));
        Assert.Equal(new ServiceLevel(null, 0.05), ServiceLevel.Parse("tpot_p99=0.05"));
        Assert.Equal(new ServiceLevel(null, null, 0.1, 2), ServiceLevel.Parse("itl_p99=0.1,queue_p50=2"));
        Assert.Equal("itl_p99=0.1,queue_p50=2", ServiceLevel.Parse("itl_p99=0.1, queue_p50=2").ToString());
        Assert.False(new ServiceLevel(null, null, 0.1).Attained(0.5, 0.01, maxItlS: 0.2));
        Assert.True(new ServiceLevel(1, 0.05, 0.1, 2).Attained(0.5, 0.01, maxItlS: 0.05, queueS: 1));
        Assert.Throws<InputException>(() => ServiceLevel.Parse("ttft_p50=2"));
        Assert.Throws<InputException>(() => ServiceLevel.Parse("ttft_p99=-1"));
    }

    [Fact]
    public void Percentiles_interpolate_between_order_statistics()
    {
        var d = Distribution.Of(Enumerable.Range(1, 101).Select(i => (double)i).ToArray());
        Assert.Equal((51, 51, 91, 100, 101), (d.Mean, d.P50, d.P90, d.P99, d.Max));
    }
}
