using System.Globalization;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Time;

namespace AccelSim.Plugins.Fpga;

/// <summary>The FPGA board's off-chip tiers as a memory hierarchy, and the copies between them.
/// <para>Placement tiers: the weight tier (<c>placement.weights</c>) first, then the slower off-chip
/// tier: <c>hbm</c>, <c>ddr</c> on a board whose design keeps its weights in HBM; <c>ddr</c> alone when
/// it reads them from DDR (nothing slower to offload to). <see cref="Placement"/> keeps what does not
/// fit in HBM in DDR and stages it back per layer; <see cref="ExpertSwitching"/> keeps experts at rest
/// in DDR.</para>
/// <para>An op whose <see cref="Op.Transfer"/> is set is a copy on the design's data mover: engine
/// <c>dma</c> (one unit, apart from the <c>dsp</c> engine, so copies overlap the DSP array's compute as
/// an AXI DMA beside the compute units does), reading the source tier's channel and writing the
/// destination tier's channel at the same pace: <c>dma.efficiency</c> x the slower of the two channels'
/// achievable rates, after <c>dma.setup_s</c>. Both channels are shared by the simulator with the DSP
/// array's own traffic, so a copy into HBM contends with the kernels reading HBM.</para></summary>
public sealed partial class FpgaDeviceModel : IMemoryHierarchy
{
    /// <summary>Engine of the data mover that copies between off-chip tiers.</summary>
    public const string DmaEngine = "dma";

    /// <summary>The weight tier, then DDR when the weights live in HBM.</summary>
    public IReadOnlyList<string> PlacementTiers => Spec.WeightsTier == "ddr" ? ["ddr"] : ["hbm", "ddr"];

    /// <summary>Rate of a copy from <paramref name="from"/> to <paramref name="to"/> on the data mover, B/s:
    /// <c>dma.efficiency</c> x the slower of the two channels' achievable rates.</summary>
    public double CopyRate(string from, string to) => Spec.DmaEfficiency * Math.Min(TierRate(from), TierRate(to));

    /// <summary>The cost of a copy of an op's bytes from tier <c>From</c> to tier <c>To</c>.</summary>
    public OpCost TierCopy(Op op, TierTransfer transfer)
    {
        ArgumentNullException.ThrowIfNull(op);
        return TierCopy(Math.Max(op.BytesRead, op.BytesWritten), transfer);
    }

    /// <summary>The cost of copying <paramref name="bytes"/> between two off-chip tiers on the data mover.</summary>
    public OpCost TierCopy(long bytes, TierTransfer transfer)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes));
        var rate = CheckedCopyRate(transfer);
        return new OpCost(_dma, Ps.FromSeconds(Spec.DmaSetupS), 0, CopyTransfers(bytes, transfer, rate), 0,
            string.Create(CultureInfo.InvariantCulture, $"dma {transfer.From} -> {transfer.To}: {bytes} B at {rate / 1e9:0.###} GB/s"));
    }

    /// <summary>Seconds a copy of <paramref name="bytes"/> takes alone on the data mover.</summary>
    public double CopySeconds(long bytes, TierTransfer transfer) => Spec.DmaSetupS + bytes / CheckedCopyRate(transfer);

    private double CheckedCopyRate(TierTransfer transfer)
    {
        var from = Known(transfer.From);
        var to = Known(transfer.To);
        if (from == to) throw new ArgumentException($"a tier copy needs two different tiers, got {from} to {to}", nameof(transfer));
        return CopyRate(from, to);
    }

    private List<TransferDemand> CopyTransfers(long bytes, TierTransfer transfer, double rate)
    {
        var list = new List<TransferDemand>(2);
        if (bytes <= 0) return list;
        list.Add(new TransferDemand(ChannelOfTier(transfer.From), bytes, rate, bytes * PjPerByte(transfer.From)));
        list.Add(new TransferDemand(ChannelOfTier(transfer.To), bytes, rate, bytes * PjPerByte(transfer.To)));
        return list;
    }

    /// <summary>A region's ops apart from its copies between tiers.</summary>
    private static (IReadOnlyList<Op> Ops, IReadOnlyList<Op> Copies) SplitCopies(IReadOnlyList<Op> ops)
    {
        var hasCopies = false;
        foreach (var op in ops) hasCopies |= op.Transfer is not null;
        if (!hasCopies) return (ops, []);
        return (ops.Where(o => o.Transfer is null).ToList(), ops.Where(o => o.Transfer is not null).ToList());
    }

    /// <summary>A fused region with copies between tiers (a streamed layer's staging copy under the
    /// dataflow schedule): the copies run one after another on the data mover beside the region's
    /// pipeline, their bytes on their channels at the copy rate; the region lasts at least as long as
    /// they do alone.</summary>
    private (long ComputePs, string Note) WithCopies(long computePs, List<TransferDemand> transfers, IReadOnlyList<Op> copies, string note)
    {
        double seconds = 0;
        long bytes = 0;
        foreach (var c in copies)
        {
            var b = Math.Max(c.BytesRead, c.BytesWritten);
            var t = c.Transfer!.Value;
            seconds += CopySeconds(b, t);
            bytes += b;
            transfers.AddRange(CopyTransfers(b, t, CheckedCopyRate(t)));
        }
        return (Math.Max(computePs, Ps.FromSeconds(seconds)),
            note + string.Create(CultureInfo.InvariantCulture, $"; dma beside it: {copies.Count} cop{(copies.Count == 1 ? "y" : "ies")}, {bytes} B"));
    }

    private string Known(string tier)
    {
        if (tier is "hbm" or "ddr") return tier;
        throw new ArgumentException($"{Name} has no tier '{tier}' its data mover can reach (expected hbm or ddr)");
    }

    private double TierRate(string tier) => Known(tier) == "ddr" ? DdrRate : HbmRate;

    private int ChannelOfTier(string tier) => Known(tier) == "ddr" ? _ddr : _hbm;

    private double PjPerByte(string tier) => Known(tier) == "ddr" ? Spec.PjPerByteDdr : Spec.PjPerByteHbm;
}
