using System.Globalization;
using System.Runtime.CompilerServices;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins.Kit;
using AccelSim.Core.Memory;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using AccelSim.Plugins.Wafer.Internal;

namespace AccelSim.Plugins.Wafer;

/// <summary>The wafer-scale mesh cost model bound to one <see cref="WaferSpec"/> (the PLMR view:
/// massive Parallelism, hop-distance Latency, per-core Memory, limited Routing). Each op runs on a
/// rectangular region of cores chosen from its work: a GEMM/GEMV is block-partitioned over the region
/// (K over its rows, N over its columns), so its time is local compute plus the input broadcast along
/// rows and the partial-sum reduction along columns, paid in hops x hop latency and in bytes over the
/// links. Weights and KV caches live in the cores' SRAM while they fit; what does not fit streams from
/// the external weight store (<c>memoryx</c>). Resources: engine <c>mesh</c>; channels <c>sram</c>
/// (aggregate local SRAM bandwidth), <c>fabric</c> (the mesh links, latency one hop) and
/// <c>memoryx</c> (off-wafer).
/// <para>Pure: which weights and caches live in SRAM is the placement transform's decision
/// (<see cref="Placement.NativeFirstFit"/>, recorded in <see cref="WorkloadGraph.TierOf"/>); the schedules
/// cost a graph on <see cref="ForPlacement"/>, bound to that decision, so an op costs the same however
/// often and in whatever order it is asked. The caches below memoize pure functions of their keys.</para></summary>
public sealed class WaferDeviceModel : IDeviceModel, IDataflowDevice, INativeStreaming, IPlacementAwareDevice
{
    private readonly int _mesh, _sram, _fabric, _mx, _sramTier, _mxTier;
    private readonly MeshCostModel _costs;

    private readonly object _gate = new();
    private readonly ConditionalWeakTable<Op, OpCost> _costCache = new();
    private readonly Dictionary<string, OpCost> _regionCache = new(StringComparer.Ordinal);

    /// <summary>Ids of the tensors the bound placement keeps in memoryx (none on an unbound device).</summary>
    private IReadOnlySet<int> Streamed { get; init; } = new HashSet<int>();

    public WaferDeviceModel(WaferSpec spec)
    {
        Spec = spec ?? throw new ArgumentNullException(nameof(spec));
        Topology = new DeviceTopology(
            [new EngineSpec("mesh", 1)],
            [
                ChannelSpec.Memory("sram", spec.SramBandwidthBps, 0, "sram", offChip: false),
                ChannelSpec.Link("fabric", spec.FabricBandwidthBps, Ps.FromSeconds(spec.HopLatencyS), offChip: false),
                ChannelSpec.Memory("memoryx", spec.MemoryXBandwidthBps, Ps.FromSeconds(spec.MemoryXLatencyS), "memoryx", offChip: true),
            ],
            [
                new TierSpec("sram", spec.SramCapacityBytes, OffChip: false),
                new TierSpec("memoryx", spec.MemoryXCapacityBytes, OffChip: true),
            ]);
        _mesh = Topology.EngineIndex("mesh");
        _sram = Topology.ChannelIndex("sram");
        _fabric = Topology.ChannelIndex("fabric");
        _mx = Topology.ChannelIndex("memoryx");
        _sramTier = Topology.TierIndex("sram");
        _mxTier = Topology.TierIndex("memoryx");
        _costs = new MeshCostModel(spec);
        Capabilities = new DeviceCapabilities { Streaming = this, Dataflow = this, Placement = this };
    }

    public WaferSpec Spec { get; }
    public string Name => Spec.Name;
    public string Kind => WaferPlugin.KindName;
    public DeviceTopology Topology { get; }

    /// <summary>The cores' SRAM is the wafer's main memory: weights and caches are read from it.</summary>
    public int MainMemoryChannel => _sram;

    public double StaticPowerW => Spec.StaticW;

    /// <summary>Weights and caches that do not fit in SRAM stream from memoryx by themselves
    /// (<see cref="StreamTier"/>); a decoder layer can be laid out spatially (<see cref="CostRegion"/>).</summary>
    public DeviceCapabilities Capabilities { get; }

    /// <summary>The card: peaks and topology, cores and mesh; the config gives no power cap.</summary>
    public DeviceCard Describe() => DeviceCards.Generic(this, null,
    [
        new CardFigure("cores", Spec.Cores, ""),
        new CardFigure("mesh width", Spec.MeshWidth, "cores"),
        new CardFigure("mesh height", Spec.MeshHeight, "cores"),
        new CardFigure("fabric bandwidth", Spec.FabricBandwidthBps, "B/s"),
        new CardFigure("static power", Spec.StaticW, "W"),
    ]);

