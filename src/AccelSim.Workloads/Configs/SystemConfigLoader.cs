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
        var groups = new List<NodeGroupSpec>();
        int nodes;
        NodeSpec node;
        NicSpec? nics;
        var mixed = HasSection(config, "node_groups");
        if (mixed)
        {
            foreach (var top in new[] { "nodes", "node", "nics" })
            {
                if (config.Contains(top) || HasSection(config, top))
                    b.Fail(top, "a system with node_groups gives each group its node, count and nics; remove the top-level '" + top + "'");
            }
            var count = config.ArrayLength("node_groups");
            if (count < 1) b.Fail("node_groups", "expected a list of node groups");
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var at = $"node_groups[{i}]";
                var name = b.Text(at + ".name");
                if (name.Length > 0 && !names.Add(name)) b.Fail(at + ".name", $"group name '{name}' is used twice");
                var n = (int)b.Integer(at + ".count", 1, 1 << 20);
                var groupNode = Node(b, at + ".node", path);
                var groupNics = HasSection(config, at + ".nics") ? Nics(b, at + ".nics") : null;
                if (groupNics is null) b.Fail(at + ".nics", "missing; every node group of a mixed system needs its nics on the shared scale_out network");
                groups.Add(new NodeGroupSpec(name, groupNode, n, groupNics));
            }
            nodes = groups.Sum(g => g.Count);
            node = groups.Count > 0 ? groups[0].Node : new NodeSpec("", 1, IntraNodeFabricKind.NVSwitch, new LinkSpec(1, 1, 0, 0), false);
            nics = groups.Count > 0 ? groups[0].Nics : null;
            if (groups.Count > 0 && groups.Any(g => g.Nics is not null && g.Nics.RailOptimized != groups[0].Nics!.RailOptimized))
                b.Fail("node_groups", "every group's nics.rail_optimized must be the same (one scale-out network)");
        }
        else
        {
            nodes = (int)b.Integer("nodes", 1, 1 << 20);
            node = Node(b, "node", path);
            nics = HasSection(config, "nics") ? Nics(b, "nics") : null;
        }
        ScaleOutSpec? scaleOut = null;
        if (HasSection(config, "scale_out")) scaleOut = ScaleOut(b, nodes);
        if (!mixed && (nics is null) != (scaleOut is null))
            b.Fail(nics is null ? "nics" : "scale_out", $"missing; a system with {(nics is null ? "a scale_out network needs nics" : "nics needs a scale_out network")}");
        if (mixed && scaleOut is null)
            b.Fail("scale_out", "missing; node groups share a scale_out network");
        if (!mixed && nodes > 1 && nics is null)
            b.Fail("nodes", $"a system without nics and scale_out spans one node, got {nodes}");
        if (scaleOut?.Topology == ScaleOutTopology.RailOnly && groups.Select(g => g.Nics?.Count).Distinct().Count() > 1)
            b.Fail("scale_out.topology", "a rail-only network needs as many NICs (rails) on every node group");
        b.ThrowIfInvalidOrUnknown();
        return new SystemSpec(config.Name, node, nics, scaleOut, nodes, path)
        {
            Groups = mixed ? groups : [],
            Files = config.Files.Select(f => f with { Role = Kind }).ToArray(),
            Tags = config.Tags,
        };
    }

    private static NodeSpec Node(ConfigBinder b, string at, string path)
    {
        var device = b.Text(at + ".device");
        if (device.Length > 0) device = ResolveDevice(b, device, path, at + ".device");
        var devices = (int)b.Integer(at + ".devices", 1, 1 << 16);
        var kindText = b.Text(at + ".fabric.kind");
        var fabric = kindText switch
        {
            "nvswitch" => IntraNodeFabricKind.NVSwitch,
            "pcie" => IntraNodeFabricKind.Pcie,
            "direct" => IntraNodeFabricKind.Direct,
            _ => Bad(b, at + ".fabric.kind", kindText, "nvswitch, pcie or direct", IntraNodeFabricKind.NVSwitch),
        };
        var link = Link(b, at + ".fabric");
        var innet = RequiredFlag(b, at + ".fabric.in_network_reduction");
        // Optional: how fast the switch reduces per device port; the links alone set the rate without it.
        var ratePath = at + ".fabric.in_network_reduction_Bps";
        var rate = double.PositiveInfinity;
        if (b.Config.TryGet(ratePath, out _))
        {
            rate = b.Positive(ratePath);
            if (!innet) b.Fail(ratePath, "a reduction rate needs a switch that reduces (in_network_reduction: true)");
        }
        return new NodeSpec(device, devices, fabric, link, innet) { InNetworkReduction_Bps = rate };
    }

    private static NicSpec Nics(ConfigBinder b, string at)
    {
        var count = (int)b.Integer(at + ".count", 1, 1 << 10);
        return new NicSpec(count, Link(b, at), RequiredFlag(b, at + ".rail_optimized"));
    }

    /// <summary>The scale-out network: its topology and the keys that topology takes (docs/systems.md).</summary>
    private static ScaleOutSpec ScaleOut(ConfigBinder b, int nodes)
    {
        var text = b.Text("scale_out.topology");
        var topology = text switch
        {
            "fat-tree" => ScaleOutTopology.FatTree,
            "rail-only" => ScaleOutTopology.RailOnly,
            "ring" => ScaleOutTopology.Ring,
            "torus-2d" or "torus-3d" => ScaleOutTopology.Torus,
            _ => Bad(b, "scale_out.topology", text, "fat-tree, rail-only, ring, torus-2d or torus-3d", ScaleOutTopology.FatTree),
        };
        var link = Link(b, "scale_out");
        switch (topology)
        {
            case ScaleOutTopology.FatTree:
                return new ScaleOutSpec(
                    (int)b.Integer("scale_out.endpoints_per_leaf", 1, 1 << 16),
                    (int)b.Integer("scale_out.spines", 1, 1 << 16),
                    b.Number("scale_out.oversubscription", 1, 1e6),
                    link);
            case ScaleOutTopology.RailOnly:
                var ports = (int)b.Integer("scale_out.endpoints_per_leaf", 1, 1 << 16);
                if (nodes > ports) b.Fail("nodes", $"a rail-only network of {ports}-port rail switches (scale_out.endpoints_per_leaf) joins at most {ports} nodes, got {nodes}");
                return new ScaleOutSpec(ports, 1, 1, link) { Topology = topology };
            case ScaleOutTopology.Ring:
                return new ScaleOutSpec(1, 1, 1, link) { Topology = topology };
            default:
                var want = text == "torus-3d" ? 3 : 2;
                var count = b.Config.ArrayLength("scale_out.dimensions");
                var dims = new int[count];
                if (count != want) b.Fail("scale_out.dimensions", $"expected a list of {want} sizes for {text}, got {count}");
                long product = 1;
                for (var i = 0; i < count; i++)
                {
                    dims[i] = (int)b.Integer($"scale_out.dimensions[{i}]", 2, 1 << 12);
                    product *= Math.Max(dims[i], 1);
                }
                if (count == want && product != nodes)
                    b.Fail("nodes", $"a {string.Join("x", dims)} torus (scale_out.dimensions) holds {product} nodes, got {nodes}");
                return new ScaleOutSpec(1, 1, 1, link) { Topology = topology, Dimensions = dims };
        }
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
        config.Values.Keys.Any(k => (k.StartsWith(name + ".", StringComparison.Ordinal) || k.StartsWith(name + "[", StringComparison.Ordinal)) && !HardwareConfig.IsAnnotation(k));

    private static T Bad<T>(ConfigBinder b, string path, string got, string expected, T fallback)
    {
        b.Fail(path, $"expected {expected}, got \"{got}\"");
        return fallback;
    }

    /// <summary>A bundled hardware name (as bundled) or a hardware file beside the system file (full path).</summary>
    private static string ResolveDevice(ConfigBinder b, string device, string path, string at)
    {
        var known = BundledConfigs.Names(BundledConfigs.HardwareDir);
        var match = known.FirstOrDefault(n => string.Equals(n, device, StringComparison.OrdinalIgnoreCase));
        if (match is not null) return match;
        var beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, device);
        if (File.Exists(beside)) return beside;
        b.Fail(at, $"'{device}' is neither a bundled hardware name nor a file beside the system file{NearestNames.DidYouMean(known, device)}");
        return device;
    }
}
