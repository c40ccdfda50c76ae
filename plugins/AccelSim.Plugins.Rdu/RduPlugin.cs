using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins;
using AccelSim.Core.Plugins.Kit;
using Microsoft.Extensions.DependencyInjection;

namespace AccelSim.Plugins.Rdu;

/// <summary>The reconfigurable dataflow unit family (kind <c>rdu</c>, SambaNova SN40L style): PCUs
/// and PMUs on chip, three memory tiers (PMU SRAM, HBM, DDR), a node of sockets running each op
/// tensor-parallel with all-reduces over peer links, unfused kernels or whole decoder layers fused
/// into one streaming kernel, and expert models switched from DDR into HBM.</summary>
public sealed class RduPlugin() : DevicePlugin<RduSpec>(new(KindName, "1.0",
    "SambaNova SN40L-style reconfigurable dataflow unit node: unfused, every op is a kernel call that pays a " +
    "launch/reconfiguration cost and goes through HBM; fused (dataflow), a decoder layer is one spatial kernel with the " +
    "PCUs partitioned by work, intermediates streamed through PMU SRAM, weights read once from HBM, pipeline fill/drain " +
    "paid. Sockets share each op tensor-parallel with all-reduces over peer links; experts are copied from DDR into HBM.",
    RduParameters.All))
{
    public const string KindName = "rdu";

    protected override RduSpec Bind(HardwareConfig config) => RduSpec.Bind(config);

    protected override IDeviceModel Build(RduSpec spec) => new RduDeviceModel(spec);
}

/// <summary>Every parameter the RDU plugin reads, with its unit and meaning.</summary>
public static class RduParameters
{
    public static readonly IReadOnlyList<PluginParameter> All =
    [
        new("node.sockets", "count", "sockets in the node; each op runs tensor-parallel over all of them"),
        new("compute.pcu_count", "count", "pattern compute units per socket; a fused region partitions them among its ops"),
        new("compute.pmu_count", "count", "pattern memory units per socket; their bandwidth is the on-chip streaming bandwidth"),
        .. DTypeKeys.Parameters(RduSpec.ConfigDTypes, "compute.{0}.peak_flops", "FLOP/s", "dense {0} peak per socket (0 = unsupported, promoted)"),
        new("compute.gemm_efficiency", "fraction", "fraction of peak matmul and attention ops sustain on their PCUs"),
        new("compute.vector_efficiency", "fraction", "fraction of peak element-wise, norm and other vector ops reach"),
        new("memory.sram.capacity_bytes", "bytes", "PMU SRAM per socket"),
        new("memory.sram.pmu_bandwidth_Bps", "B/s", "read+write bandwidth of one PMU"),
        new("memory.sram.buffer_fraction", "fraction", "share of PMU SRAM a fused kernel can give to streamed intermediates"),
        new("memory.hbm.capacity_bytes", "bytes", "HBM per socket"),
        new("memory.hbm.bandwidth_Bps", "B/s", "HBM peak bandwidth per socket"),
        new("memory.hbm.achievable_fraction", "fraction", "fraction of the HBM peak a streaming transfer reaches"),
        new("memory.ddr.capacity_bytes", "bytes", "DDR per socket"),
        new("memory.ddr.bandwidth_Bps", "B/s", "DDR peak bandwidth per socket"),
        new("memory.ddr.achievable_fraction", "fraction", "fraction of the DDR peak a DDR-to-HBM copy reaches"),
        new("links.p2p.bandwidth_Bps", "B/s", "peer-to-peer bandwidth one socket sends at during an all-reduce"),
        new("links.p2p.latency_s", "s", "latency of one all-reduce step over the peer links"),
        new("kernel.launch_s", "s", "fixed cost of one kernel call (configuration load, socket start and sync)"),
        new("pipeline.stage_latency_s", "s", "fill plus drain time per op held in a pipeline"),
        new("unfused.attention_score_passes", "count", "HBM passes over the score matrix of an unfused attention (0 = fused attention kernel)"),
        new("power.static_W", "W", "static power per socket"),
        .. DTypeKeys.Parameters(RduSpec.ConfigDTypes, "energy.pJ_per_flop.{0}", "pJ/FLOP", "dynamic energy per {0} FLOP"),
        new("energy.pJ_per_byte.sram", "pJ/B", "dynamic energy per byte streamed through PMUs"),
        new("energy.pJ_per_byte.hbm", "pJ/B", "dynamic energy per byte to or from HBM"),
        new("energy.pJ_per_byte.ddr", "pJ/B", "dynamic energy per byte to or from DDR"),
        new("energy.pJ_per_byte.p2p", "pJ/B", "dynamic energy per byte over the peer links"),
        .. AccelSim.Core.Metrics.Carbon.Parameters,
    ];
}

public static class RduServiceCollectionExtensions
{
    /// <summary>Registers the RDU device plugin (kind <c>rdu</c>).</summary>
    public static IServiceCollection AddRduPlugin(this IServiceCollection services) =>
        services.AddDevicePlugin<RduPlugin>();
}