    public double PeakFlops(DType dtype) => Spec.PeakFlops.TryGetValue(dtype, out var p) ? p : 0;

    public DType ComputeDType(Op op) => Supported(op.ComputeDType);

    /// <summary>The standard ladder, but fp8 goes to fp16: the cores have no bf16 between them.</summary>
    private static readonly DTypeLadder Ladder = DTypeLadder.Standard.With(DType.Fp8, DType.Fp16);

    /// <summary>An unsupported type is promoted to a wider one the cores have (fp8/int8 run as fp16).</summary>
    public DType Supported(DType d) => Ladder.Supported(d, this);

    /// <summary>Activations live in SRAM; so do weights, KV caches and other resident state, unless the
    /// placement this device is bound to (<see cref="ForPlacement"/>) keeps them in the external store,
    /// from which they stream in when used.</summary>
    public int PlaceTensor(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.Role != TensorRole.Activation && Streamed.Contains(tensor.Id) ? _mxTier : _sramTier;
    }

    /// <summary>The wafer bound to <paramref name="graph"/>'s placement: its weights and caches that
    /// <see cref="WorkloadGraph.TierOf"/> puts in memoryx stream from there, the rest live in SRAM.</summary>
    public IDeviceModel ForPlacement(WorkloadGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var streamed = new HashSet<int>();
        foreach (var (id, tier) in graph.TierOf)
            if (tier == StreamTier) streamed.Add(id);
        if (streamed.SetEquals(Streamed)) return this;
        return new WaferDeviceModel(Spec) { Streamed = streamed };
    }

    /// <summary>What does not fit in SRAM streams from the external weight store.</summary>
    public string StreamTier => "memoryx";

    /// <summary>SRAM for weights and caches: <c>memory.sram.capacity_bytes x memory.sram.resident_fraction</c>.</summary>
    public long ResidentBudgetBytes => Spec.ResidentBudgetBytes;

    /// <summary>Bytes of the graph's weights and caches, not yet placed, that its first-fit placement
    /// (<see cref="Placement.NativeFirstFit"/>) keeps in memoryx.</summary>
    public long StreamedBytes(WorkloadGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var bytes = graph.Tensors.ToDictionary(t => t.Id, t => t.Bytes);
        long streamed = 0;
        foreach (var (id, tier) in Placement.NativeFirstFit(graph, this, this))
            if (tier == StreamTier) streamed += bytes[id];
        return streamed;
    }

    /// <summary>True when the tensor streams from the external store.</summary>
    public bool IsStreamed(Tensor tensor) => PlaceTensor(tensor) == _mxTier;

    public OpCost Cost(Op op)
    {
        ArgumentNullException.ThrowIfNull(op);
        if (op.Transfer is { } transfer) return Stream(op, transfer);
        lock (_gate)
        {
            if (_costCache.TryGetValue(op, out var cached)) return cached;
        }
        var work = Describe(op);
        var stage = _costs.Best(work, Spec.MeshCores);
        var cost = Build(op, work, stage);
        lock (_gate)
        {
            if (_costCache.TryGetValue(op, out var raced)) return raced;
            _costCache.Add(op, cost);
        }
        return cost;
    }

    /// <summary>A copy between the external store and SRAM (an expert model switched in): the bytes
    /// cross the memoryx channel and are written to (or read from) the cores' SRAM.</summary>
    private OpCost Stream(Op op, TierTransfer transfer)
    {
        foreach (var tier in new[] { transfer.From, transfer.To })
            if (tier is not ("memoryx" or "sram"))
                throw new ArgumentException($"{Name} copies between memoryx and sram, not '{tier}'");
        var bytes = Math.Max(op.BytesRead, op.BytesWritten);
        TransferDemand[] transfers =
        [
            new(_mx, bytes, Spec.MemoryXBandwidthBps, bytes * Spec.PjPerByteMemoryX),
            new(_sram, bytes, Spec.SramBandwidthBps, bytes * Spec.PjPerByteSram),
        ];
        return new OpCost(_mesh, Ps.FromSeconds(Spec.OpOverheadS), 0, transfers, 0,
            string.Create(CultureInfo.InvariantCulture, $"stream {bytes} B {transfer.From} -> {transfer.To}"));
    }

    /// <summary>The op's cost on a region of exactly <paramref name="rows"/> x <paramref name="cols"/>
    /// cores (for tests and teaching: the PLMR trade-off between compute and hop latency).</summary>
    public OpCost CostOnRegion(Op op, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(op);
        var work = Describe(op);
        return Build(op, work, _costs.Evaluate(work, rows, cols));
    }

