using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins.Kit;

namespace AccelSim.Plugins.Fpga;

/// <summary>A bound, validated and frozen FPGA accelerator description: the board's resources (DSP
/// slices, on-chip BRAM/URAM, HBM and DDR channels) and the parameters of the accelerator design
/// that runs on it (achieved clock, DSP-chain shape, instruction overhead). Every field comes from
/// the config; nothing here has a default that describes hardware.</summary>
public sealed class FpgaSpec
{
    /// <summary>Data types with a MAC rate per DSP in the config, in config-name order.</summary>
    public static readonly DType[] ConfigDTypes = [DType.Fp32, DType.Bf16, DType.Fp16, DType.Fp8, DType.Int8, DType.Int4];

    /// <summary>Tier names a placement may name.</summary>
    public static readonly string[] OffChipTiers = ["hbm", "ddr"];

    public required string Name { get; init; }

    // compute: the DSP array
    public required int DspCount { get; init; }
    public required double UsableDspFraction { get; init; }
    public required double MaxClockHz { get; init; }
    public required double ClockHz { get; init; }
    public required IReadOnlyDictionary<DType, double> MacsPerDspPerCycle { get; init; }
    public required int DspChainLength { get; init; }
    public required double DspChainEfficiency { get; init; }
    public required bool SparseDspChain { get; init; }
    public required double AttentionEfficiency { get; init; }
    public required double VectorFlopsPerCycle { get; init; }

    // memory
    public required long SramCapacityBytes { get; init; }
    public required double SramBandwidthBps { get; init; }
    public required double SramActivationFraction { get; init; }
    public required long HbmCapacityBytes { get; init; }
    public required double HbmBandwidthBps { get; init; }
    public required double HbmAchievableFraction { get; init; }
    public required int HbmPorts { get; init; }
    public required double HbmPortWidthBytes { get; init; }
    public required double HbmPortClockHz { get; init; }
    public required long DdrCapacityBytes { get; init; }
    public required double DdrBandwidthBps { get; init; }
    public required double DdrAchievableFraction { get; init; }
    public required string WeightsTier { get; init; }
    public required string KvCacheTier { get; init; }
    public required string ActivationSpillTier { get; init; }

    // data mover: copies between the off-chip tiers beside the DSP array
    public required double DmaEfficiency { get; init; }
    public required double DmaSetupS { get; init; }

    // instruction stream and dataflow
    public required double InstructionOverheadCycles { get; init; }
    public required int DataflowTileRows { get; init; }
    public required int DataflowVectorTileElements { get; init; }
    public required double DataflowBufferFraction { get; init; }

    // power, energy, cost
    public required double MaxBoardW { get; init; }
    public required double StaticW { get; init; }
    public required double DesignW { get; init; }
    public required IReadOnlyDictionary<DType, double> PjPerFlop { get; init; }
    public required double PjPerFlopVector { get; init; }
    public required double PjPerByteHbm { get; init; }
    public required double PjPerByteDdr { get; init; }
    public required double PjPerByteSram { get; init; }
    public required double PriceUsd { get; init; }

    /// <summary>DSPs the accelerator design instantiates for its MAC array.</summary>
    public int UsableDsps => Math.Max(DspChainLength, (int)Math.Floor(DspCount * UsableDspFraction));

    /// <summary>Seconds per cycle at the achieved clock.</summary>
    public double CycleS => 1 / ClockHz;

