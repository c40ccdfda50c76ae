using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Serving;

namespace AccelSim.Cli.Tests;

/// <summary>The iteration cost memo: rounding a size up to its bucket overstates the cost by no more than the
/// bucket's bound, and a ragged iteration costs what its parts do.</summary>
public class ServeCostTests
{
    private static readonly Core.Devices.IDeviceModel H100 = new GpuPlugin().Create(HardwareConfigLoader.LoadNamed("h100"));
    private static readonly ModelConfig Llama = ModelConfigLoader.LoadNamed("llama3-8b");

    [Theory]
    [InlineData(65)]
    [InlineData(97)]
    [InlineData(131)]
    [InlineData(1025)]
    [InlineData(3001)]
    public void Bucketed_costs_are_never_below_and_at_most_the_bound_above_the_exact_ones(int size)
    {
        var memo = new IterationCostModel(Llama, H100, bucketBits: 5);
        var exact = new IterationCostModel(Llama, H100, bucketBits: 20);
        var bound = memo.MaxRelativeRounding;
        void Check(IterationCost m, IterationCost e, string what)
        {
            Assert.True(m.TimePs >= e.TimePs, what);
            Assert.True(m.TimePs - e.TimePs <= bound * e.TimePs, $"{what}: {m.TimePs} vs {e.TimePs}");
        }
        Check(memo.Dense(size), exact.Dense(size), $"dense {size}");
        Check(memo.Attention(1, size, 0), exact.Attention(1, size, 0), $"prefill attention {size}");
        Check(memo.Attention(size % 200 + 1, 1, size), exact.Attention(size % 200 + 1, 1, size), $"decode attention at context {size}");
        Assert.True(memo.ObservedRounding <= bound);
    }

    [Fact]
    public void A_ragged_iteration_costs_its_token_parallel_work_plus_each_chunks_attention_plus_one_op_over_the_decodes()
    {
        var m = new IterationCostModel(Llama, H100);
        SequenceWork[] work = [new(256, 0), new(128, 512), new(1, 100), new(1, 300)];
        var total = m.Cost(work);
        var parts = new[] { m.Dense(386), m.Attention(1, 256, 0), m.Attention(1, 128, 512), m.Attention(2, 1, 200) };
        Assert.Equal(parts.Sum(p => p.TimePs), total.TimePs);
        Assert.Equal(parts.Sum(p => p.EnergyJ), total.EnergyJ, 9);
        // More context or more tokens never costs less.
        Assert.True(m.Cost([new(256, 0), new(128, 1024), new(1, 100), new(1, 300)]).TimePs >= total.TimePs);
        Assert.True(m.Cost([new(256, 0), new(128, 512), new(1, 100), new(1, 300), new(1, 300)]).TimePs >= total.TimePs);
    }
}
