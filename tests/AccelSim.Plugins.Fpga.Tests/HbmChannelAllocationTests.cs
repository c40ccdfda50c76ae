using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Workloads.Models;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace AccelSim.Plugins.Fpga.Tests;

/// <summary>The stages of a dataflow pipeline share the HBM pseudo-channels in proportion to their bytes,
/// so a memory-bound decode pipeline runs close to the full HBM rate.</summary>
public class HbmChannelAllocationTests(ITestOutputHelper output)
{
    private static Gen<(long[] Bytes, int Channels)> Cases() =>
        from n in Gen.Choose(1, 12)
        from exps in Gen.ArrayOf(Gen.Choose(0, 10), n)
        from mantissas in Gen.ArrayOf(Gen.Choose(0, 1000), n)
        from channels in Gen.Choose(1, 64)
        select (exps.Select((e, i) => e == 0 ? 0L : mantissas[i] * (long)Math.Pow(10, e)).ToArray(), channels);

    [Fact]
    public void NoStageBeatsTheFullRateAndWholeChannelsLoseAtMostTheirRounding()
    {
        // The busiest stage's bytes over its share of the rate: never less than all bytes at the full rate
        // (the channels are not over-subscribed), and with S stages on U channels never more than
        // U / (U - S + 1) times it (every stage keeps at least one channel, the rest go by bytes).
        Prop.ForAll(Cases().ToArbitrary(), x =>
        {
            var (bytes, channels) = x;
            var shares = HbmChannelAllocation.Shares(bytes, channels);
            var whole = HbmChannelAllocation.Channels(bytes, channels);
            long total = bytes.Sum();
            var stages = bytes.Count(b => b > 0);
            double busiest = 0;
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] == 0)
                {
                    if (shares[i] != 0 || whole[i] != 0) return false.Label($"stage {i} has no bytes but a share");
                    continue;
                }
                if (shares[i] <= 0 || whole[i] < 1 || whole[i] > channels) return false.Label($"stage {i}: share {shares[i]}, {whole[i]} channels");
                busiest = Math.Max(busiest, bytes[i] / shares[i]);
            }
            if (total == 0) return true.Label("no bytes");
            if (busiest < total * (1 - 1e-12)) return false.Label($"busiest {busiest} < total {total}");
            if (stages <= channels && busiest > total * channels / (double)(channels - stages + 1) * (1 + 1e-12))
                return false.Label($"busiest {busiest} beyond the rounding bound for {stages} stages on {channels} channels");
            return true.Label("ok");
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void ChannelsGoInProportionToBytes()
    {
        // gate_up and down of a llama2-7b decode layer (fp16): 180 MB and 90 MB on the U280's 32 channels.
        Assert.Equal(new[] { 21, 11 }, HbmChannelAllocation.Channels([180_355_072, 90_177_536], 32));
        // Equal bytes, equal channels.
        Assert.Equal(new[] { 16, 16 }, HbmChannelAllocation.Channels([1000, 1000], 32));
    }

    [Fact]
    public void SmallStagesShareTheLargestStagesChannels()
    {
        // qkv, a residual vector, attention's KV and o_proj: the 8 KB residual takes no channel of its own.
        long[] bytes = [100_663_296, 8_192, 33_570_816, 33_554_432];
        var channels = HbmChannelAllocation.Channels(bytes, 32);
        Assert.Equal(32, channels[0] + channels[2] + channels[3]);
        Assert.Equal(channels[0], channels[1]);
        var shares = HbmChannelAllocation.Shares(bytes, 32);
        Assert.True(shares[0] + shares[2] + shares[3] <= 1 + 1e-12);
    }

    [Fact]
    public void MoreStagesThanChannelsTimeShareThemByBytes()
    {
        var shares = HbmChannelAllocation.Shares([1, 2, 3], 2);
        Assert.Equal(1.0, shares.Sum(), 12);
        Assert.Equal(2 * shares[0], shares[1], 12);
        Assert.Equal(3 * shares[0], shares[2], 12);
    }

