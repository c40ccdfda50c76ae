namespace AccelSim.Core.Simulation;

/// <summary>Everything a run measured, in picoseconds and bytes, indexed like the program and topology.</summary>
public sealed class SimulationResult
{
    internal SimulationResult(SimProgram program, long makespanPs, long eventCount,
        IReadOnlyList<long> taskReadyPs, IReadOnlyList<long> taskStartPs, IReadOnlyList<long> taskLaunchPs, IReadOnlyList<long> taskComputeEndPs, IReadOnlyList<long> taskEndPs,
        IReadOnlyList<int> transferTask, IReadOnlyList<int> transferChannel, IReadOnlyList<long> transferBytes, IReadOnlyList<long> transferStartPs, IReadOnlyList<long> transferEndPs,
        long[] channelBytes, long[] channelBusyPs, long[] engineBusyPs, long[] tierPeakBytes, long[] tierResidentBytes)
    {
        Program = program;
        MakespanPs = makespanPs;
        EventCount = eventCount;
        TaskReadyPs = taskReadyPs;
        TaskStartPs = taskStartPs;
        TaskLaunchPs = taskLaunchPs;
        TaskComputeEndPs = taskComputeEndPs;
        TaskEndPs = taskEndPs;
        TransferTask = transferTask;
        TransferChannel = transferChannel;
        TransferBytes = transferBytes;
        TransferStartPs = transferStartPs;
        TransferEndPs = transferEndPs;
        ChannelBytes = channelBytes;
        ChannelBusyPs = channelBusyPs;
        EngineBusyPs = engineBusyPs;
        TierPeakBytes = tierPeakBytes;
        TierResidentBytes = tierResidentBytes;
    }

    public SimProgram Program { get; }
    public long MakespanPs { get; }

    /// <summary>Events the kernel processed (for speed measurements). A channel keeps one pending
    /// completion, moved in place when its flows are re-solved, so no superseded event is counted.</summary>
    public long EventCount { get; }

    /// <summary>When a task's predecessors had all finished.</summary>
    public IReadOnlyList<long> TaskReadyPs { get; }

    /// <summary>When a task got its engine unit (its start-up latency begins).</summary>
    public IReadOnlyList<long> TaskStartPs { get; }

    /// <summary>When its start-up latency ended and compute and transfers began.</summary>
    public IReadOnlyList<long> TaskLaunchPs { get; }

    public IReadOnlyList<long> TaskComputeEndPs { get; }
    public IReadOnlyList<long> TaskEndPs { get; }

    public IReadOnlyList<int> TransferTask { get; }
    /// <summary>The device channel a transfer crossed (a static program's transfers are all on channels;
    /// a flow on network route r would read ~r, a negative number).</summary>
    public IReadOnlyList<int> TransferChannel { get; }
    public IReadOnlyList<long> TransferBytes { get; }

    /// <summary>When bytes began to flow (after the channel latency), and when the last byte arrived.</summary>
    public IReadOnlyList<long> TransferStartPs { get; }

    public IReadOnlyList<long> TransferEndPs { get; }
    public IReadOnlyList<long> ChannelBytes { get; }

    /// <summary>Time a channel had at least one transfer flowing.</summary>
    public IReadOnlyList<long> ChannelBusyPs { get; }

    /// <summary>Unit-time engines spent computing (sum over units).</summary>
    public IReadOnlyList<long> EngineBusyPs { get; }

    public IReadOnlyList<long> TierPeakBytes { get; }

    /// <summary>Bytes resident for the whole run (weights, caches, graph inputs).</summary>
    public IReadOnlyList<long> TierResidentBytes { get; }
}
