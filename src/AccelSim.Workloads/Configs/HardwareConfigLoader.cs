using AccelSim.Core.Config;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Configs;

/// <summary>Loads a hardware config JSON file into a flattened <see cref="HardwareConfig"/>.
/// Top-level <c>name</c> and <c>kind</c> are required. An optional <c>family</c> names an
/// architecture-family file (<c>families/&lt;family&gt;.json</c> beside the config or in the bundled
/// hardware folder) whose values lie underneath the product's: a product gives datasheet numbers,
/// its family gives what the architecture shares.</summary>
public static class HardwareConfigLoader
{
    /// <summary>Loads a bundled hardware name or a path.</summary>
    public static HardwareConfig LoadNamed(string nameOrPath) =>
        Load(BundledConfigs.Resolve(nameOrPath, BundledConfigs.HardwareDir, RequestParameter.Hardware));

    public static HardwareConfig Load(string path)
    {
        var root = JsonInput.LoadObject(path);
        var problems = new List<InputProblem>();
        var name = RequiredString(root, "name", path, problems);
        var kind = RequiredString(root, "kind", path, problems);
        var values = new Dictionary<string, ConfigValue>(StringComparer.Ordinal);
        var origins = new Dictionary<string, string>(StringComparer.Ordinal);
        var tags = new Dictionary<string, ParameterSource>(StringComparer.Ordinal);
        var files = new List<ConfigFileInfo> { FileInfo("hardware", path) };

        if (root["family"] is { } familyToken)
        {
            if (familyToken.Type != JTokenType.String || string.IsNullOrWhiteSpace((string?)familyToken))
            {
                problems.Add(new InputProblem(path, "family", "expected the name of an architecture family file"));
            }
            else
            {
                var family = (string)familyToken!;
                var candidates = new[]
                {
                    Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "families", family + ".json"),
                    Path.Combine(BundledConfigs.HardwareDir, "families", family + ".json"),
                };
                var familyPath = candidates.FirstOrDefault(File.Exists);
                if (familyPath is null)
                {
                    problems.Add(new InputProblem(path, "family", $"no family file '{family}.json' in {string.Join(" or ", candidates.Select(Path.GetDirectoryName).Distinct())}"));
                }
                else
                {
                    var familyRoot = JsonInput.LoadObject(familyPath);
                    files.Add(FileInfo("family", familyPath));
                    var own = new Dictionary<string, ConfigValue>(StringComparer.Ordinal);
                    foreach (var prop in familyRoot.Properties())
                    {
                        if (IsHeader(prop.Name)) continue;
                        Flatten(prop.Value, prop.Name, familyPath, own, problems);
                    }
                    foreach (var (k, v) in own)
                    {
                        values[k] = v;
                        origins[k] = familyPath;
                    }
                    foreach (var (k, t) in Tags(familyRoot, familyPath, own, problems)) tags[k] = t;
                }
            }
        }