    /// <summary>What the op asks of the mesh, with its tensors placed.</summary>
    internal OpWork Describe(Op op)
    {
        var dt = ComputeDType(op);
        long streamedIn = 0, streamedOut = 0, resident = 0, actIn = 0, actOut = 0;
        var seen = new HashSet<int>();
        foreach (var t in op.Inputs)
        {
            if (!seen.Add(t.Id)) continue;
            if (t.Role == TensorRole.Activation) { actIn += t.Bytes; continue; }
            if (IsStreamed(t)) streamedIn += t.Bytes;
            else resident += t.Bytes;
        }
        foreach (var t in op.Outputs)
        {
            if (t.Role == TensorRole.Activation) { actOut += t.Bytes; continue; }
            if (IsStreamed(t)) streamedOut += t.Bytes;
        }
        streamedIn = Math.Min(streamedIn, op.BytesRead);
        streamedOut = Math.Min(streamedOut, op.BytesWritten);
        var act = Math.Min(actIn + actOut, op.Bytes);
        var spill = Math.Max(0, act - Spec.ActivationBudgetBytes);
        var mx = streamedIn + streamedOut + spill;
        var sram = Math.Max(0, op.Bytes - mx);
        var pattern = MeshPattern.For(op, dt);
        return new OpWork(op.Flops, dt, sram, mx, spill, resident, act, pattern);
    }

    private OpCost Build(Op op, OpWork work, Stage stage)
    {
        var transfers = new List<TransferDemand>(3);
        if (work.SramBytes > 0)
            transfers.Add(new TransferDemand(_sram, work.SramBytes, stage.SramCapBps, work.SramBytes * Spec.PjPerByteSram));
        if (stage.LinkBytes > 0)
            transfers.Add(new TransferDemand(_fabric, stage.LinkBytes, stage.FabricCapBps, stage.LinkBytes * Spec.PjPerByteHop));
        if (work.MemoryXBytes > 0)
            transfers.Add(new TransferDemand(_mx, work.MemoryXBytes, Spec.MemoryXBandwidthBps, work.MemoryXBytes * Spec.PjPerByteMemoryX));
        var latency = Spec.OpOverheadS + stage.HopLatencyS;
        var note = string.Create(CultureInfo.InvariantCulture,
            $"{work.Pattern.Name} on {stage.Rows}x{stage.Cols} cores, {stage.Hops} hops{Streams(work)}");
        return new OpCost(_mesh, Ps.FromSeconds(latency), Ps.FromSeconds(stage.ComputeS), transfers, work.Flops * PjPerFlop(work.DType), note);
    }

    private static string Streams(OpWork work)
    {
        var parts = new List<string>(2);
        if (work.MemoryXBytes - work.SpillBytes > 0)
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{work.MemoryXBytes - work.SpillBytes} B streamed from memoryx (does not fit in SRAM)"));
        if (work.SpillBytes > 0)
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{work.SpillBytes} B of activations spilled to memoryx"));
        return parts.Count == 0 ? "; resident in SRAM" : "; " + string.Join(", ", parts);
    }

    private double PjPerFlop(DType d) => Spec.PjPerFlop.TryGetValue(d, out var e) ? e : Spec.PjPerFlop[DType.Fp32];

    // ---- dataflow ----

    /// <summary>The region laid out spatially: every op on its own block of cores (cores allotted in
    /// proportion to its work, FLOPs plus bytes, never fewer than its resident weights need), activations streamed
    /// core to core over the fabric when the region's intermediates fit in the activation part of
    /// SRAM (else they go through SRAM, or spill, as op by op), the work split into row chunks that
    /// flow through the pipeline: fill (every stage's hop latency and first chunk) paid once.</summary>
    /// <summary>Candidate core budgets of a region's plan, as fractions of each op's share of the wafer.</summary>
    private static readonly double[] PlanScales = [1, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625];

    /// <summary>Rules that shape each op's region within its allotment (see <see cref="MeshCostModel.Shaped(OpWork, long, int)"/>):
    /// the largest region, and the one whose communication crosses the fewest link-bytes among those
    /// with at least half the largest's cores.</summary>
    private static readonly int[] ShapeRules = [0, 1];

