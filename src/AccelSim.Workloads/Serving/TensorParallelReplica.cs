using AccelSim.Core.Devices;
using AccelSim.Core.Network;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel.Internal;

namespace AccelSim.Workloads.Serving;

/// <summary>A replica that spans <see cref="Tp"/> devices under Megatron tensor parallelism: ranks 0 to tp - 1 of
/// a system (<see cref="Fabric"/> builds its network afresh for each simulation; <see cref="DeviceOf"/> gives each
/// rank's device). Every rank holds 1/tp of the heads, key/value heads, MLP width and vocabulary, so each rank's
/// KV cache holds 1/tp of every token and the replica's block count is one rank's.</summary>
public sealed record TensorParallelReplica(int Tp, Func<ICommFabric> Fabric, Func<int, IDeviceModel> DeviceOf, string Description)
{
    /// <summary>The model as one rank of a tensor-parallel group of <paramref name="tp"/> holds it.</summary>
    public static ModelConfig RankModel(ModelConfig model, int tp)
    {
        ArgumentNullException.ThrowIfNull(model);
        return ShardedConfig.Shard(model, tp);
    }
}
