using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins;
using AccelSim.Core.Plugins.Kit;
using Microsoft.Extensions.DependencyInjection;

namespace AccelSim.Plugins.Fpga;

/// <summary>The FPGA device family (kind <c>fpga</c>): an accelerator design on an FPGA board, its
/// MACs on cascaded DSP chains at an achieved clock, activations through HBM/DDR op by op and held in
/// BRAM/URAM inside fused regions, weights and KV caches streamed from HBM or DDR, one compiled instruction per op, spatial (dataflow)
/// pipelines over partitions of the DSPs, and a data mover copying between DDR and HBM beside the DSP array.</summary>
public sealed class FpgaPlugin() : DevicePlugin<FpgaSpec>(new(KindName, "1.0",
    "FPGA accelerator: matmuls on cascaded DSP chains (MACs per DSP by type with int8/int4 packing, achieved clock, " +
    "chain-shape utilisation, optional N:M sparse chains), other ops on a vector unit, one instruction decode per op; " +
    "op by op every activation goes through HBM or DDR, weights and KV from their tiers; " +
    "dataflow regions run as a pipeline over a static DSP partition, intermediates on chip (FIFOs, or whole buffers that cut the pipeline into segments), the stages that run at once on HBM pseudo-channels in proportion to their bytes; " +
    "copies between HBM and DDR (offload, KV swap, expert switches) on a data-mover engine beside the DSPs.",
    FpgaParameters.All))
{
    public const string KindName = "fpga";

    protected override FpgaSpec Bind(HardwareConfig config) => FpgaSpec.Bind(config);

    protected override IDeviceModel Build(FpgaSpec spec) => new FpgaDeviceModel(spec);
}

/// <summary>Every parameter the FPGA plugin reads, with its unit and meaning.</summary>
public static class FpgaParameters
{
    public static readonly IReadOnlyList<PluginParameter> All =
    [
        new("compute.dsp_count", "count", "DSP slices on the device (datasheet)"),
        new("compute.usable_dsp_fraction", "fraction", "share of the DSP slices the accelerator design instantiates in its MAC array"),
        new("compute.max_clock_Hz", "Hz", "highest DSP clock of the speed grade (datasheet)"),
        new("compute.clock_Hz", "Hz", "clock the placed-and-routed design achieves (<= max_clock_Hz)"),
        .. DTypeKeys.Parameters(FpgaSpec.ConfigDTypes, "compute.macs_per_dsp_per_cycle.{0}", "MAC/cycle",
            "{0} multiply-adds one DSP slice does per cycle (packing for narrow integers; below 1 when a MAC needs several DSPs; 0 = unsupported, widened)"),
        new("compute.dsp_chain_length", "DSPs", "DSP slices cascaded along K per chain; K is processed in steps of chain x MACs per DSP"),
        new("compute.dsp_chain_efficiency", "fraction", "fraction of cycles a chain is fed (operand fetch, cascade bubbles)"),
        new("compute.sparse_dsp_chain", "bool", "the chains skip pruned weights of N:M-sparse matrices (FlightLLM's configurable sparse DSP chain)", Required: false),
        new("compute.attention_efficiency", "fraction", "fraction of the DSP rate attention's QK^T and PV reach (softmax hand-off, head switching)"),
        new("compute.vector_flops_per_cycle", "FLOP/cycle", "rate of the vector/special-function unit running norms, rope, softmax and element-wise ops"),
        new("memory.sram.capacity_bytes", "bytes", "BRAM + URAM on the device"),
        new("memory.sram.bandwidth_Bps", "B/s", "aggregate on-chip memory bandwidth at the design clock"),
        new("memory.sram.activation_fraction", "fraction", "share of BRAM/URAM that holds whole intermediates inside a fused (dataflow) region (the rest buffers weights and instructions)"),
        new("memory.hbm.capacity_bytes", "bytes", "HBM capacity"),
        new("memory.hbm.bandwidth_Bps", "B/s", "HBM peak bandwidth (datasheet)"),
        new("memory.hbm.achievable_fraction", "fraction", "fraction of the HBM peak a streaming read reaches"),
        new("memory.hbm.ports", "count", "AXI ports (pseudo-channels) the design drives"),
        new("memory.hbm.port_width_bytes", "bytes", "data width of one port"),
        new("memory.hbm.port_clock_Hz", "Hz", "clock of the ports; ports x width x clock caps the HBM rate"),
        new("memory.ddr.capacity_bytes", "bytes", "DDR capacity"),
        new("memory.ddr.bandwidth_Bps", "B/s", "DDR peak bandwidth (datasheet)"),
        new("memory.ddr.achievable_fraction", "fraction", "fraction of the DDR peak a streaming read reaches"),
        new("placement.weights", "hbm|ddr", "tier holding weights"),
        new("placement.kv_cache", "hbm|ddr", "tier holding KV caches"),
        new("placement.activation_spill", "hbm|ddr", "tier through which activations that do not fit on chip are written and read back"),
        new("dma.efficiency", "fraction", "fraction of the slower of its two channels' achievable rates the data mover sustains on a copy between tiers (offload streaming, KV swaps, expert switches)"),
        new("dma.setup_s", "s", "fixed start-up of one copy on the data mover (descriptor issue, first burst)"),
        new("instruction.overhead_cycles", "cycles", "per-op instruction decode and engine configuration (paid once per dataflow region)"),
        new("dataflow.tile_rows", "rows", "rows per pipeline tile: a region streams its coarsest stage's rows in blocks of this"),
        new("dataflow.vector_tile_elements", "elements", "features per pipeline tile when a region's rows fit in one tile (decode): hand-offs stream along their features in blocks of this"),
        new("dataflow.buffer_fraction", "fraction", "share of BRAM/URAM for the stream FIFOs of a dataflow pipeline"),
        new("power.max_board_W", "W", "board power limit (datasheet)"),
        new("power.static_W", "W", "board idle power (leakage, HBM refresh, fans)"),
        new("power.design_W", "W", "power of the loaded design's clock tree and control whenever it runs"),
        .. DTypeKeys.Parameters(FpgaSpec.ConfigDTypes, "energy.pJ_per_flop.{0}", "pJ/FLOP", "dynamic energy per {0} FLOP on the DSPs, routing included"),
        new("energy.pJ_per_flop.vector", "pJ/FLOP", "dynamic energy per FLOP on the vector unit"),
        new("energy.pJ_per_byte.hbm", "pJ/B", "dynamic energy per byte to or from HBM"),
        new("energy.pJ_per_byte.ddr", "pJ/B", "dynamic energy per byte to or from DDR"),
        new("energy.pJ_per_byte.sram", "pJ/B", "dynamic energy per byte of BRAM/URAM access"),
        new("cost.price_USD", "USD", "board price, for cost efficiency (tokens/s per dollar)", Required: false),
        .. AccelSim.Core.Metrics.Carbon.Parameters,
    ];
}

public static class FpgaServiceCollectionExtensions
{
    /// <summary>Registers the FPGA device plugin (kind <c>fpga</c>).</summary>
    public static IServiceCollection AddFpgaPlugin(this IServiceCollection services) =>
        services.AddDevicePlugin<FpgaPlugin>();
}
