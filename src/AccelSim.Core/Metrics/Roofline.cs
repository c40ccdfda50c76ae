using AccelSim.Core.Devices;
using AccelSim.Core.Graph;

namespace AccelSim.Core.Metrics;

/// <summary>A roof of the roofline: a compute peak (FLOP/s, horizontal) or a channel's bandwidth
/// (B/s, a diagonal: attainable FLOP/s = intensity x bandwidth). <see cref="Used"/>: whether the run used it
/// (some op with FLOPs ran in one of the roof's data types; some byte crossed one of the roof's channels).</summary>
public sealed record RooflineRoof(string Name, bool IsCompute, double Value)
{
    public bool Used { get; init; }

    /// <summary>What the roof stands for: its data types (compute) or its channels (memory), by name.</summary>
    public IReadOnlyList<string> Members { get; init; } = [];
}

/// <summary>One op on the roofline. <see cref="AttainableFlops"/> is the roof above its intensity: the
/// lower of its data type's peak and intensity x the main-memory bandwidth.</summary>
public sealed record RooflinePoint(OpMetrics Op, long Bytes, double Intensity, double PeakFlops, double AttainableFlops)
{
    /// <summary>Achieved over attainable FLOP/s (0 when the op has no FLOPs).</summary>
    public double FractionOfRoof => AttainableFlops > 0 ? Op.AchievedFlops / AttainableFlops : 0;
}

/// <summary>The device's roofs and every op of a run placed under them.</summary>
public sealed record RooflineData(string Device, string MainMemory, double MainMemoryBandwidth_Bps, IReadOnlyList<RooflineRoof> Roofs, IReadOnlyList<RooflinePoint> Points)
{
    /// <summary>The roofs the run used, in <see cref="Roofs"/> order: what a plot of the run draws.</summary>
    public IReadOnlyList<RooflineRoof> UsedRoofs => Roofs.Where(r => r.Used && r.Value > 0).ToArray();

    /// <summary>The ridge point the run's memory wall reports: FLOP/B where the main-memory roof meets the
    /// highest compute peak (0 when the device has none).</summary>
    public double RidgePoint { get; init; }
}

public static class Roofline
{
    /// <summary>Compute roofs for every data type the device has a peak for (in <see cref="DTypes.All"/>
    /// order), memory roofs for every channel (in topology order), each marked <see cref="RooflineRoof.Used"/>
    /// when the run used it, and the run's ops.</summary>
    public static RooflineData Build(RunMetrics metrics, IDeviceModel device)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(device);
        // Data types with the same peak share a roof ("bf16/fp16 peak"), as do channels with the same
        // bandwidth to the same tier ("pcie/pcie_d2h (host)").
        var usedTypes = new HashSet<DType>();
        foreach (var o in metrics.Ops)
            if (o.Flops > 0 && DTypes.TryParse(o.DType, out var d)) usedTypes.Add(d);
        var roofs = new List<RooflineRoof>();
        foreach (var g in DTypes.All.Where(d => device.PeakFlops(d) > 0).GroupBy(d => device.PeakFlops(d)))
            roofs.Add(new RooflineRoof($"{string.Join('/', g.Select(d => d.Name()))} peak", true, g.Key) { Used = g.Any(usedTypes.Contains), Members = g.Select(d => d.Name()).ToArray() });
        var moved = metrics.Memory.BytesMovedByChannel;
        foreach (var g in device.Topology.Channels.GroupBy(c => (c.TrafficName, c.Bandwidth_Bps)))
        {
            roofs.Add(new RooflineRoof($"{string.Join('/', g.Select(c => c.Name))} ({g.Key.TrafficName})", false, g.Key.Bandwidth_Bps)
            {
                Used = g.Any(c => moved.GetValueOrDefault(c.Name) > 0),
                Members = g.Select(c => c.Name).ToArray(),
            });
        }
        var main = device.Topology.Channels[device.MainMemoryChannel];
        var points = new List<RooflinePoint>(metrics.Ops.Count);
        foreach (var o in metrics.Ops)
        {
            long bytes = 0;
            foreach (var v in o.BytesByTier.Values) bytes += v;
            var peak = DTypes.TryParse(o.DType, out var dt) ? device.PeakFlops(dt) : 0;
            var intensity = o.ArithmeticIntensity;
            var attainable = peak > 0 ? Math.Min(peak, intensity * main.Bandwidth_Bps) : 0;
            points.Add(new RooflinePoint(o, bytes, intensity, peak, attainable));
        }
        return new RooflineData(device.Name, main.Name, main.Bandwidth_Bps, roofs, points) { RidgePoint = metrics.MemoryWall.RidgePoint };
    }
}
