namespace AccelSim.Core.Config;

/// <summary>Where a hardware number comes from. Every numeric field of a bundled hardware config carries
/// one (docs/hardware-config.md, "Provenance").</summary>
public enum ParameterSource
{
    /// <summary>Published by the vendor: datasheet, whitepaper, architecture or programming guide.</summary>
    Datasheet,

    /// <summary>Read directly off a measurement (e.g. idle power in validation/h100/energy.json).</summary>
    Measured,

    /// <summary>Fitted to measurements (validation/h100 through tools/gpu-fit, a least-squares fit).</summary>
    Fitted,

    /// <summary>A model assumption: scaled from another device, a paper's range, an engineering guess.</summary>
    Estimate,
}

/// <summary>Names of <see cref="ParameterSource"/> as written in configs and reports, and the pattern
/// rules of a config's <c>provenance</c> object.</summary>
public static class ParameterSources
{
    public const string Expected = "datasheet, measured, fitted or estimate";

    public static string Name(this ParameterSource s) => s switch
    {
        ParameterSource.Datasheet => "datasheet",
        ParameterSource.Measured => "measured",
        ParameterSource.Fitted => "fitted",
        _ => "estimate",
    };

    public static bool TryParse(string? text, out ParameterSource source)
    {
        switch (text)
        {
            case "datasheet": source = ParameterSource.Datasheet; return true;
            case "measured": source = ParameterSource.Measured; return true;
            case "fitted": source = ParameterSource.Fitted; return true;
            case "estimate": source = ParameterSource.Estimate; return true;
            default: source = default; return false;
        }
    }

    /// <summary>Splits a flattened path or a pattern into segments: <c>gemm.tiles[0].m</c> gives
    /// <c>gemm</c>, <c>tiles</c>, <c>[0]</c>, <c>m</c>.</summary>
    public static string[] Segments(string path)
    {
        var list = new List<string>();
        foreach (var part in path.Split('.'))
        {
            var rest = part;
            var bracket = rest.IndexOf('[');
            if (bracket > 0)
            {
                list.Add(rest[..bracket]);
                rest = rest[bracket..];
            }
            while (rest.StartsWith('['))
            {
                var close = rest.IndexOf(']');
                if (close < 0) break;
                list.Add(rest[..(close + 1)]);
                rest = rest[(close + 1)..];
            }
            if (rest.Length > 0) list.Add(rest);
        }
        for (var i = 0; i < list.Count; i++) if (list[i] == "[*]") list[i] = "*";
        return list.ToArray();
    }

    /// <summary>Whether <paramref name="pattern"/> covers <paramref name="path"/>: its segments are a prefix
    /// of the path's, where <c>*</c> (or <c>[*]</c>) stands for any one segment (a key or an array index). <c>memory.hbm</c>
    /// covers everything under it; <c>compute.*.peak_flops</c> covers each data type's peak.</summary>
    public static bool Covers(string[] pattern, string[] path)
    {
        if (pattern.Length > path.Length) return false;
        for (var i = 0; i < pattern.Length; i++)
            if (pattern[i] != "*" && pattern[i] != path[i]) return false;
        return true;
    }

    /// <summary>How specific a pattern is: deeper first, then more literal segments. The most specific
    /// covering pattern gives a field its tag.</summary>
    public static (int Depth, int Literals) Specificity(string[] pattern)
    {
        var literals = 0;
        foreach (var s in pattern) if (s != "*") literals++;
        return (pattern.Length, literals);
    }

    /// <summary>Resolves each numeric field's tag from <paramref name="patterns"/> (pattern to tag). Problems
    /// (a field no pattern covers is not one: the caller decides; two equally specific patterns with
    /// different tags, or a pattern covering no field) go to <paramref name="problem"/> as (pattern, message).</summary>
    public static Dictionary<string, ParameterSource> Resolve(
        IReadOnlyCollection<string> numericPaths, IReadOnlyList<KeyValuePair<string, ParameterSource>> patterns, Action<string, string> problem)
    {
        var compiled = patterns.Select(p => (p.Key, Segments: Segments(p.Key), p.Value, Spec: Specificity(Segments(p.Key)))).ToArray();
        var used = new bool[compiled.Length];
        var tags = new Dictionary<string, ParameterSource>(StringComparer.Ordinal);
        foreach (var path in numericPaths)
        {
            var segs = Segments(path);
            var best = -1;
            for (var i = 0; i < compiled.Length; i++)
            {
                if (!Covers(compiled[i].Segments, segs)) continue;
                used[i] = true;
                if (best < 0 || compiled[i].Spec.CompareTo(compiled[best].Spec) > 0) { best = i; continue; }
                if (compiled[i].Spec == compiled[best].Spec && compiled[i].Value != compiled[best].Value)
                    problem(compiled[i].Key, $"as specific as '{compiled[best].Key}' for '{path}' but says {compiled[i].Value.Name()}, not {compiled[best].Value.Name()}");
            }
            if (best >= 0) tags[path] = compiled[best].Value;
        }
        for (var i = 0; i < compiled.Length; i++)
            if (!used[i]) problem(compiled[i].Key, "covers no numeric field of this file");
        return tags;
    }
}

/// <summary>A file a hardware description was read from: its role (<c>hardware</c> or <c>family</c>),
/// the name to show (relative to the bundled configs when bundled) and the SHA-256 of its bytes.</summary>
public sealed record ConfigFileInfo(string Role, string Name, string Sha256);