        var product = new Dictionary<string, ConfigValue>(StringComparer.Ordinal);
        foreach (var prop in root.Properties())
        {
            if (IsHeader(prop.Name)) continue;
            Flatten(prop.Value, prop.Name, path, product, problems);
        }
        foreach (var (k, v) in product)
        {
            values[k] = v;
            origins.Remove(k);
            tags.Remove(k); // the product's value replaces the family's, and so does its tag
        }
        foreach (var (k, t) in Tags(root, path, product, problems)) tags[k] = t;
        if (problems.Count > 0) throw new InputException(problems);
        return new HardwareConfig(name, kind, path, values, origins) { Tags = tags, Files = files };
    }

    /// <summary>Top-level keys that describe the file rather than the hardware.</summary>
    public static bool IsHeader(string key) => key is "name" or "kind" or "family" or ProvenanceKey;

    /// <summary>The key of a file's provenance object: JSON path pattern to tag (docs/hardware-config.md).</summary>
    public const string ProvenanceKey = "provenance";

    /// <summary>The name a report shows for a config file: relative to the bundled configs folder (with
    /// forward slashes) when it lies there, else the file name. Never an absolute path, so that reports
    /// do not depend on where the project lives.</summary>
    public static string DisplayName(string path)
    {
        var full = Path.GetFullPath(path);
        var root = Path.GetFullPath(BundledConfigs.Root);
        var rel = Path.GetRelativePath(root, full);
        return !rel.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(rel)
            ? "configs/" + rel.Replace('\\', '/')
            : Path.GetFileName(full);
    }

    private static ConfigFileInfo FileInfo(string role, string path)
    {
        var bytes = File.ReadAllBytes(path);
        return new ConfigFileInfo(role, DisplayName(path), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
    }

    /// <summary>Reads a file's provenance object and tags the file's own numeric fields with it.</summary>
    private static Dictionary<string, ParameterSource> Tags(JObject root, string file, Dictionary<string, ConfigValue> own, List<InputProblem> problems)
    {
        if (root[ProvenanceKey] is not { } token) return new Dictionary<string, ParameterSource>(StringComparer.Ordinal);
        if (token is not JObject obj)
        {
            problems.Add(new InputProblem(file, ProvenanceKey, "expected an object mapping field paths or patterns to datasheet, measured, fitted or estimate"));
            return new Dictionary<string, ParameterSource>(StringComparer.Ordinal);
        }
        var patterns = new List<KeyValuePair<string, ParameterSource>>();
        foreach (var p in obj.Properties())
        {
            if (p.Name.Length == 0 || p.Name == "*")
                problems.Add(new InputProblem(file, $"{ProvenanceKey}.{p.Name}", "expected a field path or a pattern below the top level (a bare '*' would tag everything)"));
            else if (p.Value.Type != JTokenType.String || !ParameterSources.TryParse((string?)p.Value, out var tag))
                problems.Add(new InputProblem(file, $"{ProvenanceKey}.{p.Name}", $"expected {ParameterSources.Expected}, got {p.Value.ToString(Newtonsoft.Json.Formatting.None)}"));
            else
                patterns.Add(new(p.Name, tag));
        }
        var numeric = own.Where(kv => kv.Value.Number is not null).Select(kv => kv.Key).ToArray();
        return ParameterSources.Resolve(numeric, patterns,
            (pattern, message) => problems.Add(new InputProblem(file, $"{ProvenanceKey}.{pattern}", message)));
    }

    private static string RequiredString(JObject root, string key, string path, List<InputProblem> problems)
    {
        if (root[key] is { Type: JTokenType.String } t && ((string?)t)?.Length > 0) return (string)t!;
        problems.Add(new InputProblem(path, key, root[key] is null ? "missing; expected a string" : $"expected a string, got {root[key]!.Type}"));
        return "";
    }

    private static void Flatten(JToken token, string prefix, string file, Dictionary<string, ConfigValue> into, List<InputProblem> problems)
    {
        switch (token.Type)
        {
            case JTokenType.Object:
                foreach (var p in ((JObject)token).Properties()) Flatten(p.Value, $"{prefix}.{p.Name}", file, into, problems);
                break;
            case JTokenType.Array:
                var i = 0;
                foreach (var item in (JArray)token) Flatten(item, $"{prefix}[{i++}]", file, into, problems);
                break;
            case JTokenType.Integer:
            case JTokenType.Float:
                var d = JsonInput.ToDouble(token);
                if (!double.IsFinite(d)) problems.Add(new InputProblem(file, prefix, $"expected a finite number, got {token.ToString(Newtonsoft.Json.Formatting.None)}"));
                into[prefix] = ConfigValue.Of(d);
                break;
            case JTokenType.String:
                into[prefix] = ConfigValue.Of((string)token!);
                break;
            case JTokenType.Boolean:
                into[prefix] = ConfigValue.Of((bool)token);
                break;
            case JTokenType.Null:
                if (!HardwareConfig.IsAnnotation(prefix))
                    problems.Add(new InputProblem(file, prefix, "is null; expected a value"));
                break;
            default:
                problems.Add(new InputProblem(file, prefix, $"unsupported JSON value {token.Type}"));
                break;
        }
    }
}
