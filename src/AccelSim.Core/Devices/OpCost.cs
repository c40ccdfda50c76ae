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

    /// <summary>Set when the device's power limit set the op's pace: its clock was lowered (or the op
    /// held back) to keep the device at the limit. Metrics class such an op as <see cref="Bound.Power"/>
    /// when its compute part is what it waits on. Unset: the op ran at the full clock.</summary>
    public PowerLimit? PowerLimit { get; init; }

    public IReadOnlyList<TransferDemand> Transfers { get; }
    public double ComputeEnergyPj { get; }

    /// <summary>Why the model costed the op this way (the tile it chose, a spill), for reports.</summary>
    public string? Note { get; }
}

/// <summary>How a power limit paced an op: the limit in force and the clock the op ran at.</summary>
/// <param name="CapW">The device's power limit, W.</param>
/// <param name="ClockHz">The clock the limit held the op's engine at, Hz.</param>
/// <param name="Clock">What that clock drives, for reports ("SM clock").</param>
public readonly record struct PowerLimit(double CapW, double ClockHz, string Clock);

/// <summary>What limits an op: its math, its bytes, fixed start-up latency, or the device's power limit
/// (its math, at the lower clock the limit leaves it).</summary>
public enum Bound
{
    Compute,
    Memory,
    Latency,
    Power,
}

public static class Bounds
{
    public static string Name(this Bound b) => b switch
    {
        Bound.Compute => "compute",
        Bound.Memory => "memory",
        Bound.Latency => "latency",
        Bound.Power => "power",
        _ => throw new ArgumentOutOfRangeException(nameof(b)),
    };
}
