using AccelSim.Core.Config;
using AccelSim.Core.Devices;

namespace AccelSim.Core.Plugins;

/// <summary>A parameter a plugin reads from its hardware config, for <c>accelsim list plugins</c>.</summary>
public sealed record PluginParameter(string Path, string Unit, string Description, bool Required = true);

/// <summary>How a plugin describes itself without being run.</summary>
public sealed record PluginDescriptor(string Kind, string Version, string Description, IReadOnlyList<PluginParameter> Parameters);

/// <summary>A device family. Registered through DI (<c>AddDevicePlugin</c>) or loaded from an
/// external assembly; the hardware config's <c>kind</c> picks it.</summary>
public interface IDevicePlugin
{
    string Kind { get; }
    PluginDescriptor Descriptor { get; }

    /// <summary>Binds and validates <paramref name="config"/> (throwing <see cref="InputException"/>
    /// with every problem at once) and returns the device model.</summary>
    IDeviceModel Create(HardwareConfig config);
}
