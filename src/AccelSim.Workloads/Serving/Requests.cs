using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Time;

namespace AccelSim.Workloads.Serving;

/// <summary>One request of a serving run: when it arrives, its prompt and how many tokens it generates.
/// <see cref="PrefixId"/> names a shared prompt prefix of <see cref="PrefixTokens"/> tokens: requests with the same id
/// share its KV blocks under prefix caching (<see cref="KvBlockManager"/>).</summary>
public readonly record struct ServingRequest(int Id, long ArrivalPs, int PromptTokens, int OutputTokens, int? PrefixId = null, int PrefixTokens = 0);

/// <summary>How request lengths are drawn: a fixed number, or uniform, normal or lognormal (rounded, at least 1;
/// a normal or lognormal draw above <see cref="Max"/>, when given, is clamped to it).</summary>
public sealed record LengthDistribution(string Kind, double A, double B, int? Max = null)
{
    public static LengthDistribution Fixed(int tokens) => new("fixed", tokens, 0);

    public const string Expected = "a whole number > 0, or uniform:MIN-MAX, normal:MEAN,SD[,MAX] or lognormal:MEAN,SD[,MAX] (tokens)";

    /// <summary>Parses <c>512</c>, <c>uniform:128-1024</c>, <c>normal:512,128</c> or <c>lognormal:512,256</c>
    /// (lognormal by the mean and standard deviation of the lengths themselves); normal and lognormal take an
    /// optional third number, the longest length drawn (<c>lognormal:2340,2131,3072</c>).</summary>
    public static LengthDistribution Parse(string text, string option)
    {
        var t = text.Trim();
        if (int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0) return Fixed(n);
        var colon = t.IndexOf(':');
        if (colon > 0)
        {
            var kind = t[..colon].ToLowerInvariant();
            var args = t[(colon + 1)..].Split(kind == "uniform" ? '-' : ',');
            int? max = null;
            if (args.Length == 3 && kind is "normal" or "lognormal")
            {
                if (!int.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out var m) || m < 1)
                    throw new InputException(null, option, $"expected {Expected}, got '{text}'");
                max = m;
                args = args[..2];
            }
            if (args.Length == 2 && double.TryParse(args[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var a)
                && double.TryParse(args[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var b))
            {
                var ok = kind switch
                {
                    "uniform" => a >= 1 && b >= a,
                    "normal" or "lognormal" => a >= 1 && b >= 0,
                    _ => false,
                };
                if (ok) return new LengthDistribution(kind, a, b, max);
            }
        }
        throw new InputException(null, option, $"expected {Expected}, got '{text}'");
    }

    public int Sample(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var x = Kind switch
        {
            "fixed" => A,
            "uniform" => A + Math.Floor(rng.NextDouble() * (B - A + 1)),
            "normal" => A + B * Arrivals.StandardNormal(rng),
            "lognormal" => LogNormal(rng),
            _ => throw new InvalidOperationException(Kind),
        };
        return (int)Math.Clamp(Math.Round(x), 1, Max ?? int.MaxValue / 2);
    }

    private double LogNormal(Random rng)
    {
        var variance = Math.Log(1 + B * B / (A * A));
        var mu = Math.Log(A) - variance / 2;
        return Math.Exp(mu + Math.Sqrt(variance) * Arrivals.StandardNormal(rng));
    }

    public override string ToString() => Kind switch
    {
        "fixed" => A.ToString(CultureInfo.InvariantCulture),
        "uniform" => FormattableString.Invariant($"uniform:{A}-{B}"),
        _ => Max is { } m ? FormattableString.Invariant($"{Kind}:{A},{B},{m}") : FormattableString.Invariant($"{Kind}:{A},{B}"),
    };
}

/// <summary>Synthetic arrival processes. Every draw comes from one <see cref="Random"/> seeded by the run's
/// seed: .NET's seeded generator is a fixed algorithm, so the same seed gives the same requests on every run
/// and platform.</summary>
public static class Arrivals
{
    /// <summary><paramref name="count"/> requests at <paramref name="rate"/> per second. <paramref name="cv"/> is the
    /// coefficient of variation of the gaps: 1 is Poisson (exponential gaps), other values draw gamma gaps
    /// (shape 1/cv², above 1 burstier than Poisson, below 1 more regular; 0 is a fixed gap).</summary>
    public static IReadOnlyList<ServingRequest> Generate(int count, double rate, double cv, LengthDistribution prompt, LengthDistribution output, int seed)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(output);
        if (count < 1) throw new InputException(null, RequestParameter.NumRequests, $"expected a whole number > 0, got {count}");
        if (!(rate > 0) || double.IsInfinity(rate)) throw new InputException(null, RequestParameter.Rate, $"expected requests per second > 0, got {rate.ToString(CultureInfo.InvariantCulture)}");
        if (!(cv >= 0) || double.IsInfinity(cv)) throw new InputException(null, RequestParameter.Cv, $"expected a coefficient of variation >= 0, got {cv.ToString(CultureInfo.InvariantCulture)}");
        var rng = new Random(seed);
        var list = new List<ServingRequest>(count);
        double t = 0;
        for (var i = 0; i < count; i++)
        {
            if (i > 0) t += Gap(rng, rate, cv);
            list.Add(new ServingRequest(i, Ps.FromSeconds(t), prompt.Sample(rng), output.Sample(rng)));
        }
        return list;
    }

