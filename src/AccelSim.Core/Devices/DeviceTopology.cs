namespace AccelSim.Core.Devices;

/// <summary>Something that computes: an SM array, a DSP array, a region of wafer cores, PCUs.
/// <see cref="Units"/> tasks may run on it at once.</summary>
public sealed record EngineSpec(string Name, int Units);

/// <summary>What a channel is: a path to a memory tier, or a link between places.</summary>
public enum ChannelRole
{
    /// <summary>Reads and writes one memory tier (HBM, DDR, on-chip SRAM, host memory over PCIe, an NVMe
    /// drive). Its traffic and energy are reported under the tier's name.</summary>
    Memory,

    /// <summary>Moves bytes between places and holds none (a wafer's mesh fabric, peer links between the
    /// sockets of a node). Its traffic and energy are reported under its own name; it has no capacity.</summary>
    Link,
}

/// <summary>Something that moves bytes (HBM, DDR, PCIe, NoC, peer links) with a bandwidth and a latency.
/// Concurrent transfers share the bandwidth max-min fairly. A channel is either a memory channel of a
/// tier (<see cref="Memory"/>: <see cref="Tier"/> names the tier it reads and writes) or a link that holds
/// nothing (<see cref="Link"/>: <see cref="Tier"/> is null). <see cref="OffChip"/> marks traffic that
/// leaves the chip.</summary>
public sealed record ChannelSpec(string Name, double Bandwidth_Bps, long LatencyPs, string? Tier, bool OffChip)
{
    /// <summary>A channel that reads and writes memory tier <paramref name="tier"/>.</summary>
    public static ChannelSpec Memory(string name, double bandwidth_Bps, long latencyPs, string tier, bool offChip)
    {
        ArgumentException.ThrowIfNullOrEmpty(tier);
        return new(name, bandwidth_Bps, latencyPs, tier, offChip);
    }

    /// <summary>A link: moves bytes between places and belongs to no tier.</summary>
    public static ChannelSpec Link(string name, double bandwidth_Bps, long latencyPs, bool offChip) =>
        new(name, bandwidth_Bps, latencyPs, null, offChip);

    public ChannelRole Role => Tier is null ? ChannelRole.Link : ChannelRole.Memory;

    public bool IsLink => Tier is null;

    /// <summary>The name the channel's traffic and energy are reported under: its tier, or a link's own
    /// name (<c>memory.bytes_moved</c>, <c>energy_breakdown_j.memory</c>, an op's <c>bytes</c>).</summary>
    public string TrafficName => Tier ?? Name;
}

/// <summary>Whose memory a tier is, for code that needs a kind of memory rather than a tier of some name
/// (a training placement looks for host memory and a drive).</summary>
public enum TierKind
{
    /// <summary>The device's own memory, on chip or on its board or package (SRAM, HBM, on-board DDR, an
    /// external weight store of its own).</summary>
    Device,

    /// <summary>Memory of the host the device is attached to (host DDR, reached over the host link).</summary>
    Host,

    /// <summary>A drive (NVMe) on the host.</summary>
    Storage,
}

/// <summary>A memory that holds bytes. Exceeding the capacity is reported, never a crash. <see cref="Kind"/>
/// says whose memory it is.</summary>
public sealed record TierSpec(string Name, long CapacityBytes, bool OffChip, TierKind Kind = TierKind.Device);

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
            if (c.Tier is { } tier && !tiers.Any(t => t.Name == tier)) throw new ArgumentException($"channel '{c.Name}' names unknown tier '{tier}'", nameof(channels));
            if (c.IsLink && tiers.Any(t => t.Name == c.Name)) throw new ArgumentException($"link '{c.Name}' has the name of a tier; a link's traffic is reported under its own name", nameof(channels));
        }
        foreach (var t in tiers)
            if (t.CapacityBytes < 0) throw new ArgumentException($"tier '{t.Name}' has a negative capacity", nameof(tiers));
        Engines = engines.ToArray();
        Channels = channels.ToArray();
        Tiers = tiers.ToArray();
        TrafficNames = [.. Tiers.Select(t => t.Name), .. Channels.Where(c => c.IsLink).Select(c => c.Name)];
    }

    public IReadOnlyList<EngineSpec> Engines { get; }
    public IReadOnlyList<ChannelSpec> Channels { get; }
    public IReadOnlyList<TierSpec> Tiers { get; }

    public int EngineIndex(string name) => IndexOf(Engines.Select(e => e.Name), name, "engine");
    public int ChannelIndex(string name) => IndexOf(Channels.Select(c => c.Name), name, "channel");
    public int TierIndex(string name) => IndexOf(Tiers.Select(t => t.Name), name, "tier");

    /// <summary>The names traffic is reported under, each once: every tier, then every link, in index order.</summary>
    public IReadOnlyList<string> TrafficNames { get; }

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
