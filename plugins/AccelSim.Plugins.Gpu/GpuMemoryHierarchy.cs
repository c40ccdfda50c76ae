using System.Globalization;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Time;

namespace AccelSim.Plugins.Gpu;

/// <summary>The GPU's memory tiers below HBM and the copies between them.
/// <para>Tiers: <c>hbm</c> (device memory), <c>l2</c> (on chip), <c>host</c> (host DDR, reached over the
/// PCIe link) and <c>ssd</c> (an NVMe drive on the host's PCIe, read into the GPU as GPUDirect Storage
/// does). Tensors may be placed in hbm, host and ssd (<see cref="PlacementTiers"/>); host appears when
/// <c>host.memory_bytes</c> is given, ssd when <c>host.nvme.capacity_bytes</c> is.</para>
/// <para>An op whose <see cref="Op.Transfer"/> is set is a DMA copy: it runs on a copy engine
/// (<c>copy</c> towards the device, <c>copy_d2h</c> away from it, one unit each, apart from the
/// <c>sm</c> engine so that copies overlap kernels) and moves its bytes over every channel on the way:
/// <c>pcie</c> (host to device) or <c>pcie_d2h</c> (device to host) at the pinned rate, <c>nvme</c> for
/// the drive, and <c>hbm</c> for the staged bytes written into (or read out of) device memory, paced
/// by the slowest link. Shared channels are shared by the simulator, so streaming and swapping contend
/// with each other and with kernels for HBM.</para></summary>
public sealed partial class GpuDeviceModel : IMemoryHierarchy, ICopyPowerBudget
{
    /// <summary>Engine of copies towards the device (host or ssd to hbm).</summary>
    public const string CopyEngine = "copy";

    /// <summary>Engine of copies away from the device (hbm to host or ssd).</summary>
    public const string CopyD2HEngine = "copy_d2h";

    private static EngineSpec[] HierarchyEngines() => [new EngineSpec(CopyEngine, 1), new EngineSpec(CopyD2HEngine, 1)];

    private static ChannelSpec[] HierarchyChannels(GpuSpec spec) =>
    [
        ChannelSpec.Memory("pcie_d2h", spec.PcieBandwidthBps, Ps.FromSeconds(spec.PcieLatencyS), "host", offChip: true),
        ChannelSpec.Memory("nvme", spec.NvmeBandwidthBps > 0 ? spec.NvmeBandwidthBps : spec.PcieBandwidthBps,
            Ps.FromSeconds(spec.NvmeLatencyS), "ssd", offChip: true),
    ];

    private static TierSpec[] HierarchyTiers(GpuSpec spec) => [new TierSpec("ssd", spec.NvmeCapacityBytes, OffChip: true, TierKind.Storage)];

    /// <summary>hbm, then host when host memory is described, then ssd when a drive is.</summary>
    public IReadOnlyList<string> PlacementTiers
    {
        get
        {
            var tiers = new List<string>(3) { "hbm" };
            if (Spec.HostMemoryBytes > 0) tiers.Add("host");
            if (Spec.NvmeCapacityBytes > 0 && Spec.NvmeBandwidthBps > 0) tiers.Add("ssd");
            return tiers;
        }
    }

    // A memo of a pure function of the spec (the variant WithCopies builds), not state: every call
    // builds an equal device, so a race between two first calls only builds it twice.
    private GpuDeviceModel? _withCopies;

    /// <summary>The factor copies are paced by on <see cref="WithCopies"/> (1 elsewhere); set once, at construction.</summary>
    private double CopyPace { get; init; } = 1;

    /// <summary>The power description kernels are held to: <see cref="GpuSpec.Power"/>, or on
    /// <see cref="WithCopies"/> the same with <see cref="CopyReserveW"/> taken off the cap.</summary>
    public GpuPowerSpec KernelPowerSpec { get; private init; }

    /// <summary>Highest power the DMA copy engines (<c>copy</c> and <c>copy_d2h</c>) can draw together, W:
    /// for each engine the largest over the copies it can run (between hbm and the host or the drive, as
    /// <see cref="PlacementTiers"/> allow) of its path's rate x the energy per byte of every channel on the
    /// path. A copy held back by contention draws less.</summary>
    public double CopyPowerW
    {
        get
        {
            double toDevice = 0, fromDevice = 0;
            foreach (var other in PlacementTiers)
            {
                if (other == "hbm") continue;
                toDevice = Math.Max(toDevice, PathPowerW(new TierTransfer(other, "hbm")));
                fromDevice = Math.Max(fromDevice, PathPowerW(new TierTransfer("hbm", other)));
            }
            return toDevice + fromDevice;
        }
    }

    /// <summary>Part of <c>power.cap_W</c> that <see cref="WithCopies"/> keeps for the copy engines, W:
    /// <see cref="CopyPowerW"/>, but no more than half of the dynamic budget (cap_W - static_W). When the
    /// copies could draw more than that (a description whose cap barely exceeds its static power), they
    /// are paced down to it, so kernels keep the other half.</summary>
    public double CopyReserveW => Math.Min(CopyPowerW, 0.5 * (Spec.Power.CapW - Spec.Power.StaticW));

