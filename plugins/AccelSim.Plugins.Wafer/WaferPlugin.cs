using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins;
using AccelSim.Core.Plugins.Kit;
using Microsoft.Extensions.DependencyInjection;

namespace AccelSim.Plugins.Wafer;

/// <summary>The wafer-scale mesh device family (kind <c>wafer</c>): a 2D mesh of cores with local
/// SRAM, ops block-partitioned over regions sized by their work, communication paid in hops and link
/// bytes, weights resident in SRAM or streamed from an external store.</summary>
public sealed class WaferPlugin() : DevicePlugin<WaferSpec>(new(KindName, "1.0",
    "Wafer-scale mesh (Cerebras WSE style, WaferLLM's PLMR model): each op runs on a region of cores chosen from its work " +
    "(MeshGEMM/MeshGEMV 2D block partition: local compute, multicast along rows, tree reduction along columns, paid in " +
    "hops x hop latency and bytes over links); weights and KV caches live in per-core SRAM while they fit, else stream " +
    "from the external store (memoryx). Dataflow lays a decoder layer out spatially, one region per op, activations streamed core to core.",
    WaferParameters.All))
{
    public const string KindName = "wafer";

    protected override WaferSpec Bind(HardwareConfig config) => WaferSpec.Bind(config);

    protected override IDeviceModel Build(WaferSpec spec) => new WaferDeviceModel(spec);
}

/// <summary>Every parameter the wafer plugin reads, with its unit and meaning.</summary>
public static class WaferParameters
{
    public static readonly IReadOnlyList<PluginParameter> All =
    [
        new("compute.cores", "count", "cores on the wafer (datasheet); per-core peak, SRAM and SRAM bandwidth are the wafer totals divided by it"),
        .. DTypeKeys.Parameters(WaferSpec.ConfigDTypes, "compute.{0}.peak_flops", "FLOP/s", "dense {0} peak of the whole wafer (0 = unsupported, promoted to a wider type)"),
        new("compute.efficiency", "fraction", "fraction of a core's peak its local multiply-accumulate loop sustains"),
        new("mesh.width", "cores", "columns of the core mesh used for placement"),
        new("mesh.height", "cores", "rows of the core mesh used for placement"),
        new("mesh.hop_latency_s", "s", "latency of one router hop between neighbouring cores"),
        new("mesh.link_bandwidth_Bps", "B/s", "bandwidth of one link between neighbouring cores, one direction"),
        new("mesh.fabric_bandwidth_Bps", "B/s", "aggregate fabric bandwidth of the wafer (all links)"),
        new("mesh.reduce_step_latency_s", "s", "latency a core adds per level of a reduction tree (receive, add, forward: reductions are store-and-forward through cores, few routes per core)"),
        new("mesh.op_overhead_s", "s", "fixed cost of starting an op on its region (task activation, synchronisation)"),
        new("memory.sram.capacity_bytes", "bytes", "total on-wafer SRAM (sum of the cores' local memories)"),
        new("memory.sram.bandwidth_Bps", "B/s", "aggregate SRAM bandwidth of all cores"),
        new("memory.sram.resident_fraction", "fraction", "part of SRAM that may hold weights and KV caches; the rest holds code, activations and buffers"),
        new("memory.memoryx.capacity_bytes", "bytes", "external weight store capacity"),
        new("memory.memoryx.bandwidth_Bps", "B/s", "weight streaming bandwidth from the external store into the wafer"),
        new("memory.memoryx.latency_s", "s", "start latency of a stream from the external store"),
        new("dataflow.max_pipeline_chunks", "count", "most row chunks a spatially laid-out region splits its tokens into (pipeline depth of the fill/steady-state model)"),
        new("power.static_W", "W", "power drawn whenever the wafer is on (leakage, clocks, fabric idle, system share)"),
        .. DTypeKeys.Parameters(WaferSpec.ConfigDTypes, "energy.pJ_per_flop.{0}", "pJ/FLOP", "dynamic energy per {0} FLOP"),
        new("energy.pJ_per_byte.sram", "pJ/B", "dynamic energy per byte read or written in a core's local SRAM"),
        new("energy.pJ_per_byte.fabric_hop", "pJ/B", "dynamic energy per byte per link traversed"),
        new("energy.pJ_per_byte.memoryx", "pJ/B", "dynamic energy per byte streamed from the external store"),
        .. AccelSim.Core.Metrics.Carbon.Parameters,
    ];
}

public static class WaferServiceCollectionExtensions
{
    /// <summary>Registers the wafer-scale mesh device plugin (kind <c>wafer</c>).</summary>
    public static IServiceCollection AddWaferPlugin(this IServiceCollection services) =>
        services.AddDevicePlugin<WaferPlugin>();
}
