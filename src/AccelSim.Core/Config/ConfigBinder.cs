namespace AccelSim.Core.Config;

/// <summary>Binds fields of a <see cref="HardwareConfig"/>, collecting every problem (with its JSON
/// path) instead of stopping at the first. Call <see cref="ThrowIfInvalid"/> once after binding.</summary>
public sealed class ConfigBinder
{
    private readonly List<InputProblem> _problems = [];

    public ConfigBinder(HardwareConfig config) => Config = config;

    public HardwareConfig Config { get; }
    public IReadOnlyList<InputProblem> Problems => _problems;

    /// <summary>The smallest non-zero bandwidth a config may give (any field whose key ends in <c>_Bps</c>).</summary>
    public const double MinBandwidth_Bps = 1;

    /// <summary>A problem at <paramref name="path"/>, naming where its value came from (the product file,
    /// its family file or <c>--set</c>).</summary>
    public void Fail(string path, string message) => _problems.Add(new InputProblem(Config.OriginOf(path), path, message));

    /// <summary>A required number within [min, max].</summary>
    public double Number(string path, double min = 0, double max = double.MaxValue, bool exclusiveMin = false)
    {
        if (!Config.TryGet(path, out var v))
        {
            Fail(path, $"missing; expected a number {Range(min, max, exclusiveMin)}");
            return Math.Max(min, exclusiveMin ? 1 : 0);
        }
        return Check(path, v, min, max, exclusiveMin);
    }

    /// <summary>A required positive number (&gt; 0).</summary>
    public double Positive(string path) => Number(path, 0, double.MaxValue, exclusiveMin: true);

    /// <summary>A number in [0, 1] (an efficiency or a fraction).</summary>
    public double Fraction(string path) => Number(path, 0, 1);

    public double OptionalNumber(string path, double fallback, double min = 0, double max = double.MaxValue)
    {
        if (!Config.TryGet(path, out var v)) return fallback;
        return Check(path, v, min, max, false);
    }

    public long Integer(string path, long min = 0, long max = long.MaxValue)
    {
        var d = Number(path, min, max);
        if (Math.Abs(d - Math.Round(d)) > 1e-9) Fail(path, $"expected a whole number, got {d}");
        return (long)Math.Round(d);
    }

    public string Text(string path)
    {
        if (Config.TryGet(path, out var v) && v.Text is { } s && s.Length > 0) return s;
        Fail(path, Config.Contains(path) ? $"expected a string, got {v}" : "missing; expected a string");
        return "";
    }

    public string? OptionalText(string path) => Config.TryGet(path, out var v) ? v.Text : null;

    public bool Flag(string path, bool fallback)
    {
        if (!Config.TryGet(path, out var v)) return fallback;
        if (v.Flag is { } b) return b;
        Fail(path, $"expected true or false, got {v}");
        return fallback;
    }

    public void ThrowIfInvalid()
    {
        if (_problems.Count > 0) throw new InputException(_problems.ToArray());
    }

    /// <summary>For a binder that reads a whole config (a file type of its own, not a device through
    /// <see cref="Plugins.PluginRegistry"/>, which checks this itself): every problem, plus every value of the
    /// config that no binder asked for (<see cref="HardwareConfig.WithUnknownKeys"/>).</summary>
    public void ThrowIfInvalidOrUnknown()
    {
        var all = Config.WithUnknownKeys(_problems);
        if (all.Count > 0) throw new InputException(all);
    }

    private double Check(string path, ConfigValue v, double min, double max, bool exclusiveMin)
    {
        if (v.Number is not { } d)
        {
            Fail(path, $"expected a number {Range(min, max, exclusiveMin)}, got {(v.Text is null ? v.ToString() : $"\"{v.Text}\"")}");
            return Math.Max(min, exclusiveMin ? 1 : 0);
        }
        if (double.IsNaN(d) || d < min || d > max || (exclusiveMin && d <= min))
        {
            Fail(path, $"expected a number {Range(min, max, exclusiveMin)}, got {v}");
            return Math.Max(min, exclusiveMin ? 1 : 0);
        }
        // A bandwidth (units in the key) so small that rates derived from it round to zero, or a
        // byte takes longer than the simulator's clock can count, is refused here, naming the key.
        if (d > 0 && d < MinBandwidth_Bps && path.EndsWith("_Bps", StringComparison.Ordinal))
        {
            Fail(path, $"a bandwidth must be at least {MinBandwidth_Bps} B/s (0 < x < 1 rounds to nothing the simulator can represent), got {v}");
            return MinBandwidth_Bps;
        }
        return d;
    }

    private static string Range(double min, double max, bool exclusiveMin)
    {
        if (min == 0 && max == double.MaxValue) return exclusiveMin ? "> 0" : ">= 0";
        if (max == double.MaxValue) return (exclusiveMin ? "> " : ">= ") + min.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return $"in [{min.ToString(System.Globalization.CultureInfo.InvariantCulture)}, {max.ToString(System.Globalization.CultureInfo.InvariantCulture)}]";
    }
}