    /// <summary>The device as it runs a graph with DMA copies. The power cap is shared statically: every
    /// kernel is held to <c>power.cap_W</c> - <see cref="CopyReserveW"/>, whether or not a copy runs
    /// beside it, and the copies never draw more than that reserve, so kernels and copies together
    /// never exceed the cap however the schedule overlaps them. Conservative: a kernel with no copy
    /// beside it gives up the reserve too.</summary>
    public IDeviceModel WithCopies()
    {
        if (CopyPace < 1 || !ReferenceEquals(KernelPowerSpec, Spec.Power)) return this;
        return _withCopies ??= CopiesVariant();
    }

    private GpuDeviceModel CopiesVariant()
    {
        var copyW = CopyPowerW;
        var reserve = CopyReserveW;
        if (reserve <= 0) return this;
        return new GpuDeviceModel(Spec)
        {
            KernelPowerSpec = Spec.Power with { CapW = Spec.Power.CapW - reserve },
            CopyPace = copyW > reserve ? reserve / copyW : 1,
        };
    }

    private double PathPowerW(TierTransfer path)
    {
        const long probe = 1L << 30;
        var cost = TierCopy(probe, path);
        if (cost.Transfers.Count == 0) return 0;
        var pj = 0.0;
        foreach (var t in cost.Transfers) pj += t.EnergyPj;
        return pj * 1e-12 * cost.Transfers[0].RateCap_Bps / probe;
    }

    /// <summary>Rate of a pinned DMA copy over the host link, B/s.</summary>
    public double PinnedPcieRate => Spec.PcieBandwidthBps * Spec.PciePinnedEfficiency;

    /// <summary>Rate the drive sustains for large sequential transfers, B/s.</summary>
    public double NvmeRate => Spec.NvmeBandwidthBps * Spec.NvmeEfficiency;

    /// <summary>The cost of a copy of an op's bytes from tier <c>From</c> to tier <c>To</c>.</summary>
    public OpCost TierCopy(Op op, TierTransfer transfer)
    {
        ArgumentNullException.ThrowIfNull(op);
        var bytes = Math.Max(op.BytesRead, op.BytesWritten);
        return TierCopy(bytes, transfer);
    }

    /// <summary>The cost of copying <paramref name="bytes"/> between two tiers on the DMA path.</summary>
    public OpCost TierCopy(long bytes, TierTransfer transfer)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes));
        var from = Known(transfer.From);
        var to = Known(transfer.To);
        if (from == to) throw new ArgumentException($"a tier copy needs two different tiers, got {from} to {to}", nameof(transfer));
        var toDevice = to == "hbm";
        var fromDevice = from == "hbm";
        var engine = Topology.EngineIndex(fromDevice ? CopyD2HEngine : CopyEngine);

        // The rate of the whole path is its slowest link; every channel on it carries the bytes at that rate.
        var rate = double.MaxValue;
        var usesPcie = toDevice || fromDevice;
        var usesNvme = from == "ssd" || to == "ssd";
        if (usesPcie) rate = Math.Min(rate, PinnedPcieRate);
        if (usesNvme) rate = Math.Min(rate, NvmeRate);
        if (!usesPcie && !usesNvme) rate = HbmCopyRate;
        // On WithCopies, a device whose copies could outdraw their reserve paces them down to it.
        if (toDevice || fromDevice) rate *= CopyPace;

        var transfers = new List<TransferDemand>(3);
        if (bytes > 0)
        {
            if (usesPcie)
                transfers.Add(new TransferDemand(Topology.ChannelIndex(toDevice ? "pcie" : "pcie_d2h"), bytes, rate, bytes * Spec.PjPerBytePcie));
            if (usesNvme)
                transfers.Add(new TransferDemand(Topology.ChannelIndex("nvme"), bytes, rate, bytes * Spec.PjPerByteSsd));
            if (from == "host" || to == "host")
            {
                // Host DDR is read or written once; its energy rides on the host-link transfer.
                var i = transfers.FindIndex(t => t.Channel == Topology.ChannelIndex(toDevice ? "pcie" : "pcie_d2h"));
                if (i < 0) i = 0;
                transfers[i] = transfers[i] with { EnergyPj = transfers[i].EnergyPj + bytes * Spec.PjPerByteHost };
            }
            if (toDevice || fromDevice)
                transfers.Add(new TransferDemand(_hbm, bytes, rate, bytes * Spec.PjPerByteHbm));
        }
        return new OpCost(engine, 0, 0, transfers, 0,
            string.Create(CultureInfo.InvariantCulture, $"dma {from} -> {to}: {bytes} B at {Gbps(rate)}"));
    }

    private double HbmCopyRate => Spec.HbmBandwidthBps * Spec.HbmAchievableFraction;

    private string Known(string tier)
    {
        if (tier is "hbm" or "host" or "ssd") return tier;
        throw new ArgumentException($"{Name} has no tier '{tier}' a copy can reach (expected hbm, host or ssd)");
    }
}
