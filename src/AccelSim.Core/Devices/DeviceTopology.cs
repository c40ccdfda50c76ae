namespace AccelSim.Core.Devices;

/// <summary>Something that computes: an SM array, a DSP array, a region of wafer cores, PCUs.
/// <see cref="Units"/> tasks may run on it at once.</summary>
public sealed record EngineSpec(string Name, int Units);

/// <summary>Something that moves bytes (HBM, DDR, PCIe, NoC) with a bandwidth and a latency.
/// Concurrent transfers share the bandwidth max-min fairly. <see cref="Tier"/> names the memory tier
/// the channel reads and writes; <see cref="OffChip"/> marks traffic that leaves the chip.</summary>
public sealed record ChannelSpec(string Name, double Bandwidth_Bps, long LatencyPs, string Tier, bool OffChip);

/// <summary>A memory that holds bytes. Exceeding the capacity is reported, never a crash.</summary>
public sealed record TierSpec(string Name, long CapacityBytes, bool OffChip);

/// <summary>The resources of one device, in the index order tasks and transfers refer to.</summary>
public sealed class DeviceTopology
{
    public DeviceTopology(IReadOnlyList<EngineSpec> engines, IReadOnlyList<ChannelSpec> channels, IReadOnlyList<TierSpec> tiers)
    {
        if (engines.Count == 0) throw new ArgumentException("a device needs at least one engine", nameof(engines));
        foreach (var e in engines)
            if (e.Units <= 0) throw new ArgumentException($"engine '{e.Name}' needs at least one unit", nameof(engines));
        foreach (var c in channels)
        {
            if (!(c.Bandwidth_Bps > 0)) throw new ArgumentException($"channel '{c.Name}' needs a positive bandwidth", nameof(channels));
            if (c.LatencyPs < 0) throw new ArgumentException($"channel '{c.Name}' has a negative latency", nameof(channels));
            if (!tiers.Any(t => t.Name == c.Tier)) throw new ArgumentException($"channel '{c.Name}' names unknown tier '{c.Tier}'", nameof(channels));
        }
        foreach (var t in tiers)
            if (t.CapacityBytes < 0) throw new ArgumentException($"tier '{t.Name}' has a negative capacity", nameof(tiers));
        Engines = engines.ToArray();
        Channels = channels.ToArray();
        Tiers = tiers.ToArray();
    }

    public IReadOnlyList<EngineSpec> Engines { get; }
    public IReadOnlyList<ChannelSpec> Channels { get; }
    public IReadOnlyList<TierSpec> Tiers { get; }

    public int EngineIndex(string name) => IndexOf(Engines.Select(e => e.Name), name, "engine");
    public int ChannelIndex(string name) => IndexOf(Channels.Select(c => c.Name), name, "channel");
    public int TierIndex(string name) => IndexOf(Tiers.Select(t => t.Name), name, "tier");

    private static int IndexOf(IEnumerable<string> names, string name, string what)
    {
        var i = 0;
        foreach (var n in names)
        {
            if (n == name) return i;
            i++;
        }
        throw new KeyNotFoundException($"no {what} named '{name}'");
    }
}