    [Fact]
    public void DecodePipelineRunsCloseToTheFullHbmRate()
    {
        // llama2-7b decode (fp16, batch 1, 2,048 cached tokens) on the U280: every op is memory-bound, so
        // neither schedule can beat the bytes at the achievable HBM rate. Op by op each GEMV has all 32
        // channels; the pipeline streams each layer's GEMVs at once along their features on whole
        // channels in proportion to their bytes. Before the stages streamed along features and shared
        // the channels by bytes the pipeline took 69.7 ms against 39.4 ms op by op.
        var graph = FpgaTestSupport.Llama("llama2-7b", Phase.Decode, 1, 2048);
        var device = FpgaTestSupport.Model("u280");
        var seq = FpgaTestSupport.Run(graph, device, "sequential");
        var df = FpgaTestSupport.Run(graph, device, "dataflow");
        var floor = df.OffChipBytes / device.HbmRate;
        output.WriteLine($"sequential {seq.LatencyS * 1e3:0.###} ms, dataflow {df.LatencyS * 1e3:0.###} ms, HBM floor {floor * 1e3:0.###} ms");
        Assert.True(df.LatencyS >= floor * (1 - 1e-9), "faster than the HBM rate allows");
        Assert.True(df.LatencyS <= 1.1 * floor, $"dataflow {df.LatencyS} s is more than 10% above the HBM floor {floor} s");
        Assert.True(df.LatencyS <= 1.1 * seq.LatencyS, $"dataflow {df.LatencyS} s, sequential {seq.LatencyS} s");

        // A decoder layer: the norms cut it into three segments (the norm; attention up to the second
        // norm; the MLP), each streaming 128-element feature tiles.
        var layer = Regions.ByLayer(graph).First(g => g.Any(op => op.Name == "layer1.qkv"));
        var note = device.CostRegion(new Region(layer, graph)).Note!;
        Assert.Contains("in 3 segments", note);
        Assert.Contains("32 feature tiles", note);
    }

    [Fact]
    public void WithoutFeatureStreamingTheDecodeStagesRunOneAfterAnother()
    {
        // Feature tiles larger than any vector leave only whole hand-offs: every stage of a layer its own
        // segment on its share of the DSP chains, compute-bound, as the pipeline ran before it streamed
        // along features.
        var graph = FpgaTestSupport.Llama("llama2-7b", Phase.Decode, 1, 2048);
        var streamed = FpgaTestSupport.Seconds(graph, FpgaTestSupport.Model("u280"), "dataflow");
        var whole = FpgaTestSupport.Seconds(graph, FpgaTestSupport.Model(FpgaTestSupport.Load("u280").With(("dataflow.vector_tile_elements", 1 << 30))), "dataflow");
        output.WriteLine($"streamed {streamed * 1e3:0.###} ms, whole hand-offs {whole * 1e3:0.###} ms");
        Assert.True(whole > 1.4 * streamed, $"whole hand-offs {whole} s, streamed {streamed} s");
    }

    [Fact]
    public void EqualShareOfChannelsWouldLeaveTheBiggestStageBehind()
    {
        // The reason for proportional channels: at equal shares the MLP segment (gate_up 180 MB, down
        // 90 MB) would take as long as gate_up on half the channels, 4/3 of its bytes at the full rate.
        long[] bytes = [180_355_072, 90_177_536];
        var device = FpgaTestSupport.Model("u280");
        var shares = HbmChannelAllocation.Shares(bytes, device.Spec.HbmPorts);
        var proportional = Math.Max(bytes[0] / shares[0], bytes[1] / shares[1]) / device.HbmRate;
        var equal = bytes[0] / 0.5 / device.HbmRate;
        var full = bytes.Sum() / device.HbmRate;
        Assert.True(proportional <= 1.02 * full, $"{proportional} s vs {full} s at the full rate");
        Assert.True(equal >= 1.3 * full);
    }
}
