using System.Globalization;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins.Kit;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;

namespace AccelSim.Plugins.Gpu;

/// <summary>Direction of a host-device copy.</summary>
public enum HostDirection
{
    HostToDevice,
    DeviceToHost,
}

/// <summary>Host buffer kind of a host-device copy: pinned (DMA straight from host memory) or
/// pageable (staged through a pinned bounce buffer by the driver).</summary>
public enum HostMemory
{
    Pinned,
    Pageable,
}

/// <summary>The GPU cost model bound to one <see cref="GpuSpec"/>. Pure: every op costs the same
/// every time. Kernels run one at a time on engine <c>sm</c> (one unit, as kernels replayed from a
/// CUDA graph); bytes move on <c>hbm</c>, on <c>l2</c> (activations that fit in L2) and on
/// <c>pcie</c> (the host link). Engine <c>host</c> is the CPU thread that issues ops in eager
/// execution (<see cref="EagerSchedule"/>); no op's own cost ever runs on it.</summary>
public sealed partial class GpuDeviceModel : IDeviceModel, IHostDispatchDevice
{
    private readonly int _sm, _host, _hbm, _l2, _pcie, _hbmTier;

    public GpuDeviceModel(GpuSpec spec)
    {
        Spec = spec ?? throw new ArgumentNullException(nameof(spec));
        KernelPowerSpec = spec.Power;
        Topology = new DeviceTopology(
            [new EngineSpec("sm", 1), new EngineSpec("host", 1), .. HierarchyEngines(), .. HostCpuEngines()],
            [
                ChannelSpec.Memory("hbm", spec.HbmBandwidthBps, 0, "hbm", offChip: true),
                ChannelSpec.Memory("l2", spec.L2BandwidthBps, 0, "l2", offChip: false),
                ChannelSpec.Memory("pcie", spec.PcieBandwidthBps, Ps.FromSeconds(spec.PcieLatencyS), "host", offChip: true),
                .. HierarchyChannels(spec),
                .. HostCpuChannels(spec),
            ],
            [
                new TierSpec("hbm", spec.HbmCapacityBytes, OffChip: true),
                new TierSpec("l2", spec.L2CapacityBytes, OffChip: false),
                new TierSpec("host", spec.HostMemoryBytes, OffChip: true, TierKind.Host),
                .. HierarchyTiers(spec),
            ]);
        _sm = Topology.EngineIndex("sm");
        _host = Topology.EngineIndex("host");
        _hbm = Topology.ChannelIndex("hbm");
        _l2 = Topology.ChannelIndex("l2");
        _pcie = Topology.ChannelIndex("pcie");
        _hbmTier = Topology.TierIndex("hbm");
        Capabilities = new DeviceCapabilities
        {
            MemoryHierarchy = this,
            HostCompute = this,
            CopyPowerBudget = this,
            HostDispatch = this,
            Dataflow = this,
        };
    }

    public GpuSpec Spec { get; }
    public string Name => Spec.Name;
    public string Kind => GpuPlugin.KindName;
    public DeviceTopology Topology { get; }
    public int MainMemoryChannel => _hbm;
    public double StaticPowerW => Spec.StaticW;

    /// <summary>Host, NVMe and host-CPU tiers (<see cref="PlacementTiers"/>, <see cref="HasHostCpu"/>), a
    /// power limit shared with the copy engines (<see cref="WithCopies"/>), eager host dispatch
    /// (<see cref="DispatchPs"/>) and fused regions (<see cref="CostRegion"/>), each costed on this model.</summary>
    public DeviceCapabilities Capabilities { get; }

    /// <summary>The host thread that issues ops in eager execution.</summary>
    public int HostEngine => _host;

    /// <summary>Host time to issue <paramref name="op"/> in eager execution: its own call at
    /// <c>host.dispatch.by_kind.&lt;kind&gt;</c>, its metadata-only calls at <c>.view</c> and its nested
    /// calls at <c>.nested</c> (<see cref="GpuHostDispatchSpec"/>).</summary>
    public long DispatchPs(Op op) => Ps.FromSeconds(Spec.HostDispatch.DispatchS(op));

