namespace AccelSim.Core.Config;

/// <summary>How a hardware parameter is moved for a perturbation study (the estimate share of a report, a
/// sensitivity study). Zero stays zero (0 means "unsupported", not a small number); a whole
/// number of at least 2 moves to a whole number, at least one step, because plugins bind counts as integers; elements
/// of arrays (GEMM tile shapes) are structural and not moved.</summary>
public static class ParameterPerturbation
{
    /// <summary>Whether <paramref name="path"/> holding <paramref name="value"/> is a structural field that
    /// is never perturbed: a whole number inside an array (a tile's m, n or k).</summary>
    public static bool IsStructural(string path, double value) => IsWhole(value) && path.Contains('[', StringComparison.Ordinal);

    /// <summary>A count-like value: a whole number of at least 2. Values up to 1 (efficiencies, fractions,
    /// exponents) are continuous even when they are exactly 1.</summary>
    public static bool IsWhole(double v) => Math.Abs(v) >= 2 && Math.Abs(v) < 9e15 && v == Math.Floor(v);

    /// <summary><paramref name="value"/> times <paramref name="factor"/>, rounded to a different whole number
    /// when <paramref name="value"/> is whole; null when the value cannot move (zero or structural).</summary>
    public static double? Scale(string path, double value, double factor)
    {
        if (value == 0 || IsStructural(path, value)) return null;
        var v = value * factor;
        if (!IsWhole(value)) return v;
        var r = Math.Round(v, MidpointRounding.AwayFromZero);
        if (r == value) r = factor > 1 ? value + 1 : value - 1;
        return r;
    }

    /// <summary>The factor for a study step that keeps a fraction inside [0, 1]: a value in (0, 1] whose
    /// scaled value would pass 1 is moved down instead (1 / factor).</summary>
    public static double Direction(double value, double factor) =>
        value > 0 && value <= 1 && value * factor > 1 ? 1 / factor : factor;

    /// <summary>Numeric fields carrying <paramref name="tag"/>.</summary>
    public static IReadOnlyList<string> Tagged(HardwareConfig config, ParameterSource tag) =>
        config.NumericPaths().Where(p => config.TagOf(p) == tag).ToArray();
}
