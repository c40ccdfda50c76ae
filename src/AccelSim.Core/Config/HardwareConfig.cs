using System.Globalization;

namespace AccelSim.Core.Config;

/// <summary>A scalar from a config file: a number, a string or a boolean.</summary>
public readonly record struct ConfigValue(double? Number, string? Text, bool? Flag)
{
    public static ConfigValue Of(double v) => new(v, null, null);
    public static ConfigValue Of(string v) => new(null, v, null);
    public static ConfigValue Of(bool v) => new(null, null, v);

    public override string ToString() =>
        Number?.ToString("R", CultureInfo.InvariantCulture) ?? Text ?? (Flag is { } f ? (f ? "true" : "false") : "null");
}

/// <summary>A hardware description, flattened to JSON paths (<c>memory.hbm.bandwidth_Bps</c>,
/// <c>gemm.tiles[0].m</c>) so that plugins bind it without knowing JSON, errors name the exact path,
/// and <c>--set path=value</c> overrides are one dictionary write. Keys named <c>source</c>,
/// <c>comment</c> or ending in <c>_source</c> are documentation and never bound.</summary>
public sealed class HardwareConfig
{
    private readonly SortedDictionary<string, ConfigValue> _values;

    public HardwareConfig(string name, string kind, string? file, IEnumerable<KeyValuePair<string, ConfigValue>> values)
    {
        Name = name;
        Kind = kind;
        File = file;
        _values = new SortedDictionary<string, ConfigValue>(StringComparer.Ordinal);
        foreach (var (k, v) in values) _values[k] = v;
    }

    public string Name { get; }
    public string Kind { get; }

    /// <summary>The file the config came from (for error messages); null when built in code.</summary>
    public string? File { get; }

    public IReadOnlyDictionary<string, ConfigValue> Values => _values;

    /// <summary>The provenance tag of each numeric field that has one (from the files' <c>provenance</c>
    /// objects; docs/hardware-config.md). An override keeps the field's tag.</summary>
    public IReadOnlyDictionary<string, ParameterSource> Tags { get; init; } = new Dictionary<string, ParameterSource>();

    /// <summary>The files this description was read from, product first; empty when built in code.</summary>
    public IReadOnlyList<ConfigFileInfo> Files { get; init; } = [];

    /// <summary>The <c>--set</c> overrides applied, in order, as (path, value as given).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Overrides { get; init; } = [];

    /// <summary>True when overrides changed the description (reports then mark the device, e.g. <c>h100*</c>).</summary>
    public bool Modified => Overrides.Count > 0;

    /// <summary>The tag of a field, or null when it has none.</summary>
    public ParameterSource? TagOf(string path) => Tags.TryGetValue(path, out var t) ? t : null;

    public bool Contains(string path) => _values.ContainsKey(path);

    public bool TryGet(string path, out ConfigValue value) => _values.TryGetValue(path, out value);

    /// <summary>Immediate child names under <paramref name="prefix"/> (object keys, not array indices).</summary>
    public IReadOnlyList<string> Children(string prefix)
    {
        var p = prefix.Length == 0 ? "" : prefix + ".";
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var key in _values.Keys)
        {
            if (!key.StartsWith(p, StringComparison.Ordinal)) continue;
            var rest = key[p.Length..];
            var end = rest.IndexOfAny(['.', '[']);
            names.Add(end < 0 ? rest : rest[..end]);
        }
        return names.ToArray();
    }

    /// <summary>Number of elements of the array at <paramref name="path"/>.</summary>
    public int ArrayLength(string path)
    {
        var n = 0;
        while (_values.Keys.Any(k => k.StartsWith($"{path}[{n}]", StringComparison.Ordinal))) n++;
        return n;
    }

    public static bool IsDocumentation(string path)
    {
        var leaf = path[(path.LastIndexOf('.') + 1)..];
        var bracket = leaf.IndexOf('[');
        if (bracket >= 0) leaf = leaf[..bracket];
        return leaf is "source" or "sources" or "comment" or "description" or "notes"
            || leaf.EndsWith("_source", StringComparison.Ordinal);
    }

    /// <summary>A copy with the given paths overridden. Each path must already exist (a typo must not
    /// silently add a field) and keeps its type: a number stays a number.</summary>
    public HardwareConfig With(IEnumerable<KeyValuePair<string, string>> overrides, string origin = "--set")
    {
        var copy = new SortedDictionary<string, ConfigValue>(_values, StringComparer.Ordinal);
        var problems = new List<InputProblem>();
        foreach (var (path, text) in overrides)
        {
            if (!copy.TryGetValue(path, out var old))
            {
                var near = copy.Keys.Where(k => !IsDocumentation(k))
                    .OrderBy(k => Distance(k, path)).Take(3);
                problems.Add(new InputProblem(origin, path,
                    $"no such field in hardware '{Name}'; did you mean {string.Join(", ", near)}?"));
                continue;
            }
            if (old.Number is not null)
            {
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
                    copy[path] = ConfigValue.Of(d);
                else
                    problems.Add(new InputProblem(origin, path, $"expected a number, got '{text}'"));
            }
            else if (old.Flag is not null)
            {
                if (bool.TryParse(text, out var b)) copy[path] = ConfigValue.Of(b);
                else problems.Add(new InputProblem(origin, path, $"expected true or false, got '{text}'"));
            }
            else
            {
                copy[path] = ConfigValue.Of(text);
            }
        }
        if (problems.Count > 0) throw new InputException(problems);
        return new HardwareConfig(Name, Kind, File, copy)
        {
            Tags = Tags,
            Files = Files,
            Overrides = Overrides.Concat(overrides).ToArray(),
        };
    }

    /// <summary>A copy with numeric fields set to new values, for perturbation studies (sensitivity, the
    /// estimate share). Not recorded as overrides; every path must hold a number.</summary>
    public HardwareConfig WithNumbers(IEnumerable<KeyValuePair<string, double>> values)
    {
        var copy = new SortedDictionary<string, ConfigValue>(_values, StringComparer.Ordinal);
        foreach (var (path, v) in values)
        {
            if (!copy.TryGetValue(path, out var old) || old.Number is null)
                throw new ArgumentException($"'{path}' is not a numeric field of hardware '{Name}'", nameof(values));
            copy[path] = ConfigValue.Of(v);
        }
        return new HardwareConfig(Name, Kind, File, copy) { Tags = Tags, Files = Files, Overrides = Overrides };
    }

    /// <summary>Paths of the numeric fields, sorted (ordinal).</summary>
    public IReadOnlyList<string> NumericPaths() => _values.Where(kv => kv.Value.Number is not null).Select(kv => kv.Key).ToArray();

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        for (var j = 1; j <= b.Length; j++)
            d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
