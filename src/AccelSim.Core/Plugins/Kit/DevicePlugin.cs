using AccelSim.Core.Config;
using AccelSim.Core.Devices;

namespace AccelSim.Core.Plugins.Kit;

/// <summary>What every device plugin repeats: its kind and descriptor, and a <see cref="Create"/> that binds
/// the config into the family's spec and builds the model on it. A family derives from it, passing its
/// descriptor, and writes the two steps.</summary>
/// <typeparam name="TSpec">The family's bound, validated and frozen description.</typeparam>
public abstract class DevicePlugin<TSpec>(PluginDescriptor descriptor) : IDevicePlugin
{
    public string Kind => Descriptor.Kind;

    public PluginDescriptor Descriptor { get; } = descriptor ?? throw new ArgumentNullException(nameof(descriptor));

    /// <summary>Binds <paramref name="config"/> (<see cref="Bind"/>, every problem at once) and builds the
    /// model on the spec (<see cref="Build"/>).</summary>
    public IDeviceModel Create(HardwareConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Build(Bind(config));
    }

    /// <summary>The family's spec from <paramref name="config"/>; throws <see cref="InputException"/> with
    /// every problem at once.</summary>
    protected abstract TSpec Bind(HardwareConfig config);

    /// <summary>The device model bound to <paramref name="spec"/>.</summary>
    protected abstract IDeviceModel Build(TSpec spec);
}
