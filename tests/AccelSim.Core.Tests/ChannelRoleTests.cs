using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Metrics;
using AccelSim.Core.Tests.Support;
using static AccelSim.Core.Tests.Support.Programs;

namespace AccelSim.Core.Tests;

/// <summary>Channels are memory channels of a tier or links of none; reports account a link's traffic
/// under its own name and give it no capacity.</summary>
public class ChannelRoleTests
{
    private static DeviceTopology WithLink() =>
        new([new EngineSpec("pe", 1)],
            [
                ChannelSpec.Memory("hbm", 1e12, 0, "hbm", offChip: true),
                ChannelSpec.Link("mesh", 5e11, 1000, offChip: false),
            ],
            [new TierSpec("hbm", 1L << 40, OffChip: true)]);

    [Fact]
    public void The_factories_set_the_role()
    {
        var memory = ChannelSpec.Memory("hbm", 1, 0, "hbm", offChip: true);
        var link = ChannelSpec.Link("p2p", 1, 0, offChip: true);
        Assert.Equal(ChannelRole.Memory, memory.Role);
        Assert.False(memory.IsLink);
        Assert.Equal("hbm", memory.TrafficName);
        Assert.Equal(ChannelRole.Link, link.Role);
        Assert.True(link.IsLink);
        Assert.Null(link.Tier);
        Assert.Equal("p2p", link.TrafficName);
        Assert.Throws<ArgumentException>(() => ChannelSpec.Memory("x", 1, 0, "", offChip: true));
    }

    [Fact]
    public void A_topology_refuses_an_unknown_tier_and_a_link_named_like_a_tier()
    {
        TierSpec[] tiers = [new("hbm", 1, true)];
        var unknown = Assert.Throws<ArgumentException>(() => new DeviceTopology([new EngineSpec("pe", 1)], [ChannelSpec.Memory("c", 1, 0, "ddr", true)], tiers));
        Assert.Contains("unknown tier 'ddr'", unknown.Message);
        var clash = Assert.Throws<ArgumentException>(() => new DeviceTopology([new EngineSpec("pe", 1)], [ChannelSpec.Link("hbm", 1, 0, true)], tiers));
        Assert.Contains("link 'hbm'", clash.Message);
        Assert.Equal(["hbm", "mesh"], WithLink().TrafficNames.ToArray());
    }

    [Fact]
    public void Main_memory_must_be_a_memory_channel()
    {
        Assert.Equal("hbm", new FakeDevice(WithLink()).MainMemoryTier());
        var onLink = new FakeDevice(WithLink()) { MainMemoryChannel = 1 };
        Assert.Throws<InvalidOperationException>(() => onLink.MainMemoryTier());
    }

    [Fact]
    public void A_link_s_bytes_and_energy_are_reported_under_its_name_and_it_has_no_capacity_row()
    {
        var topo = WithLink();
        var cost = new OpCost(0, 0, 1000, [new TransferDemand(0, 4096, 1e12, 40), new TransferDemand(1, 1 << 20, 5e11, 300)], 7);
        var device = new FakeDevice(topo) { StaticPowerW = 0 };
        var metrics = MetricsCalculator.Compute(Run(From([cost]), device), device);
        Assert.Equal(1 << 20, metrics.Memory.BytesMoved["mesh"]);
        Assert.Equal(4096, metrics.Memory.BytesMoved["hbm"]);
        Assert.Equal(300.0, metrics.Energy.MemoryJ["mesh"] * 1e12, 9);
        Assert.Equal(["hbm"], metrics.Memory.CapacityBytes.Keys.ToArray());
        Assert.Equal(["hbm"], metrics.Memory.PeakBytes.Keys.ToArray());
        Assert.Equal(347.0, metrics.Energy.TotalJ * 1e12, 9);
        Assert.Equal(1 << 20, Assert.Single(metrics.Ops).BytesByTier["mesh"]);
    }

    /// <summary>A device whose tiers carry other names than a GPU's: kinds, not names, say which is which.</summary>
    private sealed class KindsDevice(TierKind hostKind) : IDeviceModel
    {
        public string Name => "kinds";
        public string Kind => "fake";
        public DeviceTopology Topology { get; } = new([new EngineSpec("pe", 1)],
            [ChannelSpec.Memory("vram", 1e12, 0, "vram", true), ChannelSpec.Memory("bus", 1e10, 0, "host", true), ChannelSpec.Memory("disk", 1e9, 0, "flash", true)],
            [new TierSpec("vram", 1 << 30, true), new TierSpec("host", 1L << 34, true, hostKind), new TierSpec("flash", 1L << 40, true, TierKind.Storage)]);
        public IReadOnlyList<string> Tiers => ["vram", "host", "flash"];
        public DeviceCapabilities Capabilities => new() { MemoryHierarchy = new Hierarchy(Tiers) };
        public int MainMemoryChannel => 0;
        public double StaticPowerW => 0;
        public double PeakFlops(DType dtype) => 1e12;
        public int PlaceTensor(Tensor tensor) => 0;
        public OpCost Cost(Op op) => new(0, 0, 0, [], 0);

        private sealed record Hierarchy(IReadOnlyList<string> PlacementTiers) : IMemoryHierarchy;
    }

    [Fact]
    public void Placement_finds_host_memory_and_a_drive_by_their_kind_not_their_name()
    {
        var typed = new KindsDevice(TierKind.Host);
        Assert.Equal("host", Placement.TierOfKind(typed, TierKind.Host));
        Assert.Equal("flash", Placement.TierOfKind(typed, TierKind.Storage));
        Assert.Equal("vram", Placement.TierOfKind(typed, TierKind.Device));
        // A tier named "host" that is the device's own memory is not host memory.
        Assert.Null(Placement.TierOfKind(new KindsDevice(TierKind.Device), TierKind.Host));
        Assert.Equal(HostCompute.In("dram"), new TierTransfer("dram", "dram"));
    }
}
