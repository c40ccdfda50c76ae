using AccelSim.Core.Config;

namespace AccelSim.Workloads.Configs;

/// <summary>Finds bundled configs (<c>configs/hardware/*.json</c>, <c>configs/models/*.json</c>, <c>configs/stacks/*.json</c>, <c>configs/systems/*.json</c>): next to
/// the executable first (the build copies them there), else in the nearest <c>configs/</c> folder
/// above the working directory or the executable.</summary>
public static class BundledConfigs
{
    private static string? _root;

    /// <summary>The <c>configs</c> folder in use. Settable for tests.</summary>
    public static string Root
    {
        get => _root ??= FindRoot();
        set => _root = value;
    }

    public static string HardwareDir => Path.Combine(Root, "hardware");
    public static string ModelsDir => Path.Combine(Root, "models");
    public static string StacksDir => Path.Combine(Root, "stacks");
    public static string SystemsDir => Path.Combine(Root, "systems");

    /// <summary>Names of bundled configs in a folder (file names without .json), sorted.</summary>
    public static IReadOnlyList<string> Names(string dir) =>
        Directory.Exists(dir)
            ? Directory.GetFiles(dir, "*.json").Select(f => Path.GetFileNameWithoutExtension(f)!).Order(StringComparer.Ordinal).ToArray()
            : [];

    /// <summary>A bundled name (matched case-insensitively: <c>H100</c> is <c>h100</c>) or a path to a JSON
    /// file. <paramref name="what"/> names the parameter for errors (a <see cref="RequestParameter"/> name); an unknown name lists the nearest bundled ones.</summary>
    public static string Resolve(string nameOrPath, string dir, string what)
    {
        if (File.Exists(nameOrPath)) return Path.GetFullPath(nameOrPath);
        var known = Names(dir);
        if (!nameOrPath.Contains('/') && !nameOrPath.Contains('\\'))
        {
            var match = known.FirstOrDefault(n => n == nameOrPath)
                ?? known.FirstOrDefault(n => string.Equals(n, nameOrPath, StringComparison.OrdinalIgnoreCase));
            if (match is not null) return Path.Combine(dir, match + ".json");
        }
        throw new InputException(null, what,
            $"'{nameOrPath}' is neither a bundled {what} name nor an existing file{NearestNames.DidYouMean(known, nameOrPath)} (bundled: {string.Join(", ", known)})");
    }

    private static string FindRoot()
    {
        var here = Path.Combine(AppContext.BaseDirectory, "configs");
        if (Directory.Exists(Path.Combine(here, "hardware"))) return here;
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                var c = Path.Combine(d.FullName, "configs");
                if (Directory.Exists(Path.Combine(c, "hardware"))) return c;
            }
        }
        return here;
    }
}
