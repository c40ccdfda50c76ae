using AccelSim.Workloads.Models;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Parallel.Internal;

/// <summary>The model as one tensor-parallel rank holds it: heads, key/value heads, the MLP width(s) and the
/// vocabulary divided by tp (Megatron's column and row splits), the head width kept. The family builders
/// build a rank's graph from it unchanged.</summary>
internal static class ShardedConfig
{
    /// <summary>Family widths besides <c>intermediate_size</c> that tensor parallelism splits (expert MLPs).</summary>
    public static readonly string[] TpWidthKeys = ["moe_intermediate_size", "shared_expert_intermediate_size"];

    private static readonly string[] ExpertKeys = ["num_local_experts", "num_experts", "n_routed_experts"];

    /// <summary>Routed experts per MoE layer, 0 for a dense model.</summary>
    public static long Experts(ModelConfig model)
    {
        foreach (var k in ExpertKeys)
        {
            if (model.Raw[k] is { Type: JTokenType.Integer } t && (long)t > 0) return (long)t;
        }
        return 0;
    }

    public static ModelConfig Shard(ModelConfig m, int tp)
    {
        if (tp == 1) return m;
        var raw = (JObject)m.Raw.DeepClone();
        foreach (var k in TpWidthKeys)
        {
            if (raw[k] is { Type: JTokenType.Integer } t) raw[k] = (long)t / tp;
        }
        return new ModelConfig(m.Name, m.Source, m.ModelType, m.Architectures, m.HiddenSize, m.IntermediateSize / tp,
            m.NumAttentionHeads / tp, m.NumKeyValueHeads / tp, m.NumHiddenLayers, m.VocabSize / tp, m.TieWordEmbeddings,
            m.HeadDim, m.SlidingWindow, m.MaxPositionEmbeddings, m.TorchDType, m.RmsNormEps, raw);
    }
}
