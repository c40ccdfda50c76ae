using AccelSim.Core.Graph;

namespace AccelSim.Core.Devices;

/// <summary>A device family's cost model bound to one hardware description. Pure: the same op
/// always costs the same; all state of a run lives in the simulator.</summary>
public interface IDeviceModel
{
    string Name { get; }
    string Kind { get; }
    DeviceTopology Topology { get; }

    /// <summary>Dense peak arithmetic rate for a data type, FLOP/s (0 when unsupported).</summary>
    double PeakFlops(DType dtype);

    /// <summary>The data type the device computes an op in (an unsupported type is promoted).</summary>
    DType ComputeDType(Op op) => op.ComputeDType;

    /// <summary>Index of the channel that connects the compute engines to main memory; the memory
    /// wall and bandwidth utilisation are measured on it.</summary>
    int MainMemoryChannel { get; }

    /// <summary>Power drawn whenever the device is on, in watts (leakage, clocks, fans).</summary>
    double StaticPowerW { get; }

    /// <summary>The tier that holds <paramref name="tensor"/>.</summary>
    int PlaceTensor(Tensor tensor);

    /// <summary>The cost of one op run on its own (a kernel, under a sequential schedule).</summary>
    OpCost Cost(Op op);

    /// <summary>The device's optional abilities (tiers below main memory, native streaming, a host CPU, a
    /// copy power budget, eager host dispatch, dataflow, reconfiguration), each null when absent. The
    /// default is <see cref="DeviceCapabilities.None"/>; a model returns the same instance every time.</summary>
    DeviceCapabilities Capabilities => DeviceCapabilities.None;

    /// <summary>The device card: peaks, bandwidths, capacities, ridge point and power cap. Each family
    /// adds its power cap and own figures; the default builds the card from the peaks and topology.</summary>
    DeviceCard Describe() => DeviceCards.Generic(this);
}

/// <summary>What every <see cref="IDeviceModel"/> answers from its topology.</summary>
public static class DeviceModels
{
    /// <summary>The tier <paramref name="device"/>'s main memory channel reads and writes.</summary>
    public static string MainMemoryTier(this IDeviceModel device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var main = device.Topology.Channels[device.MainMemoryChannel];
        return main.Tier ?? throw new InvalidOperationException($"{device.Name}: main memory channel '{main.Name}' is a link, not a memory channel");
    }
}
