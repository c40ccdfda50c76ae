using AccelSim.Core.Config;
using AccelSim.Workloads.Configs;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Models.Internal;

/// <summary>A field that changes the compute in a way a builder does not model, with the values
/// under which it is harmless. Present with another value: an error, never a silent guess.</summary>
public sealed record FieldRule(string Key, Func<JToken, bool> Harmless, string Why);

/// <summary>Reading and checking the family-specific fields of a HF config (<see cref="ModelConfig.Raw"/>).</summary>
public static class ConfigChecks
{
    public static void Apply(ModelConfig model, IEnumerable<FieldRule> rules, ICollection<InputProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(problems);
        foreach (var (key, harmless, why) in rules)
        {
            model.MarkRead(key);
            if (model.Raw[key] is { } token && !harmless(token))
                problems.Add(new InputProblem(model.Source, key, $"{why} (got {ModelConfigLoader.Describe(token)})"));
        }
    }

    public static bool IsAbsentOrZero(JToken t) =>
        t.Type == JTokenType.Null || (t.Type is JTokenType.Integer or JTokenType.Float && JsonInput.ToDouble(t) == 0);

    public static bool IsAbsentOrFalse(JToken t) => t.Type == JTokenType.Null || (t.Type == JTokenType.Boolean && !(bool)t);

    public static bool IsAbsentOrTrue(JToken t) => t.Type == JTokenType.Null || (t.Type == JTokenType.Boolean && (bool)t);

    public static bool IsNull(JToken t) => t.Type == JTokenType.Null;

    public static Func<JToken, bool> IsOneOf(params string[] values) =>
        t => t.Type == JTokenType.Null || (t.Type == JTokenType.String && values.Contains((string?)t, StringComparer.Ordinal));

    public static Func<JToken, bool> IsNumber(double value) =>
        t => t.Type == JTokenType.Null || (t.Type is JTokenType.Integer or JTokenType.Float && JsonInput.ToDouble(t) == value);

    /// <summary>A whole number >= <paramref name="min"/>; null when absent (a problem when <paramref name="required"/>).</summary>
    public static int? Int(ModelConfig model, string key, ICollection<InputProblem> problems, bool required = false, int min = 1, int max = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(problems);
        model.MarkRead(key);
        if (model.Raw[key] is not { } token || token.Type == JTokenType.Null)
        {
            if (required) problems.Add(new InputProblem(model.Source, key, $"missing; expected a whole number >= {min}"));
            return null;
        }
        if (token.Type == JTokenType.Integer && token is JValue { Value: long v } && v >= min && v <= max) return (int)v;
        if (max < int.MaxValue && token.Type == JTokenType.Integer && token is JValue { Value: long big } && big > max)
        {
            problems.Add(new InputProblem(model.Source, key, $"{big} is beyond the sanity limit of {max}"));
            return null;
        }
        problems.Add(new InputProblem(model.Source, key, $"expected a whole number in [{min}, {max}], got {ModelConfigLoader.Describe(token)}"));
        return null;
    }

    public static bool? Bool(ModelConfig model, string key, ICollection<InputProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.MarkRead(key);
        if (model.Raw[key] is not { } token || token.Type == JTokenType.Null) return null;
        if (token.Type == JTokenType.Boolean) return (bool)token;
        problems.Add(new InputProblem(model.Source, key, $"expected true or false, got {ModelConfigLoader.Describe(token)}"));
        return null;
    }

    public static string? Str(ModelConfig model, string key, ICollection<InputProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.MarkRead(key);
        if (model.Raw[key] is not { } token || token.Type == JTokenType.Null) return null;
        if (token.Type == JTokenType.String) return (string)token!;
        problems.Add(new InputProblem(model.Source, key, $"expected a string, got {ModelConfigLoader.Describe(token)}"));
        return null;
    }

    /// <summary>Copies <paramref name="from"/> to <paramref name="to"/> when the file has the former
    /// and not the latter, recording the alias for error messages.</summary>
    public static void Alias(JObject root, Dictionary<string, string> aliases, string to, string from)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(aliases);
        if (root[to] is null && root[from] is { } v)
        {
            root[to] = v.DeepClone();
            aliases[to] = from;
        }
    }

    /// <summary>Sets <paramref name="key"/> to a family default when absent or null.</summary>
    public static void Default(JObject root, Dictionary<string, string> aliases, string key, JToken value, string origin)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(aliases);
        if (root[key] is null || root[key]!.Type == JTokenType.Null)
        {
            root[key] = value;
            aliases[key] = origin;
        }
    }
}
