using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace AccelSim.Core.Simulation;

/// <summary>A hint to the processor that a record will be read soon. A large run's task and transfer
/// records are touched once when they start and once when they end, far apart in memory and time: the
/// kernel asks for the next ones ahead so the loop does not wait on the cache. Only a hint (a no-op
/// where the instruction is missing); it never changes a result.</summary>
internal static unsafe class Prefetch
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Read<T>(ref T location)
    {
        if (Sse.IsSupported) Sse.Prefetch0(Unsafe.AsPointer(ref location));
    }
}
