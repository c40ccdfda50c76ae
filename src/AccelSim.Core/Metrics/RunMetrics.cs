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
    public double DurationS => Time.Ps.ToSeconds(EndPs - StartPs);
    public double AchievedFlops => EndPs > StartPs ? Flops / DurationS : 0;
}

public sealed record MemoryWallMetrics(
    int MemoryBoundOps,
    double MemoryBoundTimeFraction,
    double StallS,
    double ArithmeticIntensity,
    double RidgePoint);

public sealed record EnergyMetrics(
    double TotalJ,
    double ComputeJ,
    IReadOnlyDictionary<string, double> MemoryJ,
    double StaticJ);

/// <summary>Memory per tier. <see cref="SpilledBytes"/>: bytes a placement policy put in a tier because
/// they did not fit in a faster one. <see cref="OverCapacityBytes"/>: how far peak occupancy exceeded a
/// tier's capacity (a run that does not fit and was not offloaded).</summary>
public sealed record MemoryMetrics(
    IReadOnlyDictionary<string, long> CapacityBytes,
    IReadOnlyDictionary<string, long> PeakBytes,
    IReadOnlyDictionary<string, long> SpilledBytes,
    IReadOnlyDictionary<string, long> BytesMoved,
    IReadOnlyDictionary<string, long> OverCapacityBytes);

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
    double DeviceIdleS = 0);
