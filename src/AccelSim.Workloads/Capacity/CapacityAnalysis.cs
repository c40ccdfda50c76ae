using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using AccelSim.Workloads.Models;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Capacity;

/// <summary>What a long-context deployment costs in memory and time on one device.</summary>
public sealed record CapacityReport(
    string Hardware,
    string Model,
    long Context,
    long Batch,
    string Tier,
    long CapacityBytes,
    double KvBytesPerToken,
    long KvBytesPerSequence,
    long WeightBytes,
    long ActivationBytes,
    long SequencesThatFit,
    double PrefillS,
    double DecodeStepS,
    double DecodeKvReadFraction,
    string? SwapTier,
    double? SwapOutS,
    double? SwapInS)
{
    /// <summary>A caveat about the analysis (a position limit raised), or null.</summary>
    public string? Note { get; init; }

    public long KvBytes => KvBytesPerSequence * Batch;
    public long FreeBytes => CapacityBytes - WeightBytes - KvBytes - ActivationBytes;
    public double? SwapRoundTripS => SwapOutS + SwapInS;
}

/// <summary>KV cache per token and per sequence, how many sequences of a context fit beside the weights,
/// where device memory goes, prefill and decode time per sequence, and what it costs to swap one
/// sequence's KV cache to the tier below and back, all by simulation. Each workload is placed on the
/// device as a run places it by default (<see cref="PlacementPolicy.Resident"/>) before it is simulated.</summary>
public static class CapacityAnalysis
{
    /// <summary>The analysis of <paramref name="model"/> at <paramref name="context"/> tokens per sequence,
    /// with its position limit raised to the context when lower (<see cref="LongContext"/>, noted in the
    /// report).</summary>
    public static CapacityReport Run(IDeviceModel device, ModelConfig model, long context, long batch, DType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(model);
        if (context > ModelLimits.MaxTokens)
            throw new InputException(null, RequestParameter.Context, $"{context} is beyond the sanity limit of {ModelLimits.MaxTokens}");
        var report = Analyse(device, LongContext(model, context, out var note), context, batch, dtype);
        var notes = new[] { note, report.Note }.Where(n => n is not null);
        return report with { Note = notes.Any() ? string.Join("; ", notes) : null };
    }

    /// <summary>The model with its position limit raised to <paramref name="context"/> when it is lower: the
    /// analysis asks what a context costs, as a long-context variant of the same architecture would
    /// (Yi-34B-200K is Yi-34B with a longer rope range).</summary>
    public static ModelConfig LongContext(ModelConfig model, long context, out string? note)
    {
        ArgumentNullException.ThrowIfNull(model);
        note = null;
        if (model.MaxPositionEmbeddings is not { } max || max >= context) return model;
        var raw = (JObject)model.Raw.DeepClone();
        raw["max_position_embeddings"] = context;
        note = $"{model.Name} supports {max} positions; analysed as a long-context variant of the same architecture";
        return ModelConfigLoader.Parse(raw, model.Source);
    }

    /// <summary>The analysis of <paramref name="model"/> as it is (its position limit must admit the context).</summary>
    public static CapacityReport Analyse(IDeviceModel device, ModelConfig model, long context, long batch, DType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(model);
        if (context < 1) throw new InputException(null, RequestParameter.Context, $"expected a whole number >= 1, got {context}");
        if (batch < 1) throw new InputException(null, RequestParameter.Batch, $"expected a whole number >= 1, got {batch}");
        var tiers = Placement.Tiers(device);
        var top = tiers[0];
        var capacity = device.Topology.Tiers[device.Topology.TierIndex(top)].CapacityBytes;

        // Decode at this context: the step reads the weights and every sequence's cache.
        var decode = ModelBuilderRegistry.Default.Build(model, WorkloadRequest.Decode(batch, context - 1, dtype));
        var perToken = KvCache.BytesPerToken(decode);
        var perSequence = (long)Math.Round(perToken * context);
        var weights = ExpertSwitching.WeightBytes(decode);
        var activations = Placement.WorkingSet(decode);
        var fit = KvCache.SequencesThatFit(capacity, weights + activations, perSequence);
        string? budgetNote = null;
        if (device.Capabilities.Streaming is { } native)
        {
            // Weights and caches get the device's resident budget; activations have the rest.
            fit = KvCache.SequencesThatFit(native.ResidentBudgetBytes, weights, perSequence);
            budgetNote = string.Create(CultureInfo.InvariantCulture,
                $"{device.Name} gives {native.ResidentBudgetBytes / 1e9:0.0#} GB of its {capacity / 1e9:0.0#} GB of {top} to weights and caches; what does not fit there streams from {native.StreamTier}");
        }
        var decodeStep = Seconds(decode, device);
        var kvRead = KvCache.ResidentBytes(decode) / (double)Math.Max(1, KvCache.ResidentBytes(decode) + ExpertSwitching.WeightBytes(decode));

        // Prefill of one sequence of the whole context.
        var prefill = ModelBuilderRegistry.Default.Build(model, WorkloadRequest.Prefill(1, context, dtype));
        var prefillS = Seconds(prefill, device);

        // Swap one sequence's cache out to the tier below and back in, as copy ops.
        string? swapTier = device.Capabilities.Streaming is { } streaming ? streaming.StreamTier : tiers.Count > 1 ? tiers[1] : null;
        double? outS = null, inS = null;
        if (swapTier is not null)
        {
            var kv = new Tensor(0, "kv", [perSequence], DType.Int8, TensorRole.KvCache);
            var kvAway = new Tensor(1, "kv.swapped", [perSequence], DType.Int8, TensorRole.Activation);
            var kvBack = new Tensor(2, "kv.back", [perSequence], DType.Int8, TensorRole.Activation);
            var ops = new Op[]
            {
                new(0, "kv.swap_out", OpKind.Copy, -1, [kv], [kvAway], 0, DType.Int8) { Transfer = new TierTransfer(top, swapTier) },
                new(1, "kv.swap_in", OpKind.Copy, -1, [kvAway], [kvBack], 0, DType.Int8) { Transfer = new TierTransfer(swapTier, top) },
            };
            var graph = new WorkloadGraph(new WorkloadInfo($"{model.Name} kv swap", "swap", 1, 0, context, 0), ops,
                new Dictionary<int, string> { [kvAway.Id] = swapTier });
            var result = new Simulator(new SequentialSchedule().Map(graph, device), device).Run();
            outS = Ps.ToSeconds(result.TaskEndPs[0] - result.TaskStartPs[0]);
            inS = Ps.ToSeconds(result.TaskEndPs[1] - result.TaskStartPs[1]);
        }
        return new CapacityReport(device.Name, model.Name, context, batch, top, capacity, perToken, perSequence, weights, activations, fit,
            prefillS, decodeStep, kvRead, swapTier, outS, inS) { Note = budgetNote };
    }

    /// <summary>The graph's makespan on the device, placed as a run places it by default.</summary>
    private static double Seconds(WorkloadGraph graph, IDeviceModel device)
    {
        var placed = Placement.Apply(graph, device, PlacementPolicy.Resident).Graph;
        return Ps.ToSeconds(new Simulator(new SequentialSchedule().Map(placed, device), device).Run().MakespanPs);
    }
}
