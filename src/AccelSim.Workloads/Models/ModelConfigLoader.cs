using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Configs;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Models;

/// <summary>Reads a Hugging Face <c>config.json</c> into a validated <see cref="ModelConfig"/>.
/// Keys starting with "_" are comments (e.g. <c>_source</c>) and are ignored. Every other key must be
/// read by the loader or the family's builder, or be a known Hugging Face field
/// (<see cref="HfConfigKeys.Common"/>, <see cref="IModelBuilder.KnownKeys"/>): an unknown key is an error
/// naming the nearest known ones. Every problem is reported at once with the file and the JSON path.</summary>
public static class ModelConfigLoader
{
    /// <summary>The fields this loader reads for every family.</summary>
    public static readonly IReadOnlyList<string> LoaderKeys =
    [
        "model_type", "architectures", "hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads",
        "num_hidden_layers", "vocab_size", "head_dim", "sliding_window", "max_position_embeddings", "tie_word_embeddings",
        "rms_norm_eps", "torch_dtype", "dtype",
    ];

    /// <summary>Loads a bundled model name (configs/models/&lt;name&gt;.json) or a path.</summary>
    public static ModelConfig LoadNamed(string nameOrPath, ModelBuilderRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        return Load(BundledConfigs.Resolve(nameOrPath, BundledConfigs.ModelsDir, RequestParameter.Model), registry);
    }

    public static ModelConfig Load(string path, ModelBuilderRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(JsonInput.LoadObject(path), path, registry);
    }

    /// <summary>Validates an already-parsed config object; <paramref name="path"/> names it in errors.</summary>
    public static ModelConfig Parse(JObject json, string path, ModelBuilderRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(path);
        registry ??= ModelBuilderRegistry.Default;
        var root = new JObject();
        foreach (var p in json.Properties())
        {
            if (!p.Name.StartsWith('_')) root.Add(p.Name, p.Value.DeepClone());
        }

        var problems = new List<InputProblem>();
        var architectures = ReadArchitectures(root, path, problems);
        var modelType = OptionalString(root, "model_type", path, problems);
        string resolvedType = modelType ?? "";
        IModelBuilder? builder = null;
        if (registry.TryFind(modelType, architectures, out var b, out var t))
        {
            builder = b;
            resolvedType = t;
        }
        else
        {
            var what = modelType is not null
                ? $"unsupported model_type '{modelType}'"
                : architectures.Count > 0
                    ? $"missing; and architectures [{string.Join(", ", architectures)}] name no supported model"
                    : "missing; expected a string";
            problems.Add(new InputProblem(path, "model_type", $"{what}; supported model types: {string.Join(", ", registry.SupportedModelTypes)}"));
        }

        // The family's names of the common fields, mapped onto the loader's (errors name the original).
        var raw = root;
        IReadOnlyDictionary<string, string> aliases = IModelBuilder.NoAliases;
        if (builder is not null)
        {
            root = (JObject)raw.DeepClone();
            aliases = builder.Normalize(root);
        }
        var before = problems.Count;

        var hidden = RequiredPositive(root, "hidden_size", path, problems);
        var inter = RequiredPositive(root, "intermediate_size", path, problems);
        var heads = RequiredPositive(root, "num_attention_heads", path, problems);
        var kvHeads = OptionalPositive(root, "num_key_value_heads", path, problems) ?? heads;
        var layers = RequiredPositive(root, "num_hidden_layers", path, problems);
        var vocab = RequiredPositive(root, "vocab_size", path, problems);
        var headDim = OptionalPositive(root, "head_dim", path, problems);
        var window = OptionalPositive(root, "sliding_window", path, problems);
        var maxPos = OptionalPositive(root, "max_position_embeddings", path, problems);
        var tie = OptionalBool(root, "tie_word_embeddings", path, problems) ?? false;
        var eps = OptionalEpsilon(root, "rms_norm_eps", path, problems);

        // HF v5 writes "dtype"; earlier versions "torch_dtype". Both name the weights' type.
        DType? dtype = null;
        var dtypeKey = root["torch_dtype"] is { Type: not JTokenType.Null } || root["dtype"] is null or { Type: JTokenType.Null } ? "torch_dtype" : "dtype";
        var dtypeText = OptionalString(root, dtypeKey, path, problems);
        if (dtypeText is not null)
        {
            if (DTypes.TryParse(dtypeText, out var d)) dtype = d;
            else problems.Add(new InputProblem(path, dtypeKey, $"unknown data type '{dtypeText}'; expected {DTypes.Expected} (or float32, bfloat16, float16)"));
        }

        if (heads > 0 && kvHeads > 0 && heads % kvHeads != 0)
        {
            problems.Add(new InputProblem(path, "num_key_value_heads",
                $"num_attention_heads ({heads}) must be a multiple of num_key_value_heads ({kvHeads})"));
        }
        if (headDim is null && hidden > 0 && heads > 0 && hidden % heads != 0)
        {
            problems.Add(new InputProblem(path, "num_attention_heads",
                $"hidden_size ({hidden}) must be a multiple of num_attention_heads ({heads}) when head_dim is not given"));
        }

        ModelLimits.CheckConfig(path, heads, kvHeads, layers, vocab, problems);
        for (var i = before; i < problems.Count; i++)
        {
            if (problems[i].Path is { } key && aliases.TryGetValue(key, out var original) && original != key)
                problems[i] = problems[i] with { Path = original };
        }
        if (builder is null) throw new InputException(problems);
        if (problems.Count > 0) throw new InputException(WithUnknownKeys(raw, path, resolvedType, builder, aliases, [], problems));

        var config = new ModelConfig(NameOf(path), path, resolvedType, architectures, hidden, inter, heads, kvHeads, layers, vocab,
            tie, headDim, window, maxPos, dtype, eps, raw);
        builder.Check(config, problems);
        var all = WithUnknownKeys(raw, path, resolvedType, builder, aliases, config.ReadKeys, problems);
        if (all.Count > 0) throw new InputException(all);
        return config;
    }

