using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins.Kit;

namespace AccelSim.Plugins.Rdu;

/// <summary>A bound, validated and frozen RDU hardware description. Per-socket figures come from the
/// config; <see cref="Sockets"/> multiplies them for a node. Nothing here has a default that
/// describes hardware.</summary>
public sealed class RduSpec
{
    /// <summary>The data types that carry a peak rate in the config.</summary>
    public static readonly DType[] ConfigDTypes = [DType.Fp32, DType.Bf16, DType.Fp16];

    public required string Name { get; init; }

    // node
    public required int Sockets { get; init; }

    // compute (per socket)
    public required int PcuCount { get; init; }
    public required int PmuCount { get; init; }
    public required IReadOnlyDictionary<DType, double> PeakFlops { get; init; }
    public required double GemmEfficiency { get; init; }
    public required double VectorEfficiency { get; init; }

    // memory (per socket)
    public required long SramCapacityBytes { get; init; }
    public required double PmuBandwidthBps { get; init; }
    public required double SramBufferFraction { get; init; }
    public required long HbmCapacityBytes { get; init; }
    public required double HbmBandwidthBps { get; init; }
    public required double HbmAchievableFraction { get; init; }
    public required long DdrCapacityBytes { get; init; }
    public required double DdrBandwidthBps { get; init; }
    public required double DdrAchievableFraction { get; init; }

    // links
    public required double P2pBandwidthBps { get; init; }
    public required double P2pLatencyS { get; init; }

    // execution
    public required double KernelLaunchS { get; init; }
    public required double StageLatencyS { get; init; }
    public required double AttentionScorePasses { get; init; }

    // power and energy
    public required double StaticWPerSocket { get; init; }
    public required IReadOnlyDictionary<DType, double> PjPerFlop { get; init; }
    public required double PjPerByteSram { get; init; }
    public required double PjPerByteHbm { get; init; }
    public required double PjPerByteDdr { get; init; }
    public required double PjPerByteP2p { get; init; }

    /// <summary>Binds <paramref name="config"/>, reporting every missing, mistyped or out-of-range
    /// field at once (with its JSON path) as an <see cref="InputException"/>.</summary>
    public static RduSpec Bind(HardwareConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var b = new ConfigBinder(config);
        var perType = b.PerDType(ConfigDTypes, DTypeKey.PeakFlops(required: DType.Bf16), DTypeKey.PjPerFlop);
        var (peak, pj) = (perType[0], perType[1]);
        var spec = new RduSpec
        {
            Name = config.Name,
            Sockets = (int)b.Integer("node.sockets", 1, 1024),
            PcuCount = (int)b.Integer("compute.pcu_count", 1, 1_000_000),
            PmuCount = (int)b.Integer("compute.pmu_count", 1, 1_000_000),
            PeakFlops = peak,
            GemmEfficiency = b.Number("compute.gemm_efficiency", 0, 1, exclusiveMin: true),
            VectorEfficiency = b.Number("compute.vector_efficiency", 0, 1, exclusiveMin: true),
            SramCapacityBytes = b.Integer("memory.sram.capacity_bytes"),
            PmuBandwidthBps = b.Positive("memory.sram.pmu_bandwidth_Bps"),
            SramBufferFraction = b.Fraction("memory.sram.buffer_fraction"),
            HbmCapacityBytes = b.Integer("memory.hbm.capacity_bytes", 1),
            HbmBandwidthBps = b.Positive("memory.hbm.bandwidth_Bps"),
            HbmAchievableFraction = b.Number("memory.hbm.achievable_fraction", 0, 1, exclusiveMin: true),
            DdrCapacityBytes = b.Integer("memory.ddr.capacity_bytes"),
            DdrBandwidthBps = b.Positive("memory.ddr.bandwidth_Bps"),
            DdrAchievableFraction = b.Number("memory.ddr.achievable_fraction", 0, 1, exclusiveMin: true),
            P2pBandwidthBps = b.Positive("links.p2p.bandwidth_Bps"),
            P2pLatencyS = b.Number("links.p2p.latency_s"),
            KernelLaunchS = b.Number("kernel.launch_s"),
            StageLatencyS = b.Number("pipeline.stage_latency_s"),
            AttentionScorePasses = b.Number("unfused.attention_score_passes", 0, 64),
            StaticWPerSocket = b.Number("power.static_W"),
            PjPerFlop = pj,
            PjPerByteSram = b.Number("energy.pJ_per_byte.sram"),
            PjPerByteHbm = b.Number("energy.pJ_per_byte.hbm"),
            PjPerByteDdr = b.Number("energy.pJ_per_byte.ddr"),
            PjPerByteP2p = b.Number("energy.pJ_per_byte.p2p"),
        };
        b.ThrowIfInvalid();
        return spec;
    }
}
