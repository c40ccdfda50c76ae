using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using Microsoft.Extensions.DependencyInjection;

namespace AccelSim.Core.Plugins;

/// <summary>Every device plugin known to the process, by kind.</summary>
public sealed class PluginRegistry
{
    private readonly SortedDictionary<string, IDevicePlugin> _plugins = new(StringComparer.Ordinal);
    private readonly List<string> _loadErrors = [];

    public PluginRegistry(IEnumerable<IDevicePlugin> plugins)
    {
        foreach (var p in plugins) Add(p);
    }

    public IReadOnlyCollection<IDevicePlugin> Plugins => _plugins.Values;

    /// <summary>Problems met while loading external plugins; reported, never fatal.</summary>
    public IReadOnlyList<string> LoadErrors => _loadErrors;

    public void Add(IDevicePlugin plugin)
    {
        if (!_plugins.TryAdd(plugin.Kind, plugin))
            _loadErrors.Add($"plugin kind '{plugin.Kind}' from {plugin.GetType().Assembly.GetName().Name} is already registered; ignored");
    }

    public void ReportLoadError(string message) => _loadErrors.Add(message);

    public IDeviceModel Create(HardwareConfig config)
    {
        if (!_plugins.TryGetValue(config.Kind, out var plugin))
            throw new InputException(config.File, "kind",
                $"no device plugin for kind '{config.Kind}'; known kinds: {string.Join(", ", _plugins.Keys)}");
        foreach (var key in HardwareConfig.SharedKeys) config.MarkRead(key);
        IDeviceModel? model = null;
        IReadOnlyList<InputProblem> problems = [];
        try
        {
            model = plugin.Create(config);
        }
        catch (InputException e)
        {
            problems = e.Problems;
        }
        // Strict: a value the plugin never asked for is a misspelt or misplaced key, reported with the
        // binding problems, all at once.
        var all = config.WithUnknownKeys(problems);
        if (all.Count > 0) throw new InputException(all);
        return model!;
    }
}

public static class PluginServiceCollectionExtensions
{
    /// <summary>Registers a device plugin (a singleton) so that the registry finds it.</summary>
    public static IServiceCollection AddDevicePlugin<TPlugin>(this IServiceCollection services)
        where TPlugin : class, IDevicePlugin
    {
        services.AddSingleton<IDevicePlugin, TPlugin>();
        return services;
    }

    /// <summary>Registers the core services: the plugin registry and the simulation event bus.</summary>
    public static IServiceCollection AddAccelSimCore(this IServiceCollection services)
    {
        services.AddSingleton<PluginRegistry>();
        services.AddSingleton<Simulation.SimulationEventBus>();
        return services;
    }
}
