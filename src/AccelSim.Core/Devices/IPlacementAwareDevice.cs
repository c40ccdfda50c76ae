using AccelSim.Core.Graph;

namespace AccelSim.Core.Devices;

/// <summary>Capability (<see cref="DeviceCapabilities.Placement"/>): a device whose op costs depend on the tier a placement put each tensor in (a wafer reads
/// the weights that did not fit in its SRAM from its external store each time it uses them). An op alone
/// does not say where its tensors live; the placed graph does (<see cref="WorkloadGraph.TierOf"/>). The
/// schedules therefore cost a graph on <see cref="ForPlacement"/>: the same device bound to that graph's
/// placement, pure like the original (an op costs the same however often and in whatever order it is
/// asked). A tensor the placement does not name lives where <see cref="IDeviceModel.PlaceTensor"/> puts it.</summary>
public interface IPlacementAwareDevice
{
    /// <summary>The device bound to <paramref name="graph"/>'s placement: same topology, same static
    /// power, costing ops of that graph with their tensors in the tiers the placement chose.</summary>
    IDeviceModel ForPlacement(WorkloadGraph graph);
}

/// <summary>Binds a device to the placement of the graph it costs.</summary>
public static class PlacementAware
{
    /// <summary><paramref name="device"/> bound to <paramref name="graph"/>'s placement when its costs
    /// depend on it (<see cref="DeviceCapabilities.Placement"/>); otherwise <paramref name="device"/> itself.</summary>
    public static IDeviceModel For(WorkloadGraph graph, IDeviceModel device)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(device);
        return device.Capabilities.Placement is { } aware ? aware.ForPlacement(graph) : device;
    }
}
