using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins;
using AccelSim.Core.Plugins.Kit;
using Microsoft.Extensions.DependencyInjection;

namespace AccelSim.Plugins.Gpu;

/// <summary>The GPU device family (kind <c>gpu</c>): tensor-core GEMMs with tile and wave
/// quantisation over the SMs, flash attention, memory-bound kernels on an achievable-bandwidth
/// curve, an L2 that holds small activation working sets, and a PCIe host link.</summary>
public sealed class GpuPlugin() : DevicePlugin<GpuSpec>(new(KindName, "1.0",
    "NVIDIA-style GPU: kernels run back to back on the SM array (as under CUDA graphs); GEMMs are tiled over the SMs " +
    "(tile shape chosen as a library heuristic would, split-K for small outputs), attention is a flash kernel " +
    "(prefill compute-bound, decode KV-read-bound), other ops stream over HBM or L2 at an achievable bandwidth.",
    GpuParameters.All))
{
    public const string KindName = "gpu";

    protected override GpuSpec Bind(HardwareConfig config) => GpuSpec.Bind(config);

    protected override IDeviceModel Build(GpuSpec spec) => new GpuDeviceModel(spec);
}

/// <summary>Every parameter the GPU plugin reads, with its unit and meaning.</summary>
public static class GpuParameters
{
    public static readonly IReadOnlyList<PluginParameter> All =
    [
        new("compute.sm_count", "count", "streaming multiprocessors (datasheet)"),
        new("compute.peak_sm_count", "count", "SMs the datasheet peaks are quoted for (default sm_count); each peak is scaled by sm_count / this, so more SMs of the same design raise the peaks", Required: false),
        new("compute.clock_MHz", "MHz", "boost SM clock the datasheet peaks are quoted at"),
        new("compute.tensor_peak_clock_MHz", "MHz", "SM clock the datasheet's tensor-core peaks are quoted at (default clock_MHz); tensor rate at clock_MHz = peak x clock_MHz / this", Required: false),
        .. DTypeKeys.Parameters(GpuSpec.ConfigDTypes, "compute.{0}.peak_flops", "FLOP/s", "dense {0} peak at clock_MHz (0 = unsupported, promoted to a wider type)"),
        .. DTypeKeys.Parameters(GpuSpec.ConfigDTypes, "compute.dtype_efficiency.{0}", "fraction",
            "fraction of the {0} peak a large GEMM main loop sustains relative to the tile efficiency"),
        new("gemm.tiles[].m", "elements", "CTA tile rows (M)"),
        new("gemm.tiles[].n", "elements", "CTA tile columns (N)"),
        new("gemm.tiles[].k", "elements", "K step of the tile's main loop (K is rounded up to it)"),
        new("gemm.tiles[].efficiency", "fraction", "fraction of per-SM peak the tile's main loop sustains"),
        new("gemm.tile_overhead_s", "s", "per-tile prologue/epilogue time (pipeline fill, C write-out)"),
        new("gemm.split_k_max", "count", "largest split-K factor the heuristic may choose (powers of two)"),
        new("gemm.split_k_overhead_s", "s", "fixed cost of a split-K reduction (fix-up pass over the partial tiles)"),
        new("gemm.bandwidth_efficiency", "fraction", "fraction of the achievable HBM rate a memory-bound GEMM (GEMV-like, small M) reaches on its operands"),
        new("gemm.alignment_bytes", "bytes", "vector width the fast (TMA/wgmma or 16-byte cp.async) path needs: every row pitch (K of A, N of B and C, in bytes) a multiple of it"),
        new("gemm.fallback.math_fraction", "fraction", "tensor-core rate of the fallback kernels' main loop over the fast path's (mma.sync against wgmma)"),
        new("gemm.fallback.async_copy_min_bytes", "bytes", "narrowest vector an asynchronous global-to-shared copy moves (0 = none: loads go through registers)"),
        new("gemm.fallback.vectors_per_clock_per_sm", "vectors/clock/SM", "load vectors the fallback main loop issues per SM clock per SM"),
        new("gemm.fallback.register_staged_issue_factor", "count", "issue slots per vector loaded through registers (global load + shared store) against one asynchronous copy"),
        new("attention.block_q", "tokens", "query rows per flash-attention CTA"),
        new("attention.block_kv", "tokens", "key/value rows per inner-loop step (keys rounded up to it)"),
        new("attention.efficiency", "fraction", "fraction of the tensor peak the attention main loop sustains"),
        new("attention.cta_overhead_s", "s", "per-CTA fixed time (Q load, softmax finalisation, O write)"),
        new("attention.decode_max_query_len", "tokens", "query length up to which attention runs as a KV-read-bound decode kernel"),
        new("attention.decode_bandwidth_efficiency", "fraction", "fraction of the achievable HBM rate a decode kernel reaches on its KV reads"),
        new("memory.hbm.capacity_bytes", "bytes", "device memory capacity"),
        new("memory.hbm.bandwidth_Bps", "B/s", "device memory peak bandwidth (datasheet)"),
        new("memory.hbm.achievable_fraction", "fraction", "fraction of peak a large streaming read reaches"),
        new("memory.hbm.fill_bytes", "bytes", "bytes in flight to reach full rate: a transfer of s bytes runs at achievable * s / (s + fill_bytes)"),
        new("memory.hbm.write_efficiency", "fraction", "relative rate of writes to reads (read/write turnaround); written bytes count 1/write_efficiency"),
        new("memory.l2.capacity_bytes", "bytes", "L2 cache size"),
        new("memory.l2.bytes_per_clock_per_sm", "B/clock/SM", "achievable L2 bytes per SM clock per SM (family); L2 bandwidth = this x sm_count x clock_MHz"),
        new("memory.l2.resident_fraction", "fraction", "fraction of L2 that holds activations between kernels; an op whose activations fit reads/writes them at L2 speed"),
        new("launch.kernel_start_s", "s", "fixed start latency of a kernel within a CUDA graph"),
        new("launch.min_kernel_s", "s", "shortest a kernel runs, start included (launch and tail)"),
        new("launch.copy_min_s", "s", "shortest a device-to-device memcpy node runs"),
        new("stream.launch_gap_s", "s", "device-side gap between back-to-back framework element-wise kernels in a CUDA graph (docs/stacks.md)"),
        new("stream.vectorized_min_s", "s", "shortest vectorised framework element-wise kernel, gap excluded"),
        new("stream.strided_elements_per_clock_per_sm", "elements", "elements per SM clock per SM of a strided (non-vectorised) element-wise kernel"),
        new("stream.strided_min_s", "s", "shortest strided framework element-wise kernel, gap excluded"),
        new("stream.reduction_min_s", "s", "shortest strided row reduction (few rows, one CTA), gap excluded"),
        new("host.pcie.bandwidth_Bps", "B/s", "host link bandwidth per direction (datasheet)"),
        new("host.pcie.latency_s", "s", "host transfer start latency"),
        new("host.pcie.pinned_efficiency", "fraction", "fraction of the link a pinned-memory copy reaches"),
        new("host.pcie.pageable_h2d_efficiency", "fraction", "fraction of the link a pageable host-to-device copy reaches (staging copy)"),
        new("host.pcie.pageable_d2h_efficiency", "fraction", "fraction of the link a pageable device-to-host copy reaches"),
        .. GpuHostDispatchSpec.Keys.Select(k => new PluginParameter($"{GpuHostDispatchSpec.Prefix}.{k}", "s", k switch
        {
            "view" => "host time of a metadata-only call the program makes in eager execution (view, reshape, transpose, chunk)",
            "nested" => "host time of a call made inside another call (the t and mm inside an aten::linear)",
            _ => $"host (CPU) time of an eager program's call that issues a {k} op: framework dispatch, kernel launch and the interpreter before it",
        })),
        new("host.memory_bytes", "bytes", "host memory available to the device (0 = not modelled)", Required: false),
        new("host.nvme.capacity_bytes", "bytes", "NVMe drive capacity available to the device: the ssd tier (0 = not modelled)", Required: false),
        new("host.nvme.bandwidth_Bps", "B/s", "NVMe drive sequential bandwidth (datasheet)", Required: false),
        new("host.nvme.latency_s", "s", "NVMe transfer start latency", Required: false),
        new("host.nvme.efficiency", "fraction", "fraction of the drive bandwidth a large DMA transfer reaches (default 1)", Required: false),
        new("host.cpu.peak_flops", "FLOP/s", "fp32 peak of the host CPU (all sockets) that runs offloaded optimizer steps (0 = not modelled)", Required: false),
        new("host.cpu.memory_bandwidth_Bps", "B/s", "host memory bandwidth of the CPU (all channels, all sockets)", Required: false),
        new("host.cpu.flops_efficiency", "fraction", "fraction of host.cpu.peak_flops a vectorised optimizer sustains (family; default 1)", Required: false),
        new("host.cpu.memory_efficiency", "fraction", "fraction of host.cpu.memory_bandwidth_Bps a streaming optimizer loop sustains (family; default 1)", Required: false),
        new("power.tdp_W", "W", "board power (datasheet)"),
        new("power.cap_W", "W", "power limit in force: a kernel whose power at clock_MHz exceeds it runs at a lower SM clock (GpuPowerModel)"),
        new("power.dvfs.alpha", "exponent", "dynamic energy per FLOP scales as (f / clock_MHz)^alpha over the DVFS range (family)"),
        new("power.dvfs.min_clock_fraction", "fraction", "lowest SM clock the power limit may impose, over clock_MHz (family)"),
        new("power.static_W", "W", "power drawn whenever the device is on"),
        .. DTypeKeys.Parameters(GpuSpec.ConfigDTypes, "energy.pJ_per_flop.{0}", "pJ/FLOP", "dynamic energy per {0} FLOP"),
        new("energy.pJ_per_byte.hbm", "pJ/B", "dynamic energy per byte read from HBM (memory, PHY, on-chip path)"),
        new("carbon.embodied_kgCO2e", "kgCO2e", "embodied (cradle-to-gate) emissions of the device, amortised over its lifetime in carbon reports", Required: false),
        new("carbon.lifetime_years", "years", "service life the embodied emissions are spread over", Required: false),
        new("cost.usd_per_hour", "USD/h", "price of renting one device for an hour (cloud on-demand), for serving cost and --find-mix", Required: false),
        new("energy.pJ_per_byte.hbm_write", "pJ/B", "dynamic energy per byte written to HBM (default: energy.pJ_per_byte.hbm)", Required: false),
        new("energy.pJ_per_byte.l2", "pJ/B", "dynamic energy per byte served by L2"),
        new("energy.pJ_per_byte.pcie", "pJ/B", "dynamic energy per byte over the host link"),
        new("energy.pJ_per_byte.host", "pJ/B", "dynamic energy per byte read or written in host DDR by a host-device copy (0 = not modelled)", Required: false),
        new("energy.pJ_per_byte.ssd", "pJ/B", "dynamic energy per byte read or written on the NVMe drive (0 = not modelled)", Required: false),
    ];