    /// <summary><paramref name="problems"/> plus one for every key of <paramref name="raw"/> that is neither read
    /// nor a known Hugging Face field of the family, naming the nearest known keys. A misspelt required key
    /// is reported once, as the unknown key, naming the missing key it was probably meant to be.</summary>
    private static List<InputProblem> WithUnknownKeys(JObject raw, string path, string modelType, IModelBuilder builder,
        IReadOnlyDictionary<string, string> aliases, IReadOnlyCollection<string> read, List<InputProblem> problems)
    {
        var known = new HashSet<string>(HfConfigKeys.Common, StringComparer.Ordinal);
        known.UnionWith(LoaderKeys);
        known.UnionWith(builder.KnownKeys);
        known.UnionWith(aliases.Values);
        known.UnionWith(read);
        var all = problems.ToList();
        foreach (var p in raw.Properties())
        {
            if (known.Contains(p.Name)) continue;
            var near = NearestNames.Find(known, p.Name);
            var message = $"unknown key: neither used by the {builder.Id} model builder nor a known Hugging Face field of model_type '{modelType}'";
            var missing = near.Count == 0 ? -1 : all.FindIndex(q => q.Path == near[0] && q.Message.StartsWith("missing", StringComparison.Ordinal));
            if (missing >= 0)
            {
                all.RemoveAt(missing);
                message += $"; did you mean {near[0]} (required, missing)?";
            }
            else if (near.Count > 0)
            {
                message += $"; did you mean {string.Join(", ", near)}?";
            }
            all.Add(new InputProblem(path, p.Name, message));
        }
        return all;
    }

    private static string NameOf(string path)
    {
        var full = Path.GetFullPath(path);
        var file = Path.GetFileName(full);
        foreach (var ext in new[] { ".json.gz", ".json" })
        {
            if (file.EndsWith(ext, StringComparison.OrdinalIgnoreCase)) { file = file[..^ext.Length]; break; }
        }
        if (file == "config")
        {
            var dir = Path.GetFileName(Path.GetDirectoryName(full));
            if (!string.IsNullOrEmpty(dir)) return dir;
        }
        return file;
    }

    private static IReadOnlyList<string> ReadArchitectures(JObject root, string path, List<InputProblem> problems)
    {
        if (root["architectures"] is not { } token || token.Type == JTokenType.Null) return [];
        if (token is not JArray array)
        {
            problems.Add(new InputProblem(path, "architectures", $"expected an array of strings, got {Describe(token)}"));
            return [];
        }
        var list = new List<string>();
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i].Type == JTokenType.String) list.Add((string)array[i]!);
            else problems.Add(new InputProblem(path, $"architectures[{i}]", $"expected a string, got {Describe(array[i])}"));
        }
        return list;
    }

    private static string? OptionalString(JObject root, string key, string path, List<InputProblem> problems)
    {
        if (root[key] is not { } token || token.Type == JTokenType.Null) return null;
        if (token.Type == JTokenType.String) return (string)token!;
        problems.Add(new InputProblem(path, key, $"expected a string, got {Describe(token)}"));
        return null;
    }

    private static bool? OptionalBool(JObject root, string key, string path, List<InputProblem> problems)
    {
        if (root[key] is not { } token || token.Type == JTokenType.Null) return null;
        if (token.Type == JTokenType.Boolean) return (bool)token;
        problems.Add(new InputProblem(path, key, $"expected true or false, got {Describe(token)}"));
        return null;
    }

    private static int RequiredPositive(JObject root, string key, string path, List<InputProblem> problems)
    {
        if (root[key] is not { } token || token.Type == JTokenType.Null)
        {
            problems.Add(new InputProblem(path, key, "missing; expected a whole number > 0"));
            return 0;
        }
        return Positive(token, key, path, problems) ?? 0;
    }

    private static int? OptionalPositive(JObject root, string key, string path, List<InputProblem> problems)
    {
        if (root[key] is not { } token || token.Type == JTokenType.Null) return null;
        return Positive(token, key, path, problems);
    }

    private static int? Positive(JToken token, string key, string path, List<InputProblem> problems)
    {
        if (token.Type == JTokenType.Integer && token is JValue { Value: long v } && v > 0 && v <= int.MaxValue) return (int)v;
        problems.Add(new InputProblem(path, key, $"expected a whole number in [1, {int.MaxValue}], got {Describe(token)}"));
        return null;
    }

    /// <summary>A normalisation epsilon: a number in (0, 1).</summary>
    private static double? OptionalEpsilon(JObject root, string key, string path, List<InputProblem> problems)
    {
        if (root[key] is not { } token || token.Type == JTokenType.Null) return null;
        if (token.Type is JTokenType.Integer or JTokenType.Float)
        {
            var d = JsonInput.ToDouble(token);
            if (double.IsFinite(d) && d > 0 && d < 1) return d;
        }
        problems.Add(new InputProblem(path, key, $"expected a number in (0, 1), got {Describe(token)}"));
        return null;
    }

    internal static string Describe(JToken token) => token.Type switch
    {
        JTokenType.String => $"the string \"{(string?)token}\"",
        JTokenType.Integer or JTokenType.Float => token.ToString(Newtonsoft.Json.Formatting.None),
        JTokenType.Boolean => (bool)token ? "true" : "false",
        JTokenType.Null => "null",
        JTokenType.Array => "an array",
        JTokenType.Object => "an object",
        _ => token.Type.ToString(),
    };
}
