using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Stacks;

namespace AccelSim.Workloads.Serving;

/// <summary>How much paged KV cache a device holds for a model: the first of its placement tiers (fastest first)
/// that has room for at least one block once the weights and the largest iteration's activations are placed;
/// <see cref="MemoryFraction"/> of each tier is usable (vLLM's <c>gpu_memory_utilization</c>). A device that
/// streams weights by itself (a wafer, an RDU) gives the cache its resident budget beside the weights.</summary>
public sealed record KvCapacity(string Tier, long TierBytes, double MemoryFraction, long WeightBytes, long ActivationBytes,
    double BytesPerToken, int BlockTokens, long Blocks)
{
    public long CacheBytes => (long)(Blocks * BlockTokens * BytesPerToken);

    /// <summary>Plans the cache. <paramref name="blocksOverride"/> fixes the block count instead.</summary>
    public static KvCapacity Plan(IDeviceModel device, ModelConfig model, DType? dtype, SoftwareStack stack, int blockTokens,
        int maxBatchedTokens, double memoryFraction, long? blocksOverride = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(model);
        if (blockTokens < 1) throw new InputException(null, RequestParameter.BlockSize, $"expected a whole number of tokens > 0, got {blockTokens}");
        if (!(memoryFraction > 0 && memoryFraction <= 1))
            throw new InputException(null, RequestParameter.MemoryFraction, $"expected a fraction in (0, 1], got {memoryFraction.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        if (blocksOverride is < 1) throw new InputException(null, RequestParameter.KvBlocks, $"expected a whole number > 0, got {blocksOverride}");
        var decode = ModelBuilderRegistry.Default.Build(model, WorkloadRequest.Decode(1, blockTokens, dtype) with { Stack = stack });
        var perToken = KvCache.BytesPerToken(decode);
        var weights = ExpertSwitching.WeightBytes(decode);
        var positions = model.MaxPositionEmbeddings ?? ModelLimits.MaxTokens;
        var sequences = (maxBatchedTokens + positions - 1) / positions;
        var prefill = ModelBuilderRegistry.Default.Build(model,
            WorkloadRequest.Prefill(sequences, (maxBatchedTokens + sequences - 1) / sequences, dtype) with { Stack = stack });
        var activations = Placement.WorkingSet(prefill);
        var blockBytes = perToken * blockTokens;
        var tiers = Placement.Tiers(device);
        if (blocksOverride is { } fixedBlocks)
        {
            var t0 = tiers[0];
            return new KvCapacity(t0, Capacity(device, t0), memoryFraction, weights, activations, perToken, blockTokens, fixedBlocks);
        }
        long spill = 0;
        foreach (var tier in tiers)
        {
            var capacity = Capacity(device, tier);
            var usable = (long)(capacity * memoryFraction);
            var free = spill == 0 && device.Capabilities.Streaming is { } native
                ? (long)(native.ResidentBudgetBytes * memoryFraction) - weights
                : usable - (spill == 0 ? weights + activations : spill);
            var blocks = free > 0 ? (long)(free / blockBytes) : 0;
            if (blocks >= 1) return new KvCapacity(tier, capacity, memoryFraction, weights, activations, perToken, blockTokens, blocks);
            spill = Math.Max(0, (spill == 0 ? weights + activations : spill) - usable);
            if (spill == 0) spill = 1;
        }
        throw new InputException(null, RequestParameter.Hardware,
            $"{device.Name} has no room for a KV cache beside {model.Name}'s {weights / 1e9:0.##} GB of weights in {string.Join(", ", tiers)}; give kv_blocks=N to size it by hand");
    }

    private static long Capacity(IDeviceModel device, string tier) => device.Topology.Tiers[device.Topology.TierIndex(tier)].CapacityBytes;
}