    /// <summary>The card: peaks and topology, the power cap, SMs, clock and static power.</summary>
    public DeviceCard Describe() => DeviceCards.Generic(this, Spec.CapW,
    [
        new CardFigure("SMs", Spec.SmCount, ""),
        new CardFigure("boost clock", Spec.ClockMHz * 1e6, "Hz"),
        new CardFigure("static power", Spec.StaticW, "W"),
        new CardFigure("TDP", Spec.TdpW, "W"),
    ]);

    public double PeakFlops(DType dtype) => Spec.PeakFlops.TryGetValue(dtype, out var p) ? p : 0;

    /// <summary>The op's data type, promoted to a wider one the device supports when it has no peak
    /// for it (fp8 on an A100 runs as bf16, bf16 on a V100 as fp16, anything as fp32 last).</summary>
    public DType ComputeDType(Op op) => Supported(op.ComputeDType);

    public DType Supported(DType d) => DTypeLadder.Standard.Supported(d, this);

    /// <summary>The device's own placement: every tensor in HBM. The placement policies (offload, KV swap,
    /// training) move tensors to the host and NVMe tiers through <see cref="WorkloadGraph.TierOf"/>.</summary>
    public int PlaceTensor(Tensor tensor) => _hbmTier;

    public OpCost Cost(Op op)
    {
        ArgumentNullException.ThrowIfNull(op);
        if (HostSideCost(op) is { } hostSide) return hostSide;
        if (op.Transfer is { } transfer) return TierCopy(op, transfer);
        if (op.Access != ElementAccess.Unspecified && op.Kind is not (OpKind.MatMul or OpKind.Attention)) return FrameworkKernel(op);
        return op.Kind switch
        {
            OpKind.MatMul when op.Gemm is { } g && g.M > 0 && g.N > 0 && g.K > 0 && g.Batch > 0 => Gemm(op, g),
            OpKind.Attention when op.Attention is { } a && a.QueryLen > 0 && a.KvLen > 0 && a.Batch > 0 && a.HeadsQ > 0 => Attention(op, a),
            OpKind.Copy => Streaming(op, Spec.CopyMinS, "copy"),
            _ => Streaming(op, Spec.MinKernelS, "stream"),
        };
    }

