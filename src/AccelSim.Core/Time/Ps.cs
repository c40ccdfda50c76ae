namespace AccelSim.Core.Time;

/// <summary>Simulated time is a <c>long</c> count of picoseconds. These helpers are the only place
/// that converts between picoseconds and seconds.</summary>
public static class Ps
{
    public const long PerSecond = 1_000_000_000_000L;
    public const long PerMicrosecond = 1_000_000L;
    public const long PerNanosecond = 1_000L;

    /// <summary>Seconds to picoseconds, rounded up so that a non-zero duration never becomes zero.</summary>
    public static long FromSeconds(double seconds)
    {
        if (seconds <= 0) return 0;
        var ps = Math.Ceiling(seconds * PerSecond);
        return ps >= long.MaxValue ? long.MaxValue : (long)ps;
    }

    public static double ToSeconds(long ps) => ps / (double)PerSecond;

    /// <summary>Time to move <paramref name="bytes"/> at <paramref name="bytesPerSecond"/>, in picoseconds.</summary>
    public static long ForBytes(double bytes, double bytesPerSecond) =>
        bytes <= 0 ? 0 : FromSeconds(bytes / bytesPerSecond);
}
