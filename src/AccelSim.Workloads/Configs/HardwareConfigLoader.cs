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
        Load(BundledConfigs.Resolve(nameOrPath, BundledConfigs.HardwareDir, "hardware"));

    public static HardwareConfig Load(string path)
    {
        var root = JsonInput.LoadObject(path);
        var problems = new List<InputProblem>();
        var name = RequiredString(root, "name", path, problems);
        var kind = RequiredString(root, "kind", path, problems);
        var values = new Dictionary<string, ConfigValue>(StringComparer.Ordinal);
        var origins = new Dictionary<string, string>(StringComparer.Ordinal);

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
                    foreach (var prop in familyRoot.Properties())
                    {
                        if (prop.Name is "name" or "kind" or "family") continue;
                        Flatten(prop.Value, prop.Name, familyPath, values, problems);
                    }
                    foreach (var key in values.Keys) origins[key] = familyPath;
                }
            }
        }

        var own = new Dictionary<string, ConfigValue>(StringComparer.Ordinal);
        foreach (var prop in root.Properties())
        {
            if (prop.Name is "name" or "kind" or "family") continue;
            Flatten(prop.Value, prop.Name, path, own, problems);
        }
        foreach (var (key, value) in own)
        {
            values[key] = value;
            origins.Remove(key);
        }
        if (problems.Count > 0) throw new InputException(problems);
        return new HardwareConfig(name, kind, path, values, origins);
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
