using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Core.Tests.Support;
using AccelSim.Core.Time;

namespace AccelSim.Core.Tests;

/// <summary>Counts and times past 2^63 are refused, never clamped or wrapped.</summary>
public class RangeTests
{
    [Fact]
    public void SecondsPastTheClockRangeAreRefused()
    {
        Assert.Equal(9_000_000L * Ps.PerSecond, Ps.FromSeconds(9e6));
        var e = Assert.Throws<InputException>(() => Ps.FromSeconds(1e7));
        Assert.Contains("time range of 106 days", e.Message);
        Assert.Throws<InputException>(() => Ps.ForBytes(1e6, 1e-300));
    }

    [Fact]
    public void ASimulationPastTheClockRangeStopsInsteadOfWrapping()
    {
        // Two tasks of 5e18 ps in a chain end at 1e19 ps, past 2^63 - 1 (9.22e18).
        var half = 5_000_000_000_000_000_000L;
        var program = Programs.From([new OpCost(0, 0, half, [], 0), new OpCost(0, 0, half, [], 0)], [[], [0]]);
        var e = Assert.Throws<InputException>(() => new Simulator(program, new FakeDevice(FakeDevice.Simple())).Run());
        Assert.Contains("time range", e.Message);

        // One of them alone fits and ends exactly at its duration.
        var one = Programs.From([new OpCost(0, 0, half, [], 0)]);
        Assert.Equal(half, new Simulator(one, new FakeDevice(FakeDevice.Simple())).Run().MakespanPs);
    }

    [Fact]
    public void ATransferPastTheClockRangeStopsInsteadOfNeverEnding()
    {
        // 1e9 bytes at 1e-3 B/s take 1e12 s.
        var device = new FakeDevice(FakeDevice.Simple(bandwidth: 1e-3));
        var program = Programs.From([new OpCost(0, 0, 1, [new TransferDemand(0, 1_000_000_000, 1e-3, 0)], 0)]);
        Assert.Throws<InputException>(() => new Simulator(program, device).Run());
    }

    [Fact]
    public void ShapesPastTheCountRangeThrowRatherThanWrap()
    {
        const long n = 1L << 21;
        Assert.Throws<OverflowException>(() => new GemmShape(1, n, n, n).Flops);
        Assert.Equal(1L << 61, new GemmShape(1, n / 2, n / 2, n / 2).Flops);
        Assert.Throws<OverflowException>(() => new AttentionShape(1, 1L << 20, 1, 1L << 20, 1L << 20, 1L << 20, Causal: false).Flops);
    }

    [Fact]
    public void ByteCountsAreExactUpToTheRangeAndRefusedPastIt()
    {
        Assert.Equal(long.MaxValue, DType.Int8.BytesFor(long.MaxValue));
        Assert.Equal(long.MaxValue / 2 + 1, DType.Int4.BytesFor(long.MaxValue));
        Assert.Throws<OverflowException>(() => DType.Bf16.BytesFor(long.MaxValue / 2 + 1));
    }

    [Fact]
    public void AGraphWhoseTotalsPassTheRangeIsRefused()
    {
        const long big = 5_000_000_000_000_000_000L;
        var ops = new[]
        {
            new Op(0, "a", OpKind.Generic, -1, [], [], big, DType.Bf16),
            new Op(1, "b", OpKind.Generic, -1, [], [], big, DType.Bf16),
        };
        var e = Assert.Throws<InputException>(() => new WorkloadGraph(new WorkloadInfo("huge", "op", 1, 0, 0, 0), ops));
        Assert.Contains("total FLOPs", e.Message);
        Assert.Equal(big, new WorkloadGraph(new WorkloadInfo("one", "op", 1, 0, 0, 0), [ops[0]]).TotalFlops);
    }
}
