using AccelSim.Core.Graph;
using AccelSim.Core.Network.Collectives;

namespace AccelSim.Core.Systems;

/// <summary>One collective call as every rank of its group sees it: what it computes, its size as
/// nccl-tests counts it (<see cref="CollectiveKind"/>), the group in order (global ranks; the first is the
/// root of broadcast and reduce) and the algorithm (<see cref="CollectiveAlgorithm.Default"/>: chosen as
/// NCCL does). A one-way point-to-point send (a pipeline stage handing activations on) is a
/// <see cref="CollectiveKind.Broadcast"/> over the group [sender, receiver].</summary>
public sealed record CommCall(CollectiveKind Kind, long Bytes, IReadOnlyList<int> Group, CollectiveAlgorithm Algorithm = CollectiveAlgorithm.Default)
{
    /// <summary>A one-way send of <paramref name="bytes"/> from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static CommCall Send(int from, int to, long bytes) => new(CollectiveKind.Broadcast, bytes, [from, to], CollectiveAlgorithm.Direct);
}

/// <summary>One piece of a rank's work: either a compute graph run on the rank's device under its schedule,
/// or its part in a collective. A compute segment's graph may be shared by many segments (every microbatch
/// of a pipeline stage runs the same graph); it is mapped onto the device once.</summary>
public sealed class RankSegment
{
    private RankSegment(string label, WorkloadGraph? compute, CommCall? comm, string? key, IReadOnlyList<int> after)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        Label = label;
        Compute = compute;
        Comm = comm;
        Key = key;
        After = after;
    }

    /// <summary>Compute: <paramref name="graph"/> runs on the rank's device once every segment in
    /// <paramref name="after"/> (indexes of earlier segments of the same rank) has ended.</summary>
    public static RankSegment Run(string label, WorkloadGraph graph, IReadOnlyList<int>? after = null) =>
        new(label, graph ?? throw new ArgumentNullException(nameof(graph)), null, null, after ?? []);

    /// <summary>Communication: this rank's part in the collective <paramref name="key"/>. Every rank of
    /// <paramref name="call"/>'s group has a segment with the same key and call; the collective starts when
    /// each of them is ready (its <paramref name="after"/> segments have ended) and each ends when it does.</summary>
    public static RankSegment Collective(string label, string key, CommCall call, IReadOnlyList<int>? after = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(call);
        return new(label, null, call, key, after ?? []);
    }

    /// <summary>What the segment is, for timelines and reports ("stage 1 fwd mb 3", "dp grad rs L7").</summary>
    public string Label { get; }

    /// <summary>The graph a compute segment runs; null for communication.</summary>
    public WorkloadGraph? Compute { get; }

    /// <summary>The collective a communication segment takes part in; null for compute.</summary>
    public CommCall? Comm { get; }

    /// <summary>The collective instance's key, the same on every rank of its group; null for compute.</summary>
    public string? Key { get; }

    /// <summary>Indexes of earlier segments of the same rank that must end before this one starts.</summary>
    public IReadOnlyList<int> After { get; }

    public bool IsComm => Comm is not null;
}

/// <summary>A memory figure a rank holds for the whole run, outside its segments' graphs (weights, gradients and
/// optimizer state that parallelism shards, activations stashed between a microbatch's forward and backward).</summary>
/// <param name="What">What is held ("weights", "optimizer state", "stashed activations").</param>
/// <param name="Bytes">How much.</param>
/// <param name="Tier">The device tier that holds it (a placement that keeps it off the device: "host", "ssd");
/// null: the device's main memory.</param>
public sealed record RankMemory(string What, long Bytes, string? Tier = null);

/// <summary>The work of one rank (device) of a system.</summary>
/// <param name="Rank">The global rank (index of the device in the system).</param>
/// <param name="Segments">Its segments, each depending only on earlier ones of the same rank (and, for a
/// collective, on the other ranks of its group).</param>
/// <param name="Memory">What it holds for the whole run. Empty: its graphs' resident tensors (weights, caches,
/// inputs) are held, as a single-device run holds them. Otherwise these entries are everything it holds
/// besides the activations its segments produce: the graphs' resident tensors are not counted again (a
/// parallelism plan shards weights, gradients and optimizer state that every block graph names in full).</param>
public sealed record RankProgram(int Rank, IReadOnlyList<RankSegment> Segments, IReadOnlyList<RankMemory> Memory);

/// <summary>A workload spread over the ranks of a system: what a parallelism plan or a multi-rank trace gives
/// the system simulator. <see cref="Ranks"/> lists every rank that is simulated, in rank order.
///
/// <para>Folding: a collective's group may name ranks that are not simulated. Each stands for a replica of a
/// simulated rank whose work and traffic are symmetric to it (identical data-parallel replicas): it is taken
/// to be ready when the simulated members of the group are, and its flows are still sent, so the network
/// carries every replica's traffic while only one replica's compute is simulated.</para></summary>
/// <param name="Name">What runs ("llama-2-7b train tp2 pp2 dp2").</param>
/// <param name="Ranks">One program per rank.</param>
public sealed record SystemProgram(string Name, IReadOnlyList<RankProgram> Ranks);
