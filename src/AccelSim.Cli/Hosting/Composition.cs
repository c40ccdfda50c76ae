using AccelSim.Core.Plugins;
using AccelSim.Core.Simulation;
using AccelSim.Plugins.Fpga;
using AccelSim.Plugins.Gpu;
using AccelSim.Plugins.Rdu;
using AccelSim.Plugins.Wafer;
using Microsoft.Extensions.DependencyInjection;

namespace AccelSim.Cli.Hosting;

/// <summary>The composition root: built-in plugins and core services through DI, external plugins
/// from a folder on top.</summary>
public static class Composition
{
    public static ServiceProvider Build(string? pluginFolder)
    {
        var services = new ServiceCollection();
        services.AddAccelSimCore();
        services.AddGpuPlugin();
        services.AddRduPlugin();
        services.AddFpgaPlugin();
        services.AddWaferPlugin();
        var provider = services.BuildServiceProvider();
        if (pluginFolder is not null)
            ExternalPlugins.LoadFrom(pluginFolder, provider.GetRequiredService<PluginRegistry>());
        return provider;
    }

    public static PluginRegistry Registry(this IServiceProvider sp) => sp.GetRequiredService<PluginRegistry>();

    public static SimulationEventBus Bus(this IServiceProvider sp) => sp.GetRequiredService<SimulationEventBus>();
}
