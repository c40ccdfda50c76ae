using AccelSim.Core.Graph;
using AccelSim.Core.Memory;

namespace AccelSim.Workloads.Parallel;

/// <summary>ZeRO-Infinity on every rank of a ZeRO-3 plan (<c>--placement zero-infinity</c> on a system,
/// docs/systems.md): each rank's shards of the fp16 parameters, the gradients and the optimizer state live off
/// the device, in host memory, and what host memory cannot hold on the host's drives. Per unit and pass the
/// rank's parameter shard is copied to the device before the unit's all-gather; after the unit's gradient
/// reduce-scatter the rank's gradient shard is copied to the host; the optimizer step runs on the host CPU
/// after the backward (optimizer state on the drives swapped in and out around it; parameters kept on the
/// drives written back). Every move is a copy op on the rank's device, over its host link and its drive.
/// Tier names are the device's (<see cref="Placement.TierOfKind"/>).</summary>
/// <param name="Device">The device's main memory tier ("hbm").</param>
/// <param name="Host">The host-memory tier ("host").</param>
/// <param name="HostCapacityBytes">Host memory one rank may use.</param>
/// <param name="Ssd">The drive tier ("ssd"), or null when the device describes none.</param>
public sealed record ZeroInfinityOffload(string Device, string Host, long HostCapacityBytes, string? Ssd)
{
    /// <summary>Where a rank keeps its shards: the gradients, then the parameters, each whole, then each unit's
    /// optimizer state (<paramref name="unitStates"/>, in the order the optimizer steps them), in host memory while
    /// it fits beside what is there, else on the drives (in host memory, over capacity and so reported, when there
    /// is no drive).</summary>
    public (string Weights, string Gradients, string[] States) Homes(long weights, long gradients, IReadOnlyList<long> unitStates)
    {
        ArgumentNullException.ThrowIfNull(unitStates);
        long used = 0;
        string Place(long bytes)
        {
            if (Ssd is not null && used + bytes > HostCapacityBytes) return Ssd;
            used += bytes;
            return Host;
        }
        var g = Place(gradients);
        var w = Place(weights);
        return (w, g, unitStates.Select(Place).ToArray());
    }

    /// <summary>A one-op graph: <paramref name="bytes"/> copied from tier <paramref name="from"/> to
    /// <paramref name="to"/>. A copy onto the device lands in a buffer of the device's main memory, held while the
    /// segment runs; a copy off it writes nothing the device holds.</summary>
    public WorkloadGraph Copy(WorkloadInfo info, string name, long bytes, string from, string to, TensorRole role)
    {
        ArgumentNullException.ThrowIfNull(info);
        var source = new Tensor(0, name + ".source", [bytes], DType.Int8, role);
        var landed = new Tensor(1, name + ".landed", [to == Device ? bytes : 0], DType.Int8, TensorRole.Activation) { IsStagingBuffer = to == Device };
        var op = new Op(0, name, OpKind.Copy, -1, [source], [landed], 0, DType.Int8, bytesRead: bytes, bytesWritten: bytes)
        {
            Transfer = new TierTransfer(from, to),
        };
        return new WorkloadGraph(info, [op], new Dictionary<int, string> { [0] = from, [1] = to });
    }

    /// <summary>The optimizer step of <paramref name="optimizer"/> (a one-op graph) on the host CPU: its state
    /// (and its gradient shard, when the gradients live there) read from the drives before it and the state
    /// written back after it, and the updated parameter shard (<paramref name="shardBytes"/>, as its gradient
    /// shard) written back to the drives when the parameters live there.</summary>
    public WorkloadGraph Optimizer(WorkloadGraph optimizer, string statesHome, string weightsHome, string gradientsHome, long shardBytes)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var step = optimizer.Ops.Single();
        var stateBytes = step.Inputs.Where(t => t.Role == TensorRole.OptimizerState).Sum(t => t.Bytes);
        var states = (statesHome != Host ? stateBytes : 0) + (gradientsHome != Host ? shardBytes : 0);
        var source = statesHome != Host ? statesHome : gradientsHome;
        var next = step.Inputs.Count == 0 ? 0 : step.Inputs.Max(t => t.Id) + 1;
        Tensor Token(string what) => new(next++, $"{step.Name}.{what}", [0], DType.Int8, TensorRole.Activation);
        var ops = new List<Op>();
        var inputs = new List<Tensor>(step.Inputs);
        if (states > 0)
        {
            var inToken = Token("states_in");
            ops.Add(new Op(ops.Count, $"{step.Name}.swap_in", OpKind.Copy, step.Layer, [], [inToken], 0, DType.Int8, bytesRead: states, bytesWritten: states)
            {
                Transfer = new TierTransfer(source, Host),
            });
            inputs.Add(inToken);
        }
        var stepped = Token("stepped");
        ops.Add(new Op(ops.Count, step.Name, step.Kind, step.Layer, inputs, [stepped], step.Flops, step.ComputeDType, null, null, step.BytesRead, step.BytesWritten)
        {
            Transfer = HostCompute.In(Host),
        });
        if (statesHome != Host && stateBytes > 0)
        {
            ops.Add(new Op(ops.Count, $"{step.Name}.swap_out", OpKind.Copy, step.Layer, [stepped], [Token("states_out")], 0, DType.Int8, bytesRead: stateBytes, bytesWritten: stateBytes)
            {
                Transfer = new TierTransfer(Host, statesHome),
            });
        }
        if (weightsHome != Host && shardBytes > 0)
        {
            ops.Add(new Op(ops.Count, $"{step.Name}.weights.write_back", OpKind.Copy, step.Layer, [stepped], [Token("written")], 0, DType.Int8, bytesRead: shardBytes, bytesWritten: shardBytes)
            {
                Transfer = new TierTransfer(Host, weightsHome),
            });
        }
        var tiers = new Dictionary<int, string>();
        foreach (var t in step.Inputs) tiers[t.Id] = t.Role == TensorRole.OptimizerState ? statesHome : Host;
        return new WorkloadGraph(optimizer.Info, ops, tiers);
    }
}
