using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Time;

namespace AccelSim.Plugins.Gpu;

/// <summary>The host CPU of the server a GPU sits in, as far as training offload needs it: the fp32 rate
/// of its cores (<c>host.cpu.peak_flops</c>), the bandwidth of its memory (<c>host.cpu.memory_bandwidth_Bps</c>,
/// e.g. 8 channels of DDR4-3200 per socket) and the fractions of each that a vectorised optimizer
/// (DeepSpeed's CPU-Adam) sustains (<c>host.cpu.flops_efficiency</c>, <c>host.cpu.memory_efficiency</c>).
/// Not described (both zero): the device has no host CPU to run ops on.</summary>
public sealed record GpuHostCpuSpec(double PeakFlops, double MemoryBandwidthBps, double FlopsEfficiency, double MemoryEfficiency)
{
    public static readonly GpuHostCpuSpec None = new(0, 0, 1, 1);

    public bool Described => PeakFlops > 0 && MemoryBandwidthBps > 0;

    /// <summary>Binds the optional <c>host.cpu.*</c> keys; either both rates or neither.</summary>
    public static GpuHostCpuSpec Bind(ConfigBinder b)
    {
        ArgumentNullException.ThrowIfNull(b);
        var peak = b.OptionalNumber("host.cpu.peak_flops", 0);
        var bw = b.OptionalNumber("host.cpu.memory_bandwidth_Bps", 0);
        if ((peak > 0) != (bw > 0))
            b.Fail(peak > 0 ? "host.cpu.memory_bandwidth_Bps" : "host.cpu.peak_flops",
                "missing; a host CPU needs both host.cpu.peak_flops (fp32 FLOP/s) and host.cpu.memory_bandwidth_Bps");
        var flopsEff = b.OptionalNumber("host.cpu.flops_efficiency", 1, 0, 1);
        var memEff = b.OptionalNumber("host.cpu.memory_efficiency", 1, 0, 1);
        if (flopsEff <= 0) b.Fail("host.cpu.flops_efficiency", "expected a fraction in (0, 1]");
        if (memEff <= 0) b.Fail("host.cpu.memory_efficiency", "expected a fraction in (0, 1]");
        return new GpuHostCpuSpec(peak, bw, flopsEff, memEff);
    }
}

/// <summary>The host side of a GPU server as the simulator sees it.
/// <para>Engine <c>cpu</c> (one unit) runs ops that compute in host memory: an op whose
/// <see cref="Op.Transfer"/> is <see cref="HostCompute.In"/> of tier <c>host</c> (an optimizer step over states
/// offloaded to the host). It takes its FLOPs at <c>peak_flops x flops_efficiency</c> and its bytes over
/// channel <c>host_ddr</c> (tier <c>host</c>) at <c>memory_bandwidth_Bps x memory_efficiency</c>,
/// whichever is longer, since the vectorised loop overlaps the two.</para>
/// <para>Engine <c>ssd_io</c> (one unit) runs copies between host memory and the NVMe drives, as the
/// host's I/O threads do (libaio in DeepSpeed and Fuyou), apart from the GPU's DMA engines, so that
/// swapping optimizer states overlaps the GPU's copies; they share the <c>nvme</c> channel.</para></summary>
public sealed partial class GpuDeviceModel : IHostCompute
{
    /// <summary>Engine of ops computed by the host CPU in host memory.</summary>
    public const string CpuEngine = "cpu";

    /// <summary>Engine of copies between host memory and the drives.</summary>
    public const string SsdIoEngine = "ssd_io";

    /// <summary>Channel between the host CPU and its memory.</summary>
    public const string HostMemoryChannel = "host_ddr";

    public bool HasHostCpu => Spec.HostCpu.Described;

    private static EngineSpec[] HostCpuEngines() => [new EngineSpec(CpuEngine, 1), new EngineSpec(SsdIoEngine, 1)];

    // Without a described CPU the channel still exists (topologies have a fixed shape) at the host link's rate.
    private static ChannelSpec[] HostCpuChannels(GpuSpec spec) =>
        [ChannelSpec.Memory(HostMemoryChannel, spec.HostCpu.Described ? spec.HostCpu.MemoryBandwidthBps : spec.PcieBandwidthBps, 0, "host", offChip: true)];

    /// <summary>Sustained fp32 rate of the host CPU, FLOP/s.</summary>
    public double HostCpuFlops => Spec.HostCpu.PeakFlops * Spec.HostCpu.FlopsEfficiency;

    /// <summary>Host memory bandwidth the CPU sustains in a streaming loop, B/s.</summary>
    public double HostCpuMemoryRate => Spec.HostCpu.MemoryBandwidthBps * Spec.HostCpu.MemoryEfficiency;

    /// <summary>The host-side cost of <paramref name="op"/>: host-memory compute on <c>cpu</c>, or a copy
    /// between host memory and a drive on <c>ssd_io</c>; null for everything the GPU itself does.</summary>
    private OpCost? HostSideCost(Op op)
    {
        if (op.Transfer is not { } t) return null;
        if (t == HostCompute.In("host")) return HostCpuCost(op);
        if (t is { From: "host", To: "ssd" } or { From: "ssd", To: "host" })
        {
            var c = TierCopy(op, t);
            return new OpCost(Topology.EngineIndex(SsdIoEngine), c.LatencyPs, c.ComputePs, c.Transfers, c.ComputeEnergyPj, c.Note);
        }
        return null;
    }

    /// <summary>An op computed by the host CPU over host memory (an optimizer step on offloaded states).</summary>
    public OpCost HostCpuCost(Op op)
    {
        ArgumentNullException.ThrowIfNull(op);
        if (!HasHostCpu)
            throw new InvalidOperationException($"{Name} describes no host CPU (host.cpu.peak_flops, host.cpu.memory_bandwidth_Bps) to run '{op.Name}' on");
        var computeS = op.Flops / HostCpuFlops;
        var bytes = op.BytesRead + op.BytesWritten;
        var transfers = bytes > 0
            ? new[] { new TransferDemand(Topology.ChannelIndex(HostMemoryChannel), bytes, HostCpuMemoryRate, bytes * Spec.PjPerByteHost) }
            : [];
        var memS = bytes / HostCpuMemoryRate;
        return new OpCost(Topology.EngineIndex(CpuEngine), 0, Ps.FromSeconds(computeS), transfers, 0,
            string.Create(CultureInfo.InvariantCulture,
                $"host cpu: {op.Flops} FLOP at {HostCpuFlops / 1e9:0.#} GFLOP/s, {bytes} B host memory at {Gbps(HostCpuMemoryRate)} ({(memS >= computeS ? "memory" : "compute")}-bound)"));
    }
}
