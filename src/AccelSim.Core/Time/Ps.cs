using System.Globalization;
using AccelSim.Core.Config;

namespace AccelSim.Core.Time;

/// <summary>Simulated time is a <c>long</c> count of picoseconds. These helpers are the only place
/// that converts between picoseconds and seconds.</summary>
public static class Ps
{
    public const long PerSecond = 1_000_000_000_000L;
    public const long PerMicrosecond = 1_000_000L;
    public const long PerNanosecond = 1_000L;

    /// <summary>The longest time the simulator represents: 2^63 - 1 ps, about 9.2e6 s or 106 days.</summary>
    public const double MaxSeconds = long.MaxValue / (double)PerSecond;

    /// <summary>Seconds to picoseconds, rounded up so that a non-zero duration never becomes zero.
    /// A duration beyond <see cref="MaxSeconds"/> is refused (<see cref="OutOfRange"/>), never clamped
    /// or wrapped.</summary>
    public static long FromSeconds(double seconds)
    {
        if (seconds <= 0) return 0;
        var ps = Math.Ceiling(seconds * PerSecond);
        if (ps >= long.MaxValue) throw OutOfRange(seconds);
        return (long)ps;
    }

    public static double ToSeconds(long ps) => ps / (double)PerSecond;

    /// <summary>Time to move <paramref name="bytes"/> at <paramref name="bytesPerSecond"/>, in picoseconds.</summary>
    public static long ForBytes(double bytes, double bytesPerSecond) =>
        bytes <= 0 ? 0 : FromSeconds(bytes / bytesPerSecond);

    /// <summary>The error for a run whose time leaves the picosecond clock's range: bad input (a
    /// bandwidth or rate far too small for the work), reported rather than wrapped.</summary>
    public static InputException OutOfRange(double? seconds = null) => new(null, null,
        "the run exceeds the simulator's time range of 106 days (2^63 ps, about 9.2e6 s)"
        + (seconds is { } s && double.IsFinite(s) ? string.Create(CultureInfo.InvariantCulture, $": one duration alone is {s:G3} s") : "")
        + "; check the bandwidths, rates and sizes of the hardware and the workload");
}
