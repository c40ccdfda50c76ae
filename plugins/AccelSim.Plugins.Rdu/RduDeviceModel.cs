using System.Globalization;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins.Kit;
using AccelSim.Core.Memory;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;

namespace AccelSim.Plugins.Rdu;

/// <summary>The RDU cost model bound to one <see cref="RduSpec"/>: a node of <c>sockets</c> SN40L-style
/// sockets running every op tensor-parallel (each socket holds 1/sockets of the weights and does
/// 1/sockets of the work). Pure: every op costs the same every time.
/// <para>Engine <c>pcu</c> is the node's PCU array (one kernel at a time). Channels: <c>hbm</c> and
/// <c>ddr</c> (off chip, all sockets together), <c>sram</c> (the PMUs, on chip) and <c>p2p</c> (the
/// peer-to-peer socket links; bytes one socket sends).</para>
/// <para>Sequential (unfused) execution: each op is its own kernel call: it pays the launch and
/// reconfiguration cost and one pipeline stage of fill/drain, reads its inputs from and writes its
/// outputs to HBM, and unfused attention materialises its score matrix in HBM. Dataflow
/// (<see cref="CostRegion"/>): a region is one spatial kernel with the PCUs partitioned among its ops
/// in proportion to their work, intermediates streamed through PMUs when they fit, weights read once
/// from HBM, one launch, and fill/drain of a pipeline as deep as the region.</para></summary>
public sealed class RduDeviceModel : IDeviceModel, IDataflowDevice, IMemoryHierarchy
{
    private readonly int _pcu, _hbm, _sram, _ddr, _p2p, _hbmTier;

    public RduDeviceModel(RduSpec spec)
    {
        Spec = spec ?? throw new ArgumentNullException(nameof(spec));
        var s = spec.Sockets;
        Topology = new DeviceTopology(
            [new EngineSpec("pcu", 1)],
            [
                ChannelSpec.Memory("hbm", s * spec.HbmBandwidthBps, 0, "hbm", offChip: true),
                ChannelSpec.Memory("sram", SramRate, 0, "sram", offChip: false),
                ChannelSpec.Memory("ddr", s * spec.DdrBandwidthBps, 0, "ddr", offChip: true),
                ChannelSpec.Link("p2p", spec.P2pBandwidthBps, 0, offChip: true),
            ],
            [
                new TierSpec("hbm", s * spec.HbmCapacityBytes, OffChip: true),
                new TierSpec("sram", s * spec.SramCapacityBytes, OffChip: false),
                new TierSpec("ddr", s * spec.DdrCapacityBytes, OffChip: true),
            ]);
        _pcu = Topology.EngineIndex("pcu");
        _hbm = Topology.ChannelIndex("hbm");
        _sram = Topology.ChannelIndex("sram");
        _ddr = Topology.ChannelIndex("ddr");
        _p2p = Topology.ChannelIndex("p2p");
        _hbmTier = Topology.TierIndex("hbm");
        Capabilities = new DeviceCapabilities { MemoryHierarchy = this, Dataflow = this };
    }

    public RduSpec Spec { get; }
    public string Name => Spec.Name;
    public string Kind => RduPlugin.KindName;
    public DeviceTopology Topology { get; }
    public int MainMemoryChannel => _hbm;
    public double StaticPowerW => Spec.Sockets * Spec.StaticWPerSocket;

    /// <summary>DDR below HBM (<see cref="PlacementTiers"/>: experts at rest, offloaded weights) and fused
    /// decoder layers (<see cref="CostRegion"/>).</summary>
    public DeviceCapabilities Capabilities { get; }

    /// <summary>Node peak: sockets x per-socket peak.</summary>
    /// <summary>The card: peaks and topology of all sockets, sockets, PCUs and PMUs; the config gives no power cap.</summary>
    public DeviceCard Describe() => DeviceCards.Generic(this, null,
    [
        new CardFigure("sockets", Spec.Sockets, ""),
        new CardFigure("PCUs per socket", Spec.PcuCount, ""),
        new CardFigure("PMUs per socket", Spec.PmuCount, ""),
        new CardFigure("static power", StaticPowerW, "W"),
    ]);

