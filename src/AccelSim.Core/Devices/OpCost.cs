namespace AccelSim.Core.Devices;

/// <summary>Bytes an op moves over one channel. <see cref="RateCap_Bps"/> is the most this transfer can
/// draw on its own (an achievable-bandwidth curve, a per-core link); the channel may give it less when
/// it is shared. <see cref="EnergyPj"/> is the dynamic energy of moving the bytes.</summary>
public readonly record struct TransferDemand(int Channel, long Bytes, double RateCap_Bps, double EnergyPj);

/// <summary>The work one op (or fused group of ops) puts on a device: a fixed start-up latency, then
/// <see cref="ComputePs"/> of busy time on one unit of an engine in parallel with its transfers. The
/// op ends when the compute and every transfer have finished, which is how a kernel overlaps its
/// loads with its math.</summary>
public sealed class OpCost
{
    public OpCost(int engine, long latencyPs, long computePs, IReadOnlyList<TransferDemand> transfers, double computeEnergyPj, string? note = null)
    {
        if (latencyPs < 0 || computePs < 0) throw new ArgumentOutOfRangeException(nameof(computePs), "durations must be >= 0");
        foreach (var t in transfers)
        {
            if (t.Bytes < 0) throw new ArgumentOutOfRangeException(nameof(transfers), "transfer bytes must be >= 0");
            if (!(t.RateCap_Bps > 0)) throw new ArgumentOutOfRangeException(nameof(transfers), "transfer rate cap must be > 0");
        }
        Engine = engine;
        LatencyPs = latencyPs;
        ComputePs = computePs;
        Transfers = transfers.ToArray();
        ComputeEnergyPj = computeEnergyPj;
        Note = note;
    }

    public int Engine { get; }
    public long LatencyPs { get; }
    public long ComputePs { get; }

    /// <summary>For a task whose <see cref="ComputePs"/> also covers phases paced by its bytes (a region's
    /// ops run one after another, each taking the longer of its math and its traffic; a pipeline whose
    /// stages wait for data): the time its math alone needs, at most <see cref="ComputePs"/>. Metrics
    /// classify the bound and measure the wait for bytes with it; the simulator runs
    /// <see cref="ComputePs"/>. Unset: the math is <see cref="ComputePs"/>.</summary>
    public long? MathPs
    {
        get => _mathPs;
        init
        {
            if (value is { } v && (v < 0 || v > ComputePs))
                throw new ArgumentOutOfRangeException(nameof(MathPs), value, "the math alone takes between 0 and the compute time");
            _mathPs = value;
        }
    }

    private readonly long? _mathPs;
    public IReadOnlyList<TransferDemand> Transfers { get; }
    public double ComputeEnergyPj { get; }

    /// <summary>Why the model costed the op this way (the tile it chose, a spill), for reports.</summary>
    public string? Note { get; }
}

/// <summary>What limits an op: its math, its bytes, or fixed start-up latency.</summary>
public enum Bound
{
    Compute,
    Memory,
    Latency,
}

public static class Bounds
{
    public static string Name(this Bound b) => b switch
    {
        Bound.Compute => "compute",
        Bound.Memory => "memory",
        Bound.Latency => "latency",
        _ => throw new ArgumentOutOfRangeException(nameof(b)),
    };
}
