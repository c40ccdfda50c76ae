using AccelSim.Core.Devices;
using AccelSim.Core.Simulation;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Models;

namespace AccelSim.Plugins.Rdu.Tests;

/// <summary>The SN40L paper's configurations (Prabhakar et al. 2024), computed from the bundled
/// configs: sn40l-8 against DGX H100 and DGX A100 modelled as one GPU with eight GPUs' resources.</summary>
internal static class Sn40lStudy
{
    public const string Node = "sn40l-8";

    /// <summary>Models and phases for fused (dataflow) against unfused (sequential) on the node.</summary>
    public static readonly (string Model, Phase Phase, long Batch, long Tokens)[] FusionCases =
    [
        ("llama2-7b", Phase.Decode, 1, 2048),
        ("llama3-8b", Phase.Decode, 1, 2048),
        ("mistral-7b", Phase.Decode, 1, 512),
        ("llama2-7b", Phase.Decode, 16, 2048),
        ("llama2-70b", Phase.Decode, 1, 2048),
        ("llama2-7b", Phase.Prefill, 1, 2048),
        ("llama2-70b", Phase.Prefill, 1, 2048),
        ("mistral-7b", Phase.Prefill, 4, 4096),
    ];

    public static (double Sequential, double Dataflow) Fusion((string Model, Phase Phase, long Batch, long Tokens) c)
    {
        var node = RduTestSupport.Model(Node);
        var graph = RduTestSupport.Llama(c.Model, c.Phase, c.Batch, c.Tokens);
        return (RduTestSupport.Seconds(graph, node, "sequential"), RduTestSupport.Seconds(graph, node, "dataflow"));
    }

    // ---- Composition of Experts ----

    /// <summary>The 7B-class expert of Samba-CoE.</summary>
    public const string Expert = "llama2-7b";

    public const int Experts = 150;
    public const long PromptTokens = 128;
    public const long OutputTokens = 20;

    /// <summary>Share of HBM that holds resident experts (the rest: KV cache, activations).</summary>
    public const double ResidentShare = 0.9;

    public static long ExpertBytes => RduWorkloads.WeightBytes(RduTestSupport.Llama(Expert, Phase.Decode, 1, 1));

    public static double Sn40lSwitchSeconds => RduTestSupport.Model(Node).ModelSwitchSeconds(ExpertBytes);

    /// <summary>A DGX switches an expert by copying it from host memory over the eight GPUs' PCIe
    /// links, from pageable (unpinned) host buffers as a framework's weight load does.</summary>
    public static double DgxSwitchSeconds(string gpu)
    {
        var dgx = RduTestSupport.Dgx(gpu);
        var cost = dgx.HostCopy(ExpertBytes, HostDirection.HostToDevice, HostMemory.Pageable);
        return AccelSim.Core.Time.Ps.ToSeconds(DataflowSchedule.Estimate(cost, dgx.Topology));
    }

    /// <summary>Experts that stay resident in a device's HBM; with requests routed uniformly over
    /// <see cref="Experts"/>, the chance that a request finds its expert resident.</summary>
    public static double HitRate(IDeviceModel device)
    {
        var hbm = device.Topology.Tiers[device.Topology.TierIndex("hbm")].CapacityBytes;
        var resident = Math.Floor(hbm * ResidentShare / ExpertBytes);
        return Math.Min(1, resident / Experts);
    }

    /// <summary>One request: its expert switched in unless resident, a prompt of
    /// <see cref="PromptTokens"/>, then <see cref="OutputTokens"/> decode steps (each costed at the
    /// mean context).</summary>
    public static double RequestSeconds(IDeviceModel device, double switchSeconds, string schedule, long outputTokens = OutputTokens)
    {
        var prefill = RduTestSupport.Llama(Expert, Phase.Prefill, 1, PromptTokens);
        var decode = RduTestSupport.Llama(Expert, Phase.Decode, 1, PromptTokens + outputTokens / 2);
        return (1 - HitRate(device)) * switchSeconds
            + RduTestSupport.Seconds(prefill, device, schedule)
            + outputTokens * RduTestSupport.Seconds(decode, device, schedule);
    }

    public static double Sn40lRequestSeconds(long outputTokens = OutputTokens) =>
        RequestSeconds(RduTestSupport.Model(Node), Sn40lSwitchSeconds, "dataflow", outputTokens);

    public static double DgxRequestSeconds(string gpu, long outputTokens = OutputTokens) =>
        RequestSeconds(RduTestSupport.Dgx(gpu), DgxSwitchSeconds(gpu), "sequential", outputTokens);
}
