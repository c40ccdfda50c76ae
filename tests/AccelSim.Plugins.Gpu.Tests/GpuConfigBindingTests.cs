using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins;
using AccelSim.Workloads;
using AccelSim.Workloads.Configs;
using Microsoft.Extensions.DependencyInjection;

namespace AccelSim.Plugins.Gpu.Tests;

public class GpuConfigBindingTests
{
    [Fact]
    public void MissingFieldIsReportedWithItsPath()
    {
        var config = GpuTestSupport.Load("h100").Without("memory.hbm.bandwidth_Bps");
        var e = Assert.Throws<InputException>(() => new GpuPlugin().Create(config));
        var p = Assert.Single(e.Problems);
        Assert.Equal("memory.hbm.bandwidth_Bps", p.Path);
        Assert.Contains("missing", p.Message);
        Assert.Equal(config.File, p.File);
    }

    [Fact]
    public void NegativeValueIsReportedWithItsPath()
    {
        var config = GpuTestSupport.Load("h100").With(("compute.bf16.peak_flops", -1.0));
        var e = Assert.Throws<InputException>(() => new GpuPlugin().Create(config));
        var p = Assert.Single(e.Problems);
        Assert.Equal("compute.bf16.peak_flops", p.Path);
        Assert.Contains("-1", p.Message);
    }

