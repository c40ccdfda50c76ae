using System.Globalization;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins.Kit;
using AccelSim.Core.Memory;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;

namespace AccelSim.Plugins.Fpga;

/// <summary>The FPGA cost model bound to one <see cref="FpgaSpec"/>. Pure: every op and region costs
/// the same every time.
/// <para>Compute is a DSP array: chains of <c>dsp_chain_length</c> cascaded DSP slices each reduce
/// along K for one output element at a time, <c>chain x MACs-per-DSP</c> multiply-adds per cycle at
/// the achieved clock; an op's output elements are dealt to the chains in rounds, so shapes that do
/// not fill the chains (K not a multiple of the chain's width, fewer outputs than chains) waste
/// cycles. A sparse DSP chain skips pruned weights (N:M). Norms, rope, softmax and element-wise ops
/// run on a vector (special-function) unit. Every op is one compiled instruction with a fixed
/// decode/configure overhead.</para>
/// <para>Op by op (<see cref="Cost"/>, the sequential schedule): one op at a time on the whole DSP
/// array, reading its activations from and writing them to the placement's spill tier (HBM or DDR),
/// weights and KV caches from their tiers; one instruction decode/configuration per op.</para>
/// <para>Dataflow (<see cref="CostRegion"/>): a region's ops are placed at once as a spatial pipeline
/// on a static partition of the DSP chains (each stage in proportion to its work over the region);
/// intermediates a consumer streams row by row go through tile FIFOs, those it needs whole (a
/// matmul's second operand, attention's keys and values) wait in on-chip activation buffers and cut
/// the pipeline into segments that run one after another while the other segments' partitions
/// idle; an intermediate that does not fit on chip goes through the spill tier. A region whose rows fit
/// in one tile (a decode step) may instead stream its intermediates along their features, where that is
/// faster. The stages that run at once share the HBM pseudo-channels in proportion to their bytes
/// (<see cref="HbmChannelAllocation"/>). Activations stay on chip between a fused region's ops
/// (FlightLLM's always-on-chip decode is such a region).</para>
/// <para>Reconfigured (<see cref="CostRegionReconfigured"/>, InTAR's inter-task reconfiguration): a
/// region's ops one after another, each on the whole DSP array reconfigured for it (one instruction
/// decode/configuration per op), intermediates held whole in the on-chip activation buffers while
/// they are live where they fit, the rest through the spill tier as op by op.</para>
/// <para>Copies between HBM and DDR (ops with <see cref="Op.Transfer"/>: offloaded weights and swapped
/// KV caches staged per layer, expert switches) run on the data mover beside the DSP array
/// (<see cref="TierCopy(Op, TierTransfer)"/>).</para></summary>
public sealed partial class FpgaDeviceModel : IDeviceModel, IDataflowDevice, IReconfigurableDevice
{
    private readonly int _dsp, _dma, _hbm, _ddr, _sram, _hbmTier, _ddrTier;

    public FpgaDeviceModel(FpgaSpec spec)
    {
        Spec = spec ?? throw new ArgumentNullException(nameof(spec));
        Topology = new DeviceTopology(
            [new EngineSpec("dsp", 1), new EngineSpec(DmaEngine, 1)],
            [
                ChannelSpec.Memory("hbm", spec.HbmBandwidthBps, 0, "hbm", offChip: true),
                ChannelSpec.Memory("ddr", spec.DdrBandwidthBps, 0, "ddr", offChip: true),
                ChannelSpec.Memory("sram", spec.SramBandwidthBps, 0, "sram", offChip: false),
            ],
            [
                new TierSpec("hbm", spec.HbmCapacityBytes, OffChip: true),
                new TierSpec("ddr", spec.DdrCapacityBytes, OffChip: true),
                new TierSpec("sram", spec.SramCapacityBytes, OffChip: false),
            ]);
        _dsp = Topology.EngineIndex("dsp");
        _dma = Topology.EngineIndex(DmaEngine);
        _hbm = Topology.ChannelIndex("hbm");
        _ddr = Topology.ChannelIndex("ddr");
        _sram = Topology.ChannelIndex("sram");
        _hbmTier = Topology.TierIndex("hbm");
        _ddrTier = Topology.TierIndex("ddr");
        Capabilities = new DeviceCapabilities { MemoryHierarchy = this, Dataflow = this, Reconfiguration = this };
    }

