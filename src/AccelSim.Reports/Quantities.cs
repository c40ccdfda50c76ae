using System.Globalization;

namespace AccelSim.Reports;

/// <summary>The one formatter of quantities for every console table of the command line and the reports:
/// invariant culture, decimal SI prefixes written as SI writes them (k for kilo: kB, kFLOP). A time or an
/// energy takes the prefix that puts its mantissa in [1, 1000) and is written with
/// <see cref="SignificantDigits"/> significant digits (<c>61.30 ms</c>, <c>2.500 us</c>, <c>49.83 s</c>);
/// a time of 1000 s or more stays in seconds, rounded to whole seconds.</summary>
public static class Quantities
{
    /// <summary>Significant digits of a time or an energy.</summary>
    public const int SignificantDigits = 4;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static readonly (double Scale, string Prefix)[] SubUnit =
        [(1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p")];

    private static readonly (double Scale, string Prefix)[] SuperUnit =
        [(1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];

    /// <summary>A fixed number of decimals ("n/a" when not finite).</summary>
    public static string Num(double v, int decimals) =>
        double.IsFinite(v) ? v.ToString("F" + decimals.ToString(Inv), Inv) : "n/a";

    /// <summary>Seconds in ps, ns, us, ms or s, mantissa in [1, 1000), four significant digits.</summary>
    public static string Time(double s) => Significant(s, "s", SubUnit, maxScale: 1);

    /// <summary>Joules in pJ ... kJ, MJ, mantissa in [1, 1000), four significant digits.</summary>
    public static string Energy(double j) => Significant(j, "J", [(1e6, "M"), (1e3, "k"), .. SubUnit], maxScale: 1e6);

    /// <summary>Grams of CO2-equivalent in ug ... kg, mantissa in [1, 1000), four significant digits.</summary>
    public static string CarbonGrams(double g) => Significant(g, "gCO2e", [(1e3, "k"), .. SubUnit[..4]], maxScale: 1e3);

    public static string Bytes(double b) => Scaled(b, "B");

    public static string Flops(double f) => Scaled(f, "FLOP");

    public static string FlopRate(double f) => Scaled(f, "FLOP/s");

    public static string ByteRate(double bytesPerS) => Scaled(bytesPerS, "B/s");

    public static string Percent(double fraction) => Num(fraction * 100, 1) + " %";

    /// <summary>A plain count with thousands separators (tokens/s, op counts).</summary>
    public static string Count(double v) =>
        double.IsFinite(v) ? v.ToString(Math.Abs(v) >= 100 || v == Math.Floor(v) ? "N0" : "N2", Inv) : "n/a";

    public static string Intensity(double flopPerByte) =>
        double.IsPositiveInfinity(flopPerByte) ? "no off-chip bytes"
        : Num(flopPerByte, flopPerByte >= 100 ? 1 : flopPerByte >= 0.1 || flopPerByte == 0 ? 2 : 4) + " FLOP/B";

    /// <summary>A quantity with a decimal SI prefix (k, M, G, T, P, E): two decimals below 100, one above;
    /// a whole number below 1000 without decimals.</summary>
    public static string Scaled(double v, string unit)
    {
        if (!double.IsFinite(v)) return "n/a";
        var a = Math.Abs(v);
        if (a == 0) return "0 " + unit;
        var (div, prefix) = (1.0, "");
        foreach (var (scale, p) in SuperUnit)
        {
            if (a < scale) continue;
            (div, prefix) = (scale, p);
            break;
        }
        var x = v / div;
        var decimals = prefix.Length == 0 && Math.Abs(x - Math.Round(x)) < 1e-9 ? 0 : Math.Abs(x) >= 100 ? 1 : 2;
        return Num(x, decimals) + " " + prefix + unit;
    }

    /// <summary><paramref name="v"/> rounded to <see cref="SignificantDigits"/> digits first, then given the
    /// largest prefix of <paramref name="prefixes"/> (largest first) that keeps it at least 1, so that 999.96 ms
    /// prints as 1.000 s rather than 1000 ms. Above 1000 x <paramref name="maxScale"/> the figure keeps the top
    /// prefix and is rounded to a whole number.</summary>
    private static string Significant(double v, string unit, (double Scale, string Prefix)[] prefixes, double maxScale)
    {
        if (!double.IsFinite(v)) return "n/a";
        if (v == 0) return "0 " + unit;
        var a = Math.Abs(v);
        if (a >= 1000 * maxScale) return (v / maxScale).ToString("F0", Inv) + " " + prefixes[0].Prefix + unit;
        var exponent = (int)Math.Floor(Math.Log10(a));
        var rounded = Math.Round(a / Math.Pow(10, exponent - (SignificantDigits - 1)), MidpointRounding.AwayFromZero) * Math.Pow(10, exponent - (SignificantDigits - 1));
        var (scale, prefix) = prefixes[^1];
        foreach (var (s, p) in prefixes)
        {
            if (rounded < s * (1 - 1e-12)) continue;
            (scale, prefix) = (s, p);
            break;
        }
        var x = rounded / scale;
        if (x >= 1000 * (1 - 1e-12)) return (Math.Sign(v) * x).ToString("F0", Inv) + " " + prefix + unit;
        var digits = x >= 100 - 1e-9 ? 3 : x >= 10 - 1e-10 ? 2 : 1;
        var decimals = Math.Max(0, SignificantDigits - digits);
        return (Math.Sign(v) * x).ToString("F" + decimals.ToString(Inv), Inv) + " " + prefix + unit;
    }
}
