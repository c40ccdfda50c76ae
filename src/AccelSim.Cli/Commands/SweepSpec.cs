using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AccelSim.Core.Config;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Commands;

/// <summary>One value of a sweep's input: a string, a number or a boolean, as the spec wrote it.</summary>
public sealed record SweepValue(JTokenType Type, string Text)
{
    /// <summary>The value as <c>run</c> reads it on its command line.</summary>
    public override string ToString() => Text;
}

/// <summary>One point of a sweep: its id (its index in the spec's point list), the value of every axis and
/// the <c>run</c> arguments it stands for, with the hash of those arguments.</summary>
public sealed record SweepPoint(int Id, IReadOnlyList<SweepValue> Values, IReadOnlyList<string> Arguments, string Hash);

/// <summary>A design-space sweep (docs/sweeps.md): <c>base</c> options shared by every point, <c>axes</c>
/// whose values vary, a sampler (<c>grid</c>, <c>random</c>, <c>latin-hypercube</c>) and constraints.
/// Bound and validated, every problem at once with its JSON path, before any point runs.</summary>
public sealed class SweepSpec
{
    /// <summary>Prefix of an axis or base key that sets a hardware parameter, as <c>--set path=value</c> does.</summary>
    public const string SetPrefix = "set:";

    /// <summary>Options of <c>run</c> a sweep decides itself: its report is JSON on stdout and nothing else.</summary>
    private static readonly string[] Reserved = ["format", "out", "timeline", "ops", "roofline", "roofline-plot", "html", "set", "help", "plugins"];

    public required string File { get; init; }
    public required IReadOnlyList<KeyValuePair<string, SweepValue>> Base { get; init; }
    public required IReadOnlyList<KeyValuePair<string, IReadOnlyList<SweepValue>>> Axes { get; init; }
    public required string Sampler { get; init; }
    public long Seed { get; init; }
    public int Points { get; init; }
    /// <summary>Skip (record as <c>skipped</c>) points whose run does not fit in memory.</summary>
    public bool RequireFits { get; init; }

    /// <summary>The column a sweep's result table gives an axis: its name with every character that is
    /// not a letter, a digit or '_' replaced by '_' (<c>set:gpu.hbm_bandwidth_Bps</c> becomes
    /// <c>set_gpu_hbm_bandwidth_Bps</c>).</summary>
    public static string Column(string axis)
    {
        var sb = new StringBuilder(axis.Length);
        foreach (var ch in axis) sb.Append(char.IsAsciiLetterOrDigit(ch) || ch == '_' ? ch : '_');
        return sb.ToString();
    }

