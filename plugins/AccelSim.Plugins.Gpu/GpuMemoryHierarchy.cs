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
public sealed partial class GpuDeviceModel : IMemoryHierarchy
{
    /// <summary>Engine of copies towards the device (host or ssd to hbm).</summary>
    public const string CopyEngine = "copy";

    /// <summary>Engine of copies away from the device (hbm to host or ssd).</summary>
    public const string CopyD2HEngine = "copy_d2h";

    private static EngineSpec[] HierarchyEngines() => [new EngineSpec(CopyEngine, 1), new EngineSpec(CopyD2HEngine, 1)];

    private static ChannelSpec[] HierarchyChannels(GpuSpec spec) =>
    [
        new ChannelSpec("pcie_d2h", spec.PcieBandwidthBps, Ps.FromSeconds(spec.PcieLatencyS), "host", OffChip: true),
        new ChannelSpec("nvme", spec.NvmeBandwidthBps > 0 ? spec.NvmeBandwidthBps : spec.PcieBandwidthBps,
            Ps.FromSeconds(spec.NvmeLatencyS), "ssd", OffChip: true),
    ];

    private static TierSpec[] HierarchyTiers(GpuSpec spec) => [new TierSpec("ssd", spec.NvmeCapacityBytes, OffChip: true)];

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
