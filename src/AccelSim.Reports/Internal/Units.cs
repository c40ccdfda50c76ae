using System.Globalization;

namespace AccelSim.Reports.Internal;

/// <summary>Human-readable quantities for console output (decimal SI prefixes, invariant culture).</summary>
internal static class Units
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Num(double v, int decimals) =>
        double.IsFinite(v) ? v.ToString("F" + decimals.ToString(Inv), Inv) : "n/a";

    /// <summary>Seconds in the unit (s, ms, us, ns or ps) that keeps the figure below 1000 (seconds
    /// stay seconds however long), with three decimals. Every time in a table uses it, the latency included.</summary>
    public static string Time(double s)
    {
        if (!double.IsFinite(s)) return "n/a";
        var a = Math.Abs(s);
        if (a == 0) return "0 s";
        if (a >= 1) return Num(s, 3) + " s";
        if (a >= 1e-3) return Num(s * 1e3, 3) + " ms";
        if (a >= 1e-6) return Num(s * 1e6, 3) + " us";
        if (a >= 1e-9) return Num(s * 1e9, 3) + " ns";
        return Num(s * 1e12, 3) + " ps";
    }

    public static string Bytes(double b) => Scaled(b, "B");

    public static string Flops(double f) => Scaled(f, "FLOP");

    public static string FlopRate(double f) => Scaled(f, "FLOP/s");

    public static string Rate(double bytesPerS) => Scaled(bytesPerS, "B/s");

    public static string Energy(double j)
    {
        if (!double.IsFinite(j)) return "n/a";
        var a = Math.Abs(j);
        if (a == 0) return "0 J";
        if (a >= 1) return Num(j, 3) + " J";
        if (a >= 1e-3) return Num(j * 1e3, 3) + " mJ";
        if (a >= 1e-6) return Num(j * 1e6, 3) + " uJ";
        return Num(j * 1e9, 3) + " nJ";
    }

    public static string Percent(double fraction) => Num(fraction * 100, 1) + " %";

    /// <summary>A plain count with thousands separators (tokens/s, op counts).</summary>
    public static string Count(double v) =>
        double.IsFinite(v) ? v.ToString(Math.Abs(v) >= 100 || v == Math.Floor(v) ? "N0" : "N2", Inv) : "n/a";

    public static string Intensity(double flopPerByte) =>
        double.IsPositiveInfinity(flopPerByte) ? "no off-chip bytes"
        : Num(flopPerByte, flopPerByte >= 100 ? 1 : flopPerByte >= 0.1 || flopPerByte == 0 ? 2 : 4) + " FLOP/B";

    private static string Scaled(double v, string unit)
    {
        if (!double.IsFinite(v)) return "n/a";
        var a = Math.Abs(v);
        if (a == 0) return "0 " + unit;
        (double div, string prefix) = a switch
        {
            >= 1e15 => (1e15, "P"),
            >= 1e12 => (1e12, "T"),
            >= 1e9 => (1e9, "G"),
            >= 1e6 => (1e6, "M"),
            >= 1e3 => (1e3, "k"),
            _ => (1.0, ""),
        };
        var x = v / div;
        var decimals = prefix.Length == 0 && Math.Abs(x - Math.Round(x)) < 1e-9 ? 0 : Math.Abs(x) >= 100 ? 1 : 2;
        return Num(x, decimals) + " " + prefix + unit;
    }
}
