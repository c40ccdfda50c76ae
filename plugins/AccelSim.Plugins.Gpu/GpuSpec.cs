using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins.Kit;

namespace AccelSim.Plugins.Gpu;

/// <summary>A tensor-core GEMM tile (CTA) shape and the fraction of the SM's peak its main loop
/// sustains (larger tiles reuse operands more and reach a higher fraction).</summary>
public sealed record GemmTile(int M, int N, int K, double Efficiency);

/// <summary>The GEMM kernels a library falls back to when a row pitch rules out the fast path
/// (<see cref="GpuSpec.AlignmentBytes"/>): their operands are loaded in vectors of the widest power of
/// two that divides the pitch, so the main loop may be bound by how many load vectors an SM issues.</summary>
/// <param name="MathFraction">Tensor-core rate of the fallback main loop over the fast path's
/// (<c>gemm.fallback.math_fraction</c>): mma.sync against wgmma on Hopper, 1 where the fast path is
/// already the same instruction.</param>
/// <param name="AsyncCopyMinBytes">Narrowest vector an asynchronous global-to-shared copy moves
/// (<c>gemm.fallback.async_copy_min_bytes</c>; cp.async takes 4, 8 or 16 B on sm80 and later; 0 = no
/// such copy, every load goes through registers).</param>
/// <param name="VectorsPerClockPerSm">Load vectors (one thread's one load) the fallback main loop
/// issues per SM clock per SM (<c>gemm.fallback.vectors_per_clock_per_sm</c>), addressing, predication
/// and shared-memory stores included.</param>
/// <param name="RegisterStagedIssueFactor">Issue slots per vector when a load goes through registers
/// (<c>gemm.fallback.register_staged_issue_factor</c>: a global load and a shared store in place of one
/// asynchronous copy).</param>
public sealed record GemmFallbackSpec(double MathFraction, double AsyncCopyMinBytes, double VectorsPerClockPerSm, double RegisterStagedIssueFactor);

/// <summary>A bound, validated and frozen GPU hardware description (product merged over its
/// family). Every field comes from the config; nothing here has a default that describes hardware.</summary>
public sealed class GpuSpec
{
    /// <summary>The data types that carry a peak rate in the config, in config-name order.</summary>
    public static readonly DType[] ConfigDTypes = [DType.Fp32, DType.Tf32, DType.Bf16, DType.Fp16, DType.Fp8, DType.Int8];

    public required string Name { get; init; }

    // compute
    public required int SmCount { get; init; }
    public required double ClockMHz { get; init; }
    /// <summary>Tensor-core rate at <see cref="ClockMHz"/> over the datasheet peak (quoted at
    /// <see cref="GpuPowerSpec.TensorPeakClockMHz"/>); the power limit may lower the clock per kernel
    /// (<see cref="GpuPowerModel"/>).</summary>
    public double TensorClockFraction => ClockMHz / Power.TensorPeakClockMHz;
    /// <summary>Dense peak rate per data type, FLOP/s, for <see cref="SmCount"/> SMs: the datasheet's
    /// <c>compute.&lt;dtype&gt;.peak_flops</c> x <c>compute.sm_count</c> / <c>compute.peak_sm_count</c> (the SM
    /// count the datasheet quotes its peaks for; defaults to <c>compute.sm_count</c>). An SM's rate is a
    /// property of its design, so more SMs never lower the rate of each.</summary>
    public required IReadOnlyDictionary<DType, double> PeakFlops { get; init; }
    public required IReadOnlyDictionary<DType, double> DTypeEfficiency { get; init; }

    // gemm
    public required IReadOnlyList<GemmTile> Tiles { get; init; }
    public required double TileOverheadS { get; init; }
    public required int SplitKMax { get; init; }
    public required double SplitKOverheadS { get; init; }
    public required double GemmBandwidthEfficiency { get; init; }
    /// <summary>Vector width, bytes, every operand's row pitch must allow for the fast path
    /// (<c>gemm.alignment_bytes</c>); narrower pitches run the fallback kernels (<see cref="GemmFallback"/>).</summary>
    public required double AlignmentBytes { get; init; }
    /// <summary>The kernels a misaligned GEMM falls back to (<c>gemm.fallback.*</c>).</summary>
    public required GemmFallbackSpec GemmFallback { get; init; }

    // attention
    public required int AttentionBlockQ { get; init; }
    public required int AttentionBlockKv { get; init; }
    public required double AttentionEfficiency { get; init; }
    public required double AttentionCtaOverheadS { get; init; }
    public required int DecodeMaxQueryLen { get; init; }
    public required double DecodeBandwidthEfficiency { get; init; }

    // memory
    public required long HbmCapacityBytes { get; init; }
    public required double HbmBandwidthBps { get; init; }
    public required double HbmAchievableFraction { get; init; }
    public required double HbmFillBytes { get; init; }
    public required double HbmWriteEfficiency { get; init; }
    public required long L2CapacityBytes { get; init; }
    /// <summary>Achievable L2 bytes per SM clock per SM (family).</summary>
    public required double L2BytesPerClockPerSm { get; init; }

