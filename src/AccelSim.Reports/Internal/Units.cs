namespace AccelSim.Reports.Internal;

/// <summary>Short names inside the reports for <see cref="Quantities"/>, the one formatter of console quantities.</summary>
internal static class Units
{
    public static string Num(double v, int decimals) => Quantities.Num(v, decimals);

    /// <summary>See <see cref="Quantities.Time"/>.</summary>
    public static string Time(double s) => Quantities.Time(s);

    public static string Bytes(double b) => Quantities.Bytes(b);

    public static string Flops(double f) => Quantities.Flops(f);

    public static string FlopRate(double f) => Quantities.FlopRate(f);

    public static string Rate(double bytesPerS) => Quantities.ByteRate(bytesPerS);

    public static string Energy(double j) => Quantities.Energy(j);

    public static string Percent(double fraction) => Quantities.Percent(fraction);

    public static string Count(double v) => Quantities.Count(v);

    public static string Intensity(double flopPerByte) => Quantities.Intensity(flopPerByte);
}