    /// <summary>The keys a product file gives: numbers read off a datasheet (or the board's own
    /// settings). Everything else describes the architecture and lives in the family file, so a new
    /// product of a known family is described by these keys alone.</summary>
    public static readonly IReadOnlyList<string> DatasheetKeys =
    [
        "compute.sm_count", "compute.peak_sm_count", "compute.clock_MHz", "compute.tensor_peak_clock_MHz",
        .. GpuSpec.ConfigDTypes.Select(d => $"compute.{d.Name()}.peak_flops"),
        "memory.hbm.capacity_bytes", "memory.hbm.bandwidth_Bps", "memory.l2.capacity_bytes",
        "host.pcie.bandwidth_Bps", "host.memory_bytes", "host.nvme.bandwidth_Bps", "host.nvme.capacity_bytes",
        "host.cpu.peak_flops", "host.cpu.memory_bandwidth_Bps",
        "power.tdp_W", "power.cap_W", "power.static_W",
        "carbon.embodied_kgCO2e", "carbon.lifetime_years", "cost.price_USD", "cost.usd_per_hour",
    ];
}

public static class GpuServiceCollectionExtensions
{
    /// <summary>Registers the GPU device plugin (kind <c>gpu</c>).</summary>
    public static IServiceCollection AddGpuPlugin(this IServiceCollection services) =>
        services.AddDevicePlugin<GpuPlugin>();
}