    /// <summary>A copy of <paramref name="bytes"/> between host memory and the device over the host link.</summary>
    public OpCost HostCopy(long bytes, HostDirection direction, HostMemory memory)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes));
        var eff = memory == HostMemory.Pinned ? Spec.PciePinnedEfficiency
            : direction == HostDirection.HostToDevice ? Spec.PciePageableH2DEfficiency : Spec.PciePageableD2HEfficiency;
        var rate = Spec.PcieBandwidthBps * eff;
        var dir = direction == HostDirection.HostToDevice ? "h2d" : "d2h";
        var mem = memory == HostMemory.Pinned ? "pinned" : "pageable";
        return new OpCost(_sm, 0, 0, [new TransferDemand(_pcie, bytes, rate, bytes * Spec.PjPerBytePcie)], 0,
            $"{dir} {mem} at {Gbps(rate)}");
    }

    // ---- clocks and rates ----

    /// <summary>Effective device rate for tensor-core or SIMT work in <paramref name="d"/>, FLOP/s:
    /// peak x sustained-clock ratio (tensor-core types only; fp32 runs on the SIMT units at the
    /// boost clock) x the family's efficiency for the type.</summary>
    public double SustainedFlops(DType d)
    {
        d = Supported(d);
        var clock = d == DType.Fp32 ? 1.0 : Spec.TensorClockFraction;
        return PeakFlops(d) * clock * Spec.DTypeEfficiency[d];
    }

    /// <summary>Seconds to stream <paramref name="read"/> + <paramref name="written"/> bytes over
    /// HBM on the achievable-bandwidth curve, with an extra efficiency factor.</summary>
    public double HbmSeconds(double read, double written, double efficiency = 1)
    {
        if (read + written <= 0) return 0;
        var effective = read + written / Spec.HbmWriteEfficiency + Spec.HbmFillBytes;
        return effective / (Spec.HbmBandwidthBps * Spec.HbmAchievableFraction * efficiency);
    }

    private double L2Seconds(double bytes) => bytes <= 0 ? 0 : bytes / Spec.L2BandwidthBps;

    // ---- memory traffic split between L2 and HBM ----

    private readonly record struct Traffic(long HbmRead, long HbmWrite, long L2Read, long L2Write)
    {
        public long Hbm => HbmRead + HbmWrite;
        public long L2 => L2Read + L2Write;
    }

    /// <summary>Activations (tensors produced and consumed between kernels) stay in L2 when the
    /// op's activations fit in the part of L2 that holds them; weights and KV caches stream from HBM.</summary>
    private Traffic Split(Op op)
    {
        long actIn = 0, actOut = 0;
        foreach (var t in op.Inputs) if (t.Role == TensorRole.Activation) actIn += t.Bytes;
        foreach (var t in op.Outputs) if (t.Role == TensorRole.Activation) actOut += t.Bytes;
        var fits = actIn + actOut > 0 && actIn + actOut <= Spec.L2CapacityBytes * Spec.L2ResidentFraction;
        var l2r = fits ? Math.Min(actIn, op.BytesRead) : 0;
        var l2w = fits ? Math.Min(actOut, op.BytesWritten) : 0;
        return new Traffic(op.BytesRead - l2r, op.BytesWritten - l2w, l2r, l2w);
    }

    // ---- op kinds ----

    private OpCost Gemm(Op op, GemmShape g)
    {
        var dt = ComputeDType(op);
        var traffic = Split(op);
        var memS = Math.Max(HbmSeconds(traffic.HbmRead, traffic.HbmWrite, Spec.GemmBandwidthEfficiency), L2Seconds(traffic.L2));
        var align = Alignment(g, dt);
        var perSm = SustainedFlops(dt) / Spec.SmCount;
        // The fallback kernels' main loop: tensor-core math at mma.sync rate (SIMT fp32 is unchanged)
        // and operand loads issued one vector at a time (see GemmAlignment).
        var mathEff = align.Fast || dt == DType.Fp32 ? 1 : Spec.GemmFallback.MathFraction;
        var vectorsPerS = Spec.GemmFallback.VectorsPerClockPerSm * Spec.ClockMHz * 1e6;

        // Options are compared at the clock the power limit leaves each of them (a library heuristic
        // times kernels as they run), so a faster device never picks a kernel that ends up slower.
        var flopPj = op.Flops * (Spec.PjPerFlop.TryGetValue(dt, out var e) ? e : Spec.PjPerFlop[DType.Fp32]);
        var bytePj = BytePj(traffic);
        var minBusyS = Spec.MinKernelS - Spec.KernelStartS;
        var best = double.MaxValue;
        var bestCompute = 0.0;
        var note = "";
        foreach (var t in Spec.Tiles)
        {
            var tilesMn = g.Batch * Ceil(g.M, t.M) * Ceil(g.N, t.N);
            var kSteps = Ceil(g.K, t.K);
            for (var split = 1; split <= Spec.SplitKMax && split <= kSteps; split *= 2)
            {
                var ctas = tilesMn * split;
                var waves = Ceil(ctas, Spec.SmCount);
                var kPer = Ceil(kSteps, split) * (double)t.K;
                var mathS = 2.0 * t.M * t.N * kPer / (perSm * t.Efficiency * mathEff);
                var loadS = align.Fast ? 0 : kPer * align.IssueSlotsPerK(t) / vectorsPerS;
                var tileS = Math.Max(mathS, loadS) + Spec.TileOverheadS;
                var computeS = waves * tileS;
                if (split > 1)
                {
                    // fp32 partial tiles written and read back through L2, then reduced.
                    computeS += Spec.SplitKOverheadS + L2Seconds(2.0 * split * g.Batch * g.M * g.N * 4);
                }
                var capped = GpuPowerModel.Apply(KernelPowerSpec, computeS, flopPj, bytePj, memS, Spec.KernelStartS, minBusyS).ComputeS;
                var total = Math.Max(Math.Max(capped, minBusyS), memS);
                if (total < best * (1 - 1e-12))
                {
                    best = total;
                    bestCompute = computeS;
                    note = string.Create(CultureInfo.InvariantCulture,
                        $"tile {t.M}x{t.N}x{t.K}{(split > 1 ? $" split-k {split}" : "")}: {ctas} CTAs in {waves} wave{(waves == 1 ? "" : "s")}{align.Note}");
                }
            }
        }
        return Build(op, dt, bestCompute, traffic, Spec.GemmBandwidthEfficiency, Spec.MinKernelS, note);
    }

    /// <summary>The load vectors a GEMM's operands allow. A row-major operand is read in vectors of the
    /// widest power of two (up to <c>gemm.alignment_bytes</c>, the fast path's vector) that divides its row pitch in bytes: A (M x K) by K x elem, B
    /// (K x N) and C (M x N) by N x elem. The fast path needs <c>gemm.alignment_bytes</c> on all three;
    /// otherwise the fallback kernels load each operand in its own vectors, through an asynchronous copy
    /// when the vector is at least <c>gemm.fallback.async_copy_min_bytes</c> and through registers
    /// (<c>gemm.fallback.register_staged_issue_factor</c> issue slots a vector) when it is not.</summary>
    public GemmAlignment Alignment(GemmShape g, DType dtype)
    {
        var bits = Math.Max(1, dtype.Bits());
        var a = VectorBytes(g.K, bits);
        var b = VectorBytes(g.N, bits);
        var fast = a >= Spec.AlignmentBytes && b >= Spec.AlignmentBytes;
        return new GemmAlignment(fast, bits / 8.0, a, b, Stage(a), Stage(b));
    }

    private double VectorBytes(long elements, int bits)
    {
        var pitchBits = elements * bits;
        var lowest = pitchBits & -pitchBits;
        return Math.Min(lowest / 8.0, Spec.AlignmentBytes);
    }

    private double Stage(double vectorBytes) =>
        Spec.GemmFallback.AsyncCopyMinBytes > 0 && vectorBytes >= Spec.GemmFallback.AsyncCopyMinBytes ? 1 : Spec.GemmFallback.RegisterStagedIssueFactor;

    private OpCost Attention(Op op, AttentionShape a)
    {
        var dt = ComputeDType(op);
        var traffic = Split(op);
        var rate = SustainedFlops(dt) * Spec.AttentionEfficiency;
        if (a.QueryLen <= Spec.DecodeMaxQueryLen)
        {
            // Decode: a few query rows per head against the whole cache; the KV read is the cost.
            var computeS = op.Flops / rate;
            return Build(op, dt, computeS, traffic, Spec.DecodeBandwidthEfficiency, Spec.MinKernelS,
                string.Create(CultureInfo.InvariantCulture, $"decode: KV read of {a.KvLen} tokens"));
        }

        // Prefill: one CTA per (batch, head, block of bq queries); each walks its visible keys in
        // steps of bkv. Causal masking makes later query blocks longer; the SMs take CTAs greedily,
        // so the kernel lasts at least the longest CTA and at least the total work over the SMs.
        var bq = Spec.AttentionBlockQ;
        var bkv = Spec.AttentionBlockKv;
        var perSm = rate / Spec.SmCount;
        var nq = Ceil(a.QueryLen, bq);
        var prefix = a.KvLen - a.QueryLen;
        double sum = 0, longest = 0;
        for (long j = 0; j < nq; j++)
        {
            var keys = a.Causal ? Math.Min(a.KvLen, prefix + Math.Min(a.QueryLen, (j + 1) * bq)) : a.KvLen;
            var steps = Ceil(Math.Max(keys, 1), bkv);
            // A partial last block still runs bq rows (the tensor-core tile is padded).
            var s = Spec.AttentionCtaOverheadS + 4.0 * bq * steps * bkv * a.HeadDim / perSm;
            sum += s;
            if (s > longest) longest = s;
        }
        var ctas = a.Batch * a.HeadsQ * nq;
        // An op whose FLOPs differ from its shape's forward count (a backward pass that recomputes,
        // attention with different query-key and value head sizes) scales the same CTA schedule.
        var work = a.Flops > 0 && op.Flops > 0 ? op.Flops / (double)a.Flops : 1.0;
        var compute = work * Math.Max(sum * a.Batch * a.HeadsQ / Spec.SmCount, longest);
        return Build(op, dt, compute, traffic, 1, Spec.MinKernelS,
            string.Create(CultureInfo.InvariantCulture, $"flash prefill: {ctas} CTAs of {bq}x{bkv}"));
    }

    /// <summary>Norms, rope, elementwise, activations, softmax, gathers, copies, reductions, optimizer
    /// steps and unknown ops: their bytes on the achievable-bandwidth curve, their FLOPs on the
    /// SIMT (fp32) units.</summary>
    private OpCost Streaming(Op op, double minS, string what)
    {
        var dt = ComputeDType(op);
        var traffic = Split(op);
        var computeS = op.Flops / SustainedFlops(DType.Fp32);
        return Build(op, dt, computeS, traffic, 1, minS,
            string.Create(CultureInfo.InvariantCulture, $"{what}: {traffic.Hbm} B hbm, {traffic.L2} B l2"));
    }

    /// <summary>A framework's generic element-wise kernel, copy or row reduction (<see cref="Op.Access"/>),
    /// as an unfused stack launches it (docs/stacks.md). It pays the device-side launch gap of back-to-back
    /// kernels (<c>stream.launch_gap_s</c>) and lasts at least its floor. A vectorised kernel streams its
    /// bytes like any other (floor <c>stream.vectorized_min_s</c>); a strided one computes every element's
    /// address from its index, so it is paced by an element rate (<c>stream.strided_elements_per_clock_per_sm</c>;
    /// elements: the output's, a reduction's: the input's) as well as by its bytes, whichever is longer
    /// (floor <c>stream.strided_min_s</c>, a reduction's <c>stream.reduction_min_s</c>).</summary>
    private OpCost FrameworkKernel(Op op)
    {
        var dt = ComputeDType(op);
        var traffic = Split(op);
        var gap = Spec.StreamLaunchGapS;
        var flopsS = op.Flops / SustainedFlops(DType.Fp32);
        if (op.Access == ElementAccess.Vectorized)
        {
            return Build(op, dt, flopsS, traffic, 1, gap + Spec.VectorizedMinS,
                string.Create(CultureInfo.InvariantCulture, $"vectorised element-wise: {traffic.Hbm} B hbm, {traffic.L2} B l2"), gap);
        }
        var reduction = op.Kind == OpKind.Reduction;
        long elements = 0;
        foreach (var t in reduction ? op.Inputs : op.Outputs) elements += t.Elements;
        var computeS = Math.Max(elements / Spec.StridedElementsPerS, flopsS);
        return Build(op, dt, computeS, traffic, 1, gap + (reduction ? Spec.ReductionMinS : Spec.StridedMinS),
            string.Create(CultureInfo.InvariantCulture, $"strided {(reduction ? "reduction" : "element-wise")}: {elements} elements, {traffic.Hbm} B hbm, {traffic.L2} B l2"), gap);
    }

    /// <summary>Energy of a kernel's bytes: HBM reads and writes and L2 traffic.</summary>
    private double BytePj(Traffic traffic) =>
        traffic.HbmRead * Spec.PjPerByteHbm + traffic.HbmWrite * Spec.Power.PjPerByteHbmWrite + traffic.L2 * Spec.PjPerByteL2;

    private OpCost Build(Op op, DType dt, double computeS, Traffic traffic, double hbmEfficiency, double minS, string note, double? startS = null)
    {
        var start = startS ?? Spec.KernelStartS;
        var transfers = new List<TransferDemand>(2);
        double memS = 0;
        if (traffic.Hbm > 0)
        {
            var s = HbmSeconds(traffic.HbmRead, traffic.HbmWrite, hbmEfficiency);
            var hbmPj = traffic.HbmRead * Spec.PjPerByteHbm + traffic.HbmWrite * Spec.Power.PjPerByteHbmWrite;
            transfers.Add(new TransferDemand(_hbm, traffic.Hbm, traffic.Hbm / s, hbmPj));
            memS = s;
        }
        if (traffic.L2 > 0)
        {
            transfers.Add(new TransferDemand(_l2, traffic.L2, Spec.L2BandwidthBps, traffic.L2 * Spec.PjPerByteL2));
            memS = Math.Max(memS, L2Seconds(traffic.L2));
        }
        var bytePj = BytePj(traffic);
        var pj = Spec.PjPerFlop.TryGetValue(dt, out var e) ? e : Spec.PjPerFlop[DType.Fp32];
        // Above the power limit the SMs clock down: slower compute, less energy per FLOP (GpuPowerModel.cs).
        var power = GpuPowerModel.Apply(KernelPowerSpec, computeS, op.Flops * pj, bytePj, memS, start, minS - start);
        if (power.Throttled)
            note += string.Create(CultureInfo.InvariantCulture, $"; power-capped at {Spec.ClockMHz * power.ClockFraction:0} MHz");
        if (power.Held)
            note += string.Create(CultureInfo.InvariantCulture, $"; held to the {KernelPowerSpec.CapW:0} W cap (its bytes alone would exceed it)");
        // The kernel occupies the SMs at least until its minimum duration: launch and tail effects.
        var busy = Math.Max(power.ComputeS, minS - start);
        return new OpCost(_sm, Ps.FromSeconds(start), Ps.FromSeconds(busy), transfers, power.ComputeEnergyPj, note)
        {
            PowerLimit = power.Capped ? Limit(power.ClockFraction) : null,
        };
    }

    /// <summary>The power limit at SM clock fraction <paramref name="clockFraction"/>, for reports: the
    /// board's cap (on <see cref="WithCopies"/> the kernel is held to less of it, the clock says so).</summary>
    internal PowerLimit Limit(double clockFraction) => new(Spec.Power.CapW, Spec.ClockMHz * 1e6 * clockFraction, "SM clock");

    private static long Ceil(long a, long b) => (a + b - 1) / b;

    private static string Gbps(double bps) => (bps / 1e9).ToString("0.#", CultureInfo.InvariantCulture) + " GB/s";
}