    [Fact]
    public void EveryProblemIsReportedAtOnce()
    {
        var config = GpuTestSupport.Load("h100")
            .Without("compute.sm_count", "gemm.tiles[2].efficiency")
            .With(("memory.l2.resident_fraction", 1.5), ("launch.kernel_start_s", -2e-6));
        var e = Assert.Throws<InputException>(() => new GpuPlugin().Create(config));
        Assert.Equal(
            new[] { "compute.sm_count", "gemm.tiles[2].efficiency", "launch.kernel_start_s", "memory.l2.resident_fraction" },
            e.Problems.Select(p => p.Path).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void MinimumClockAboveBoostIsRejected()
    {
        var config = GpuTestSupport.Load("h100").With(("power.dvfs.min_clock_fraction", 1.2));
        var e = Assert.Throws<InputException>(() => new GpuPlugin().Create(config));
        Assert.Equal("power.dvfs.min_clock_fraction", Assert.Single(e.Problems).Path);
    }

    [Theory]
    [MemberData(nameof(Gpus))]
    public void EveryBundledConfigLoadsAndCostsEveryOpKind(string name)
    {
        var device = GpuTestSupport.Model(name);
        Assert.Equal("gpu", device.Kind);
        Assert.Equal(name, device.Name);
        Assert.Equal("hbm", device.Topology.Channels[device.MainMemoryChannel].Name);
        Assert.True(device.StaticPowerW > 0);
        foreach (var op in OneOfEach())
        {
            var cost = device.Cost(op);
            var seconds = (cost.LatencyPs + cost.ComputePs) / 1e12;
            Assert.True(seconds > 0, $"{name}: {op} costs nothing");
            Assert.Equal(op.Bytes, cost.Transfers.Sum(t => t.Bytes));
            Assert.False(string.IsNullOrEmpty(cost.Note));
        }
    }

    [Theory]
    [MemberData(nameof(Gpus))]
    public void EveryDtypeRunsOnAPositivePeak(string name)
    {
        var device = GpuTestSupport.Model(name);
        foreach (var d in DTypes.All)
        {
            var op = SingleOps.MatMul(256, 256, 256, d).Ops[0];
            Assert.True(device.PeakFlops(device.ComputeDType(op)) > 0, $"{name}: {d.Name()} promotes to an unsupported type");
        }
    }

    [Fact]
    public void UnsupportedDtypesArePromoted()
    {
        var a100 = GpuTestSupport.Model("a100-80g");
        Assert.Equal(DType.Bf16, a100.ComputeDType(SingleOps.MatMul(64, 64, 64, DType.Fp8).Ops[0]));
        var v100 = GpuTestSupport.Model("v100");
        Assert.Equal(DType.Fp16, v100.ComputeDType(SingleOps.MatMul(64, 64, 64, DType.Bf16).Ops[0]));
        Assert.Equal(DType.Fp32, v100.ComputeDType(SingleOps.MatMul(64, 64, 64, DType.Tf32).Ops[0]));
    }

    [Fact]
    public void DescriptorListsEveryBoundKeyOfTheBundledConfigs()
    {
        var described = new GpuPlugin().Descriptor.Parameters
            .Select(p => System.Text.RegularExpressions.Regex.Replace(p.Path, @"\[\]", "[]")).ToHashSet(StringComparer.Ordinal);
        foreach (var name in GpuTestSupport.BundledGpus)
        {
            foreach (var key in GpuTestSupport.Load(name).Values.Keys.Where(k => !HardwareConfig.IsDocumentation(k)))
            {
                var generic = System.Text.RegularExpressions.Regex.Replace(key, @"\[\d+\]", "[]");
                Assert.True(described.Contains(generic), $"{name}: key '{key}' is not in the plugin descriptor (typo or undocumented)");
            }
        }
        foreach (var p in new GpuPlugin().Descriptor.Parameters)
        {
            Assert.False(string.IsNullOrWhiteSpace(p.Unit), p.Path);
            Assert.False(string.IsNullOrWhiteSpace(p.Description), p.Path);
        }
    }

    [Fact]
    public void RegistersThroughDependencyInjection()
    {
        using var sp = new ServiceCollection().AddAccelSimCore().AddGpuPlugin().BuildServiceProvider();
        var registry = sp.GetRequiredService<PluginRegistry>();
        var device = registry.Create(HardwareConfigLoader.LoadNamed("h100"));
        Assert.IsType<GpuDeviceModel>(device);
    }

    public static TheoryData<string> Gpus()
    {
        var data = new TheoryData<string>();
        foreach (var g in GpuTestSupport.BundledGpus) data.Add(g);
        return data;
    }

    internal static IEnumerable<Op> OneOfEach()
    {
        var x = new Tensor(0, "x", [512, 4096], DType.Bf16, TensorRole.Activation);
        var y = new Tensor(1, "y", [512, 4096], DType.Bf16, TensorRole.Activation);
        var w = new Tensor(2, "w", [32000, 4096], DType.Bf16, TensorRole.Weight);
        foreach (var kind in Enum.GetValues<OpKind>())
        {
            switch (kind)
            {
                case OpKind.MatMul:
                    yield return SingleOps.MatMul(512, 4096, 4096, DType.Bf16).Ops[0];
                    break;
                case OpKind.Attention:
                    yield return SingleOps.Attention(1, 32, 8, 128, 512, 0, DType.Bf16).Ops[0];
                    yield return SingleOps.Attention(4, 32, 8, 128, 1, 2047, DType.Bf16).Ops[0];
                    break;
                case OpKind.Embedding:
                    yield return new Op(0, "embed", kind, -1, [w], [y], 0, DType.Bf16, bytesRead: 512L * 4096 * 2);
                    break;
                case OpKind.Copy:
                    yield return SingleOps.Copy(1 << 26).Ops[0];
                    break;
                default:
                    yield return new Op(0, kind.Name(), kind, 0, [x], [y], 10L * 512 * 4096, DType.Bf16);
                    break;
            }
        }
    }
}

public class GpuDatasheetTests
{
    private static readonly string[] Products = ["h100", "h200", "a100-80g", "rtx4090", "v100"];

    private static IEnumerable<string> NumberKeys(string file)
    {
        var dir = Directory.CreateTempSubdirectory("accelsim-gpu-");
        try
        {
            // Load the file on its own (no family) to see exactly the keys it gives.
            var root = Newtonsoft.Json.Linq.JObject.Parse(File.ReadAllText(file));
            root.Remove("family");
            var copy = Path.Combine(dir.FullName, "x.json");
            File.WriteAllText(copy, root.ToString());
            return HardwareConfigLoader.Load(copy).Values.Keys.Where(k => !HardwareConfig.IsDocumentation(k)).ToArray();
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("h100")]
    [InlineData("h200")]
    [InlineData("a100-80g")]
    [InlineData("a100-40g")]
    [InlineData("rtx4090")]
    [InlineData("v100")]
    [InlineData("v100s")]
    [InlineData("a6000")]
    public void ProductFilesHoldOnlyDatasheetNumbers(string name)
    {
        var keys = NumberKeys(Path.Combine(BundledConfigs.HardwareDir, name + ".json"));
        var extra = keys.Except(GpuParameters.DatasheetKeys, StringComparer.Ordinal).ToArray();
        Assert.True(extra.Length == 0, $"{name}.json gives non-datasheet keys (they belong in its family): {string.Join(", ", extra)}");
        Assert.Contains("memory.hbm.bandwidth_Bps", keys);
    }

    [Theory]
    [InlineData("hopper")]
    [InlineData("ampere")]
    [InlineData("ada")]
    [InlineData("volta")]
    public void FamilyFilesHoldNoDatasheetNumbers(string family)
    {
        var keys = NumberKeys(Path.Combine(BundledConfigs.HardwareDir, "families", family + ".json"));
        var datasheet = keys.Intersect(GpuParameters.DatasheetKeys, StringComparer.Ordinal).ToArray();
        Assert.True(datasheet.Length == 0, $"{family}.json gives product keys: {string.Join(", ", datasheet)}");
        Assert.Contains("power.dvfs.alpha", keys);
    }

    [Fact]
    public void ANewProductNeedsOnlyItsDatasheet()
    {
        // A hypothetical Hopper part: the H100's datasheet with fewer SMs, a lower clock and slower
        // memory, written with datasheet keys only; its family supplies everything else.
        var dir = Directory.CreateTempSubdirectory("accelsim-gpu-");
        try
        {
            var path = Path.Combine(dir.FullName, "hopper-lite.json");
            File.WriteAllText(path, """
                {"name": "hopper-lite", "kind": "gpu", "family": "hopper", "source": "test datasheet",
                 "compute": {"sm_count": 114, "clock_MHz": 1755,
                   "fp32": {"peak_flops": 51.2e12}, "tf32": {"peak_flops": 378e12}, "bf16": {"peak_flops": 756e12},
                   "fp16": {"peak_flops": 756e12}, "fp8": {"peak_flops": 1513e12}, "int8": {"peak_flops": 1513e12}},
                 "memory": {"hbm": {"capacity_bytes": 85899345920, "bandwidth_Bps": 2.0e12}, "l2": {"capacity_bytes": 52428800}},
                 "host": {"pcie": {"bandwidth_Bps": 64e9}},
                 "power": {"tdp_W": 350, "cap_W": 350, "static_W": 80}}
                """);
            var lite = GpuTestSupport.Model(HardwareConfigLoader.Load(path));
            var h100 = GpuTestSupport.Model("h100");
            Assert.Equal(114, lite.Spec.SmCount);
            Assert.Equal(h100.Spec.Power.Alpha, lite.Spec.Power.Alpha);
            // L2 bandwidth follows SMs x clock.
            Assert.Equal(h100.Spec.L2BandwidthBps * 114 * 1755 / (132.0 * 1980), lite.Spec.L2BandwidthBps, 0);

            // Memory-bound work scales with the bandwidth, compute-bound work with SMs x clock x peak.
            var copy = SingleOps.Copy(1L << 30);
            Assert.InRange(GpuTestSupport.Seconds(copy, lite) / GpuTestSupport.Seconds(copy, h100), 3.35 / 2.0 * 0.97, 3.35 / 2.0 * 1.03);
            // (at the full clock: with their power caps the lower-power part also throttles harder)
            var gemm = SingleOps.MatMul(8192, 8192, 8192, DType.Bf16);
            var liteFree = GpuTestSupport.Model(HardwareConfigLoader.Load(path).With(("power.cap_W", 5000.0)));
            var h100Free = GpuTestSupport.Model(GpuTestSupport.Load("h100").With(("power.cap_W", 5000.0)));
            Assert.InRange(GpuTestSupport.Seconds(gemm, liteFree) / GpuTestSupport.Seconds(gemm, h100Free), 989.4 / 756 * 0.95, 989.4 / 756 * 1.15);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