    /// <summary>Achievable L2 bandwidth: bytes per clock per SM x SMs x boost clock.</summary>
    public double L2BandwidthBps => L2BytesPerClockPerSm * SmCount * ClockMHz * 1e6;
    public required double L2ResidentFraction { get; init; }

    // launch
    public required double KernelStartS { get; init; }
    public required double MinKernelS { get; init; }
    public required double CopyMinS { get; init; }

    // a framework's generic element-wise kernels (Op.Access): docs/stacks.md
    /// <summary>Device-side gap between back-to-back kernels replayed from a CUDA graph, paid by each
    /// framework element-wise kernel instead of <see cref="KernelStartS"/> (family).</summary>
    public required double StreamLaunchGapS { get; init; }

    /// <summary>Shortest vectorised element-wise kernel, launch gap excluded (family).</summary>
    public required double VectorizedMinS { get; init; }

    /// <summary>Elements per SM clock per SM that a strided (non-vectorised) element-wise kernel processes (family).</summary>
    public required double StridedElementsPerClockPerSm { get; init; }

    /// <summary>Element rate of strided element-wise kernels: elements per clock per SM x SMs x boost clock.</summary>
    public double StridedElementsPerS => StridedElementsPerClockPerSm * SmCount * ClockMHz * 1e6;

    /// <summary>Shortest strided element-wise kernel, launch gap excluded (family).</summary>
    public required double StridedMinS { get; init; }

    /// <summary>Shortest strided row reduction (a mean over a few rows by one CTA), launch gap excluded (family).</summary>
    public required double ReductionMinS { get; init; }

    // host link
    public required double PcieBandwidthBps { get; init; }
    public required double PcieLatencyS { get; init; }
    public required double PciePinnedEfficiency { get; init; }
    public required double PciePageableH2DEfficiency { get; init; }
    public required double PciePageableD2HEfficiency { get; init; }
    public required long HostMemoryBytes { get; init; }

    // NVMe drive on the host (0 capacity = not modelled; see GpuMemoryHierarchy.cs)
    public long NvmeCapacityBytes { get; init; }
    public double NvmeBandwidthBps { get; init; }
    public double NvmeLatencyS { get; init; }
    public double NvmeEfficiency { get; init; } = 1;

    // host dispatch (eager execution)
    public required GpuHostDispatchSpec HostDispatch { get; init; }

    // power and energy
    public required double TdpW { get; init; }
    public required double CapW { get; init; }
    public required double StaticW { get; init; }
    public required IReadOnlyDictionary<DType, double> PjPerFlop { get; init; }
    /// <summary>Power limit, DVFS and write-energy description (<see cref="GpuPowerModel"/>).</summary>
    public required GpuPowerSpec Power { get; init; }
    public required double PjPerByteHbm { get; init; }
    public required double PjPerByteL2 { get; init; }
    public required double PjPerBytePcie { get; init; }
    public double PjPerByteHost { get; init; }
    public double PjPerByteSsd { get; init; }

    /// <summary>The host CPU, for ops offloaded to it (GpuHostCpu.cs).</summary>
    public GpuHostCpuSpec HostCpu { get; init; } = GpuHostCpuSpec.None;