    /// <summary>Binds <paramref name="config"/>, reporting every missing, mistyped or out-of-range
    /// field at once (with its JSON path) as an <see cref="InputException"/>.</summary>
    public static FpgaSpec Bind(HardwareConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var b = new ConfigBinder(config);

        var perType = b.PerDType(ConfigDTypes, new DTypeKey("compute.macs_per_dsp_per_cycle.{0}", 0, 64, Required: DType.Fp32), DTypeKey.PjPerFlop);
        var (macs, pj) = (perType[0], perType[1]);

        var maxClock = b.Positive("compute.max_clock_Hz");
        var clock = b.Positive("compute.clock_Hz");
        if (clock > maxClock && maxClock > 0)
            b.Fail("compute.clock_Hz", $"expected a number <= compute.max_clock_Hz ({Fmt(maxClock)}), got {Fmt(clock)}");

        var spec = new FpgaSpec
        {
            Name = config.Name,
            DspCount = (int)b.Integer("compute.dsp_count", 1, 10_000_000),
            UsableDspFraction = b.Number("compute.usable_dsp_fraction", 0, 1, exclusiveMin: true),
            MaxClockHz = maxClock,
            ClockHz = clock,
            MacsPerDspPerCycle = macs,
            DspChainLength = (int)b.Integer("compute.dsp_chain_length", 1, 4096),
            DspChainEfficiency = b.Number("compute.dsp_chain_efficiency", 0, 1, exclusiveMin: true),
            SparseDspChain = b.Flag("compute.sparse_dsp_chain", false),
            AttentionEfficiency = b.Number("compute.attention_efficiency", 0, 1, exclusiveMin: true),
            VectorFlopsPerCycle = b.Positive("compute.vector_flops_per_cycle"),
            SramCapacityBytes = b.Integer("memory.sram.capacity_bytes", 1),
            SramBandwidthBps = b.Positive("memory.sram.bandwidth_Bps"),
            SramActivationFraction = b.Fraction("memory.sram.activation_fraction"),
            HbmCapacityBytes = b.Integer("memory.hbm.capacity_bytes", 1),
            HbmBandwidthBps = b.Positive("memory.hbm.bandwidth_Bps"),
            HbmAchievableFraction = b.Number("memory.hbm.achievable_fraction", 0, 1, exclusiveMin: true),
            HbmPorts = (int)b.Integer("memory.hbm.ports", 1, 4096),
            HbmPortWidthBytes = b.Positive("memory.hbm.port_width_bytes"),
            HbmPortClockHz = b.Positive("memory.hbm.port_clock_Hz"),
            DdrCapacityBytes = b.Integer("memory.ddr.capacity_bytes", 1),
            DdrBandwidthBps = b.Positive("memory.ddr.bandwidth_Bps"),
            DdrAchievableFraction = b.Number("memory.ddr.achievable_fraction", 0, 1, exclusiveMin: true),
            WeightsTier = Tier(b, "placement.weights"),
            KvCacheTier = Tier(b, "placement.kv_cache"),
            ActivationSpillTier = Tier(b, "placement.activation_spill"),
            DmaEfficiency = b.Number("dma.efficiency", 0, 1, exclusiveMin: true),
            DmaSetupS = b.Number("dma.setup_s", 0, 1),
            InstructionOverheadCycles = b.Number("instruction.overhead_cycles"),
            DataflowTileRows = (int)b.Integer("dataflow.tile_rows", 1, 1 << 20),
            DataflowVectorTileElements = (int)b.Integer("dataflow.vector_tile_elements", 1, 1 << 30),
            DataflowBufferFraction = b.Fraction("dataflow.buffer_fraction"),
            MaxBoardW = b.Positive("power.max_board_W"),
            StaticW = b.Number("power.static_W"),
            DesignW = b.Number("power.design_W"),
            PjPerFlop = pj,
            PjPerFlopVector = b.Number("energy.pJ_per_flop.vector"),
            PjPerByteHbm = b.Number("energy.pJ_per_byte.hbm"),
            PjPerByteDdr = b.Number("energy.pJ_per_byte.ddr"),
            PjPerByteSram = b.Number("energy.pJ_per_byte.sram"),
            PriceUsd = b.OptionalNumber("cost.price_USD", 0),
        };
        if (spec.StaticW + spec.DesignW > spec.MaxBoardW)
            b.Fail("power.design_W", $"static_W + design_W ({Fmt(spec.StaticW + spec.DesignW)}) exceeds power.max_board_W ({Fmt(spec.MaxBoardW)})");
        b.ThrowIfInvalid();
        return spec;
    }

    private static string Tier(ConfigBinder b, string path)
    {
        var t = b.Text(path);
        if (t.Length > 0 && Array.IndexOf(OffChipTiers, t) < 0)
            b.Fail(path, $"expected one of {string.Join(", ", OffChipTiers)}, got \"{t}\"");
        return Array.IndexOf(OffChipTiers, t) < 0 ? "hbm" : t;
    }

    private static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