    public FpgaSpec Spec { get; }
    public string Name => Spec.Name;
    public string Kind => FpgaPlugin.KindName;
    public DeviceTopology Topology { get; }
    public int MainMemoryChannel => _hbm;

    /// <summary>HBM and DDR with a data mover between them (<see cref="PlacementTiers"/>), dataflow regions
    /// (<see cref="CostRegion"/>) and reconfigured regions (<see cref="CostRegionReconfigured"/>).</summary>
    public DeviceCapabilities Capabilities { get; }

    /// <summary>Board idle power plus the clocked fabric of the loaded design.</summary>
    public double StaticPowerW => Spec.StaticW + Spec.DesignW;

    /// <summary>The design's peak: usable DSPs x MACs per DSP per cycle x 2 x achieved clock.</summary>
    /// <summary>The card: peaks of the design's MAC array and topology, the board's power limit, DSPs and clocks.</summary>
    public DeviceCard Describe() => DeviceCards.Generic(this, Spec.MaxBoardW,
    [
        new CardFigure("DSPs", Spec.DspCount, ""),
        new CardFigure("usable DSP fraction", Spec.UsableDspFraction, ""),
        new CardFigure("design clock", Spec.ClockHz, "Hz"),
        new CardFigure("static + design power", StaticPowerW, "W"),
    ]);

    public double PeakFlops(DType dtype) =>
        dtype == DType.Tf32 ? 0 : Spec.MacsPerDspPerCycle.TryGetValue(dtype, out var m) ? 2.0 * Spec.UsableDsps * m * Spec.ClockHz : 0;

    /// <summary>A type the DSPs can compute in: an unsupported one is widened (int4 -> int8 -> fp8 ->
    /// bf16 -> fp16 -> fp32).</summary>
    public DType Supported(DType d) => DTypeLadder.Standard.Supported(d, this);

    /// <summary>A matmul with a weight operand runs at the weight's width (the DSPs pack narrow
    /// weights, activations quantised to match as FlightLLM's int8 activations are); other ops in
    /// their own type. Both widened to what the DSPs support.</summary>
    public DType ComputeDType(Op op)
    {
        ArgumentNullException.ThrowIfNull(op);
        if (op.Kind == OpKind.MatMul)
        {
            Tensor? w = null;
            foreach (var t in op.Inputs)
                if (t.Role == TensorRole.Weight && (w is null || t.Bytes > w.Bytes)) w = t;
            if (w is not null) return Supported(w.DType.Bits() < op.ComputeDType.Bits() ? w.DType : op.ComputeDType);
        }
        return Supported(op.ComputeDType);
    }

