using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace AccelSim.Core.Simulation;

/// <summary>A hint to the processor that a record will be read soon. A large run's task and transfer
/// records are touched once when they start and once when they end, far apart in memory and time: the
/// kernel asks for the next ones ahead so the loop does not wait on the cache. Only a hint (a no-op
/// where the instruction is missing); it never changes a result.</summary>
internal static unsafe class Prefetch
{
    /// <summary>Asks for every cache line <paramref name="location"/>'s record touches: a record of
    /// 40 or 48 bytes straddles two lines for about half of the indices of its array.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Read<T>(ref T location)
    {
        if (Sse.IsSupported)
        {
            var p = (byte*)Unsafe.AsPointer(ref location);
            Sse.Prefetch0(p);
            Sse.Prefetch0(p + (Unsafe.SizeOf<T>() - 1));
        }
    }
}
