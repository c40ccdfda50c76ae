using System.Diagnostics;
using System.Runtime.InteropServices;

namespace AccelSim.Bench;

/// <summary>Wall time and, on Linux, the calling thread's CPU time: on a busy machine the CPU time
/// of the measuring thread is far steadier than the wall clock.</summary>
public static partial class ThreadClock
{
    private const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec time);

    public static bool HasCpuTime { get; } = OperatingSystem.IsLinux() && TryCpu(out _);

    private static bool TryCpu(out double seconds)
    {
        try
        {
            if (ClockGetTime(ClockThreadCpuTimeId, out var t) == 0)
            {
                seconds = t.Seconds + t.Nanoseconds * 1e-9;
                return true;
            }
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
        seconds = 0;
        return false;
    }

    /// <summary>Runs <paramref name="action"/> and returns (wall seconds, thread CPU seconds or NaN).</summary>
    public static (double Wall, double Cpu) Measure(Action action)
    {
        double c0 = 0, c1 = 0;
        var cpu = HasCpuTime && TryCpu(out c0);
        var sw = Stopwatch.StartNew();
        action();
        sw.Stop();
        if (cpu) TryCpu(out c1);
        return (sw.Elapsed.TotalSeconds, cpu ? c1 - c0 : double.NaN);
    }
}
