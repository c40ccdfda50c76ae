using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins.Kit;

namespace AccelSim.Plugins.Wafer;

/// <summary>A bound, validated and frozen wafer-scale mesh description. Every field comes from the
/// config; nothing here has a default that describes hardware.</summary>
public sealed class WaferSpec
{
    /// <summary>The data types that carry a peak rate in the config, in config-name order.</summary>
    public static readonly DType[] ConfigDTypes = [DType.Fp32, DType.Tf32, DType.Bf16, DType.Fp16, DType.Fp8, DType.Int8];

    public required string Name { get; init; }

    // compute
    public required long Cores { get; init; }
    public required IReadOnlyDictionary<DType, double> PeakFlops { get; init; }
    public required double ComputeEfficiency { get; init; }

    // mesh and fabric
    public required int MeshWidth { get; init; }
    public required int MeshHeight { get; init; }
    public required double HopLatencyS { get; init; }
    public required double LinkBandwidthBps { get; init; }
    public required double FabricBandwidthBps { get; init; }
    public required double OpOverheadS { get; init; }
    public required double ReduceStepLatencyS { get; init; }

    // memory
    public required long SramCapacityBytes { get; init; }
    public required double SramBandwidthBps { get; init; }
    public required double SramResidentFraction { get; init; }
    public required long MemoryXCapacityBytes { get; init; }
    public required double MemoryXBandwidthBps { get; init; }
    public required double MemoryXLatencyS { get; init; }

    // dataflow
    public required int MaxPipelineChunks { get; init; }

    // power and energy
    public required double StaticW { get; init; }
    public required IReadOnlyDictionary<DType, double> PjPerFlop { get; init; }
    public required double PjPerByteSram { get; init; }
    public required double PjPerByteHop { get; init; }
    public required double PjPerByteMemoryX { get; init; }

    /// <summary>Cores of the mesh used for placement (width x height).</summary>
    public long MeshCores => (long)MeshWidth * MeshHeight;

    /// <summary>Local SRAM of one core, bytes.</summary>
    public double SramPerCoreBytes => SramCapacityBytes / (double)Cores;

    /// <summary>Local SRAM bandwidth of one core, B/s.</summary>
    public double SramPerCoreBps => SramBandwidthBps / Cores;

    /// <summary>Bytes of SRAM that may hold weights and KV caches (the rest holds code, activations
    /// and communication buffers).</summary>
    public long ResidentBudgetBytes => (long)(SramCapacityBytes * SramResidentFraction);

    /// <summary>Bytes of SRAM left for activations and pipeline buffers.</summary>
    public long ActivationBudgetBytes => SramCapacityBytes - ResidentBudgetBytes;

    /// <summary>Binds <paramref name="config"/>, reporting every missing, mistyped or out-of-range
    /// field at once (with its JSON path) as an <see cref="InputException"/>.</summary>
    public static WaferSpec Bind(HardwareConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var b = new ConfigBinder(config);

        var perType = b.PerDType(ConfigDTypes, DTypeKey.PeakFlops(required: DType.Fp32), DTypeKey.PjPerFlop);
        var (peak, pj) = (perType[0], perType[1]);

        var cores = b.Integer("compute.cores", 1, 100_000_000);
        var width = (int)b.Integer("mesh.width", 1, 100_000);
        var height = (int)b.Integer("mesh.height", 1, 100_000);
        if (cores > 0 && (long)width * height > cores * 1.01)
            b.Fail("mesh.width", string.Create(CultureInfo.InvariantCulture,
                $"expected mesh.width x mesh.height <= compute.cores ({cores}), got {width} x {height} = {(long)width * height}"));

        var spec = new WaferSpec
        {
            Name = config.Name,
            Cores = cores,
            PeakFlops = peak,
            ComputeEfficiency = b.Number("compute.efficiency", 0, 1, exclusiveMin: true),
            MeshWidth = width,
            MeshHeight = height,
            HopLatencyS = b.Number("mesh.hop_latency_s"),
            LinkBandwidthBps = b.Positive("mesh.link_bandwidth_Bps"),
            FabricBandwidthBps = b.Positive("mesh.fabric_bandwidth_Bps"),
            OpOverheadS = b.Number("mesh.op_overhead_s"),
            ReduceStepLatencyS = b.Number("mesh.reduce_step_latency_s"),
            SramCapacityBytes = b.Integer("memory.sram.capacity_bytes", 1),
            SramBandwidthBps = b.Positive("memory.sram.bandwidth_Bps"),
            SramResidentFraction = b.Number("memory.sram.resident_fraction", 0, 1, exclusiveMin: true),
            MemoryXCapacityBytes = b.Integer("memory.memoryx.capacity_bytes", 0),
            MemoryXBandwidthBps = b.Positive("memory.memoryx.bandwidth_Bps"),
            MemoryXLatencyS = b.Number("memory.memoryx.latency_s"),
            MaxPipelineChunks = (int)b.Integer("dataflow.max_pipeline_chunks", 1, 1_000_000),
            StaticW = b.Number("power.static_W"),
            PjPerFlop = pj,
            PjPerByteSram = b.Number("energy.pJ_per_byte.sram"),
            PjPerByteHop = b.Number("energy.pJ_per_byte.fabric_hop"),
            PjPerByteMemoryX = b.Number("energy.pJ_per_byte.memoryx"),
        };
        b.ThrowIfInvalid();
        return spec;
    }
}
