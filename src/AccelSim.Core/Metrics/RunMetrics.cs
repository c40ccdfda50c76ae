using AccelSim.Core.Devices;
using AccelSim.Core.Graph;

namespace AccelSim.Core.Metrics;

/// <summary>One op's part of a run.</summary>
public sealed record OpMetrics(
    int Id,
    string Name,
    string Kind,
    int Layer,
    string Engine,
    int Task,
    long StartPs,
    long EndPs,
    long Flops,
    string DType,
    IReadOnlyDictionary<string, long> BytesByTier,
    double ArithmeticIntensity,
    Bound Bound,
    double ComputeTimeS,
    double MemoryTimeS,
    double LatencyS,
    double EnergyJ,
    string? Note)
{
    /// <summary>The power limit and clock of a <see cref="Bound.Power"/> op (null for other bounds).</summary>
    public PowerLimit? PowerLimit { get; init; }

    public double DurationS => Time.Ps.ToSeconds(EndPs - StartPs);
    public double AchievedFlops => EndPs > StartPs ? Flops / DurationS : 0;
}

public sealed record MemoryWallMetrics(
    int MemoryBoundOps,
    double MemoryBoundTimeFraction,
    double StallS,
    /// <summary>FLOPs per off-chip byte of the whole run; positive infinity when FLOPs run and no byte
    /// leaves the chip.</summary>
    double ArithmeticIntensity,
    double RidgePoint);

public sealed record EnergyMetrics(
    double TotalJ,
    double ComputeJ,
    IReadOnlyDictionary<string, double> MemoryJ,
    double StaticJ);

/// <summary>Memory per tier. <see cref="SpilledBytes"/>: bytes a placement policy put in a tier because
/// they did not fit in a faster one. <see cref="OverCapacityBytes"/>: how far peak occupancy exceeded a
/// tier's capacity (a run that does not fit and was not offloaded). <see cref="BytesMoved"/>: bytes over
/// the channels that reach each tier, and over each link under the link's own name (a link holds nothing,
/// so it has no capacity, peak or spill).</summary>
public sealed record MemoryMetrics(
    IReadOnlyDictionary<string, long> CapacityBytes,
    IReadOnlyDictionary<string, long> PeakBytes,
    IReadOnlyDictionary<string, long> SpilledBytes,
    IReadOnlyDictionary<string, long> BytesMoved,
    IReadOnlyDictionary<string, long> OverCapacityBytes)
{
    /// <summary>Bytes each channel (link) carried, by channel name.</summary>
    public IReadOnlyDictionary<string, long> BytesMovedByChannel { get; init; } = new Dictionary<string, long>();

    /// <summary>Time engines spent waiting on each channel, by channel name: a task's wait for its own
    /// transfers after its compute finished (attributed to the channel that finished last), plus an
    /// engine's idle wait for a copy on another engine (weights streamed, KV swapped, an expert
    /// switched), attributed to that copy's slowest channel.</summary>
    public IReadOnlyDictionary<string, double> StallSByChannel { get; init; } = new Dictionary<string, double>();
}

/// <summary>The measured result of one run, ready for any report format.</summary>
public sealed record RunMetrics(
    string HardwareName,
    string HardwareKind,
    WorkloadInfo Workload,
    int OpCount,
    string Schedule,
    double LatencyS,
    double TokensPerS,
    double ComputeUtilisation,
    double MemoryBandwidthUtilisation,
    long TotalFlops,
    long OffChipBytes,
    EnergyMetrics Energy,
    MemoryMetrics Memory,
    MemoryWallMetrics MemoryWall,
    IReadOnlyList<OpMetrics> Ops,
    double HostDispatchS = 0,
    double DeviceIdleS = 0,
    double PeakPowerW = 0)
{
    /// <summary>Energy over latency, W.</summary>
    public double AveragePowerW => LatencyS > 0 ? Energy.TotalJ / LatencyS : 0;

    /// <summary>Tokens processed per joule.</summary>
    public double TokensPerJ => Energy.TotalJ > 0 ? Workload.Tokens / Energy.TotalJ : 0;

    /// <summary>How the run's kernels were launched and what decided it, when something other than the
    /// default did (a user's option, or a trace that records its program); null otherwise.</summary>
    public Simulation.LaunchDecision? Launch { get; init; }

    /// <summary>Operational and embodied emissions, when the caller supplied carbon inputs
    /// (<see cref="Carbon.Compute"/>).</summary>
    public CarbonMetrics? Carbon { get; init; }

    /// <summary>What the run costs at the device's hourly price (<c>cost.usd_per_hour</c>); null when it gives none.</summary>
    public RunCost? Cost { get; init; }

    /// <summary>The inputs the run rests on (files, hashes, overrides, stack); null when the caller gave none.</summary>
    public RunProvenance? Provenance { get; init; }

    /// <summary>The prediction interval of latency and energy; null when the caller computed none.</summary>
    public PredictionInterval? Interval { get; init; }

    /// <summary>The device's name as reports show it: with a star when overrides modified it.</summary>
    public string DisplayName => Provenance?.Modified == true ? HardwareName + "*" : HardwareName;
}

/// <summary>A run at the device's hourly price: the price, the cost of the run (latency x price) and per million tokens
/// processed (the device busy at the run's throughput).</summary>
public sealed record RunCost(double UsdPerHour, double RunUsd, double? UsdPerMillionTokens)
{
    public static RunCost Of(double usdPerHour, double latencyS, double tokensPerS) =>
        new(usdPerHour, usdPerHour * latencyS / 3600, tokensPerS > 0 ? usdPerHour / 3600 / tokensPerS * 1e6 : null);
}
