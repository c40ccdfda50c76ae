using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AccelSim.Core.Simulation;

/// <summary>The kernel's large record arrays (tasks, their times, transfers, a task graph's successor
/// lists). A big run touches them far apart (64 chains interleave, each stepping kilobytes at a time), so
/// with 4 KiB pages most first touches also miss the address-translation cache, which is dear under
/// virtualisation. On Linux an array of several megabytes is advised for transparent huge pages
/// (<c>madvise(MADV_HUGEPAGE)</c>) before its pages are first touched. Only a hint: the system may ignore
/// it, and contents and results are the same either way.</summary>
internal static unsafe partial class LargeArrays
{
    private const long HugePage = 2L << 20;
    private const int MadviseHugePage = 14;

    private static bool _unavailable;

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);

    /// <summary>A zeroed array of <paramref name="length"/> records.</summary>
    public static T[] New<T>(int length) where T : struct
    {
        if (_unavailable || !OperatingSystem.IsLinux() || (long)length * Unsafe.SizeOf<T>() < 2 * HugePage) return new T[length];
        var array = GC.AllocateUninitializedArray<T>(length);
        Advise(array);
        Array.Clear(array);
        return array;
    }

    /// <summary>Replaces <paramref name="array"/> by one of <paramref name="length"/> records holding
    /// its contents (as <see cref="Array.Resize{T}"/>).</summary>
    public static void Resize<T>(ref T[] array, int length) where T : struct
    {
        var grown = New<T>(length);
        Array.Copy(array, grown, Math.Min(array.Length, length));
        array = grown;
    }

    private static void Advise<T>(T[] array)
    {
        // Large arrays live in the large object heap, which does not move them.
        var start = (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        var from = (start + HugePage - 1) & ~(HugePage - 1);
        var to = (start + (long)array.Length * Unsafe.SizeOf<T>()) & ~(HugePage - 1);
        if (to <= from) return;
        try
        {
            _ = Madvise((nint)from, (nuint)(to - from), MadviseHugePage);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
        }
    }
}
