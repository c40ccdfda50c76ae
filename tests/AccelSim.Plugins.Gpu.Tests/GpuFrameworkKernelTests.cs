using AccelSim.Core.Graph;
using AccelSim.Core.Time;

namespace AccelSim.Plugins.Gpu.Tests;

/// <summary>A framework's generic element-wise kernels (Op.Access, docs/stacks.md): the launch gap, the
/// floors and the element rate of strided kernels, against their closed forms.</summary>
public class GpuFrameworkKernelTests
{
    private static Op Elementwise(long elements, ElementAccess access, OpKind kind = OpKind.Elementwise, DType? outType = null)
    {
        var x = new Tensor(0, "x", [elements], DType.Bf16, TensorRole.Activation);
        var y = new Tensor(1, "y", kind == OpKind.Reduction ? [1] : [elements], outType ?? DType.Bf16, TensorRole.Activation);
        return new Op(0, "op", kind, 0, [x], [y], elements, DType.Bf16) { Access = access };
    }

    private static double Seconds(GpuDeviceModel d, Op op) =>
        GpuTestSupport.Seconds(new WorkloadGraph(new WorkloadInfo("t", "op", 1, 1, 0, 1), [op]), d);

    [Fact]
    public void TinyKernelsLastTheirFloorPlusTheLaunchGap()
    {
        var h100 = GpuTestSupport.Model("h100");
        var s = h100.Spec;
        Assert.Equal(s.StreamLaunchGapS + s.VectorizedMinS, Seconds(h100, Elementwise(1024, ElementAccess.Vectorized)), 9);
        Assert.Equal(s.StreamLaunchGapS + s.StridedMinS, Seconds(h100, Elementwise(1024, ElementAccess.Strided)), 9);
        Assert.Equal(s.StreamLaunchGapS + s.ReductionMinS, Seconds(h100, Elementwise(1024, ElementAccess.Strided, OpKind.Reduction)), 9);
        // A purpose-built kernel keeps the general floor: the fused stack is costed as before.
        Assert.Equal(s.MinKernelS, Seconds(h100, Elementwise(1024, ElementAccess.Unspecified)), 9);
        Assert.True(s.StreamLaunchGapS + s.VectorizedMinS < s.MinKernelS);
    }

    [Fact]
    public void LargeStridedKernelsRunAtTheElementRate()
    {
        var h100 = GpuTestSupport.Model("h100");
        var s = h100.Spec;
        const long n = 8L << 20; // 8 Mi elements: the 2048-token prefill's [2048, 4096] activations
        var expected = s.StreamLaunchGapS + n / (s.StridedElementsPerClockPerSm * s.SmCount * s.ClockMHz * 1e6);
        Assert.Equal(expected, Seconds(h100, Elementwise(n, ElementAccess.Strided)), 9);
        // The same bytes contiguous stream at the memory rate, faster than element by element.
        Assert.True(Seconds(h100, Elementwise(n, ElementAccess.Vectorized)) < 0.8 * expected);
        // The measured kernels of the prefill profile take 20-29 us (validation/h100/e2e/kineto_llama2-7b_prefill.json.gz).
        Assert.InRange(expected, 20e-6, 29e-6);
    }

    [Fact]
    public void TheElementRateScalesWithSmsAndClock()
    {
        var h100 = GpuTestSupport.Model("h100");
        var half = GpuTestSupport.Model(GpuTestSupport.Load("h100").With(("compute.sm_count", 66)));
        const long n = 64L << 20;
        var a = Seconds(h100, Elementwise(n, ElementAccess.Strided)) - h100.Spec.StreamLaunchGapS;
        var b = Seconds(half, Elementwise(n, ElementAccess.Strided)) - half.Spec.StreamLaunchGapS;
        Assert.Equal(2.0, b / a, 2);
    }

    [Fact]
    public void EveryBundledGpuDescribesFrameworkKernels()
    {
        foreach (var name in GpuTestSupport.BundledGpus)
        {
            var s = GpuTestSupport.Model(name).Spec;
            Assert.True(s.StridedElementsPerS > 0 && s.StridedMinS > 0 && s.ReductionMinS >= s.StridedMinS && s.VectorizedMinS > 0, name);
        }
    }
}