    /// <summary>Binds <paramref name="config"/>, reporting every missing, mistyped or out-of-range
    /// field at once (with its JSON path) as an <see cref="InputException"/>.</summary>
    public static GpuSpec Bind(HardwareConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var b = new ConfigBinder(config);

        var perType = b.PerDType(ConfigDTypes, DTypeKey.PeakFlops(required: DType.Fp32),
            new DTypeKey("compute.dtype_efficiency.{0}", 0, 1, ExclusiveMin: true), DTypeKey.PjPerFlop);
        var (peak, eff, pj) = (perType[0], perType[1], perType[2]);

        var tiles = new List<GemmTile>();
        var tileCount = config.ArrayLength("gemm.tiles");
        if (tileCount == 0) b.Fail("gemm.tiles", "missing; expected an array of at least one tile {m, n, k, efficiency}");
        for (var i = 0; i < tileCount; i++)
        {
            var p = $"gemm.tiles[{i}]";
            tiles.Add(new GemmTile(
                (int)b.Integer($"{p}.m", 1, 4096),
                (int)b.Integer($"{p}.n", 1, 4096),
                (int)b.Integer($"{p}.k", 1, 4096),
                b.Number($"{p}.efficiency", 0, 1, exclusiveMin: true)));
        }

        var clock = b.Positive("compute.clock_MHz");

        // The datasheet's peaks are quoted for the chip's SMs (compute.peak_sm_count): each SM keeps its
        // rate, so a description with more SMs has proportionally higher peaks.
        var smCount = (int)b.Integer("compute.sm_count", 1, 1_000_000);
        var peakSmCount = b.OptionalNumber("compute.peak_sm_count", smCount, 1, 1_000_000);
        if (peakSmCount != smCount)
            foreach (var d in ConfigDTypes) peak[d] *= smCount / peakSmCount;

        var spec = new GpuSpec
        {
            Name = config.Name,
            SmCount = smCount,
            ClockMHz = clock,
            PeakFlops = peak,
            DTypeEfficiency = eff,
            Tiles = tiles,
            TileOverheadS = b.Number("gemm.tile_overhead_s"),
            SplitKMax = (int)b.Integer("gemm.split_k_max", 1, 64),
            SplitKOverheadS = b.Number("gemm.split_k_overhead_s"),
            GemmBandwidthEfficiency = b.Number("gemm.bandwidth_efficiency", 0, 1, exclusiveMin: true),
            AlignmentBytes = b.Positive("gemm.alignment_bytes"),
            GemmFallback = new GemmFallbackSpec(
                b.Number("gemm.fallback.math_fraction", 0, 1, exclusiveMin: true),
                b.Number("gemm.fallback.async_copy_min_bytes", 0, 16),
                b.Positive("gemm.fallback.vectors_per_clock_per_sm"),
                b.Number("gemm.fallback.register_staged_issue_factor", 1, 16)),
            AttentionBlockQ = (int)b.Integer("attention.block_q", 1, 4096),
            AttentionBlockKv = (int)b.Integer("attention.block_kv", 1, 4096),
            AttentionEfficiency = b.Number("attention.efficiency", 0, 1, exclusiveMin: true),
            AttentionCtaOverheadS = b.Number("attention.cta_overhead_s"),
            DecodeMaxQueryLen = (int)b.Integer("attention.decode_max_query_len", 0, 1 << 20),
            DecodeBandwidthEfficiency = b.Number("attention.decode_bandwidth_efficiency", 0, 1, exclusiveMin: true),
            HbmCapacityBytes = b.Integer("memory.hbm.capacity_bytes", 1),
            HbmBandwidthBps = b.Positive("memory.hbm.bandwidth_Bps"),
            HbmAchievableFraction = b.Number("memory.hbm.achievable_fraction", 0, 1, exclusiveMin: true),
            HbmFillBytes = b.Number("memory.hbm.fill_bytes"),
            HbmWriteEfficiency = b.Number("memory.hbm.write_efficiency", 0, 1, exclusiveMin: true),
            L2CapacityBytes = b.Integer("memory.l2.capacity_bytes"),
            L2BytesPerClockPerSm = b.Positive("memory.l2.bytes_per_clock_per_sm"),
            L2ResidentFraction = b.Fraction("memory.l2.resident_fraction"),
            KernelStartS = b.Number("launch.kernel_start_s"),
            MinKernelS = b.Number("launch.min_kernel_s"),
            CopyMinS = b.Number("launch.copy_min_s"),
            StreamLaunchGapS = b.Number("stream.launch_gap_s"),
            VectorizedMinS = b.Number("stream.vectorized_min_s"),
            StridedElementsPerClockPerSm = b.Positive("stream.strided_elements_per_clock_per_sm"),
            StridedMinS = b.Number("stream.strided_min_s"),
            ReductionMinS = b.Number("stream.reduction_min_s"),
            PcieBandwidthBps = b.Positive("host.pcie.bandwidth_Bps"),
            PcieLatencyS = b.Number("host.pcie.latency_s"),
            PciePinnedEfficiency = b.Number("host.pcie.pinned_efficiency", 0, 1, exclusiveMin: true),
            PciePageableH2DEfficiency = b.Number("host.pcie.pageable_h2d_efficiency", 0, 1, exclusiveMin: true),
            PciePageableD2HEfficiency = b.Number("host.pcie.pageable_d2h_efficiency", 0, 1, exclusiveMin: true),
            HostMemoryBytes = (long)b.OptionalNumber("host.memory_bytes", 0),
            HostDispatch = GpuHostDispatchSpec.Bind(b),
            TdpW = b.Positive("power.tdp_W"),
            CapW = b.Positive("power.cap_W"),
            StaticW = b.Number("power.static_W"),
            PjPerFlop = pj,
            PjPerByteHbm = b.Number("energy.pJ_per_byte.hbm"),
            Power = GpuPowerSpec.Bind(b, clock, b.OptionalNumber("energy.pJ_per_byte.hbm", 0)),
            PjPerByteL2 = b.Number("energy.pJ_per_byte.l2"),
            PjPerBytePcie = b.Number("energy.pJ_per_byte.pcie"),
            NvmeCapacityBytes = (long)b.OptionalNumber("host.nvme.capacity_bytes", 0),
            NvmeBandwidthBps = b.OptionalNumber("host.nvme.bandwidth_Bps", 0),
            NvmeLatencyS = b.OptionalNumber("host.nvme.latency_s", 0),
            NvmeEfficiency = b.OptionalNumber("host.nvme.efficiency", 1, 0, 1),
            PjPerByteHost = b.OptionalNumber("energy.pJ_per_byte.host", 0),
            PjPerByteSsd = b.OptionalNumber("energy.pJ_per_byte.ssd", 0),
            HostCpu = GpuHostCpuSpec.Bind(b),
        };
        b.ThrowIfInvalid();
        return spec;
    }
}
