using System.Reflection;
using System.Runtime.Loader;
using AccelSim.Core.Plugins;

namespace AccelSim.Cli.Hosting;

/// <summary>Loads device plugins from a folder of assemblies, each in its own
/// <see cref="AssemblyLoadContext"/> with an <see cref="AssemblyDependencyResolver"/>. Assemblies the
/// host shares with plugins (AccelSim.Core and its dependencies) come from the host so the contract
/// types are the same. A plugin that fails to load is reported with its reason, never fatal.</summary>
public static class ExternalPlugins
{
    public static int LoadFrom(string folder, PluginRegistry registry)
    {
        if (!Directory.Exists(folder))
        {
            registry.ReportLoadError($"plugin folder '{folder}' does not exist");
            return 0;
        }
        var loaded = 0;
        var hostAssemblies = AssemblyLoadContext.Default.Assemblies
            .Select(a => a.GetName().Name).Where(n => n is not null).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var path in Directory.GetFiles(folder, "*.dll").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (hostAssemblies.Contains(name) || IsShared(name)) continue;
            try
            {
                var context = new PluginLoadContext(path);
                var assembly = context.LoadFromAssemblyPath(Path.GetFullPath(path));
                Type[] types;
                try
                {
                    types = assembly.GetTypes();
                }
                catch (ReflectionTypeLoadException e)
                {
                    types = e.Types.Where(t => t is not null).ToArray()!;
                }
                foreach (var type in types)
                {
                    if (type.IsAbstract || type.IsInterface || !typeof(IDevicePlugin).IsAssignableFrom(type)) continue;
                    if (type.GetConstructor(Type.EmptyTypes) is null)
                    {
                        registry.ReportLoadError($"{Path.GetFileName(path)}: plugin type {type.FullName} needs a public parameterless constructor");
                        continue;
                    }
                    registry.Add((IDevicePlugin)Activator.CreateInstance(type)!);
                    loaded++;
                }
            }
            catch (Exception e) when (e is BadImageFormatException or FileLoadException or FileNotFoundException or TargetInvocationException or TypeLoadException)
            {
                registry.ReportLoadError($"{Path.GetFileName(path)}: {e.GetType().Name}: {e.Message}");
            }
        }
        return loaded;
    }

    private static bool IsShared(string name) =>
        name.StartsWith("AccelSim.Core", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("Microsoft.Extensions.", StringComparison.OrdinalIgnoreCase)
        || name is "R3" or "QuikGraph" or "xunit" || name.StartsWith("xunit.", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("FsCheck", StringComparison.OrdinalIgnoreCase) || name.StartsWith("FSharp", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("Microsoft.TestPlatform", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("Microsoft.VisualStudio", StringComparison.OrdinalIgnoreCase);

    private sealed class PluginLoadContext(string pluginPath) : AssemblyLoadContext(Path.GetFileNameWithoutExtension(pluginPath), isCollectible: false)
    {
        private readonly AssemblyDependencyResolver _resolver = new(pluginPath);

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            // Shared contract assemblies resolve from the host.
            if (assemblyName.Name is { } n && (IsShared(n) || Default.Assemblies.Any(a => a.GetName().Name == n))) return null;
            var path = _resolver.ResolveAssemblyToPath(assemblyName);
            return path is null ? null : LoadFromAssemblyPath(path);
        }
    }
}