    /// <summary>Reads and validates a spec; <paramref name="runOptions"/> are the option names <c>run</c>
    /// takes (without dashes).</summary>
    public static SweepSpec Load(string file, IReadOnlySet<string> runOptions)
    {
        if (!System.IO.File.Exists(file)) throw new InputException(file, null, "sweep spec not found");
        JObject root;
        try
        {
            using var reader = new JsonTextReader(new StringReader(System.IO.File.ReadAllText(file)));
            root = JObject.Load(reader, new JsonLoadSettings { DuplicatePropertyNameHandling = DuplicatePropertyNameHandling.Error });
        }
        catch (JsonException e)
        {
            throw new InputException(file, null, $"not valid JSON: {e.Message}");
        }
        var problems = new List<InputProblem>();
        void Problem(string path, string message) => problems.Add(new InputProblem(file, path, message));

        foreach (var p in root.Properties())
        {
            if (p.Name is not ("base" or "axes" or "sampler" or "seed" or "points" or "constraints" or "description" or "$schema"))
                Problem($"$.{p.Name}", "unknown key; expected base, axes, sampler, seed, points, constraints or description");
        }

        SweepValue? Scalar(JToken t, string path)
        {
            switch (t.Type)
            {
                case JTokenType.String: return new SweepValue(t.Type, (string)t!);
                case JTokenType.Integer: return new SweepValue(t.Type, ((long)t).ToString(CultureInfo.InvariantCulture));
                case JTokenType.Float: return new SweepValue(t.Type, ((double)t).ToString("R", CultureInfo.InvariantCulture));
                case JTokenType.Boolean: return new SweepValue(t.Type, (bool)t ? "true" : "false");
                default:
                    Problem(path, $"expected a string, a number or a boolean, got {t.Type.ToString().ToLowerInvariant()}");
                    return null;
            }
        }
        void CheckName(string name, string path)
        {
            if (name.StartsWith(SetPrefix, StringComparison.Ordinal))
            {
                if (name.Length == SetPrefix.Length) Problem(path, "expected a hardware parameter after 'set:' (set:<config path>)");
                return;
            }
            if (Reserved.Contains(name, StringComparer.Ordinal))
                Problem(path, $"'{name}' is decided by the sweep (use set:<config path> for a hardware parameter)");
            else if (!runOptions.Contains(name))
                Problem(path, $"unknown run option '{name}'; expected one of {string.Join(", ", runOptions.Order(StringComparer.Ordinal))} or set:<config path>");
        }

        var baseValues = new List<KeyValuePair<string, SweepValue>>();
        if (root["base"] is { } b)
        {
            if (b is not JObject bo) Problem("$.base", "expected an object of run options (name -> value)");
            else
            {
                foreach (var p in bo.Properties())
                {
                    var path = $"$.base['{p.Name}']";
                    CheckName(p.Name, path);
                    if (Scalar(p.Value, path) is { } v) baseValues.Add(new(p.Name, v));
                }
            }
        }

        var axes = new List<KeyValuePair<string, IReadOnlyList<SweepValue>>>();
        var columns = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (root["axes"] is not JObject ao || !ao.Properties().Any())
            Problem("$.axes", "expected an object of at least one axis (name -> list of values)");
        else
        {
            foreach (var p in ao.Properties())
            {
                var path = $"$.axes['{p.Name}']";
                CheckName(p.Name, path);
                if (baseValues.Any(kv => kv.Key == p.Name)) Problem(path, $"'{p.Name}' is both in base and an axis");
                if (!columns.Add(Column(p.Name))) Problem(path, $"its column '{Column(p.Name)}' is also another axis's");
                if (p.Value is not JArray arr || arr.Count == 0)
                {
                    Problem(path, "expected a non-empty list of values");
                    continue;
                }
                var values = new List<SweepValue>();
                for (var i = 0; i < arr.Count; i++)
                    if (Scalar(arr[i], $"{path}[{i}]") is { } v) values.Add(v);
                var types = values.Select(v => v.Type == JTokenType.Integer ? JTokenType.Float : v.Type).Distinct().Count();
                if (types > 1) Problem(path, "expected values of one type (all strings, all numbers or all booleans)");
                axes.Add(new(p.Name, values));
            }
        }

        var sampler = "grid";
        if (root["sampler"] is { } s)
        {
            if (s.Type != JTokenType.String || (string)s! is not ("grid" or "random" or "latin-hypercube"))
                Problem("$.sampler", $"expected grid, random or latin-hypercube, got {s.ToString(Formatting.None)}");
            else sampler = (string)s!;
        }
        long seed = 0;
        if (root["seed"] is { } sd)
        {
            if (sd.Type != JTokenType.Integer || (long)sd < 0) Problem("$.seed", "expected a non-negative integer");
            else seed = (long)sd;
        }
        var points = 0;
        if (root["points"] is { } pt)
        {
            if (pt.Type != JTokenType.Integer || (long)pt < 1 || (long)pt > 1_000_000) Problem("$.points", "expected an integer from 1 to 1000000");
            else if (sampler == "grid") Problem("$.points", "a grid runs every combination; points applies to random and latin-hypercube");
            else points = (int)(long)pt;
        }
        else if (sampler != "grid") Problem("$.points", $"the {sampler} sampler needs points (how many to draw)");

        var fits = false;
        if (root["constraints"] is { } c)
        {
            if (c is not JObject co) Problem("$.constraints", "expected an object");
            else
            {
                foreach (var p in co.Properties())
                {
                    if (p.Name != "fits") Problem($"$.constraints.{p.Name}", "unknown constraint; expected fits");
                    else if (p.Value.Type != JTokenType.Boolean) Problem("$.constraints.fits", "expected true or false");
                    else fits = (bool)p.Value;
                }
            }
        }
        if (problems.Count > 0) throw new InputException(problems);
        var spec = new SweepSpec { File = file, Base = baseValues, Axes = axes, Sampler = sampler, Seed = seed, Points = points, RequireFits = fits };
        if (spec.Count() > 10_000_000) throw new InputException(file, "$.axes", $"the grid has {spec.Count()} points; at most 10000000");
        return spec;
    }

