using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Plugins;
using AccelSim.Core.Time;

namespace AccelSim.TestPlugin;

/// <summary>A roofline device: one processing element array and one DRAM channel.</summary>
public sealed class ToyPlugin : IDevicePlugin
{
    public string Kind => "toy";

    public PluginDescriptor Descriptor { get; } = new("toy", "1.0", "A roofline device for plugin-loading tests",
    [
        new PluginParameter("compute.peak_flops", "FLOP/s", "Peak arithmetic rate"),
        new PluginParameter("memory.dram.bandwidth_Bps", "B/s", "DRAM bandwidth"),
        new PluginParameter("memory.dram.capacity_bytes", "B", "DRAM capacity"),
    ]);

    public IDeviceModel Create(HardwareConfig config)
    {
        var b = new ConfigBinder(config);
        var peak = b.Positive("compute.peak_flops");
        var bw = b.Positive("memory.dram.bandwidth_Bps");
        var cap = b.Positive("memory.dram.capacity_bytes");
        b.ThrowIfInvalid();
        return new ToyDevice(config.Name, peak, bw, (long)cap);
    }

    private sealed class ToyDevice(string name, double peak, double bandwidth, long capacity) : IDeviceModel
    {
        public string Name => name;
        public string Kind => "toy";
        public DeviceTopology Topology { get; } = new(
            [new EngineSpec("pe", 1)],
            [new ChannelSpec("dram", bandwidth, 0, "dram", true)],
            [new TierSpec("dram", capacity, true)]);
        public int MainMemoryChannel => 0;
        public double StaticPowerW => 10;
        public double PeakFlops(DType dtype) => peak;
        public int PlaceTensor(Tensor tensor) => 0;
        public OpCost Cost(Op op) => new(0, 0, Ps.FromSeconds(op.Flops / peak),
            [new TransferDemand(0, op.Bytes, bandwidth, op.Bytes * 10.0)], op.Flops * 1.0);
    }
}
