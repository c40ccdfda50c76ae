using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Network;
using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Workloads.Configs;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Tests;

/// <summary>System descriptions: the bundled ones load and are sourced, a bad file is an input error
/// naming the file and the JSON path, and a ring all-reduce on the built fabric runs at the rate the
/// description gives.</summary>
public class SystemConfigTests
{
    private static string SystemsDir
    {
        get
        {
            _ = TestConfigs.ModelsDir; // points BundledConfigs at the repository's configs
            return BundledConfigs.SystemsDir;
        }
    }

    public static TheoryData<string> Bundled() => ["dgx-2", "dgx-a100", "dgx-h100", "hgx-h200"];

    /// <summary>Every bundled system, NVIDIA nodes and the other device families.</summary>
    public static TheoryData<string> AllBundled() => ["dgx-a100", "dgx-h100", "hgx-h200", "sn40l-8", "cs2-cluster", "u280-ring", "h100-sn40l", "dgx-2"];

    [Fact]
    public void The_bundled_systems_are_the_ones_listed()
    {
        string[] listed = ["dgx-a100", "dgx-h100", "hgx-h200", "sn40l-8", "cs2-cluster", "u280-ring", "h100-sn40l", "dgx-2"];
        Assert.Equal(listed.Order(StringComparer.Ordinal), BundledConfigs.Names(SystemsDir).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Bundled))]
    public void Every_bundled_system_loads_builds_and_names_a_bundled_device(string name)
    {
        Assert.Contains(name, BundledConfigs.Names(SystemsDir));
        var spec = SystemConfigLoader.LoadNamed(name);
        Assert.Equal(name, spec.Name);
        Assert.Equal(name == "dgx-2" ? 16 : 8, spec.Node.Devices);
        Assert.NotNull(spec.Nics);
        Assert.NotNull(spec.ScaleOut);
        Assert.Equal(HardwareConfigLoader.LoadNamed(spec.Node.Device).Name, spec.Node.Device);
        var one = SystemFabric.Build(spec);
        Assert.Equal(spec.Node.Devices * spec.Nodes, one.Ranks);
        var four = SystemFabric.Build(spec, 4);
        Assert.Equal(4 * spec.Node.Devices, four.Ranks);
        Assert.Equal(spec.Node.InNetworkReduction, four.InNetworkReduction);
    }

    [Theory]
    [MemberData(nameof(AllBundled))]
    public void A_negative_value_anywhere_is_an_error_at_exactly_its_path(string name)
    {
        // Every number of a system (counts, rates, efficiencies, latencies, energies) is non-negative.
        var text = File.ReadAllText(Path.Combine(SystemsDir, name + ".json"));
        var numbers = JObject.Parse(text).Descendants().OfType<JValue>()
            .Where(v => v.Type is JTokenType.Integer or JTokenType.Float && !v.Path.StartsWith("provenance", StringComparison.Ordinal))
            .Select(v => v.Path).ToArray();
        Assert.True(numbers.Length >= 15, $"{numbers.Length} numbers");
        foreach (var at in numbers)
        {
            var root = JObject.Parse(text);
            root.Remove("provenance");
            ((JValue)root.SelectToken(at)!).Value = -1;
            using var f = new TestConfigs.TempFile(root.ToString());
            var e = Assert.Throws<InputException>(() => SystemConfigLoader.Load(f.Path));
            var problem = Assert.Single(e.Problems);
            Assert.Equal((f.Path, at), (problem.File, problem.Path));
        }
    }

    [Fact]
    public void A_loaded_system_names_its_file_with_a_hash_and_tags_its_fields()
    {
        var spec = SystemConfigLoader.LoadNamed("dgx-h100");
        var file = Assert.Single(spec.Files);
        Assert.Equal(("system", "configs/systems/dgx-h100.json"), (file.Role, file.Name));
        Assert.Equal(64, file.Sha256.Length);
        Assert.Equal(ParameterSource.Datasheet, spec.Tags["node.fabric.bandwidth_Bps"]);
        Assert.Equal(ParameterSource.Estimate, spec.Tags["scale_out.spines"]);
    }

    [Fact]
    public void Bundled_systems_carry_the_figures_of_their_sources()
    {
        var a100 = SystemConfigLoader.LoadNamed("dgx-a100");
        Assert.Equal(240e9, a100.Node.Link.EffectiveBandwidth_Bps, 3); // 12 x 20 GB/s payload (nccl-tests#149)
        Assert.False(a100.Node.InNetworkReduction);
        Assert.Equal(24e9, a100.Nics!.Link.EffectiveBandwidth_Bps, 3);
        var h100 = SystemConfigLoader.LoadNamed("dgx-h100");
        Assert.Equal(360e9, h100.Node.Link.EffectiveBandwidth_Bps, 3);
        Assert.True(h100.Node.InNetworkReduction);
        Assert.Equal(47e9, h100.Nics!.Link.EffectiveBandwidth_Bps, 3);
        Assert.True(SystemConfigLoader.LoadNamed("HGX-H200").Node.InNetworkReduction);
        // NVLS: algbw ~275 GB/s on 8x H100 (nccl-tests#212), the switch's reduction rate per port; unlimited without one.
        Assert.Equal(275e9, h100.Node.InNetworkReduction_Bps);
        Assert.Equal(double.PositiveInfinity, a100.Node.InNetworkReduction_Bps);
    }

    [Fact]
    public void A_reduction_rate_must_be_positive_and_needs_a_reducing_switch()
    {
        var p = Problem(r => r["node"]!["fabric"]!["in_network_reduction_Bps"] = -1.0);
        Assert.Equal("node.fabric.in_network_reduction_Bps", p.Path);
        Assert.Contains("> 0", p.Message);
        p = Problem(r => r["node"]!["fabric"]!["in_network_reduction"] = false);
        Assert.Equal("node.fabric.in_network_reduction_Bps", p.Path);
        Assert.Contains("in_network_reduction: true", p.Message);
    }

    [Theory]
    [MemberData(nameof(AllBundled))]
    public void Every_number_has_a_source_and_a_provenance_tag(string name)
    {
        var path = Path.Combine(SystemsDir, name + ".json");
        var text = File.ReadAllText(path);
        Assert.DoesNotContain("../", text);
        // Sources are cited by name, never by a path of some machine.
        Assert.DoesNotContain(JObject.Parse(text).Descendants().OfType<JValue>(), v => v.Value is string t && System.Text.RegularExpressions.Regex.IsMatch(t, @"(^|\s)/\w+/|[A-Za-z]:\\"));
        var unsourced = new List<string>();
        Walk(JObject.Parse(text), "", topLevel: true, unsourced);
        Assert.Empty(unsourced);

        var raw = SystemConfigLoader.LoadRaw(path);
        var untagged = raw.Values.Where(kv => kv.Value.Number is not null && !HardwareConfig.IsAnnotation(kv.Key) && raw.TagOf(kv.Key) is null)
            .Select(kv => kv.Key).ToArray();
        Assert.Empty(untagged);
    }

    /// <summary>A number is sourced by a sibling <c>KEY_source</c> or a <c>source</c> in its own object
    /// (below the top level, whose <c>source</c> describes the file).</summary>
    private static void Walk(JObject obj, string prefix, bool topLevel, List<string> unsourced)
    {
        foreach (var p in obj.Properties())
        {
            if (p.Name == "provenance") continue;
            var at = prefix.Length == 0 ? p.Name : $"{prefix}.{p.Name}";
            if (p.Value is JObject child) Walk(child, at, topLevel: false, unsourced);
            else if (p.Value is JArray list)
            {
                for (var i = 0; i < list.Count; i++)
                    if (list[i] is JObject item) Walk(item, $"{at}[{i}]", topLevel: false, unsourced);
            }
            else if (p.Value.Type is JTokenType.Integer or JTokenType.Float
                     && obj[p.Name + "_source"] is null && (topLevel || obj["source"] is null))
                unsourced.Add(at);
        }
    }

    private static InputProblem Problem(Action<JObject> edit, string? expectedPath = null)
    {
        var root = JObject.Parse(File.ReadAllText(Path.Combine(SystemsDir, "dgx-h100.json")));
        root.Remove("provenance"); // a user file without one loads; edits here would leave its patterns dangling
        edit(root);
        using var f = new TestConfigs.TempFile(root.ToString());
        var e = Assert.Throws<InputException>(() => SystemConfigLoader.Load(f.Path));
        var problem = expectedPath is null ? Assert.Single(e.Problems) : e.Problems.Single(p => p.Path == expectedPath);
        Assert.Equal(f.Path, problem.File);
        return problem;
    }

    [Fact]
    public void An_unknown_key_is_an_error_naming_the_nearest_known_key()
    {
        var p = Problem(r => ((JObject)r["node"]!["fabric"]!).Add("bandwith_Bps", 1e9));
        Assert.Equal("node.fabric.bandwith_Bps", p.Path);
        Assert.Contains("node.fabric.bandwidth_Bps", p.Message);

        var q = Problem(r => ((JObject)r["scale_out"]!).Add("spine", 4));
        Assert.Equal("scale_out.spine", q.Path);
        Assert.Contains("scale_out.spines", q.Message);
    }

    [Fact]
    public void A_misspelt_required_key_is_one_error_naming_the_missing_key()
    {
        var p = Problem(r =>
        {
            var nics = (JObject)r["nics"]!;
            nics["cuont"] = nics["count"];
            nics.Remove("count");
        });
        Assert.Equal("nics.cuont", p.Path);
        Assert.Contains("nics.count (required, missing)", p.Message);
    }

    [Theory]
    [InlineData("nics", "bandwidth_Bps", -1.0, "> 0")]
    [InlineData("node.fabric", "bandwidth_Bps", 0.0, "> 0")]
    [InlineData("node.fabric", "efficiency", 1.5, "in [0, 1]")]
    [InlineData("scale_out", "oversubscription", 0.5, "in [1, ")]
    [InlineData("scale_out", "latency_s", -1e-6, "in [0, 1]")]
    public void A_value_out_of_range_is_an_error_at_its_path(string section, string key, double value, string expected)
    {
        var p = Problem(r => ((JObject)r.SelectToken(section)!)[key] = value);
        Assert.Equal($"{section}.{key}", p.Path);
        Assert.Contains("expected a number " + expected, p.Message);
    }

    [Fact]
    public void Bad_names_and_kinds_say_what_was_expected()
    {
        Assert.Contains("nvswitch, pcie or direct", Problem(r => r["node"]!["fabric"]!["kind"] = "nvlink", "node.fabric.kind").Message);
        Assert.Contains("h100", Problem(r => r["node"]!["device"] = "h1000", "node.device").Message);
        Assert.Contains("fat-tree", Problem(r => r["scale_out"]!["topology"] = "torus", "scale_out.topology").Message);
        Assert.Contains("system", Problem(r => r["kind"] = "gpu", "kind").Message);
        Assert.Contains("true or false", Problem(r => r["nics"]!["rail_optimized"] = "yes", "nics.rail_optimized").Message);
        Assert.Contains("whole number", Problem(r => r["node"]!["devices"] = 7.5, "node.devices").Message);
    }

    [Fact]
    public void More_than_one_node_needs_nics_and_a_scale_out_network()
    {
        var p = Problem(r =>
        {
            r["nodes"] = 2;
            r.Remove("nics");
            r.Remove("scale_out");
        });
        Assert.Equal("nodes", p.Path);
        Assert.Equal("scale_out", Problem(r => r.Remove("scale_out")).Path);
    }

    [Fact]
    public void An_unknown_system_name_lists_the_nearest_bundled_ones()
    {
        _ = SystemsDir;
        var e = Assert.Throws<InputException>(() => SystemConfigLoader.LoadNamed("dgx-h10"));
        Assert.Equal("system", e.Problems[0].Path);
        Assert.Contains("dgx-h100", e.Message);
    }

    private static DeviceTopology Host() =>
        new([new EngineSpec("pe", 1)], [new ChannelSpec("hbm", 1e9, 0, "hbm", OffChip: true)], [new TierSpec("hbm", long.MaxValue / 4, OffChip: true)]);

    private static (double BusBw_Bps, long EndPs) Ring(string system, int nodes, long bytes)
    {
        var fabric = SystemFabric.Build(SystemConfigLoader.LoadNamed(system), nodes);
        var kernel = new Kernel(Host(), fabric.Network);
        var ring = new RingAllReduce(kernel, fabric.RingRoutes(Enumerable.Range(0, fabric.Ranks).ToArray()), bytes);
        kernel.Run();
        int n = fabric.Ranks;
        // nccl-tests: busbw = algbw x 2(n-1)/n, algbw = bytes / time.
        return (2.0 * (n - 1) / n * bytes / (ring.EndPs * 1e-12), ring.EndPs);
    }

    [Fact]
    public void A_ring_all_reduce_on_one_dgx_h100_reaches_the_effective_nvlink_rate()
    {
        // 450 GB/s x 0.8 = 360 GB/s per device; nccl-tests#212 reports ~370 GB/s for ring all-reduce.
        var (busbw, end) = Ring("dgx-h100", 1, 1L << 30);
        Assert.InRange(busbw, 0.98 * 360e9, 360e9);
        Assert.Equal(end, Ring("dgx-h100", 1, 1L << 30).EndPs);
    }

    [Fact]
    public void A_ring_across_two_dgx_h100_is_held_to_one_nic()
    {
        // Two sends of every step cross the NICs (rank 7 -> 8 and 15 -> 0) at 47 GB/s, far below NVLink.
        var (busbw, _) = Ring("dgx-h100", 2, 1L << 30);
        Assert.InRange(busbw, 0.95 * 47e9, 47e9);
        var (a100, _) = Ring("dgx-a100", 1, 1L << 30);
        Assert.InRange(a100, 0.98 * 240e9, 240e9);
    }

    private static InputProblem ProblemIn(string name, Action<JObject> edit, string expectedPath)
    {
        var root = JObject.Parse(File.ReadAllText(Path.Combine(SystemsDir, name + ".json")));
        root.Remove("provenance");
        edit(root);
        using var f = new TestConfigs.TempFile(root.ToString());
        var e = Assert.Throws<InputException>(() => SystemConfigLoader.Load(f.Path));
        var problem = e.Problems.FirstOrDefault(p => p.Path == expectedPath);
        Assert.True(problem is not null, $"no problem at {expectedPath}: {e.Message}");
        Assert.Equal(f.Path, problem!.File);
        return problem;
    }

    private static SystemSpec LoadEdited(string name, Action<JObject> edit)
    {
        var root = JObject.Parse(File.ReadAllText(Path.Combine(SystemsDir, name + ".json")));
        root.Remove("provenance");
        edit(root);
        using var f = new TestConfigs.TempFile(root.ToString());
        return SystemConfigLoader.Load(f.Path);
    }

    private static void Torus(JObject r, string topology, params int[] dims)
    {
        var so = (JObject)r["scale_out"]!;
        foreach (var k in new[] { "endpoints_per_leaf", "spines", "oversubscription" }) so.Remove(k);
        so["topology"] = topology;
        if (dims.Length > 0) so["dimensions"] = new JArray(dims);
    }

    [Fact]
    public void Ring_torus_and_rail_only_topologies_load_with_their_own_keys()
    {
        var torus = LoadEdited("dgx-h100", r => { r["nodes"] = 12; Torus(r, "torus-2d", 3, 4); });
        Assert.Equal(ScaleOutTopology.Torus, torus.ScaleOut!.Topology);
        Assert.Equal([3, 4], torus.ScaleOut.Dimensions);
        var f = SystemFabric.Build(torus);
        Assert.Equal(96, f.Ranks);
        Assert.Equal(1 + 2 + 2, f.Network.RouteLinks(f.Route(0, 8 * 7)).Length); // node 0 (0,0) to node 7 (1,2)
        var cube = LoadEdited("dgx-h100", r => { r["nodes"] = 8; Torus(r, "torus-3d", 2, 2, 2); });
        Assert.Equal(3, cube.ScaleOut!.Dimensions.Count);
        Assert.Equal(ScaleOutTopology.Ring, LoadEdited("dgx-h100", r => Torus(r, "ring")).ScaleOut!.Topology);
        var rail = LoadEdited("dgx-h100", r => { ((JObject)r["scale_out"]!).Remove("spines"); ((JObject)r["scale_out"]!).Remove("oversubscription"); r["scale_out"]!["topology"] = "rail-only"; });
        Assert.Equal((ScaleOutTopology.RailOnly, 32), (rail.ScaleOut!.Topology, rail.ScaleOut.EndpointsPerLeaf));
    }

    [Fact]
    public void Topology_keys_are_checked_with_their_paths()
    {
        Assert.Contains("torus-3d", ProblemIn("dgx-h100", r => r["scale_out"]!["topology"] = "mesh", "scale_out.topology").Message);
        Assert.Contains("3x4 torus", ProblemIn("dgx-h100", r => Torus(r, "torus-2d", 3, 4), "nodes").Message);
        Assert.Contains("list of 3 sizes", ProblemIn("dgx-h100", r => { r["nodes"] = 4; Torus(r, "torus-3d", 2, 2); }, "scale_out.dimensions").Message);
        Assert.Contains("in [2, ", ProblemIn("dgx-h100", r => { r["nodes"] = 4; Torus(r, "torus-2d", 1, 4); }, "scale_out.dimensions[0]").Message);
        Assert.Contains("unknown key", ProblemIn("dgx-h100", r => { Torus(r, "ring"); r["scale_out"]!["spines"] = 4; }, "scale_out.spines").Message);
        Assert.Contains("at most 32 nodes", ProblemIn("dgx-h100", r =>
        {
            ((JObject)r["scale_out"]!).Remove("spines");
            ((JObject)r["scale_out"]!).Remove("oversubscription");
            r["scale_out"]!["topology"] = "rail-only";
            r["nodes"] = 40;
        }, "nodes").Message);
    }

    [Fact]
    public void Node_groups_are_checked_at_their_paths()
    {
        Assert.Contains("remove the top-level 'nodes'", ProblemIn("h100-sn40l", r => r["nodes"] = 2, "nodes").Message);
        Assert.Contains("sn40l", ProblemIn("h100-sn40l", r => r["node_groups"]![1]!["node"]!["device"] = "sn40", "node_groups[1].node.device").Message);
        Assert.Contains("needs its nics", ProblemIn("h100-sn40l", r => ((JObject)r["node_groups"]![1]!).Remove("nics"), "node_groups[1].nics").Message);
        Assert.Contains("used twice", ProblemIn("h100-sn40l", r => r["node_groups"]![1]!["name"] = "h100", "node_groups[1].name").Message);
        Assert.Contains("share a scale_out", ProblemIn("h100-sn40l", r => r.Remove("scale_out"), "scale_out").Message);
    }

    [Fact]
    public void The_other_device_families_are_systems_of_their_devices()
    {
        var sn = SystemConfigLoader.LoadNamed("sn40l-8");
        Assert.Equal(("sn40l", 8, IntraNodeFabricKind.Direct), (sn.Node.Device, sn.Node.Devices, sn.Node.Fabric));
        Assert.True(HardwareConfigLoader.LoadNamed("sn40l").TryGet("node.sockets", out var sockets));
        Assert.Equal(1.0, sockets.Number); // one socket per rank
        var cs2 = SystemFabric.Build(SystemConfigLoader.LoadNamed("cs2-cluster"));
        Assert.Equal((4, "wse2"), (cs2.Ranks, cs2.DeviceOf(3)));
        Assert.Equal(150e9 * 0.9, cs2.Network.Bandwidth(cs2.NicLinks(0).Up), 3); // 1.2 Tb/s I/O
        var u280 = SystemFabric.Build(SystemConfigLoader.LoadNamed("u280-ring"));
        Assert.Equal((ScaleOutTopology.Ring, 4, "u280"), (u280.Spec.ScaleOut!.Topology, u280.Ranks, u280.DeviceOf(0)));
        Assert.Equal(4, u280.Network.RouteLinks(u280.Route(0, 2)).Length); // NIC, two ring links, NIC

        var mixed = SystemConfigLoader.LoadNamed("h100-sn40l");
        Assert.True(mixed.IsMixed);
        Assert.Equal(["h100", "sn40l"], mixed.Groups.Select(g => g.Name).ToArray());
        var f = SystemFabric.Build(mixed);
        Assert.Equal((24, 3, 8), (f.Ranks, f.Nodes, f.RanksPerNode));
        Assert.Equal(("h100", "h100", "sn40l"), (f.DeviceOf(0), f.DeviceOf(15), f.DeviceOf(16)));
        Assert.False(f.InNetworkReduction); // the SN40L node's mesh has no switch to reduce in
        Assert.Equal(2, f.Network.RouteLinks(f.Route(0, 16)).Length);  // rail 0 of an H100 node and of the SN40L node share a leaf
        Assert.Equal(ParameterSource.Estimate, mixed.Tags["node_groups[1].nics.bandwidth_Bps"]);
        Assert.Equal(ParameterSource.Datasheet, mixed.Tags["node_groups[0].node.fabric.bandwidth_Bps"]);
    }

    private static double BusBw(string system, CollectiveAlgorithm algorithm, long bytes)
    {
        var fabric = SystemFabric.Build(SystemConfigLoader.LoadNamed(system));
        var kernel = new Kernel(Host(), fabric.Network);
        var c = Collective.Issue(kernel, fabric, CollectiveKind.AllReduce, algorithm, bytes);
        kernel.Run();
        var n = fabric.Ranks;
        return 2.0 * (n - 1) / n * bytes / (c.EndPs * 1e-12);
    }

    [Fact]
    public void An_sn40l_node_all_reduces_at_its_socket_link_rate_over_every_peer_link()
    {
        // Direct: every socket sends to all 7 peers at once, each link 400/7 GB/s, so 400 GB/s per socket, the
        // p2p rate the 8-socket hardware config gives its private all-reduce. A ring uses one link of 7.
        Assert.InRange(BusBw("sn40l-8", CollectiveAlgorithm.Direct, 1L << 30), 0.98 * 400e9, 400e9);
        Assert.InRange(BusBw("sn40l-8", CollectiveAlgorithm.Ring, 1L << 30), 0.98 * 400e9 / 7, 400e9 / 7);
    }
}
