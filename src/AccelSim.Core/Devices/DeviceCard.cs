using AccelSim.Core.Graph;

namespace AccelSim.Core.Devices;

/// <summary>One figure on a device card: a name, a value and its unit.</summary>
public sealed record CardFigure(string Name, double Value, string Unit);

/// <summary>What a device offers at a glance (<c>accelsim list hardware</c>): dense peak FLOP/s per data
/// type, the bandwidth of each channel and the capacity of each tier as the model uses them, the ridge
/// point, the power cap and figures of the family's own (SMs, DSPs, cores, sockets).</summary>
public sealed record DeviceCard(
    string Name,
    string Kind,
    IReadOnlyList<KeyValuePair<DType, double>> PeakFlops,
    IReadOnlyList<CardFigure> Bandwidths,
    IReadOnlyList<CardFigure> Capacities,
    DType RidgeDType,
    double RidgePointFlopPerByte,
    double? PowerCapW,
    IReadOnlyList<CardFigure> Details);

/// <summary>Builds cards from what every <see cref="IDeviceModel"/> exposes.</summary>
public static class DeviceCards
{
    /// <summary>The card of <paramref name="device"/> from its peaks and topology; a plugin adds its power
    /// cap and its own figures.</summary>
    public static DeviceCard Generic(IDeviceModel device, double? powerCapW = null, IReadOnlyList<CardFigure>? details = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        var peaks = new List<KeyValuePair<DType, double>>();
        foreach (var d in DTypes.All)
        {
            var p = device.PeakFlops(d);
            if (p > 0) peaks.Add(new(d, p));
        }
        var ridgeType = device.PeakFlops(DType.Bf16) > 0 ? DType.Bf16
            : device.PeakFlops(DType.Fp16) > 0 ? DType.Fp16
            : peaks.Count > 0 ? peaks.MaxBy(p => p.Value).Key : DType.Bf16;
        var main = device.Topology.Channels.Count > device.MainMemoryChannel ? device.Topology.Channels[device.MainMemoryChannel] : null;
        var ridge = main is null ? 0 : device.PeakFlops(ridgeType) / main.Bandwidth_Bps;
        return new DeviceCard(device.Name, device.Kind, peaks,
            device.Topology.Channels.Select(c => new CardFigure(c.Name, c.Bandwidth_Bps, "B/s")).ToArray(),
            device.Topology.Tiers.Select(t => new CardFigure(t.Name, t.CapacityBytes, "B")).ToArray(),
            ridgeType, ridge, powerCapW, details ?? []);
    }
}