    /// <summary>How many points the sweep has.</summary>
    public long Count() => Sampler == "grid" ? Axes.Aggregate(1L, (n, a) => n * a.Value.Count) : Points;

    /// <summary>Every point in order of its id: the grid in row-major order (the last axis varies fastest),
    /// or <see cref="Points"/> draws of the seeded sampler. The same spec gives the same list.</summary>
    public IReadOnlyList<SweepPoint> Enumerate()
    {
        var n = (int)Count();
        var indices = new int[n][];
        if (Sampler == "grid")
        {
            for (var id = 0; id < n; id++)
            {
                var rest = id;
                var idx = new int[Axes.Count];
                for (var a = Axes.Count - 1; a >= 0; a--)
                {
                    idx[a] = rest % Axes[a].Value.Count;
                    rest /= Axes[a].Value.Count;
                }
                indices[id] = idx;
            }
        }
        else
        {
            var rng = new SplitMix64((ulong)Seed);
            for (var id = 0; id < n; id++) indices[id] = new int[Axes.Count];
            for (var a = 0; a < Axes.Count; a++)
            {
                var count = Axes[a].Value.Count;
                if (Sampler == "random")
                {
                    for (var id = 0; id < n; id++) indices[id][a] = (int)(rng.NextDouble() * count);
                }
                else
                {
                    // Latin hypercube: one draw in each of n equal strata of [0, 1), strata shuffled per axis.
                    var strata = Enumerable.Range(0, n).ToArray();
                    for (var i = n - 1; i > 0; i--)
                    {
                        var j = (int)(rng.NextDouble() * (i + 1));
                        (strata[i], strata[j]) = (strata[j], strata[i]);
                    }
                    for (var id = 0; id < n; id++)
                        indices[id][a] = Math.Min(count - 1, (int)((strata[id] + rng.NextDouble()) / n * count));
                }
            }
        }
        var list = new List<SweepPoint>(n);
        for (var id = 0; id < n; id++)
        {
            var values = new SweepValue[Axes.Count];
            for (var a = 0; a < Axes.Count; a++) values[a] = Axes[a].Value[indices[id][a]];
            var args = Arguments(values);
            list.Add(new SweepPoint(id, values, args, Hash(args)));
        }
        return list;
    }

    /// <summary>The <c>run</c> arguments of a point: base options, then its axes, in the spec's order (a
    /// boolean is written as <c>--name true</c> or <c>--name false</c>, which a switch accepts).</summary>
    private List<string> Arguments(IReadOnlyList<SweepValue> values)
    {
        var args = new List<string> { "run" };
        void Add(string name, SweepValue v)
        {
            if (name.StartsWith(SetPrefix, StringComparison.Ordinal))
            {
                args.Add("--set");
                args.Add($"{name[SetPrefix.Length..]}={v.Text}");
            }
            else
            {
                args.Add("--" + name);
                args.Add(v.Text);
            }
        }
        foreach (var kv in Base) Add(kv.Key, kv.Value);
        for (var a = 0; a < Axes.Count; a++) Add(Axes[a].Key, values[a]);
        return args;
    }

    /// <summary>SHA-256 (hex, first 16 digits) of a point's arguments, one per line.</summary>
    public static string Hash(IReadOnlyList<string> args)
    {
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', args)));
        return Convert.ToHexStringLower(bytes)[..16];
    }

    /// <summary>A small seeded generator (SplitMix64) whose sequence is fixed by its definition, so a
    /// sampled sweep draws the same points on every machine and runtime.</summary>
    private struct SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public double NextDouble()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (z >> 11) * (1.0 / (1UL << 53));
        }
    }
}
