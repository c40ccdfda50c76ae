using AccelSim.Core.Devices;
using AccelSim.Core.Graph;

namespace AccelSim.Core.Plugins.Kit;

/// <summary>Which wider data type a device computes in when it has no peak for the one asked for: each
/// type's next step up, and where every other type goes. A device walks the ladder from the op's type
/// until it meets a type it has a peak for (<see cref="Supported"/>).</summary>
public sealed class DTypeLadder
{
    private readonly Dictionary<DType, DType> _next;

    /// <param name="otherwise">The next step of every type <paramref name="steps"/> does not name.</param>
    /// <param name="steps">Each type's next step up.</param>
    public DTypeLadder(DType otherwise, IReadOnlyDictionary<DType, DType> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        Otherwise = otherwise;
        _next = new Dictionary<DType, DType>(steps);
    }

    /// <summary>Narrow integers widen to int8 and then fp8; fp8 runs as bf16, bf16 as fp16, fp16 and tf32
    /// as fp32 (GPUs and FPGA DSP arrays).</summary>
    public static DTypeLadder Standard { get; } = new(DType.Fp32, new Dictionary<DType, DType>
    {
        [DType.Int4] = DType.Int8,
        [DType.Int8] = DType.Fp8,
        [DType.Fp8] = DType.Bf16,
        [DType.Bf16] = DType.Fp16,
        [DType.Fp16] = DType.Fp32,
        [DType.Tf32] = DType.Fp32,
    });

    /// <summary>Where a type with no step of its own goes.</summary>
    public DType Otherwise { get; }

    /// <summary>The same ladder with <paramref name="from"/>'s next step replaced by <paramref name="to"/>.</summary>
    public DTypeLadder With(DType from, DType to) => new(Otherwise, new Dictionary<DType, DType>(_next) { [from] = to });

    /// <summary>The step above <paramref name="dtype"/>.</summary>
    public DType Next(DType dtype) => _next.TryGetValue(dtype, out var next) ? next : Otherwise;

    /// <summary>The first type from <paramref name="dtype"/> up the ladder that <paramref name="device"/>
    /// has a peak for; after eight steps without one, where the ladder has got to.</summary>
    public DType Supported(DType dtype, IDeviceModel device)
    {
        ArgumentNullException.ThrowIfNull(device);
        for (var i = 0; i < 8 && device.PeakFlops(dtype) <= 0; i++) dtype = Next(dtype);
        return dtype;
    }
}
