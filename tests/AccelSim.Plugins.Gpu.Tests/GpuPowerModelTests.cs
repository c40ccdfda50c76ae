using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using AccelSim.Workloads;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Plugins.Gpu.Tests;

public class GpuPowerModelTests
{
    private static (double Seconds, double EnergyJ, double PeakW, string? Note) Run(WorkloadGraph graph, GpuDeviceModel device)
    {
        var program = new SequentialSchedule().Map(graph, device);
        var result = new Simulator(program, device).Run();
        var m = MetricsCalculator.Compute(result, device);
        return (Ps.ToSeconds(result.MakespanPs), m.Energy.TotalJ, m.PeakPowerW, program.Tasks[0].Cost.Note);
    }

    private static GpuDeviceModel Uncapped(string name = "h100") => GpuTestSupport.Model(GpuTestSupport.Load(name).With(("power.cap_W", 2000.0)));

    [Fact]
    public void APowerCappedGemmIsSlowerAndItsEnergyFollowsTheModel()
    {
        var gemm = SingleOps.MatMul(8192, 8192, 8192, DType.Bf16);
        var capped = GpuTestSupport.Model("h100");
        var free = Uncapped();
        var c = Run(gemm, capped);
        var f = Run(gemm, free);
        var spec = capped.Spec.Power;

        // Without the cap it would draw well over 700 W; with it the clock drops and time grows.
        Assert.True(f.EnergyJ / f.Seconds > 800, $"uncapped power {f.EnergyJ / f.Seconds:F0} W");
        Assert.True(c.Seconds > f.Seconds * 1.2, $"capped {c.Seconds * 1e3:F3} ms vs uncapped {f.Seconds * 1e3:F3} ms");
        Assert.Contains("power-capped", c.Note);
        Assert.DoesNotContain("power-capped", f.Note);

        // The capped kernel draws the cap: energy = cap x time (the solver stops just under it).
        Assert.InRange(c.EnergyJ / c.Seconds, spec.CapW * 0.995, spec.CapW * 1.0001);
        Assert.InRange(c.PeakW, spec.CapW * 0.995, spec.CapW * 1.0001);

        // The energy difference is the FLOP energy scaled by r^alpha plus static power over the longer run,
        // with r the clock ratio the time implies for the compute-bound kernel.
        var start = capped.Spec.KernelStartS;
        var r = (f.Seconds - start) / (c.Seconds - start);
        var flopJ = gemm.Ops[0].Flops * capped.Spec.PjPerFlop[DType.Bf16] * 1e-12;
        var expected = f.EnergyJ - flopJ * (1 - Math.Pow(r, spec.Alpha)) + spec.StaticW * (c.Seconds - f.Seconds);
        Assert.Equal(expected, c.EnergyJ, expected * 0.01);
        Assert.True(c.EnergyJ < f.EnergyJ, "the throttled clock saves FLOP energy");
    }

    [Fact]
    public void MemoryBoundKernelsAreUnaffectedByTheCap()
    {
        var device = GpuTestSupport.Model("h100");
        var free = Uncapped();
        foreach (var graph in new[] { SingleOps.MatMul(1, 28672, 8192, DType.Bf16), SingleOps.Copy(1L << 30) })
        {
            var c = Run(graph, device);
            var f = Run(graph, free);
            Assert.Equal(f.Seconds, c.Seconds);
            Assert.Equal(f.EnergyJ, c.EnergyJ);
            Assert.True(c.EnergyJ / c.Seconds < device.Spec.Power.CapW);
        }
    }

    [Fact]
    public void ALowerCapThrottlesHarderDownToTheMinimumClock()
    {
        var gemm = SingleOps.MatMul(4096, 4096, 4096, DType.Bf16);
        var t700 = Run(gemm, GpuTestSupport.Model("h100")).Seconds;
        var t400 = Run(gemm, GpuTestSupport.Model(GpuTestSupport.Load("h100").With(("power.cap_W", 400.0)))).Seconds;
        var t1 = Run(gemm, GpuTestSupport.Model(GpuTestSupport.Load("h100").With(("power.cap_W", 1.0)))).Seconds;
        Assert.True(t400 > t700);
        Assert.True(t1 > t400);
        var full = Run(gemm, Uncapped()).Seconds;
        var start = GpuTestSupport.Model("h100").Spec.KernelStartS;
        var minClock = GpuTestSupport.Model("h100").Spec.Power.MinClockFraction;
        Assert.Equal((full - start) / minClock + start, t1, (full / minClock) * 1e-6);
    }

    [Property(MaxTest = 200)]
    public Property ThePowerAtTheChosenClockNeverExceedsTheCap(PositiveInt flopsMega, PositiveInt bytesMega, PositiveInt cap)
    {
        var spec = new GpuPowerSpec(100 + cap.Get % 900, 100, 2.5, 0.2, 1830, 185);
        var computeS = flopsMega.Get * 1e6 / 900e12;
        var flopPj = flopsMega.Get * 1e6 * 1.5;
        var bytePj = bytesMega.Get * 1e6 * 130.0;
        var memS = bytesMega.Get * 1e6 / 3e12;
        var k = GpuPowerModel.Apply(spec, computeS, flopPj, bytePj, memS, 2.5e-6, 0);
        var atMin = GpuPowerModel.Power(spec, spec.MinClockFraction, computeS, flopPj, bytePj, memS, 2.5e-6, 0);
        return (k.ClockFraction >= spec.MinClockFraction && k.ClockFraction <= 1
                && (k.PowerW <= spec.CapW * (1 + 1e-9) || (k.ClockFraction == spec.MinClockFraction && atMin >= spec.CapW))
                && (k.Throttled || GpuPowerModel.Power(spec, 1, computeS, flopPj, bytePj, memS, 2.5e-6, 0) <= spec.CapW))
            .ToProperty().Label($"r={k.ClockFraction} P={k.PowerW} cap={spec.CapW}");
    }
}
