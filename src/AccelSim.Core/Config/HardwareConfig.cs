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
/// <c>comment</c> or ending in <c>_source</c> are documentation and never bound.
/// <para>Strict binding: the config records every path a binder asks for (<see cref="TryGet"/>,
/// <see cref="Contains"/>), present or not. After binding, <see cref="WithUnknownKeys"/> turns every
/// value nobody asked for into an error naming the nearest known paths, so a new key is known as
/// soon as a binder reads it, and a misspelt or misplaced key is never silently ignored.</para></summary>
public sealed class HardwareConfig
{
    /// <summary>Keys that every kind of device may carry and that are read outside the device plugin
    /// (the carbon report reads them after the run; cost-efficiency studies read the price).</summary>
    public static readonly IReadOnlyList<string> SharedKeys = ["carbon.embodied_kgCO2e", "carbon.lifetime_years", "cost.price_USD", "cost.usd_per_hour"];

    private readonly SortedDictionary<string, ConfigValue> _values;
    private readonly Dictionary<string, string> _origins;
    private readonly HashSet<string> _asked = new(StringComparer.Ordinal);

    public HardwareConfig(string name, string kind, string? file, IEnumerable<KeyValuePair<string, ConfigValue>> values,
        IReadOnlyDictionary<string, string>? origins = null)
    {
        Name = name;
        Kind = kind;
        File = file;
        _values = new SortedDictionary<string, ConfigValue>(StringComparer.Ordinal);
        foreach (var (k, v) in values) _values[k] = v;
        _origins = new Dictionary<string, string>(StringComparer.Ordinal);
        if (origins is not null)
        {
            foreach (var (k, o) in origins) _origins[k] = o;
        }
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

    public bool Contains(string path)
    {
        MarkRead(path);
        return _values.ContainsKey(path);
    }

    public bool TryGet(string path, out ConfigValue value)
    {
        MarkRead(path);
        return _values.TryGetValue(path, out value);
    }

    /// <summary>Where the value at <paramref name="path"/> came from, for error messages: the product
    /// file, the family file beneath it, or <c>--set</c>; <see cref="File"/> for a path not given.</summary>
    public string? OriginOf(string path) => _origins.TryGetValue(path, out var o) ? o : File;

    /// <summary>Records <paramref name="path"/> as known, as <see cref="TryGet"/> does, for a consumer
    /// that reads it later (see <see cref="SharedKeys"/>).</summary>
    public void MarkRead(string path)
    {
        lock (_asked) _asked.Add(path);
    }

    /// <summary>Every path asked for so far, given or not.</summary>
    public IReadOnlyCollection<string> KnownPaths()
    {
        lock (_asked) return _asked.ToArray();
    }

    /// <summary>After binding: <paramref name="bindingProblems"/> plus one problem for every value no binder
    /// asked for (documentation, <c>provenance</c> and <c>*_provenance</c> fields aside), each naming the
    /// nearest known paths. A misspelt required key is reported once, as the unknown key, naming the
    /// missing key it was probably meant to be.</summary>
    public IReadOnlyList<InputProblem> WithUnknownKeys(IReadOnlyList<InputProblem> bindingProblems)
    {
        ArgumentNullException.ThrowIfNull(bindingProblems);
        var known = KnownPaths();
        var problems = bindingProblems.ToList();
        foreach (var key in _values.Keys)
        {
            if (IsAnnotation(key) || known.Contains(key)) continue;
            var near = NearestNames.Find(known, key);
            var message = $"unknown key for kind '{Kind}'";
            if (near.Count > 0)
            {
                var missing = problems.FindIndex(p => p.Path == near[0] && p.Message.StartsWith("missing", StringComparison.Ordinal));
                if (missing >= 0)
                {
                    problems.RemoveAt(missing);
                    message += $"; did you mean {near[0]} (required, missing)?";
                }
                else
                {
                    message += $"; did you mean {string.Join(", ", near)}?";
                }
            }
            problems.Add(new InputProblem(OriginOf(key), key, message));
        }
        return problems;
    }

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

    /// <summary>Documentation (<see cref="IsDocumentation"/>), a key starting with '_', or provenance
    /// metadata (a top-level <c>provenance</c> object, any key ending in <c>_provenance</c>): never bound,
    /// never an unknown key.</summary>
    public static bool IsAnnotation(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (IsDocumentation(path)) return true;
        foreach (var segment in path.Split('.'))
        {
            var bracket = segment.IndexOf('[');
            var name = bracket >= 0 ? segment[..bracket] : segment;
            if (name == "provenance" || name.StartsWith('_') || name.EndsWith("_provenance", StringComparison.Ordinal)
                || IsDocumentation(name)) return true;
        }
        return false;
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
    public HardwareConfig With(IEnumerable<KeyValuePair<string, string>> overrides, string origin = RequestParameter.Overrides)
    {
        var copy = new SortedDictionary<string, ConfigValue>(_values, StringComparer.Ordinal);
        var origins = new Dictionary<string, string>(_origins, StringComparer.Ordinal);
        var problems = new List<InputProblem>();
        foreach (var (path, text) in overrides)
        {
            if (!copy.TryGetValue(path, out var old))
            {
                problems.Add(new InputProblem(origin, path,
                    $"no such field in hardware '{Name}'{NearestNames.DidYouMean(copy.Keys.Where(k => !IsAnnotation(k)), path)}"));
                continue;
            }
            origins[path] = origin;
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
        return new HardwareConfig(Name, Kind, File, copy, origins)
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
        return new HardwareConfig(Name, Kind, File, copy, _origins) { Tags = Tags, Files = Files, Overrides = Overrides };
    }

    /// <summary>Paths of the numeric fields, sorted (ordinal).</summary>
    public IReadOnlyList<string> NumericPaths() => _values.Where(kv => kv.Value.Number is not null).Select(kv => kv.Key).ToArray();
}