    public double PeakFlops(DType dtype) => Spec.PeakFlops.TryGetValue(dtype, out var p) ? Spec.Sockets * p : 0;

    public DType ComputeDType(Op op) => Supported(op.ComputeDType);

    /// <summary>Every type steps to bf16, but tf32 to fp32.</summary>
    private static readonly DTypeLadder Ladder = new(DType.Bf16, new Dictionary<DType, DType> { [DType.Tf32] = DType.Fp32 });

    /// <summary>Types without a peak run as a wider one: fp8/int8/int4 and fp16 as bf16, tf32 as fp32,
    /// fp32 as bf16 when the config gives it no rate.</summary>
    public DType Supported(DType d) => Ladder.Supported(d, this);

    /// <summary>Everything sits in HBM unless a placement (<see cref="WorkloadGraph.TierOf"/>) puts it in DDR.</summary>
    public int PlaceTensor(Tensor tensor) => _hbmTier;

    /// <summary>HBM, then DDR (expert models at rest, offloaded weights).</summary>
    public IReadOnlyList<string> PlacementTiers { get; } = ["hbm", "ddr"];

    // ---- rates ----

    public double HbmRate => Spec.Sockets * Spec.HbmBandwidthBps * Spec.HbmAchievableFraction;
    public double DdrRate => Spec.Sockets * Spec.DdrBandwidthBps * Spec.DdrAchievableFraction;
    public double SramRate => (double)Spec.Sockets * Spec.PmuCount * Spec.PmuBandwidthBps;

    /// <summary>PCUs of the whole node.</summary>
    public long Pcus => (long)Spec.Sockets * Spec.PcuCount;

    /// <summary>Sustained node rate for an op, FLOP/s: matmul and attention on the PCUs' systolic
    /// arrays at the gemm efficiency, everything else on their SIMD stage at the vector efficiency.</summary>
    public double Rate(Op op)
    {
        var eff = op.Kind is OpKind.MatMul or OpKind.Attention ? Spec.GemmEfficiency : Spec.VectorEfficiency;
        return PeakFlops(ComputeDType(op)) * eff;
    }

    private double ComputeSeconds(Op op) => op.Flops == 0 ? 0 : op.Flops / Rate(op);

    private double PjPerFlop(Op op)
    {
        var d = ComputeDType(op);
        return Spec.PjPerFlop.TryGetValue(d, out var e) ? e : Spec.PjPerFlop[DType.Bf16];
    }

    // ---- model switching (Composition of Experts) ----

    /// <summary>True for a copy from DDR into HBM (<see cref="Op.Transfer"/>): an expert model switched in,
    /// or offloaded weights streamed in.</summary>
    public static bool IsModelSwitch(Op op) => op.Transfer is { From: "ddr", To: "hbm" };