/// <summary>The load vectors of a GEMM's operands (<see cref="GpuDeviceModel.Alignment"/>).</summary>
/// <param name="Fast">Every row pitch allows the fast path's vector.</param>
/// <param name="ElementBytes">Bytes per element.</param>
/// <param name="VectorA">Vector of A (and of the K pitch), bytes.</param>
/// <param name="VectorB">Vector of B and C (the N pitch), bytes.</param>
/// <param name="IssueA">Issue slots per vector of A.</param>
/// <param name="IssueB">Issue slots per vector of B.</param>
public readonly record struct GemmAlignment(bool Fast, double ElementBytes, double VectorA, double VectorB, double IssueA, double IssueB)
{
    /// <summary>Load issue slots a tile spends per element of K: its rows of A and its columns of B,
    /// each in vectors.</summary>
    public double IssueSlotsPerK(GemmTile tile)
    {
        ArgumentNullException.ThrowIfNull(tile);
        return tile.M * ElementBytes / VectorA * IssueA + tile.N * ElementBytes / VectorB * IssueB;
    }

    /// <summary>What the op's note says about alignment: nothing on the fast path.</summary>
    public string Note => Fast ? ""
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $", misaligned: {VectorA:0.#}/{VectorB:0.#}-byte vectors (A/B), fallback kernels");
}
