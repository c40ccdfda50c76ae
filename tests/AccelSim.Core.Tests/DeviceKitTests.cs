using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins;
using AccelSim.Core.Plugins.Kit;
using AccelSim.Core.Tests.Support;

namespace AccelSim.Core.Tests;

/// <summary>The plugin kit: the dtype promotion ladder, per-dtype keys and the plugin base.</summary>
public class DeviceKitTests
{
    /// <summary>A device with a peak for exactly the types in <paramref name="mask"/> (bit i: DTypes.All[i]).</summary>
    private sealed class PeakDevice(int mask) : IDeviceModel
    {
        public string Name => "peaks";
        public string Kind => "fake";
        public DeviceTopology Topology { get; } = FakeDevice.Simple();
        public int MainMemoryChannel => 0;
        public double StaticPowerW => 0;
        public double PeakFlops(DType dtype) => (mask & (1 << Array.IndexOf(DTypes.All, dtype))) != 0 ? 1e12 : 0;
        public int PlaceTensor(Tensor tensor) => 0;
        public OpCost Cost(Op op) => new(0, 0, 0, [], 0);
    }

    // The ladders the four families wrote out before they shared one, as the oracle.
    private static DType Gpu(DType d) => d switch
    {
        DType.Int4 => DType.Int8, DType.Int8 => DType.Fp8, DType.Fp8 => DType.Bf16, DType.Bf16 => DType.Fp16,
        DType.Fp16 => DType.Fp32, DType.Tf32 => DType.Fp32, _ => DType.Fp32,
    };

    private static DType Wafer(DType d) => d == DType.Fp8 ? DType.Fp16 : Gpu(d);

    private static DType Rdu(DType d) => d == DType.Tf32 ? DType.Fp32 : DType.Bf16;

    private static DType Walk(DType d, IDeviceModel device, Func<DType, DType> next)
    {
        for (var i = 0; i < 8 && device.PeakFlops(d) <= 0; i++) d = next(d);
        return d;
    }

    public static TheoryData<string> Ladders => new() { "standard", "wafer", "rdu" };

    [Theory]
    [MemberData(nameof(Ladders))]
    public void A_ladder_promotes_as_the_families_did_for_every_set_of_supported_types(string name)
    {
        var (ladder, oracle) = name switch
        {
            "standard" => (DTypeLadder.Standard, (Func<DType, DType>)Gpu),
            "wafer" => (DTypeLadder.Standard.With(DType.Fp8, DType.Fp16), Wafer),
            _ => (new DTypeLadder(DType.Bf16, new Dictionary<DType, DType> { [DType.Tf32] = DType.Fp32 }), Rdu),
        };
        for (var mask = 0; mask < 1 << DTypes.All.Length; mask++)
        {
            var device = new PeakDevice(mask);
            foreach (var d in DTypes.All)
                Assert.Equal(Walk(d, device, oracle), ladder.Supported(d, device));
        }
    }

    [Fact]
    public void A_supported_type_is_its_own_answer_and_With_leaves_the_original_ladder_alone()
    {
        var all = new PeakDevice((1 << DTypes.All.Length) - 1);
        foreach (var d in DTypes.All) Assert.Equal(d, DTypeLadder.Standard.Supported(d, all));
        var changed = DTypeLadder.Standard.With(DType.Fp8, DType.Fp16);
        Assert.Equal(DType.Fp16, changed.Next(DType.Fp8));
        Assert.Equal(DType.Bf16, DTypeLadder.Standard.Next(DType.Fp8));
        Assert.Equal(DType.Fp32, DTypeLadder.Standard.Next(DType.Fp32));
    }

    private static HardwareConfig Config(params (string Path, double Value)[] values) =>
        new("kit", "fake", "kit.json", values.Select(v => new KeyValuePair<string, ConfigValue>(v.Path, ConfigValue.Of(v.Value))));

    [Fact]
    public void PerDType_binds_each_type_s_keys_and_reports_every_problem_in_config_order()
    {
        DType[] types = [DType.Fp32, DType.Bf16];
        var b = new ConfigBinder(Config(
            ("compute.fp32.peak_flops", 0), ("energy.pJ_per_flop.fp32", 1.5),
            ("compute.bf16.peak_flops", 0), ("compute.eff.bf16", 2)));
        var tables = b.PerDType(types, DTypeKey.PeakFlops(required: DType.Fp32), new DTypeKey("compute.eff.{0}", 0, 1, ExclusiveMin: true), DTypeKey.PjPerFlop);
        Assert.Equal(3, tables.Length);
        Assert.Equal(0, tables[0][DType.Bf16]); // 0 = unsupported, allowed for any type but the required one
        Assert.Equal(1.5, tables[2][DType.Fp32]);
        Assert.Equal(
            ["compute.fp32.peak_flops", "compute.eff.fp32", "compute.eff.bf16", "energy.pJ_per_flop.bf16"],
            b.Problems.Select(p => p.Path!).ToArray());
        Assert.Contains("> 0", b.Problems[0].Message);
        Assert.Contains("in [0, 1]", b.Problems[2].Message);
    }

    [Fact]
    public void Parameters_lists_one_key_per_type_with_its_name_filled_in()
    {
        var list = DTypeKeys.Parameters([DType.Fp16, DType.Int8], "energy.pJ_per_flop.{0}", "pJ/FLOP", "energy per {0} FLOP").ToArray();
        Assert.Equal(["energy.pJ_per_flop.fp16", "energy.pJ_per_flop.int8"], list.Select(p => p.Path).ToArray());
        Assert.Equal("energy per int8 FLOP", list[1].Description);
        Assert.All(list, p => Assert.Equal("pJ/FLOP", p.Unit));
    }

    private sealed record ToySpec(string Name, double Bandwidth);

    private sealed class ToyPlugin() : DevicePlugin<ToySpec>(new("toy", "1.0", "a toy", []))
    {
        protected override ToySpec Bind(HardwareConfig config)
        {
            var b = new ConfigBinder(config);
            var spec = new ToySpec(config.Name, b.Positive("memory.bandwidth_Bps"));
            b.ThrowIfInvalid();
            return spec;
        }

        protected override IDeviceModel Build(ToySpec spec) =>
            new FakeDevice(FakeDevice.Simple(bandwidth: spec.Bandwidth)) { Name = spec.Name };
    }

    [Fact]
    public void A_kit_plugin_binds_then_builds_and_takes_its_kind_from_its_descriptor()
    {
        IDevicePlugin plugin = new ToyPlugin();
        Assert.Equal("toy", plugin.Kind);
        var device = plugin.Create(Config(("memory.bandwidth_Bps", 2e9)));
        Assert.Equal("kit", device.Name);
        Assert.Equal(2e9, device.Topology.Channels[0].Bandwidth_Bps);
        var e = Assert.Throws<InputException>(() => plugin.Create(Config()));
        Assert.Equal("memory.bandwidth_Bps", Assert.Single(e.Problems).Path);
    }
}