    /// <summary>The cost of copying an expert model of <paramref name="bytes"/> from DDR into HBM:
    /// each socket copies its 1/sockets share over its own DDR and HBM at the same time (one DMA kernel).</summary>
    public OpCost ModelSwitchCost(long bytes)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes));
        return Switch(bytes, bytes, 0, "model switch");
    }

    /// <summary>Seconds to copy <paramref name="bytes"/> of expert weights from DDR into HBM, alone.</summary>
    public double ModelSwitchSeconds(long bytes) =>
        Ps.ToSeconds(DataflowSchedule.Estimate(ModelSwitchCost(bytes), Topology));

    private OpCost Switch(long read, long written, double pj, string what) =>
        Copy(read, written, new TierTransfer("ddr", "hbm"), pj, what);

    /// <summary>A copy between HBM and DDR (one DMA kernel): the bytes are read over the source tier's
    /// channel and written over the destination's, each socket its share at the same time.</summary>
    private OpCost Copy(long read, long written, TierTransfer transfer, double pj, string what)
    {
        var (from, fromRate, fromPj) = OffChip(transfer.From);
        var (to, toRate, toPj) = OffChip(transfer.To);
        if (from == to) throw new ArgumentException($"a copy needs two different tiers, got {transfer.From} to {transfer.To}", nameof(transfer));
        var transfers = new List<TransferDemand>(2);
        if (read > 0) transfers.Add(new TransferDemand(from, read, fromRate, read * fromPj));
        if (written > 0) transfers.Add(new TransferDemand(to, written, toRate, written * toPj));
        return new OpCost(_pcu, Ps.FromSeconds(Spec.KernelLaunchS), 0, transfers, pj,
            string.Create(CultureInfo.InvariantCulture, $"{what}: {read} B {transfer.From} -> {transfer.To} at {Gbps(Math.Min(fromRate, toRate))}"));
    }

    private (int Channel, double Rate, double PjPerByte) OffChip(string tier) => tier switch
    {
        "hbm" => (_hbm, HbmRate, Spec.PjPerByteHbm),
        "ddr" => (_ddr, DdrRate, Spec.PjPerByteDdr),
        _ => throw new ArgumentException($"{Name} copies between hbm and ddr, not '{tier}'", nameof(tier)),
    };

    // ---- tensor parallelism ----

    /// <summary>Megatron-style pairing over the sockets: a weight-shared projection inside a layer
    /// that does not widen its input (N &lt;= K: attention output, MLP down) is row-parallel, and its
    /// partial sums are all-reduced over the peer links; one that widens it (QKV, gate/up) is
    /// column-parallel and needs no communication. Returns the bytes one socket sends (ring:
    /// 2 (S-1)/S of the message) and the latency of the 2 ceil(log2 S) link steps.</summary>
    public (long Bytes, double LatencyS) AllReduce(Op op)
    {
        var s = Spec.Sockets;
        if (s <= 1 || op.Kind != OpKind.MatMul || op.Layer < 0 || op.Gemm is not { WeightShared: true } g || g.N > g.K)
            return (0, 0);
        long message = 0;
        foreach (var t in op.Outputs) message += t.Bytes;
        var bytes = (long)Math.Ceiling(2.0 * (s - 1) / s * message);
        var steps = 2 * (int)Math.Ceiling(Math.Log2(s));
        return (bytes, steps * Spec.P2pLatencyS);
    }

    // ---- unfused: one kernel per op ----

    /// <summary>Bytes of the score matrix an unfused attention writes and reads back through HBM.</summary>
    public long ScoreBytes(Op op)
    {
        if (op.Kind != OpKind.Attention || op.Attention is not { } a || a.Batch <= 0 || a.HeadsQ <= 0 || a.HeadDim <= 0) return 0;
        var pairs = a.Flops / (4 * a.Batch * a.HeadsQ * a.HeadDim);
        var one = ComputeDType(op).BytesFor(a.Batch * a.HeadsQ * pairs);
        return (long)Math.Round(Spec.AttentionScorePasses * one);
    }

    public OpCost Cost(Op op)
    {
        ArgumentNullException.ThrowIfNull(op);
        var pj = op.Flops * PjPerFlop(op);
        if (IsModelSwitch(op)) return Switch(op.BytesRead, op.BytesWritten, pj, "model switch");
        if (op.Transfer is { } transfer) return Copy(op.BytesRead, op.BytesWritten, transfer, pj, "copy");

        var computeS = ComputeSeconds(op);
        var scores = ScoreBytes(op);
        var hbm = op.BytesRead + op.BytesWritten + scores;
        var (arBytes, arLatency) = AllReduce(op);
        var transfers = new List<TransferDemand>(2);
        if (hbm > 0) transfers.Add(new TransferDemand(_hbm, hbm, HbmRate, hbm * Spec.PjPerByteHbm));
        if (arBytes > 0) transfers.Add(new TransferDemand(_p2p, arBytes, Spec.P2pBandwidthBps, arBytes * Spec.PjPerByteP2p));
        // One kernel call and one pipeline stage; a row-parallel projection's all-reduce is a
        // collective kernel of its own.
        var launches = arBytes > 0 ? 2 : 1;
        var latency = launches * Spec.KernelLaunchS + Spec.StageLatencyS + arLatency;
        var note = string.Create(CultureInfo.InvariantCulture,
            $"unfused kernel: {hbm} B hbm{(scores > 0 ? $" (scores {scores} B)" : "")}{(arBytes > 0 ? $", all-reduce {arBytes} B p2p" : "")}");
        return new OpCost(_pcu, Ps.FromSeconds(latency), Ps.FromSeconds(computeS), transfers, pj, note);
    }

    // ---- dataflow: one spatial kernel per region ----

    /// <summary>PCUs given to each op of a region: one to every op with work, the rest in proportion
    /// to the ops' work (seconds at the full node's rate), rounded down. Empty when the region has
    /// more ops with work than the node has PCUs (they are then time-multiplexed).</summary>
    public long[] Partition(IReadOnlyList<Op> ops)
    {
        var work = ops.Select(ComputeSeconds).ToArray();
        var busy = work.Count(w => w > 0);
        var pcus = Pcus;
        if (busy == 0) return new long[ops.Count];
        if (busy > pcus) return [];
        var total = work.Sum();
        var spare = pcus - busy;
        var parts = new long[ops.Count];
        for (var i = 0; i < ops.Count; i++)
            if (work[i] > 0) parts[i] = 1 + (long)Math.Floor(spare * (work[i] / total));
        return parts;
    }

    public OpCost CostRegion(Region region)
    {
        ArgumentNullException.ThrowIfNull(region);
        var ops = region.Ops;

        // Compute: every op streams on its own partition at once; the slowest partition sets the pace.
        var parts = Partition(ops);
        var pcus = Pcus;
        double computeS = 0;
        for (var i = 0; i < ops.Count; i++)
        {
            var w = ComputeSeconds(ops[i]);
            if (w <= 0) continue;
            computeS = parts.Length == 0 ? computeS + w : Math.Max(computeS, w * pcus / parts[i]);
        }

        // Intermediates: internal tensors stream through the PMUs, except KV-cache entries, which
        // persist and go to HBM as the op-by-op run writes them.
        var streamed = new Dictionary<int, Tensor>();
        foreach (var t in region.Internal)
            if (t.Role != TensorRole.KvCache) streamed[t.Id] = t;

        // Each op's bytes split into external (HBM or DDR) and internal (per streamed tensor, in
        // proportion to the tensors' sizes), so spilling a tensor moves exactly its share to HBM.
        long hbm = 0, ddr = 0;
        var internalTraffic = new Dictionary<int, double>();
        double pj = 0;
        foreach (var op in ops)
        {
            pj += op.Flops * PjPerFlop(op);
            var (extRead, _) = Split(op.Inputs, op.BytesRead, streamed, internalTraffic);
            var (extWrite, _) = Split(op.Outputs, op.BytesWritten, streamed, internalTraffic);
            // A copy between tiers reads its source tier and writes its destination; every other op
            // reads and writes HBM.
            if (op.Transfer is { From: "ddr" }) ddr += extRead; else hbm += extRead;
            if (op.Transfer is { To: "ddr" }) ddr += extWrite; else hbm += extWrite;
        }

        // Spill the largest intermediates until the rest fits in the PMU buffers.
        var capacity = (long)(Spec.Sockets * Spec.SramCapacityBytes * Spec.SramBufferFraction);
        var footprint = streamed.Values.Sum(t => t.Bytes);
        long spilledBytes = 0;
        var spilledCount = 0;
        var onChip = new Dictionary<int, Tensor>(streamed);
        foreach (var t in streamed.Values.OrderByDescending(t => t.Bytes).ThenBy(t => t.Id))
        {
            if (footprint <= capacity) break;
            footprint -= t.Bytes;
            spilledBytes += t.Bytes;
            spilledCount++;
            onChip.Remove(t.Id);
        }
        double sramD = 0, spillD = 0;
        foreach (var (id, bytes) in internalTraffic)
        {
            if (onChip.ContainsKey(id)) sramD += bytes; else spillD += bytes;
        }
        var sram = (long)Math.Round(sramD);
        hbm += (long)Math.Round(spillD);

        // The op-by-op run's HBM bytes bound the region's (rounding of shares aside).
        long sequentialHbm = 0;
        foreach (var op in ops)
            sequentialHbm += (op.Transfer is { From: "ddr" } ? 0 : op.BytesRead) + (op.Transfer is { To: "ddr" } ? 0 : op.BytesWritten);
        hbm = Math.Min(hbm, sequentialHbm);

        long p2p = 0;
        double arLatency = 0;
        foreach (var op in ops)
        {
            var (b, l) = AllReduce(op);
            p2p += b;
            arLatency += l;
        }

        var transfers = new List<TransferDemand>(4);
        if (hbm > 0) transfers.Add(new TransferDemand(_hbm, hbm, HbmRate, hbm * Spec.PjPerByteHbm));
        if (sram > 0) transfers.Add(new TransferDemand(_sram, sram, SramRate, sram * Spec.PjPerByteSram));
        if (ddr > 0) transfers.Add(new TransferDemand(_ddr, ddr, DdrRate, ddr * Spec.PjPerByteDdr));
        if (p2p > 0) transfers.Add(new TransferDemand(_p2p, p2p, Spec.P2pBandwidthBps, p2p * Spec.PjPerByteP2p));

        // One launch; fill and drain of a pipeline one stage per op; the all-reduces on the way.
        var latency = Spec.KernelLaunchS + ops.Count * Spec.StageLatencyS + arLatency;
        var note = string.Create(CultureInfo.InvariantCulture,
            $"fused region of {ops.Count} ops on {(parts.Length == 0 ? "time-multiplexed" : pcus.ToString(CultureInfo.InvariantCulture))} PCUs: {hbm} B hbm, {sram} B streamed through PMUs")
            + (spilledCount > 0
                ? string.Create(CultureInfo.InvariantCulture, $"; spilled {spilledCount} intermediate{(spilledCount == 1 ? "" : "s")} ({spilledBytes} B) to HBM: they exceed {capacity} B of PMU buffers")
                : "")
            + (p2p > 0 ? string.Create(CultureInfo.InvariantCulture, $"; all-reduce {p2p} B p2p") : "");
        return new OpCost(_pcu, Ps.FromSeconds(latency), Ps.FromSeconds(computeS), transfers, pj, note);
    }

    /// <summary>Splits an op's read (or written) bytes between external tensors (at most their total
    /// size) and streamed tensors (the rest, shared among them by size into <paramref name="traffic"/>).</summary>
    private static (long External, long Internal) Split(IReadOnlyList<Tensor> tensors, long bytes,
        IReadOnlyDictionary<int, Tensor> streamed, Dictionary<int, double> traffic)
    {
        long external = 0, internalSize = 0;
        foreach (var t in tensors)
        {
            if (streamed.ContainsKey(t.Id)) internalSize += t.Bytes;
            else external += t.Bytes;
        }
        var ext = Math.Min(bytes, external);
        var inner = bytes - ext;
        if (inner > 0 && internalSize > 0)
        {
            foreach (var t in tensors)
                if (streamed.ContainsKey(t.Id))
                    traffic[t.Id] = traffic.GetValueOrDefault(t.Id) + inner * (t.Bytes / (double)internalSize);
        }
        else if (inner > 0)
        {
            ext = bytes;
            inner = 0;
        }
        return (ext, inner);
    }

    private static string Gbps(double bps) => (bps / 1e9).ToString("0.#", CultureInfo.InvariantCulture) + " GB/s";
}