    /// <summary>The layer as one spatial pipeline: each op on its own region of cores, sized from its
    /// share of the region's work (FLOPs and bytes, not rates). Plans scale every region by the same
    /// factor (larger regions compute faster but pay more hops) and shape it by one rule; the fastest
    /// plan runs. Plans are chosen without looking at rates and each is monotone in them, so the region
    /// can only get faster on a faster wafer.</summary>
    public OpCost CostRegion(Region region)
    {
        ArgumentNullException.ThrowIfNull(region);
        // Layers of one model are alike: a region whose ops ask the same of the mesh (same work, same
        // placement, same tensors in the same roles) costs the same, so the plan search runs once.
        var key = RegionKey(region);
        lock (_gate)
        {
            if (_regionCache.TryGetValue(key, out var cached)) return cached;
        }
        var cost = SearchPlans(region);
        lock (_gate) _regionCache.TryAdd(key, cost);
        return cost;
    }

    /// <summary>Everything <see cref="RegionPlan"/> reads of a region, as text.</summary>
    private string RegionKey(Region region)
    {
        var internalIds = region.Internal.Select(t => t.Id).ToHashSet();
        var b = new System.Text.StringBuilder();
        foreach (var op in region.Ops)
        {
            var w = Describe(op);
            var p = w.Pattern;
            b.Append(CultureInfo.InvariantCulture,
                $"{op.Kind}|{w.Flops}|{w.DType}|{w.SramBytes}|{w.MemoryXBytes}|{w.SpillBytes}|{w.ResidentBytes}|{w.ActivationBytes}|");
            b.Append(CultureInfo.InvariantCulture,
                $"{p.Name}|{p.Kind}|{p.MaxRows}|{p.MaxCols}|{p.MaxCores}|{p.BroadcastBytes:R}|{p.ReduceBytes:R}|{p.ReducePasses}|{p.HopPasses}|{p.RowGroups}|{p.RowReduceBytes:R}|");
            if (op.Gemm is { } g) b.Append(CultureInfo.InvariantCulture, $"g{g.Batch * g.M}|");
            foreach (var t in op.Inputs) b.Append(CultureInfo.InvariantCulture, $"i{(int)t.Role}:{t.Bytes}:{(internalIds.Contains(t.Id) ? 1 : 0)}|");
            foreach (var t in op.Outputs) b.Append(CultureInfo.InvariantCulture, $"o{(int)t.Role}:{t.Bytes}:{(internalIds.Contains(t.Id) ? 1 : 0)}|");
            b.Append(';');
        }
        b.Append(CultureInfo.InvariantCulture, $"{region.InternalBytes}");
        return b.ToString();
    }

    private OpCost SearchPlans(Region region)
    {
        OpCost? best = null;
        long bestPs = long.MaxValue;
        foreach (var rule in ShapeRules)
            foreach (var scale in PlanScales)
            {
                var plan = RegionPlan(region, scale, rule);
                var ps = DataflowSchedule.Estimate(plan, Topology);
                if (ps < bestPs)
                {
                    best = plan;
                    bestPs = ps;
                }
            }
        return best!;
    }