    /// <summary>Activations live in the spill tier between ops (a fused region keeps its
    /// intermediates on chip, see <see cref="CostRegion"/>); weights and KV caches where the placement
    /// says; a streamed layer's staging buffer in the weight tier it is staged into; everything else
    /// in HBM.</summary>
    public int PlaceTensor(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.IsStagingBuffer) return TierOf(Spec.WeightsTier);
        return tensor.Role switch
        {
            TensorRole.Activation => TierOf(Spec.ActivationSpillTier),
            TensorRole.Weight => TierOf(Spec.WeightsTier),
            TensorRole.KvCache => TierOf(Spec.KvCacheTier),
            _ => _hbmTier,
        };
    }

    private int TierOf(string name) => name == "ddr" ? _ddrTier : _hbmTier;

    /// <summary>Bytes of BRAM/URAM that hold whole intermediates inside a fused region.</summary>
    public long ActivationBudget => (long)(Spec.SramCapacityBytes * Spec.SramActivationFraction);

    /// <summary>Bytes of BRAM/URAM a dataflow pipeline may use for its stream FIFOs.</summary>
    public long StreamBudget => (long)(Spec.SramCapacityBytes * Spec.DataflowBufferFraction);

    // ---- rates ----

    /// <summary>Achievable HBM rate: the stacks' achievable fraction, capped by what the design's
    /// AXI ports move per second (ports x width x port clock).</summary>
    public double HbmRate => Math.Min(Spec.HbmBandwidthBps * Spec.HbmAchievableFraction, Spec.HbmPorts * Spec.HbmPortWidthBytes * Spec.HbmPortClockHz);

    public double DdrRate => Spec.DdrBandwidthBps * Spec.DdrAchievableFraction;

    private double VectorRate => Spec.VectorFlopsPerCycle * Spec.ClockHz;

    private double InstructionS => Spec.InstructionOverheadCycles / Spec.ClockHz;

    // ---- the DSP array ----

    private static bool OnDsps(Op op) =>
        (op.Kind == OpKind.MatMul && op.Gemm is { } g && g.M > 0 && g.N > 0 && g.K > 0 && g.Batch > 0)
        || (op.Kind == OpKind.Attention && op.Attention is { } a && a.QueryLen > 0 && a.KvLen > 0 && a.Batch > 0 && a.HeadsQ > 0);

    /// <summary>Seconds the op's math takes on <paramref name="dsps"/> DSP slices (DSP ops) or on
    /// <paramref name="vectorShare"/> of the vector unit (other ops), and the fraction of the slices'
    /// cycles the op's shape fills (1 for vector ops).</summary>
    private (double Seconds, double ShapeUtil) ComputeSeconds(Op op, int dsps, double vectorShare)
    {
        if (!OnDsps(op))
            return (op.Flops <= 0 ? 0 : op.Flops / (VectorRate * vectorShare), 1);

        var dt = ComputeDType(op);
        var macs = Spec.MacsPerDspPerCycle[dt];
        var chain = Math.Min(Spec.DspChainLength, dsps);
        var chains = Math.Max(1, dsps / chain);
        var perChainCycle = chain * macs;
        if (op.Kind == OpKind.Attention)
        {
            // QK^T and PV on the array, K = head_dim per output; efficiency covers softmax hand-off.
            var rate = 2.0 * chains * perChainCycle * Spec.ClockHz * Spec.AttentionEfficiency;
            return (op.Flops / rate, Spec.AttentionEfficiency);
        }

        var g = op.Gemm!.Value;
        var density = Spec.SparseDspChain ? WeightFormat.Density(op) : 1;
        var kEff = Math.Max(1, (long)Math.Ceiling(g.K * density - 1e-9));
        var kSteps = Math.Ceiling(kEff / perChainCycle);
        var outputs = (double)g.Batch * g.M * g.N;
        var rounds = Math.Ceiling(outputs / chains);
        var cycles = rounds * kSteps;
        var util = outputs * kEff / (cycles * chains * perChainCycle);
        return (cycles / Spec.ClockHz / Spec.DspChainEfficiency, util);
    }

    private double PjPerFlop(Op op) => OnDsps(op) ? Spec.PjPerFlop[ComputeDType(op)] : Spec.PjPerFlopVector;

    // ---- memory traffic ----

    private readonly record struct Traffic(long Hbm, long Ddr, long Sram)
    {
        public long OffChip => Hbm + Ddr;
        public Traffic Plus(Traffic o) => new(Hbm + o.Hbm, Ddr + o.Ddr, Sram + o.Sram);
    }

    private static readonly IReadOnlySet<int> NoneOnChip = new HashSet<int>();

    /// <summary>Where the op's bytes go: activations in <paramref name="onChip"/> over the on-chip
    /// channel, other activations through HBM, weights and caches over their tier's channel. The op's
    /// read and write totals are kept: a partial read (a gather, a cache slice) is shared among its
    /// non-activation inputs in proportion to their size.</summary>
    private Traffic Split(Op op, IReadOnlySet<int> onChip)
    {
        long hbm = 0, ddr = 0, sram = 0;
        Distribute(op.Inputs, op.BytesRead, onChip, ref hbm, ref ddr, ref sram);
        Distribute(op.Outputs, op.BytesWritten, onChip, ref hbm, ref ddr, ref sram);
        return new Traffic(hbm, ddr, sram);
    }

    private void Distribute(IReadOnlyList<Tensor> tensors, long total, IReadOnlySet<int> onChip, ref long hbm, ref long ddr, ref long sram)
    {
        if (total <= 0 || tensors.Count == 0)
        {
            hbm += Math.Max(0, total);
            return;
        }
        // A staging buffer is the top tier's copy of streamed tensors the op also lists: no bytes of its
        // own; the op reads its weights and caches from it, in the tier it was staged into.
        long act = 0, other = 0;
        string? staged = null;
        foreach (var t in tensors)
        {
            if (t.IsStagingBuffer) staged = Spec.WeightsTier;
            else if (t.Role == TensorRole.Activation) act += t.Bytes;
            else other += t.Bytes;
        }
        // Activations are read whole; the rest of the total falls on the other tensors.
        var actScale = act <= total ? 1.0 : total / (double)act;
        var rest = total - (long)Math.Round(act * actScale);
        long given = 0;
        Tensor? last = null;
        foreach (var t in tensors)
        {
            if (t.IsStagingBuffer) continue;
            long b;
            if (t.Role == TensorRole.Activation) b = (long)Math.Round(t.Bytes * actScale);
            else b = other > 0 ? (long)Math.Round(rest * (t.Bytes / (double)other)) : 0;
            given += b;
            last = t;
            Add(t, b, onChip, staged, ref hbm, ref ddr, ref sram);
        }
        // Rounding remainder (and reads with only activation inputs beyond their size) on the last tensor.
        if (given != total && last is not null) Add(last, total - given, onChip, staged, ref hbm, ref ddr, ref sram);
        else if (given != total && staged == "ddr") ddr += total - given;
        else if (given != total) hbm += total - given;
    }

    /// <summary>Adds <paramref name="bytes"/> of <paramref name="t"/> to its channel: an activation's by where
    /// it lives (on chip or the spill tier), a weight's or cache's from <paramref name="stagedTier"/> when
    /// the op reads it from a staging buffer, else from its configured tier.</summary>
    private void Add(Tensor t, long bytes, IReadOnlySet<int> onChip, string? stagedTier, ref long hbm, ref long ddr, ref long sram)
    {
        if (t.Role == TensorRole.Activation)
        {
            if (onChip.Contains(t.Id)) sram += bytes;
            else if (Spec.ActivationSpillTier == "ddr") ddr += bytes;
            else hbm += bytes;
            return;
        }
        var tier = stagedTier ?? (t.Role == TensorRole.Weight ? Spec.WeightsTier : t.Role == TensorRole.KvCache ? Spec.KvCacheTier : "hbm");
        if (tier == "ddr") ddr += bytes; else hbm += bytes;
    }

    /// <summary>Seconds the traffic takes alone: the slowest channel at its achievable rate.</summary>
    private double MemorySeconds(Traffic t) =>
        Math.Max(Math.Max(t.Hbm / HbmRate, t.Ddr / DdrRate), t.Sram / Spec.SramBandwidthBps);

    private List<TransferDemand> Transfers(Traffic t)
    {
        var list = new List<TransferDemand>(3);
        if (t.Hbm > 0) list.Add(new TransferDemand(_hbm, t.Hbm, HbmRate, t.Hbm * Spec.PjPerByteHbm));
        if (t.Ddr > 0) list.Add(new TransferDemand(_ddr, t.Ddr, DdrRate, t.Ddr * Spec.PjPerByteDdr));
        if (t.Sram > 0) list.Add(new TransferDemand(_sram, t.Sram, Spec.SramBandwidthBps, t.Sram * Spec.PjPerByteSram));
        return list;
    }

    // ---- one op at a time ----

    public OpCost Cost(Op op)
    {
        ArgumentNullException.ThrowIfNull(op);
        if (op.Transfer is { } transfer) return TierCopy(op, transfer);
        var traffic = Split(op, NoneOnChip);
        var (computeS, util) = ComputeSeconds(op, Spec.UsableDsps, 1);
        var note = OnDsps(op)
            ? string.Create(CultureInfo.InvariantCulture, $"{ComputeDType(op).Name()} on {Spec.UsableDsps} DSPs, shape fills {util:0.###} of the chains; {traffic.OffChip} B off chip, {traffic.Sram} B on chip")
            : string.Create(CultureInfo.InvariantCulture, $"vector unit; {traffic.OffChip} B off chip, {traffic.Sram} B on chip");
        return new OpCost(_dsp, Ps.FromSeconds(InstructionS), Ps.FromSeconds(computeS), Transfers(traffic),
            op.Flops * PjPerFlop(op), note);
    }

    // ---- a region as one spatial pipeline ----

    /// <summary>Pipeline tiles of a region: the rows the coarsest stage streams in blocks of
    /// <c>dataflow.tile_rows</c> (a GEMV or a single decode query streams nothing: one tile, so the
    /// stages run one after another on their partitions).</summary>
    private long Tiles(IReadOnlyList<Op> ops)
    {
        long n = long.MaxValue;
        foreach (var op in ops)
        {
            long rows;
            if (op.Kind == OpKind.MatMul && op.Gemm is { } g) rows = g.Batch * g.M;
            else if (op.Kind == OpKind.Attention && op.Attention is { } a) rows = a.Batch * a.QueryLen;
            else if (op.Outputs.Count > 0 && op.Outputs[0].Shape.Count > 0 && op.Outputs[0].Shape[^1] > 0)
                rows = op.Outputs[0].Elements / op.Outputs[0].Shape[^1];
            else continue;
            n = Math.Min(n, Math.Max(1, (rows + Spec.DataflowTileRows - 1) / Spec.DataflowTileRows));
        }
        return n == long.MaxValue ? 1 : n;
    }

    /// <summary>Whether <paramref name="op"/> needs <paramref name="t"/> whole before it can produce
    /// its first output row: a matmul's second operand (K x N, read for every row), attention's keys
    /// and values. Its first input (rows) and any input of a row-wise vector op stream row by row.</summary>
    private static bool NeedsWhole(Op op, Tensor t)
    {
        if (op.Kind != OpKind.MatMul && op.Kind != OpKind.Attention) return false;
        for (var i = 1; i < op.Inputs.Count; i++)
            if (op.Inputs[i].Id == t.Id) return op.Inputs[0].Id != t.Id;
        return false;
    }

    /// <summary>A row reduction: its output cannot start before it has read its whole input row.</summary>
    private static bool ReducesRows(Op op) => op.Kind is OpKind.Norm or OpKind.Softmax or OpKind.Reduction;

    /// <summary>Feature tiles of <paramref name="t"/> (whose rows all fit in one row tile): its elements in
    /// blocks of <c>dataflow.vector_tile_elements</c>.</summary>
    private long FeatureTiles(Tensor t) =>
        Math.Max(1, (t.Elements + Spec.DataflowVectorTileElements - 1) / Spec.DataflowVectorTileElements);

    /// <summary>Seconds a pipeline stage's traffic takes alone on its <paramref name="hbmShare"/> of the
    /// HBM channels, DDR and on-chip memory at their rates.</summary>
    private double StageMemorySeconds(Traffic t, double hbmShare)
    {
        var hbm = t.Hbm <= 0 ? 0 : t.Hbm / (HbmRate * Math.Max(hbmShare, 1e-12));
        return Math.Max(Math.Max(hbm, t.Ddr / DdrRate), t.Sram / Spec.SramBandwidthBps);
    }

    public OpCost CostRegion(Region region)
    {
        ArgumentNullException.ThrowIfNull(region);
        // Copies between tiers run on the data mover beside the pipeline (see WithCopies).
        var (ops, copies) = SplitCopies(region.Ops);
        var producer = new Dictionary<int, int>();
        for (var i = 0; i < ops.Count; i++) foreach (var t in ops[i].Outputs) producer[t.Id] = i;

        // Which internal activations a consumer needs whole (a barrier in the pipeline: the consumer
        // cannot start before its producer has finished) and which stream. Rows stream in tiles of
        // dataflow.tile_rows. When every row fits in one tile (a decode step) the design hands each
        // intermediate over whole, or streams it along its features in tiles of
        // dataflow.vector_tile_elements (a matmul accumulates its outputs over its input vector as it
        // arrives, element-wise ops pass elements on, and only a row reduction, a norm or a softmax,
        // holds its consumers until it has seen its whole input), whichever runs faster: streaming
        // overlaps the stages but splits the HBM channels among them, which a short pipeline (few
        // feature tiles) does not win back.
        var internalActs = region.Internal.Where(t => t.Role == TensorRole.Activation && !t.IsStagingBuffer).ToList();
        var internalIds = internalActs.Select(t => t.Id).ToHashSet();
        var tiles = Tiles(ops);
        PipelinePlan plan;
        if (tiles > 1)
        {
            var whole = new HashSet<int>();
            foreach (var op in ops)
                foreach (var t in op.Inputs)
                    if (internalIds.Contains(t.Id) && NeedsWhole(op, t)) whole.Add(t.Id);
            plan = Pipeline(ops, producer, internalActs, internalIds, whole, tiles, byFeatures: false);
        }
        else
        {
            plan = Pipeline(ops, producer, internalActs, internalIds, internalIds, 1, byFeatures: false);
            var whole = new HashSet<int>();
            foreach (var op in ops)
                foreach (var t in op.Inputs)
                    if (internalIds.Contains(t.Id) && (NeedsWhole(op, t) || (producer.TryGetValue(t.Id, out var p) && ReducesRows(ops[p]))))
                        whole.Add(t.Id);
            var featureTiles = long.MaxValue;
            foreach (var t in internalActs)
                if (!whole.Contains(t.Id)) featureTiles = Math.Min(featureTiles, FeatureTiles(t));
            if (featureTiles != long.MaxValue && featureTiles > 1)
            {
                var streamed = Pipeline(ops, producer, internalActs, internalIds, whole, featureTiles, byFeatures: true);
                if (streamed.Ps < plan.Ps) plan = streamed;
            }
        }

        var computePs = plan.Ps;
        var note = plan.Note;
        var transfers = Transfers(plan.Traffic);
        if (copies.Count > 0) (computePs, note) = WithCopies(computePs, transfers, copies, note);
        return new OpCost(_dsp, Ps.FromSeconds(InstructionS), computePs, transfers, plan.ComputeEnergyPj, note)
        {
            MathPs = Math.Min(computePs, plan.MathPs),
        };
    }

    /// <summary>A region's pipeline as costed: its time, the time its math alone needs, its traffic, its
    /// compute energy and the task's note.</summary>
    private sealed record PipelinePlan(long Ps, long MathPs, Traffic Traffic, double ComputeEnergyPj, string Note);

    /// <summary>The region's ops as one spatial pipeline streaming <paramref name="tiles"/> tiles (rows, or
    /// features when <paramref name="byFeatures"/>), the internal activations in <paramref name="whole"/>
    /// handed over whole.</summary>
    private PipelinePlan Pipeline(IReadOnlyList<Op> ops, Dictionary<int, int> producer, IReadOnlyList<Tensor> internalActs,
        IReadOnlySet<int> internalIds, IReadOnlySet<int> whole, long tiles, bool byFeatures)
    {
        // On chip: a streamed intermediate needs two tiles of FIFO (dataflow.buffer_fraction of
        // BRAM/URAM), one needed whole its full size in the activation buffers
        // (memory.sram.activation_fraction), largest first while they fit; the rest are written to
        // and read back from the spill tier, exactly as op by op.
        var onChip = new HashSet<int>();
        long fifoLeft = StreamBudget, bufferLeft = ActivationBudget, onChipBytes = 0;
        foreach (var t in internalActs.OrderByDescending(t => t.Bytes).ThenBy(t => t.Id))
        {
            if (whole.Contains(t.Id))
            {
                if (t.Bytes > bufferLeft) continue;
                bufferLeft -= t.Bytes;
            }
            else
            {
                var need = Math.Min(t.Bytes, 2 * ((t.Bytes + tiles - 1) / tiles));
                if (need > fifoLeft) continue;
                fifoLeft -= need;
            }
            onChip.Add(t.Id);
            onChipBytes += t.Bytes;
        }

        // Static partition: every DSP stage holds whole DSP chains in proportion to its work over the
        // region (at least one): its MACs at the efficiency it runs at (attention's, or the chains'),
        // so that every stage takes about as long on its chains; every vector stage its share of the
        // vector unit, for the region's whole run: a stage idles while the pipeline waits at a barrier.
        var chain = Spec.DspChainLength;
        var totalChains = Math.Max(1, Spec.UsableDsps / chain);
        double dspWork = 0, vecWork = 0;
        var work = new double[ops.Count];
        for (var i = 0; i < ops.Count; i++)
        {
            var op = ops[i];
            if (OnDsps(op))
            {
                // MACs the stage performs: a sparse chain skips pruned weights, a dense one does not.
                var macsDone = Spec.SparseDspChain ? op.Flops : op.Flops / Math.Max(1e-12, WeightFormat.Density(op));
                var efficiency = op.Kind == OpKind.Attention ? Spec.AttentionEfficiency : Spec.DspChainEfficiency;
                work[i] = Math.Max(1, macsDone) / Spec.MacsPerDspPerCycle[ComputeDType(op)] / efficiency;
                dspWork += work[i];
            }
            else
            {
                work[i] = Math.Max(1, op.Flops);
                vecWork += work[i];
            }
        }

        // Pipeline segments: a stage joins its producers' segment when it streams their output, and
        // starts a new one after a producer whose output it needs whole.
        var segment = new int[ops.Count];
        for (var i = 0; i < ops.Count; i++)
            foreach (var t in ops[i].Inputs)
                if (internalIds.Contains(t.Id) && producer.TryGetValue(t.Id, out var p) && p < i)
                    segment[i] = Math.Max(segment[i], segment[p] + (whole.Contains(t.Id) ? 1 : 0));
        var segments = ops.Count == 0 ? 0 : segment.Max() + 1;
        var sumTau = new double[segments];
        var maxTau = new double[segments];
        // The same pipeline with every stage paced by its math alone: what the DSPs need.
        var sumMath = new double[segments];
        var maxMath = new double[segments];

        // The stages of a segment run at once and share the HBM pseudo-channels: each streams over
        // whole channels in proportion to its HBM bytes (HbmChannelAllocation); the next segment's
        // stages use the same channels after it. DDR and on-chip traffic run at their channel's rate.
        var stageTraffic = new Traffic[ops.Count];
        for (var i = 0; i < ops.Count; i++) stageTraffic[i] = Split(ops[i], onChip);
        var hbmShare = new double[ops.Count];
        for (var s = 0; s < segments; s++)
        {
            var members = Enumerable.Range(0, ops.Count).Where(i => segment[i] == s).ToList();
            var shares = HbmChannelAllocation.Shares(members.Select(i => stageTraffic[i].Hbm).ToList(), Spec.HbmPorts);
            for (var k = 0; k < members.Count; k++) hbmShare[members[k]] = shares[k];
        }

        var traffic = default(Traffic);
        double computeEnergy = 0;
        for (var i = 0; i < ops.Count; i++)
        {
            var op = ops[i];
            var t = stageTraffic[i];
            traffic = traffic.Plus(t);
            int dsps;
            double vecShare;
            if (OnDsps(op))
            {
                dsps = (int)Math.Max(1, Math.Floor(totalChains * work[i] / dspWork)) * chain;
                vecShare = 1;
            }
            else
            {
                dsps = Spec.UsableDsps;
                vecShare = work[i] / vecWork;
            }
            var (c, _) = ComputeSeconds(op, dsps, vecShare);
            var tau = Math.Max(c, StageMemorySeconds(t, hbmShare[i])) / tiles;
            sumTau[segment[i]] += tau;
            maxTau[segment[i]] = Math.Max(maxTau[segment[i]], tau);
            sumMath[segment[i]] += c / tiles;
            maxMath[segment[i]] = Math.Max(maxMath[segment[i]], c / tiles);
            computeEnergy += op.Flops * PjPerFlop(op);
        }

        // Each segment: its stages' first/last tile (fill and drain), then its slowest stage per tile;
        // segments run one after another. The region lasts at least its traffic over the channels.
        double pipeline = 0, fillDrain = 0, math = 0;
        for (var s = 0; s < segments; s++)
        {
            pipeline += sumTau[s] + (tiles - 1) * maxTau[s];
            fillDrain += sumTau[s] - maxTau[s];
            math += sumMath[s] + (tiles - 1) * maxMath[s];
        }
        var total = Math.Max(pipeline, MemorySeconds(traffic));
        var note = string.Create(CultureInfo.InvariantCulture,
            $"dataflow: {ops.Count} stages over {totalChains} DSP chains and {Spec.HbmPorts} HBM channels in {segments} segment{(segments == 1 ? "" : "s")}, {tiles} {(byFeatures ? "feature " : "")}tile{(tiles == 1 ? "" : "s")}, fill/drain {fillDrain:0.###e0} s; {onChip.Count} of {internalActs.Count} intermediates ({onChipBytes} B) kept on chip{(onChip.Count < internalActs.Count ? $", the rest through {Spec.ActivationSpillTier}" : "")}");
        return new PipelinePlan(Ps.FromSeconds(total), Ps.FromSeconds(math), traffic, computeEnergy, note);
    }

    // ---- a region's ops in sequence, reconfigured per op ----

    /// <summary>The region's ops in order, each on the whole DSP array (and the whole vector unit)
    /// after its own decode/configuration (<c>instruction.overhead_cycles</c>: the reconfiguration
    /// cost). An internal activation lives from its producer to its last consumer in the region; it
    /// stays whole in the activation buffers (<c>memory.sram.activation_fraction</c> of BRAM/URAM)
    /// when, largest first, it fits beside the others kept on chip at every step of its life, and
    /// otherwise is written to and read back from the spill tier exactly as op by op. Time is the sum
    /// of each op's max(compute, its traffic alone), at least the region's traffic over the channels.</summary>
    public OpCost CostRegionReconfigured(Region region)
    {
        ArgumentNullException.ThrowIfNull(region);
        var (ops, copies) = SplitCopies(region.Ops);
        var producer = new Dictionary<int, int>();
        var lastUse = new Dictionary<int, int>();
        for (var i = 0; i < ops.Count; i++)
        {
            foreach (var t in ops[i].Outputs) producer[t.Id] = i;
            foreach (var t in ops[i].Inputs) lastUse[t.Id] = i;
        }

        var internalActs = region.Internal
            .Where(t => t.Role == TensorRole.Activation && !t.IsStagingBuffer && producer.ContainsKey(t.Id) && lastUse.ContainsKey(t.Id))
            .ToList();
        var live = new long[ops.Count];
        var onChip = new HashSet<int>();
        long onChipBytes = 0;
        foreach (var t in internalActs.OrderByDescending(t => t.Bytes).ThenBy(t => t.Id))
        {
            int from = producer[t.Id], to = Math.Max(from, lastUse[t.Id]);
            var fits = true;
            for (var i = from; i <= to && fits; i++) fits = live[i] + t.Bytes <= ActivationBudget;
            if (!fits) continue;
            for (var i = from; i <= to; i++) live[i] += t.Bytes;
            onChip.Add(t.Id);
            onChipBytes += t.Bytes;
        }

        // Each op's time rounded to picoseconds as op by op rounds it, so that a region with nothing
        // kept on chip costs exactly what its ops cost one at a time.
        var traffic = default(Traffic);
        long ps = 0, mathPs = 0;
        double computeEnergy = 0;
        foreach (var op in ops)
        {
            var t = Split(op, onChip);
            traffic = traffic.Plus(t);
            var (c, _) = ComputeSeconds(op, Spec.UsableDsps, 1);
            // Checked: a sum past the clock's range stops the run (reported as bad input) rather than wrapping.
            ps = checked(ps + Ps.FromSeconds(Math.Max(c, MemorySeconds(t))));
            mathPs = checked(mathPs + Ps.FromSeconds(c));
            computeEnergy += op.Flops * PjPerFlop(op);
        }
        var total = Math.Max(ps, Ps.FromSeconds(MemorySeconds(traffic)));
        var note = string.Create(CultureInfo.InvariantCulture,
            $"reconfigured: {ops.Count} tasks in sequence on all {Spec.UsableDsps} DSPs, {ops.Count} reconfigurations of {Spec.InstructionOverheadCycles:0.###} cycles; {onChip.Count} of {internalActs.Count} intermediates ({onChipBytes} B) kept on chip{(onChip.Count < internalActs.Count ? $", the rest through {Spec.ActivationSpillTier}" : "")}; {traffic.OffChip} B off chip");
        var transfers = Transfers(traffic);
        if (copies.Count > 0) (total, note) = WithCopies(total, transfers, copies, note);
        return new OpCost(_dsp, checked(ops.Count * Ps.FromSeconds(InstructionS)), total, transfers, computeEnergy, note)
        {
            MathPs = Math.Min(total, mathPs),
        };
    }
}