    /// <summary>Gives every request a prefix id drawn uniformly from <paramref name="groups"/> groups and a prefix of
    /// <paramref name="prefixTokens"/> tokens (at most its prompt). The ids come from a generator of their own, seeded
    /// with <paramref name="seed"/>, so the arrivals and lengths stay those drawn without prefixes.</summary>
    public static IReadOnlyList<ServingRequest> WithPrefixes(IReadOnlyList<ServingRequest> requests, int groups, int prefixTokens, int seed)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentOutOfRangeException.ThrowIfLessThan(groups, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefixTokens, 1);
        var rng = new Random(unchecked(seed * 7919 + 17));
        var list = new ServingRequest[requests.Count];
        for (var i = 0; i < list.Length; i++)
            list[i] = requests[i] with { PrefixId = rng.Next(groups), PrefixTokens = Math.Min(prefixTokens, requests[i].PromptTokens) };
        return list;
    }

    private static double Gap(Random rng, double rate, double cv)
    {
        var mean = 1 / rate;
        if (cv == 0) return mean;
        if (cv == 1) return -Math.Log(1 - rng.NextDouble()) * mean;
        var shape = 1 / (cv * cv);
        return Gamma(rng, shape) * mean / shape;
    }

    /// <summary>A standard normal variate (Box-Muller).</summary>
    public static double StandardNormal(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var u1 = 1 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>A gamma(shape, 1) variate (Marsaglia and Tsang 2000; shape below 1 by the boost u^(1/shape)).</summary>
    public static double Gamma(Random rng, double shape)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (shape < 1) return Gamma(rng, shape + 1) * Math.Pow(1 - rng.NextDouble(), 1 / shape);
        var d = shape - 1.0 / 3;
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = StandardNormal(rng);
                v = 1 + c * x;
            } while (v <= 0);
            v = v * v * v;
            var u = 1 - rng.NextDouble();
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v)) return d * v;
        }
    }
}

/// <summary>Request traces: the native CSV <c>arrival_s,prompt_tokens,output_tokens[,prefix_id[,prefix_tokens]]</c> and the Azure
/// LLM inference trace <c>TIMESTAMP,ContextTokens,GeneratedTokens</c> (timestamps as dates; arrivals relative to
/// the first). The header line says which.</summary>
public static class RequestTrace
{
    private static readonly string[] Native = ["arrival_s", "prompt_tokens", "output_tokens"];
    private static readonly string[] Azure = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"];

    public static IReadOnlyList<ServingRequest> Read(string path)
    {
        if (!File.Exists(path)) throw new InputException(path, null, "no such request trace file");
        using var reader = new StreamReader(path);
        return Read(reader, path);
    }

