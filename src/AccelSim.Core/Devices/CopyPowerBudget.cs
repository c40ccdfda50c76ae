using AccelSim.Core.Graph;

namespace AccelSim.Core.Devices;

/// <summary>Capability (<see cref="DeviceCapabilities.CopyPowerBudget"/>): the device's DMA copies (ops
/// with a <see cref="Op.Transfer"/>) draw from the same power limit as its kernels. Its
/// <see cref="IDeviceModel.Cost"/> holds each kernel to the whole limit, which is right while nothing else
/// runs; a graph with copies may overlap them with kernels, so the schedules cost such a graph on
/// <see cref="WithCopies"/>, whose kernels leave room under the limit for the copy engines.</summary>
public interface ICopyPowerBudget
{
    /// <summary>The same device with part of its power limit reserved for copies running alongside its
    /// kernels: same topology, same static power, pure like the original, with capabilities of its own
    /// that cost on it (asking it again for <see cref="WithCopies"/> gives itself).</summary>
    IDeviceModel WithCopies();
}

/// <summary>Picks the device a graph is costed on; every schedule asks it before costing an op.</summary>
public static class CopyPowerBudget
{
    /// <summary><paramref name="device"/> bound to <paramref name="graph"/>'s placement
    /// (<see cref="PlacementAware.For"/>), then its <see cref="ICopyPowerBudget.WithCopies"/> when it has
    /// the capability and <paramref name="graph"/> has an op that copies between memory tiers.</summary>
    public static IDeviceModel For(WorkloadGraph graph, IDeviceModel device)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(device);
        device = PlacementAware.For(graph, device);
        if (device.Capabilities.CopyPowerBudget is not { } budget) return device;
        foreach (var op in graph.Ops)
            if (op.Transfer is not null) return budget.WithCopies();
        return device;
    }
}
