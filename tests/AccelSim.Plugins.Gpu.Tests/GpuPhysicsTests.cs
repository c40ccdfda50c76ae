using AccelSim.Core.Graph;
using AccelSim.Workloads;
using FsCheck;
using FsCheck.Fluent;

namespace AccelSim.Plugins.Gpu.Tests;

public class GpuPhysicsTests
{
    private static readonly GpuDeviceModel H100 = GpuTestSupport.Model("h100");

    private static Gen<(long M, long N, long K, DType D)> GemmShapes() =>
        from m in Gen.Choose(1, 20000)
        from n in Gen.Choose(1, 20000)
        from k in Gen.Choose(1, 20000)
        from d in Gen.Elements(DType.Bf16, DType.Fp16, DType.Fp8, DType.Tf32, DType.Fp32)
        select ((long)m, (long)n, (long)k, d);

    [Fact]
    public void MoreBandwidthIsNeverSlower()
    {
        var baseConfig = GpuTestSupport.Load("h100");
        var bw = baseConfig.Number("memory.hbm.bandwidth_Bps");
        var l2 = baseConfig.Number("memory.l2.bytes_per_clock_per_sm");
        Prop.ForAll((from s in GemmShapes() from f in Gen.Choose(101, 400) select (s, f)).ToArbitrary(), x =>
        {
            var (s, f) = x;
            var faster = GpuTestSupport.Model(baseConfig.With(("memory.hbm.bandwidth_Bps", bw * f / 100.0), ("memory.l2.bytes_per_clock_per_sm", l2 * f / 100.0)));
            var g = SingleOps.MatMul(s.M, s.N, s.K, s.D);
            return GpuTestSupport.Seconds(g, faster) <= GpuTestSupport.Seconds(g, H100);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(1000));
    }

    [Theory]
    [InlineData(18110, 121, 18022, DType.Bf16)]
    [InlineData(4569, 60, 18832, DType.Fp16)]
    [InlineData(11183, 105, 17669, DType.Fp16)]
    public void AFasterGpuNeverPicksAKernelThatThePowerCapMakesSlower(long m, long n, long k, DType d)
    {
        // Skinny power-capped GEMMs: compared before the cap, 2.48x the peak chose a tile that the cap
        // then slowed below the one the H100 itself chose (up to 3.7 % slower).
        var baseConfig = GpuTestSupport.Load("h100");
        var scaled = GpuSpec.ConfigDTypes.Select(x => ($"compute.{x.Name()}.peak_flops", baseConfig.Number($"compute.{x.Name()}.peak_flops") * 2.48)).ToArray();
        var g = SingleOps.MatMul(m, n, k, d);
        Assert.True(GpuTestSupport.Seconds(g, GpuTestSupport.Model(baseConfig.With(scaled))) <= GpuTestSupport.Seconds(g, H100));
    }

    [Fact]
    public void MorePeakFlopsIsNeverSlower()
    {
        var baseConfig = GpuTestSupport.Load("h100");
        Prop.ForAll((from s in GemmShapes() from f in Gen.Choose(101, 400) select (s, f)).ToArbitrary(), x =>
        {
            var (s, f) = x;
            var scaled = GpuSpec.ConfigDTypes.Select(d => ($"compute.{d.Name()}.peak_flops", baseConfig.Number($"compute.{d.Name()}.peak_flops") * f / 100.0)).ToArray();
            var faster = GpuTestSupport.Model(baseConfig.With(scaled));
            var g = SingleOps.MatMul(s.M, s.N, s.K, s.D);
            return GpuTestSupport.Seconds(g, faster) <= GpuTestSupport.Seconds(g, H100);
        }).QuickCheckThrowOnFailure();
    }

    /// <summary>Law: more SMs of the same design (the datasheet's peaks stay quoted for
    /// <c>compute.peak_sm_count</c>) are never slower, for GEMMs and attention on every bundled GPU, power
    /// cap included. (Without that key the same peak is split over more SMs, and a one-wave GEMM slows.) Each
    /// SM keeps its rate, a GEMM needs no more waves with more SMs, and under the cap a faster kernel at
    /// the same energy per FLOP still finishes sooner (time ~ compute^(alpha/(alpha+1))).</summary>
    [Fact]
    public void MoreSmsAreNeverSlower()
    {
        var ops = Gen.OneOf(
            from s in GemmShapes() select SingleOps.MatMul(s.M, s.N, s.K, s.D),
            from b in Gen.Choose(1, 8)
            from q in Gen.Choose(1, 8192)
            from c in Gen.Choose(0, 8192)
            select SingleOps.Attention(b, 32, 8, 128, q, c, DType.Bf16));
        Prop.ForAll((from gpu in Gen.Elements(GpuTestSupport.BundledGpus) from g in ops from extra in Gen.Choose(1, 400) select (gpu, g, extra)).ToArbitrary(), x =>
        {
            var baseConfig = GpuTestSupport.Load(x.gpu);
            var more = GpuTestSupport.Model(baseConfig.With(("compute.sm_count", baseConfig.Number("compute.sm_count") + x.extra)));
            return GpuTestSupport.Seconds(x.g, more) <= GpuTestSupport.Seconds(x.g, GpuTestSupport.Model(baseConfig)) * (1 + 1e-12);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void AHigherClockIsNeverSlower()
    {
        var baseConfig = GpuTestSupport.Load("h100");
        var clock = baseConfig.Number("compute.clock_MHz");
        Prop.ForAll((from s in GemmShapes() from f in Gen.Choose(101, 200) select (s, f)).ToArbitrary(), x =>
        {
            var faster = GpuTestSupport.Model(baseConfig.With(("compute.clock_MHz", clock * x.f / 100.0)));
            var g = SingleOps.MatMul(x.s.M, x.s.N, x.s.K, x.s.D);
            return GpuTestSupport.Seconds(g, faster) <= GpuTestSupport.Seconds(g, H100) * (1 + 1e-12);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void PeaksScaleWithTheSmCountTheyAreQuotedFor()
    {
        var baseConfig = GpuTestSupport.Load("h100");
        var peak = H100.PeakFlops(DType.Bf16);
        var doubled = GpuTestSupport.Model(baseConfig.With(("compute.sm_count", 2 * baseConfig.Number("compute.sm_count"))));
        Assert.Equal(2 * peak, doubled.PeakFlops(DType.Bf16), 6);
        // Without compute.peak_sm_count the peaks are those of the SMs described.
        var unquoted = GpuTestSupport.Model(baseConfig.Without("compute.peak_sm_count").With(("compute.sm_count", 2 * baseConfig.Number("compute.sm_count"))));
        Assert.Equal(peak, unquoted.PeakFlops(DType.Bf16));
    }

    [Fact]
    public void NoGemmBeatsItsRooflineFloor()
    {
        foreach (var name in GpuTestSupport.BundledGpus)
        {
            var device = GpuTestSupport.Model(name);
            Prop.ForAll(GemmShapes().ToArbitrary(), s =>
            {
                var g = SingleOps.MatMul(s.M, s.N, s.K, s.D);
                return GpuTestSupport.Seconds(g, device) >= Floor(device, g.Ops[0]) * (1 - 1e-9);
            }).QuickCheckThrowOnFailure();
        }
    }

    [Fact]
    public void NoOpOfAnyKindBeatsItsRooflineFloor()
    {
        foreach (var name in GpuTestSupport.BundledGpus)
        {
            var device = GpuTestSupport.Model(name);
            foreach (var op in GpuConfigBindingTests.OneOfEach())
            {
                var g = new WorkloadGraph(new WorkloadInfo(op.Name, "op", 1, 1, 0, 1), [op]);
                Assert.True(GpuTestSupport.Seconds(g, device) >= Floor(device, op), $"{name}: {op} beats its floor");
            }
        }
    }

    /// <summary>max(FLOPs / peak, HBM bytes / HBM bandwidth, L2 bytes / L2 bandwidth): L2-resident
    /// activations may move faster than HBM allows, never faster than L2 allows.</summary>
    private static double Floor(GpuDeviceModel device, Op op)
    {
        var cost = device.Cost(op);
        var floor = op.Flops / device.PeakFlops(device.ComputeDType(op));
        foreach (var t in cost.Transfers)
            floor = Math.Max(floor, t.Bytes / device.Topology.Channels[t.Channel].Bandwidth_Bps);
        Assert.Equal(op.Bytes, cost.Transfers.Sum(t => t.Bytes));
        var l2 = device.Topology.ChannelIndex("l2");
        Assert.Equal(op.Bytes, cost.Transfers.Where(t => t.Channel != l2).Sum(t => t.Bytes) + cost.Transfers.Where(t => t.Channel == l2).Sum(t => t.Bytes));
        return floor;
    }

    [Fact]
    public void LargeGemmRunsNearTheSustainedPeak()
    {
        var g = SingleOps.MatMul(8192, 8192, 8192, DType.Bf16);
        var tflops = g.TotalFlops / GpuTestSupport.Seconds(g, H100) / 1e12;
        Assert.InRange(tflops, 600, 989);
    }

    [Fact]
    public void OneTileMoreThanAWaveCostsAWaveMore()
    {
        // One tile shape, no split-K: 132 tiles fill the SMs once; 133 need a second wave.
        var config = GpuTestSupport.Load("h100");
        var keep = config.Values.Where(kv => !kv.Key.StartsWith("gemm.tiles[", StringComparison.Ordinal) || kv.Key.StartsWith("gemm.tiles[0]", StringComparison.Ordinal));
        var single = new AccelSim.Core.Config.HardwareConfig(config.Name, config.Kind, config.File, keep).With(("gemm.split_k_max", 1.0), ("power.cap_W", 5000.0)); // wave quantisation alone, no power cap
        var device = GpuTestSupport.Model(single);
        var tm = (long)single.Number("gemm.tiles[0].m");
        var tn = (long)single.Number("gemm.tiles[0].n");
        // 12 x 11 = 132 tiles; one more row of tiles in M gives 13 x 11 = 143 > 132.
        var full = GpuTestSupport.Seconds(SingleOps.MatMul(12 * tm, 11 * tn, 16384, DType.Bf16), device);
        var over = GpuTestSupport.Seconds(SingleOps.MatMul(12 * tm + 1, 11 * tn, 16384, DType.Bf16), device);
        Assert.InRange(over / full, 1.8, 2.05);
        Assert.Contains("2 waves", device.Cost(SingleOps.MatMul(12 * tm + 1, 11 * tn, 16384, DType.Bf16).Ops[0]).Note);
    }

    [Fact]
    public void MisalignedPitchLosesEfficiency()
    {
        var aligned = GpuTestSupport.Seconds(SingleOps.MatMul(4096, 4096, 4096, DType.Bf16), H100);
        var misaligned = GpuTestSupport.Seconds(SingleOps.MatMul(4096, 4096, 4097, DType.Bf16), H100);
        Assert.True(misaligned > aligned * 1.2, $"4097 ({misaligned}) should be clearly slower than 4096 ({aligned})");
        Assert.Contains("misaligned", H100.Cost(SingleOps.MatMul(4096, 4096, 4097, DType.Bf16).Ops[0]).Note);
    }

    [Theory]
    [InlineData(4097, DType.Bf16, 2)]
    [InlineData(4098, DType.Bf16, 4)]
    [InlineData(4100, DType.Bf16, 8)]
    [InlineData(4104, DType.Bf16, 16)]
    [InlineData(4096, DType.Bf16, 16)]
    [InlineData(4097, DType.Fp32, 4)]
    [InlineData(4098, DType.Fp32, 8)]
    [InlineData(4097, DType.Fp8, 1)]
    [InlineData(4112, DType.Fp8, 16)]
    public void TheVectorIsTheLargestPowerOfTwoDividingThePitch(long k, DType d, double bytes)
    {
        var a = H100.Alignment(new GemmShape(1, 4096, 4096, k), d);
        Assert.Equal(bytes, a.VectorA);
        Assert.Equal(16, a.VectorB);
        Assert.Equal(bytes >= 16, a.Fast);
        var b = H100.Alignment(new GemmShape(1, 4096, k, 4096), d);
        Assert.Equal(bytes, b.VectorB);
        Assert.Equal(bytes >= 16, b.Fast);
    }

    [Fact]
    public void NarrowerVectorsAreNeverFaster()
    {
        // Same work (K within 8 of each other), pitches of 2, 4, 8 and 16 bytes: the FLOP rate falls
        // with the vector, and the 16-byte pitch runs as fast as the power-of-two shape.
        double Rate(long k) => 2.0 * 4096 * 4096 * k / GpuTestSupport.Seconds(SingleOps.MatMul(4096, 4096, k, DType.Bf16), H100);
        var r2 = Rate(4097);
        var r4 = Rate(4098);
        var r8 = Rate(4100);
        var r16 = Rate(4104);
        Assert.True(r2 < r4 && r4 <= r8 && r8 < r16, $"2 B {r2:E3}, 4 B {r4:E3}, 8 B {r8:E3}, 16 B {r16:E3}");
        Assert.InRange(r16 / Rate(4096), 0.97, 1.03);
    }

    [Fact]
    public void TheAllOddCubeMatchesItsAnchor()
    {
        // The single anchor of gemm.fallback.vectors_per_clock_per_sm: bf16 4097^3 on an H100 SXM, 1.01 ms.
        var s = GpuTestSupport.Seconds(SingleOps.MatMul(4097, 4097, 4097, DType.Bf16), H100);
        Assert.InRange(s, 1.01e-3 * 0.95, 1.01e-3 * 1.05);
    }

    [Theory]
    [InlineData(1023)]
    [InlineData(2047)]
    [InlineData(3001)]
    [InlineData(8191)]
    public void EveryOddShapeFallsBackNotOnly4097(long n)
    {
        // The model is a function of the pitch: any odd size is in the 2-byte class and runs near the
        // same fraction of the fallback rate as 4097 once the GPU is full.
        var odd = GpuTestSupport.Seconds(SingleOps.MatMul(n, n, n, DType.Bf16), H100);
        var even = GpuTestSupport.Seconds(SingleOps.MatMul(n + 1, n + 1, n + 1, DType.Bf16), H100);
        Assert.True(odd > 2 * even, $"{n}^3: {odd} s against {n + 1}^3: {even} s");
        Assert.Contains("2/2-byte vectors", H100.Cost(SingleOps.MatMul(n, n, n, DType.Bf16).Ops[0]).Note);
    }

    [Fact]
    public void SimtFp32IsNotBoundByItsLoads()
    {
        // fp32 runs on the SIMT units, 16x slower than bf16 tensor cores: 4-byte loads keep up with it.
        var aligned = GpuTestSupport.Seconds(SingleOps.MatMul(4096, 4096, 4096, DType.Fp32), H100);
        var odd = GpuTestSupport.Seconds(SingleOps.MatMul(4096, 4096, 4097, DType.Fp32), H100);
        Assert.InRange(odd / aligned, 0.99, 1.05);
    }

    [Theory]
    [InlineData("a100-80g", DType.Bf16)]
    [InlineData("rtx4090", DType.Fp16)]
    [InlineData("v100", DType.Fp16)]
    [InlineData("h200", DType.Bf16)]
    public void EveryFamilyFallsBackOnOddPitches(string gpu, DType d)
    {
        var device = GpuTestSupport.Model(gpu);
        var aligned = GpuTestSupport.Seconds(SingleOps.MatMul(4096, 4096, 4096, d), device);
        var odd = GpuTestSupport.Seconds(SingleOps.MatMul(4097, 4097, 4097, d), device);
        var four = GpuTestSupport.Seconds(SingleOps.MatMul(4096, 4096, 4098, d), device);
        Assert.True(odd > 1.2 * aligned, $"{gpu}: 4097^3 {odd} s against 4096^3 {aligned} s");
        Assert.True(four <= odd, $"{gpu}: 4-byte pitch {four} s slower than 2-byte {odd} s");
    }

    [Fact]
    public void SmallCopiesStayInL2AndLargeOnesStreamFromHbm()
    {
        var l2 = H100.Topology.ChannelIndex("l2");
        var hbm = H100.Topology.ChannelIndex("hbm");
        var small = H100.Cost(SingleOps.Copy(16L << 20).Ops[0]);
        var large = H100.Cost(SingleOps.Copy(256L << 20).Ops[0]);
        Assert.All(small.Transfers, t => Assert.Equal(l2, t.Channel));
        Assert.All(large.Transfers, t => Assert.Equal(hbm, t.Channel));
        var smallRate = 2.0 * (16L << 20) / GpuTestSupport.Seconds(SingleOps.Copy(16L << 20), H100);
        var largeRate = 2.0 * (256L << 20) / GpuTestSupport.Seconds(SingleOps.Copy(256L << 20), H100);
        Assert.True(smallRate > largeRate, "an L2-resident copy moves bytes faster than one from HBM");
    }

    [Fact]
    public void DecodeAttentionIsBoundByTheKvRead()
    {
        var g = SingleOps.Attention(64, 32, 32, 128, 1, 4095, DType.Bf16);
        var kvBytes = 2.0 * 64 * 4096 * 32 * 128 * 2;
        var rate = kvBytes / GpuTestSupport.Seconds(g, H100);
        Assert.InRange(rate, 2.5e12, 3.35e12);
    }

    [Fact]
    public void SmallTransfersCannotSaturateHbm()
    {
        var small = H100.HbmSeconds(1 << 20, 0);
        var large = H100.HbmSeconds(1L << 30, 0);
        Assert.True((1 << 20) / small < 0.5 * ((1L << 30) / large));
    }

    [Fact]
    public void CostIsDeterministic()
    {
        foreach (var op in GpuConfigBindingTests.OneOfEach())
        {
            var a = H100.Cost(op);
            var b = H100.Cost(op);
            Assert.Equal((a.LatencyPs, a.ComputePs, a.ComputeEnergyPj, a.Note), (b.LatencyPs, b.ComputePs, b.ComputeEnergyPj, b.Note));
            Assert.Equal(a.Transfers, b.Transfers);
        }
    }

    [Fact]
    public void EnergyIsFirstOrderInFlopsAndBytes()
    {
        var op = SingleOps.MatMul(4096, 4096, 4096, DType.Bf16).Ops[0];
        // At the full clock (power cap lifted; the capped case is GpuPowerModelTests).
        var cost = GpuTestSupport.Model(GpuTestSupport.Load("h100").With(("power.cap_W", 5000.0))).Cost(op);
        var pj = GpuTestSupport.Load("h100").Number("energy.pJ_per_flop.bf16");
        Assert.Equal(op.Flops * pj, cost.ComputeEnergyPj, 6);
        var hbm = GpuTestSupport.Load("h100").Number("energy.pJ_per_byte.hbm");
        var hbmWrite = GpuTestSupport.Load("h100").Number("energy.pJ_per_byte.hbm_write");
        var t = Assert.Single(cost.Transfers, t => t.Channel == H100.MainMemoryChannel);
        Assert.Equal(op.BytesRead * hbm + op.BytesWritten * hbmWrite, t.EnergyPj, 6);
    }

    [Fact]
    public void HostCopiesUseThePcieChannel()
    {
        var pcie = H100.Topology.ChannelIndex("pcie");
        var pinned = H100.HostCopy(1 << 26, HostDirection.HostToDevice, HostMemory.Pinned);
        var pageable = H100.HostCopy(1 << 26, HostDirection.HostToDevice, HostMemory.Pageable);
        Assert.Equal(pcie, Assert.Single(pinned.Transfers).Channel);
        Assert.True(pinned.Transfers[0].RateCap_Bps > pageable.Transfers[0].RateCap_Bps);
    }
}
