using AccelSim.Core.Config;
using AccelSim.Core.Systems;

namespace AccelSim.Workloads.Configs;

/// <summary>Loads a system description (<c>configs/systems/*.json</c>, <c>"kind": "system"</c>;
/// docs/systems.md) into a <see cref="SystemSpec"/>. Strict like hardware configs: every problem is
/// collected with its file and JSON path, and a key nobody reads is an error naming the nearest known
/// keys. Documentation keys (<c>source</c>, <c>*_source</c>, <c>comment</c>) and the <c>provenance</c>
/// object are allowed anywhere.</summary>
public static class SystemConfigLoader
{
    /// <summary>The name errors give the parameter that names a system.</summary>
    public const string Parameter = RequestParameter.System;

    /// <summary>The value of <c>kind</c> in a system file.</summary>
    public const string Kind = "system";

    /// <summary>Loads a bundled system name (<c>dgx-h100</c>) or a path to a system file.</summary>
    public static SystemSpec LoadNamed(string nameOrPath) =>
        Load(BundledConfigs.Resolve(nameOrPath, BundledConfigs.SystemsDir, Parameter));

    /// <summary>Loads the system file at <paramref name="path"/>.</summary>
    public static SystemSpec Load(string path) => Bind(LoadRaw(path), path);

    /// <summary>The file flattened to JSON paths, with its provenance tags (for tests and reports).</summary>
    public static HardwareConfig LoadRaw(string path)
    {
        var config = HardwareConfigLoader.Load(path);
        if (config.Files.Count > 1) throw new InputException(path, "family", "a system file has no architecture family; remove 'family'");
        return config;
    }

    private static SystemSpec Bind(HardwareConfig config, string path)
    {
        var b = new ConfigBinder(config);
        if (config.Kind != Kind) b.Fail("kind", $"expected \"{Kind}\", got \"{config.Kind}\"");
        var nodes = (int)b.Integer("nodes", 1, 1 << 20);

        var device = b.Text("node.device");
        if (device.Length > 0) device = ResolveDevice(b, device, path);
        var devices = (int)b.Integer("node.devices", 1, 1 << 16);
        var kindText = b.Text("node.fabric.kind");
        var fabric = kindText switch
        {
            "nvswitch" => IntraNodeFabricKind.NVSwitch,
            "pcie" => IntraNodeFabricKind.Pcie,
            "direct" => IntraNodeFabricKind.Direct,
            _ => Bad(b, "node.fabric.kind", kindText, "nvswitch, pcie or direct", IntraNodeFabricKind.NVSwitch),
        };
        var nodeLink = Link(b, "node.fabric");
        var innet = RequiredFlag(b, "node.fabric.in_network_reduction");
        var node = new NodeSpec(device, devices, fabric, nodeLink, innet);

        NicSpec? nics = null;
        if (HasSection(config, "nics"))
        {
            var count = (int)b.Integer("nics.count", 1, 1 << 10);
            nics = new NicSpec(count, Link(b, "nics"), RequiredFlag(b, "nics.rail_optimized"));
        }
        ScaleOutSpec? scaleOut = null;
        if (HasSection(config, "scale_out"))
        {
            var topology = b.Text("scale_out.topology");
            if (topology.Length > 0 && topology != "fat-tree") Bad(b, "scale_out.topology", topology, "fat-tree", 0);
            scaleOut = new ScaleOutSpec(
                (int)b.Integer("scale_out.endpoints_per_leaf", 1, 1 << 16),
                (int)b.Integer("scale_out.spines", 1, 1 << 16),
                b.Number("scale_out.oversubscription", 1, 1e6),
                Link(b, "scale_out"));
        }
        if ((nics is null) != (scaleOut is null))
            b.Fail(nics is null ? "nics" : "scale_out", $"missing; a system with {(nics is null ? "a scale_out network needs nics" : "nics needs a scale_out network")}");
        if (nodes > 1 && nics is null)
            b.Fail("nodes", $"a system without nics and scale_out spans one node, got {nodes}");
        b.ThrowIfInvalidOrUnknown();
        return new SystemSpec(config.Name, node, nics, scaleOut, nodes, path)
        {
            Files = config.Files.Select(f => f with { Role = Kind }).ToArray(),
            Tags = config.Tags,
        };
    }

    private static LinkSpec Link(ConfigBinder b, string prefix) => new(
        b.Positive(prefix + ".bandwidth_Bps"),
        b.Number(prefix + ".efficiency", 0, 1, exclusiveMin: true),
        b.Number(prefix + ".latency_s", 0, 1),
        b.Number(prefix + ".energy_pJ_per_byte", 0, 1e6));

    private static bool RequiredFlag(ConfigBinder b, string path)
    {
        if (!b.Config.Contains(path))
        {
            b.Fail(path, "missing; expected true or false");
            return false;
        }
        return b.Flag(path, false);
    }

    private static bool HasSection(HardwareConfig config, string name) =>
        config.Values.Keys.Any(k => k.StartsWith(name + ".", StringComparison.Ordinal) && !HardwareConfig.IsAnnotation(k));

    private static T Bad<T>(ConfigBinder b, string path, string got, string expected, T fallback)
    {
        b.Fail(path, $"expected {expected}, got \"{got}\"");
        return fallback;
    }

    /// <summary>A bundled hardware name (as bundled) or a hardware file beside the system file (full path).</summary>
    private static string ResolveDevice(ConfigBinder b, string device, string path)
    {
        var known = BundledConfigs.Names(BundledConfigs.HardwareDir);
        var match = known.FirstOrDefault(n => string.Equals(n, device, StringComparison.OrdinalIgnoreCase));
        if (match is not null) return match;
        var beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, device);
        if (File.Exists(beside)) return beside;
        b.Fail("node.device", $"'{device}' is neither a bundled hardware name nor a file beside the system file{NearestNames.DidYouMean(known, device)}");
        return device;
    }
}
