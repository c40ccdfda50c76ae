using AccelSim.Core.Devices;
using AccelSim.Core.Metrics;
using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Simulation;

namespace AccelSim.Core.Systems;

/// <summary>One segment of a rank as it ran (ps). <see cref="ReadyPs"/>: the segments it waits for had ended;
/// <see cref="StartPs"/>: its first task started (compute) or its collective started (communication);
/// <see cref="EndPs"/>: its last task ended, or its collective did. <see cref="FirstTask"/> and
/// <see cref="TaskCount"/> index its tasks in the rank's flattened program (<see cref="RankResult.Result"/>).</summary>
public sealed record SegmentResult(int Index, string Label, bool IsComm, string? Key, long ReadyPs, long StartPs, long EndPs, int FirstTask, int TaskCount);

/// <summary>One memory tier of a rank's device: capacity, the highest occupancy of the run (its segments'
/// tensors plus the <see cref="RankMemory"/> held on it) and whether it exceeds the capacity.</summary>
public sealed record TierUse(string Tier, long CapacityBytes, long PeakBytes)
{
    public bool Overflows => PeakBytes > CapacityBytes;
}

/// <summary>One simulated rank of a system run.
/// <para><see cref="Metrics"/> are the single-device metrics (<see cref="MetricsCalculator.Compute"/>) of the
/// rank's compute: every compute segment instance flattened into one program (<see cref="Result"/>) over
/// the system's makespan, so its utilisation, energy (static power × the system's makespan included) and
/// memory wall mean what they mean for one device.</para>
/// <para>Communication (ps): <see cref="CommPs"/> is the time covered by the collectives the rank takes part
/// in (the union of their start-to-end spans); <see cref="HiddenCommPs"/> the part of it during which the
/// rank's device computes (the union of its device tasks' spans, <see cref="ComputeBusyPs"/>: copies between tiers
/// and steps of the host CPU are not the device's compute), <see cref="ExposedCommPs"/> the rest.</para></summary>
public sealed record RankResult(
    int Rank,
    IDeviceModel Device,
    RunMetrics Metrics,
    SimulationResult Result,
    IReadOnlyList<SegmentResult> Segments,
    IReadOnlyList<TierUse> Memory,
    long HeldBytes,
    long ComputeBusyPs,
    long MainMemoryBusyPs,
    long CommPs,
    long HiddenCommPs)
{
    public string DeviceName => Device.Name;
    public string DeviceKind => Device.Kind;

    /// <summary>Communication not overlapped with the rank's compute (ps).</summary>
    public long ExposedCommPs => CommPs - HiddenCommPs;
}

/// <summary>One link of the network: bytes it carried, the time at least one flow was moving on it, its
/// utilisation (bytes / (bandwidth × makespan)) and energy (bytes × the link's energy per byte).</summary>
public sealed record LinkResult(int Link, string Name, double Bandwidth_Bps, long Bytes, long BusyPs, double Utilisation, double EnergyJ);

/// <summary>One collective as it ran: its key, what it computed, the algorithm, its size (nccl-tests'
/// count), the group (global ranks, simulated or mirrored), bytes of all its sends, start and end (ps) and
/// nccl-tests' bandwidths.</summary>
public sealed record CollectiveResult(
    string Key,
    CollectiveKind Kind,
    CollectiveAlgorithm Algorithm,
    long Bytes,
    IReadOnlyList<int> Group,
    long BytesOnWire,
    long StartPs,
    long EndPs,
    double AlgorithmBandwidth_Bps,
    double BusBandwidth_Bps)
{
    public long DurationPs => EndPs - StartPs;
}

/// <summary>One flow of a collective's send: the links of its route, its bytes, when its bytes began to move
/// (after the route's latency) and when the last arrived (ps).</summary>
public sealed record FlowRecord(IReadOnlyList<int> Links, long Bytes, long StartPs, long EndPs);

/// <summary>What a <see cref="SystemSimulator"/> run measured. Deterministic: the same program, system,
/// devices and schedule give the same result.</summary>
/// <param name="Name">The program's name.</param>
/// <param name="SystemName">The system's name (its spec's, or the fabric type's when built in code).</param>
/// <param name="SystemRanks">Ranks of the fabric (simulated or not).</param>
/// <param name="Schedule">The schedule of the compute segments (the first mapped program's name).</param>
/// <param name="MakespanPs">Time zero to the end of the last task or collective.</param>
/// <param name="EventCount">Events the kernel processed.</param>
/// <param name="Ranks">The simulated ranks, in the program's order.</param>
/// <param name="Links">Every link of the network, by index.</param>
/// <param name="Collectives">Every collective, in the order of first appearance (rank order, then segment order).</param>
public sealed record SystemResult(
    string Name,
    string SystemName,
    int SystemRanks,
    string Schedule,
    long MakespanPs,
    long EventCount,
    IReadOnlyList<RankResult> Ranks,
    IReadOnlyList<LinkResult> Links,
    IReadOnlyList<CollectiveResult> Collectives)
{
    /// <summary>Every flow the network carried, in the order the sends were issued.</summary>
    public IReadOnlyList<FlowRecord> Flows { get; init; } = [];

    public double MakespanS => Time.Ps.ToSeconds(MakespanPs);

    /// <summary>FLOPs of every simulated rank's compute (mirrored ranks are not counted).</summary>
    public long Flops
    {
        get
        {
            long sum = 0;
            foreach (var r in Ranks) sum = checked(sum + r.Metrics.TotalFlops);
            return sum;
        }
    }

    /// <summary>Energy of the simulated devices (J).</summary>
    public double DeviceEnergyJ => Ranks.Sum(r => r.Metrics.Energy.TotalJ);

    /// <summary>Energy of every link (J), mirrored ranks' traffic included.</summary>
    public double LinkEnergyJ => Links.Sum(l => l.EnergyJ);

    public double EnergyJ => DeviceEnergyJ + LinkEnergyJ;
}
