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
        var staticW = GpuTestSupport.Model("h100").Spec.Power.StaticW;
        var t1 = Run(gemm, GpuTestSupport.Model(GpuTestSupport.Load("h100").With(("power.cap_W", staticW + 1)))).Seconds;
        Assert.True(t400 > t700);
        Assert.True(t1 > t400);
        var full = Run(gemm, Uncapped()).Seconds;
        var start = GpuTestSupport.Model("h100").Spec.KernelStartS;
        var minClock = GpuTestSupport.Model("h100").Spec.Power.MinClockFraction;
        // 1 W of dynamic budget: the lowest clock is not enough, so the kernel is held longer still.
        Assert.True(t1 > (full - start) / minClock + start, $"{t1} s at 1 W over static");
    }

    [Fact]
    public void ACapAtOrBelowStaticPowerIsBadInput()
    {
        var ex = Assert.Throws<AccelSim.Core.Config.InputException>(() => GpuTestSupport.Model(GpuTestSupport.Load("h100").With(("power.cap_W", 100.0))));
        Assert.Contains("power.cap_W", ex.Message);
        Assert.Contains("power.static_W", ex.Message);
    }

    [Fact]
    public void AKernelWhoseBytesAloneExceedTheCapIsHeldToIt()
    {
        // Twice the H100's bandwidth: a 135 MB activation streams at 6.7 TB/s and its bytes alone draw
        // more than the 577 W left over static power; the SM clock cannot bring that down, so the kernel
        // is held until it draws exactly the cap.
        var fast = GpuTestSupport.Model(GpuTestSupport.Load("h100").With(("memory.hbm.bandwidth_Bps", 6.7e12)));
        var copy = SingleOps.Copy(1L << 30);
        var r = Run(copy, fast);
        Assert.InRange(r.PeakW, fast.Spec.Power.CapW * 0.99, fast.Spec.Power.CapW * (1 + 1e-9));
        Assert.Contains("held to the 700 W cap", r.Note);
        var free = Run(copy, GpuTestSupport.Model(GpuTestSupport.Load("h100").With(("memory.hbm.bandwidth_Bps", 6.7e12), ("power.cap_W", 2000.0))));
        Assert.True(free.PeakW > 700, $"uncapped it would draw {free.PeakW} W");
        Assert.True(r.Seconds > free.Seconds);
        Assert.Equal(free.EnergyJ - fast.Spec.Power.StaticW * free.Seconds, r.EnergyJ - fast.Spec.Power.StaticW * r.Seconds, 1e-6);
    }

    [Property(MaxTest = 200)]
    public Property ThePowerAtTheChosenClockNeverExceedsTheCap(PositiveInt flopsMega, PositiveInt bytesMega, PositiveInt cap)
    {
        var spec = new GpuPowerSpec(101 + cap.Get % 900, 100, 2.5, 0.2, 1830, 185);
        var computeS = flopsMega.Get * 1e6 / 900e12;
        var flopPj = flopsMega.Get * 1e6 * 1.5;
        var bytePj = bytesMega.Get * 1e6 * 130.0;
        var memS = bytesMega.Get * 1e6 / 3e12;
        var k = GpuPowerModel.Apply(spec, computeS, flopPj, bytePj, memS, 2.5e-6, 0);
        return (k.ClockFraction >= spec.MinClockFraction && k.ClockFraction <= 1
                && k.PowerW <= spec.CapW * (1 + 1e-9)
                && (k.Throttled || GpuPowerModel.Power(spec, 1, computeS, flopPj, bytePj, memS, 2.5e-6, 0) <= spec.CapW))
            .ToProperty().Label($"r={k.ClockFraction} P={k.PowerW} cap={spec.CapW}");
    }

    private static Gen<WorkloadGraph> Workloads() =>
        Gen.OneOf(
            from m in Gen.Choose(1, 16384)
            from n in Gen.Choose(1, 16384)
            from k in Gen.Choose(1, 16384)
            from d in Gen.Elements(DType.Bf16, DType.Fp16, DType.Fp8, DType.Tf32, DType.Fp32)
            select SingleOps.MatMul(m, n, k, d),
            from b in Gen.Choose(1, 8)
            from s in Gen.Choose(1, 8192)
            from c in Gen.Choose(0, 8192)
            select SingleOps.Attention(b, 32, 8, 128, s, c, DType.Bf16),
            from mib in Gen.Choose(1, 4096)
            select SingleOps.Copy(mib * (1L << 20)));

    [Fact]
    public void PeakPowerNeverExceedsTheCap()
    {
        // Random GPUs (bundled products with their bandwidth, peaks, cap and energies changed) and ops:
        // whatever the cap holds back, the clock, or the kernel, the board never draws more than the cap.
        var gen =
            from gpu in Gen.Elements(GpuTestSupport.BundledGpus)
            from bw in Gen.Choose(25, 400)
            from peak in Gen.Choose(25, 400)
            from capFraction in Gen.Choose(5, 150)
            from pj in Gen.Choose(25, 400)
            from g in Workloads()
            select (gpu, bw, peak, capFraction, pj, g);
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var baseConfig = GpuTestSupport.Load(x.gpu);
            var staticW = baseConfig.Number("power.static_W");
            var cap = staticW + (baseConfig.Number("power.cap_W") - staticW) * x.capFraction / 100.0;
            var config = baseConfig.With(
                ("memory.hbm.bandwidth_Bps", baseConfig.Number("memory.hbm.bandwidth_Bps") * x.bw / 100.0),
                ("compute.bf16.peak_flops", baseConfig.Number("compute.bf16.peak_flops") * x.peak / 100.0),
                ("compute.fp32.peak_flops", baseConfig.Number("compute.fp32.peak_flops") * x.peak / 100.0),
                ("energy.pJ_per_byte.hbm", baseConfig.Number("energy.pJ_per_byte.hbm") * x.pj / 100.0),
                ("power.cap_W", cap));
            var device = GpuTestSupport.Model(config);
            var r = Run(x.g, device);
            return (r.PeakW <= cap * (1 + 1e-9)).ToProperty()
                .Label($"{x.gpu} bw x{x.bw / 100.0} peak x{x.peak / 100.0} cap {cap:F1} W hbm pJ x{x.pj / 100.0} {x.g.Ops[0].Name}: peak {r.PeakW:F3} W");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Fact]
    public void PeakPowerNeverExceedsTheCapForWholeModelsKernelByKernelOrFused()
    {
        // Whole models (llama2-7b), kernel by kernel and
        // fused, on random bandwidths and caps: a fused kernel's epilogue bytes may not lift it over the cap.
        var model = AccelSim.Workloads.Models.ModelConfigLoader.LoadNamed("llama2-7b");
        var gen =
            from gpu in Gen.Elements("h100", "a100-80g")
            from bw in Gen.Choose(25, 400)
            from capFraction in Gen.Choose(5, 150)
            from prefill in Gen.Elements(true, false)
            from tokens in Gen.Choose(1, 2048)
            from fused in Gen.Elements(true, false)
            select (gpu, bw, capFraction, prefill, tokens, fused);
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var baseConfig = GpuTestSupport.Load(x.gpu);
            var staticW = baseConfig.Number("power.static_W");
            var cap = staticW + (baseConfig.Number("power.cap_W") - staticW) * x.capFraction / 100.0;
            var device = GpuTestSupport.Model(baseConfig.With(
                ("memory.hbm.bandwidth_Bps", baseConfig.Number("memory.hbm.bandwidth_Bps") * x.bw / 100.0), ("power.cap_W", cap)));
            var request = x.prefill ? AccelSim.Workloads.Models.WorkloadRequest.Prefill(1, x.tokens) : AccelSim.Workloads.Models.WorkloadRequest.Decode(4, x.tokens);
            var graph = AccelSim.Workloads.Models.ModelBuilderRegistry.Default.Build(model, request);
            ISchedule schedule = x.fused ? new DataflowSchedule() : new SequentialSchedule();
            var m = MetricsCalculator.Compute(new Simulator(schedule.Map(graph, device), device).Run(), device);
            return (m.PeakPowerW <= cap * (1 + 1e-9)).ToProperty()
                .Label($"{x.gpu} bw x{x.bw / 100.0} cap {cap:F1} W {(x.prefill ? "prefill" : "decode")} {x.tokens} {(x.fused ? "fused" : "sequential")}: peak {m.PeakPowerW:F3} W");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Fact]
    public void PeakPowerNeverExceedsTheCapWithCopiesBesideKernels()
    {
        // Offloaded weights stream in on the copy engine while kernels run: random GPUs, models, HBM sizes
        // (what does not fit is offloaded), caps and schedules. Kernels leave the copies' share of the cap.
        var gen =
            from gpu in Gen.Elements(GpuTestSupport.BundledGpus)
            from model in Gen.Elements("llama2-7b", "mistral-7b", "deepseek-v2-lite")
            from hbmPct in Gen.Choose(20, 90)
            from capFraction in Gen.Choose(3, 150)
            from prefill in Gen.Elements(true, false)
            from tokens in Gen.Choose(1, 1024)
            from schedule in Gen.Elements("sequential", "dataflow", "eager")
            select (gpu, model, hbmPct, capFraction, prefill, tokens, schedule);
        var copiesSeen = 0;
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var baseConfig = GpuTestSupport.Load(x.gpu);
            var staticW = baseConfig.Number("power.static_W");
            var cap = staticW + (baseConfig.Number("power.cap_W") - staticW) * x.capFraction / 100.0;
            var request = x.prefill ? AccelSim.Workloads.Models.WorkloadRequest.Prefill(1, x.tokens) : AccelSim.Workloads.Models.WorkloadRequest.Decode(4, x.tokens);
            var graph = AccelSim.Workloads.Models.ModelBuilderRegistry.Default.Build(AccelSim.Workloads.Models.ModelConfigLoader.LoadNamed(x.model), request);
            var weights = graph.Tensors.Where(t => t.Role == TensorRole.Weight).Sum(t => t.Bytes);
            var device = GpuTestSupport.Model(baseConfig.With(
                ("memory.hbm.capacity_bytes", (double)(weights * x.hbmPct / 100 + (2L << 30))), ("power.cap_W", cap)));
            var placed = AccelSim.Core.Memory.Placement.Apply(graph, device, AccelSim.Core.Memory.PlacementPolicy.Offload).Graph;
            if (placed.Ops.Any(o => o.Transfer is not null)) copiesSeen++;
            ISchedule schedule = x.schedule switch { "dataflow" => new DataflowSchedule(), "eager" => new EagerSchedule(), _ => new SequentialSchedule() };
            var m = MetricsCalculator.Compute(new Simulator(schedule.Map(placed, device), device).Run(), device);
            return (m.PeakPowerW <= cap * (1 + 1e-9)).ToProperty()
                .Label($"{x.gpu} {x.model} hbm {x.hbmPct}% cap {cap:F1} W {(x.prefill ? "prefill" : "decode")} {x.tokens} {x.schedule}: peak {m.PeakPowerW:F3} W");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));
        Assert.True(copiesSeen > 20, $"only {copiesSeen} of 40 runs had copies");
    }

    [Fact]
    public void KernelsLeaveTheCopyEnginesTheirShareOfTheCapOnlyWhenAGraphHasCopies()
    {
        var device = GpuTestSupport.Model("h100");
        var reserve = device.CopyReserveW;
        Assert.True(reserve > 0 && reserve < 0.1 * device.Spec.Power.CapW, $"reserve {reserve} W");
        var withCopies = Assert.IsType<GpuDeviceModel>(device.WithCopies());
        Assert.Equal(device.Spec.Power.CapW - reserve, withCopies.KernelPowerSpec.CapW, 9);
        Assert.Same(withCopies, withCopies.WithCopies());
        Assert.Equal(device.Topology.Engines.Count, withCopies.Topology.Engines.Count);
        // No copies: the kernels keep the whole cap.
        var gemm = SingleOps.MatMul(8192, 8192, 8192, DType.Bf16);
        Assert.Same(device, AccelSim.Core.Devices.CopyPowerBudget.For(gemm, device));
        // A power-capped GEMM held to the smaller cap is slower but never draws more than it.
        var op = gemm.Ops[0];
        var full = device.Cost(op);
        var shared = withCopies.Cost(op);
        Assert.True(shared.ComputePs > full.ComputePs, $"{shared.ComputePs} ps vs {full.ComputePs} ps");
    }

    [Fact]
    public void ACopyEngineThatCouldOutdrawHalfTheBudgetIsPacedDownToIt()
    {
        // A cap barely above static power: the copies get half the dynamic budget and run slower.
        var baseConfig = GpuTestSupport.Load("h100");
        var device = GpuTestSupport.Model(baseConfig.With(("power.cap_W", baseConfig.Number("power.static_W") + 10)));
        Assert.True(device.CopyPowerW > 5);
        Assert.Equal(5, device.CopyReserveW, 9);
        var withCopies = (GpuDeviceModel)device.WithCopies();
        var path = new AccelSim.Core.Graph.TierTransfer("host", "hbm");
        var paced = withCopies.TierCopy(1L << 30, path).Transfers[0].RateCap_Bps;
        var free = device.TierCopy(1L << 30, path).Transfers[0].RateCap_Bps;
        Assert.Equal(free * 5 / device.CopyPowerW, paced, 6);
    }

    [Theory]
    [InlineData(1e12, true, 512)]
    [InlineData(1e12, false, 512)]
    [InlineData(6.7e12, true, 2048)]
    public void AFusedKernelWhoseEpilogueBytesWouldLiftItOverTheCapIsHeldToIt(double bandwidth, bool fused, int seq)
    {
        // A third of the H100's bandwidth, llama2-7b prefill fused: each GEMM is capped on its own, and
        // the fused epilogues' bytes ran under its main loop, drawing 750.8 W before fused kernels were
        // held to the cap.
        var device = GpuTestSupport.Model(GpuTestSupport.Load("h100").With(("memory.hbm.bandwidth_Bps", bandwidth)));
        var graph = AccelSim.Workloads.Models.ModelBuilderRegistry.Default.Build(
            AccelSim.Workloads.Models.ModelConfigLoader.LoadNamed("llama2-7b"), AccelSim.Workloads.Models.WorkloadRequest.Prefill(1, seq));
        ISchedule schedule = fused ? new DataflowSchedule() : new SequentialSchedule();
        var m = MetricsCalculator.Compute(new Simulator(schedule.Map(graph, device), device).Run(), device);
        Assert.InRange(m.PeakPowerW, device.Spec.Power.StaticW, device.Spec.Power.CapW * (1 + 1e-9));
    }
}