    private OpCost RegionPlan(Region region, double scale, int rule)
    {
        var ops = region.Ops;
        var works = ops.Select(Describe).ToArray();
        double totalWork = 0;
        var workS = new double[ops.Count];
        for (var i = 0; i < ops.Count; i++)
        {
            var w = works[i];
            // Work in hardware-independent units (a FLOP or a byte each), so that a faster part of the
            // wafer never moves cores between ops and never makes a layer slower.
            workS[i] = w.Flops + (double)(w.SramBytes + w.MemoryXBytes);
            totalWork += workS[i];
        }

        var internalIds = region.Internal.Select(t => t.Id).ToHashSet();
        var fits = region.InternalBytes <= Spec.ActivationBudgetBytes;
        var stages = new Stage[ops.Count];
        var cores = new long[ops.Count];
        double fillS = Spec.OpOverheadS, sumChunk = 0, maxChunk = 0, floorS = 0, sumMath = 0, maxMath = 0;
        long sramBytes = 0, linkBytes = 0, mxBytes = 0, spill = 0, boundaryAct = 0, streamed = 0;
        double energyPj = 0, sramCap = 0;
        var chunks = Chunks(ops);

        for (var i = 0; i < ops.Count; i++)
        {
            var w = works[i];
            var share = totalWork > 0 ? (long)Math.Floor(Spec.MeshCores * scale * workS[i] / totalWork) : (long)(Spec.MeshCores * scale / ops.Count);
            var alloc = Math.Clamp(Math.Max(share, _costs.MinCores(w)), 1, Spec.MeshCores);
            var s = _costs.Shaped(w, alloc, rule);
            stages[i] = s;
            cores[i] = (long)s.Rows * s.Cols;
            var chunk = s.BodyS / chunks;
            sumChunk += chunk;
            maxChunk = Math.Max(maxChunk, chunk);
            sumMath += s.ComputeS / chunks;
            maxMath = Math.Max(maxMath, s.ComputeS / chunks);
            fillS += s.HopLatencyS;
            floorS += w.Flops / (PeakFlops(w.DType) * Spec.ComputeEfficiency);
            linkBytes += s.LinkBytes;
            mxBytes += w.MemoryXBytes - w.SpillBytes;
            spill += w.SpillBytes;
            energyPj += w.Flops * PjPerFlop(w.DType);
            sramCap += cores[i] * Spec.SramPerCoreBps;

            // Intermediates streamed core to core skip their SRAM write and read.
            long internalBytes = 0, boundary = 0;
            var seen = new HashSet<int>();
            foreach (var t in ops[i].Inputs)
            {
                if (!seen.Add(t.Id) || t.Role != TensorRole.Activation) continue;
                if (internalIds.Contains(t.Id)) internalBytes += t.Bytes;
                else boundary += t.Bytes;
            }
            foreach (var t in ops[i].Outputs)
            {
                if (t.Role != TensorRole.Activation) continue;
                if (internalIds.Contains(t.Id))
                {
                    internalBytes += t.Bytes;
                    // Streamed to the next region: one transfer over about one region side of hops.
                    if (fits)
                    {
                        var hops = (long)Math.Ceiling(Math.Sqrt(cores[i]));
                        linkBytes += t.Bytes * hops;
                        fillS += hops * Spec.HopLatencyS;
                        streamed += t.Bytes;
                    }
                }
                else
                {
                    boundary += t.Bytes;
                }
            }
            boundaryAct += boundary;
            sramBytes += fits ? Math.Max(0, w.SramBytes - internalBytes) : w.SramBytes;
        }
        if (fits) spill = Math.Min(spill, Math.Max(0, boundaryAct - Spec.ActivationBudgetBytes));
        mxBytes += spill;

        var computeS = Math.Max(sumChunk + (chunks - 1) * maxChunk, floorS);
        var transfers = new List<TransferDemand>(3);
        if (sramBytes > 0)
            transfers.Add(new TransferDemand(_sram, sramBytes, Math.Min(sramCap, Spec.SramBandwidthBps), sramBytes * Spec.PjPerByteSram));
        if (linkBytes > 0)
            transfers.Add(new TransferDemand(_fabric, linkBytes, Spec.FabricBandwidthBps, linkBytes * Spec.PjPerByteHop));
        if (mxBytes > 0)
            transfers.Add(new TransferDemand(_mx, mxBytes, Spec.MemoryXBandwidthBps, mxBytes * Spec.PjPerByteMemoryX));

        var note = string.Create(CultureInfo.InvariantCulture,
            $"dataflow: {ops.Count} ops on {cores.Sum()} cores in {chunks} chunk{(chunks == 1 ? "" : "s")}; ") +
            (fits
                ? string.Create(CultureInfo.InvariantCulture, $"{streamed} B of intermediates streamed core to core")
                : string.Create(CultureInfo.InvariantCulture, $"intermediates ({region.InternalBytes} B) exceed the activation SRAM ({Spec.ActivationBudgetBytes} B): kept in SRAM op by op")) +
            (mxBytes - spill > 0 ? string.Create(CultureInfo.InvariantCulture, $"; {mxBytes - spill} B streamed from memoryx (does not fit in SRAM)") : "") +
            (spill > 0 ? string.Create(CultureInfo.InvariantCulture, $"; {spill} B spilled to memoryx") : "");
        // The same pipeline paced by the cores' math alone (stages that wait for the fabric or SRAM excluded).
        var mathS = Math.Max(sumMath + (chunks - 1) * maxMath, floorS);
        var computePs = Ps.FromSeconds(computeS);
        return new OpCost(_mesh, Ps.FromSeconds(fillS), computePs, transfers, energyPj, note)
        {
            MathPs = Math.Min(computePs, Ps.FromSeconds(mathS)),
        };
    }

    /// <summary>Pipeline chunks: the rows (tokens) of the region's matrix products, split up to
    /// <c>dataflow.max_pipeline_chunks</c> ways; a single row (batch-1 decode) flows as one chunk.</summary>
    private long Chunks(IReadOnlyList<Op> ops)
    {
        long rows = long.MaxValue;
        foreach (var op in ops)
            if (op.Gemm is { } g && op.Kind == OpKind.MatMul) rows = Math.Min(rows, Math.Max(1, g.Batch * g.M));
        if (rows == long.MaxValue) return 1;
        return Math.Clamp(rows, 1, Spec.MaxPipelineChunks);
    }
}