    public static IReadOnlyList<ServingRequest> Read(TextReader reader, string file)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var header = reader.ReadLine();
        if (header is null) throw new InputException(file, "line 1", "empty file; expected a header " + ExpectedHeader);
        var cols = header.Split(',').Select(c => c.Trim()).ToArray();
        var azure = Matches(cols, Azure);
        if (!azure && !Matches(cols, Native))
            throw new InputException(file, "line 1", $"expected a header {ExpectedHeader}, got '{header}'");
        var hasPrefix = !azure && cols.Length > 3 && cols[3] == "prefix_id";
        var hasPrefixTokens = hasPrefix && cols.Length > 4 && cols[4] == "prefix_tokens";
        var list = new List<ServingRequest>();
        var problems = new List<InputProblem>();
        DateTimeOffset? first = null;
        string? line;
        var lineNo = 1;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (line.Trim().Length == 0) continue;
            var f = line.Split(',');
            if (f.Length < 3)
            {
                problems.Add(new InputProblem(file, $"line {lineNo}", $"expected {cols.Length} comma-separated fields, got {f.Length}"));
                continue;
            }
            long arrival;
            if (azure)
            {
                if (!DateTimeOffset.TryParse(f[0].Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var ts))
                {
                    problems.Add(new InputProblem(file, $"line {lineNo}, column {cols[0]}", $"expected a timestamp, got '{f[0].Trim()}'"));
                    continue;
                }
                first ??= ts;
                arrival = (ts - first.Value).Ticks * 100_000; // 1 tick = 100 ns = 1e5 ps
                if (arrival < 0)
                {
                    problems.Add(new InputProblem(file, $"line {lineNo}, column {cols[0]}", "timestamps must not go backwards"));
                    continue;
                }
            }
            else
            {
                if (!double.TryParse(f[0].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) || !(s >= 0) || double.IsInfinity(s))
                {
                    problems.Add(new InputProblem(file, $"line {lineNo}, column {cols[0]}", $"expected seconds >= 0, got '{f[0].Trim()}'"));
                    continue;
                }
                arrival = Ps.FromSeconds(s);
            }
            var prompt = Tokens(f[1], file, lineNo, cols[1], 1, problems);
            var output = Tokens(f[2], file, lineNo, cols[2], 1, problems);
            int? prefix = null;
            if (hasPrefix && f.Length > 3 && f[3].Trim().Length > 0) prefix = Tokens(f[3], file, lineNo, cols[3], 0, problems);
            int? prefixTokens = null;
            if (hasPrefixTokens && f.Length > 4 && f[4].Trim().Length > 0)
            {
                prefixTokens = Tokens(f[4], file, lineNo, cols[4], 0, problems);
                if (prefixTokens is { } pt && prompt is { } pp && pt > pp)
                {
                    problems.Add(new InputProblem(file, $"line {lineNo}, column {cols[4]}", $"expected at most the prompt's {pp} tokens, got {pt}"));
                    prefixTokens = null;
                }
            }
            if (prompt is { } p && output is { } o) list.Add(new ServingRequest(0, arrival, p, o, prefix, prefix is null ? 0 : prefixTokens ?? 0));
        }
        if (problems.Count > 0) throw new InputException(problems);
        if (list.Count == 0) throw new InputException(file, null, "no requests after the header");
        // Requests are served in arrival order (a stable sort keeps the file's order among equal arrivals).
        var ordered = list.Select((r, i) => (r, i)).OrderBy(x => x.r.ArrivalPs).ThenBy(x => x.i).Select((x, i) => x.r with { Id = i }).ToArray();
        return ordered;
    }

    private static string ExpectedHeader => "'arrival_s,prompt_tokens,output_tokens[,prefix_id[,prefix_tokens]]' or 'TIMESTAMP,ContextTokens,GeneratedTokens'";

    private static bool Matches(string[] cols, string[] expected) =>
        cols.Length >= expected.Length && expected.Select((e, i) => string.Equals(cols[i], e, StringComparison.OrdinalIgnoreCase)).All(x => x);

    private static int? Tokens(string text, string file, int line, string column, int min, List<InputProblem> problems)
    {
        if (int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= 10_000_000) return n;
        problems.Add(new InputProblem(file, $"line {line}, column {column}", $"expected a whole number of tokens >= {min}, got '{text.Trim()}'"));
        return null;
    }
}
