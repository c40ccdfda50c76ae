using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary><c>accelsim collective</c>: nccl-tests' figures from a simulated collective on a bundled system,
/// against published measurements, and its bad input.</summary>
public class CollectiveCliTests
{
    private static JObject Json(params string[] args)
    {
        var o = CliHarness.Run(["collective", .. args, "--format", "json"]);
        Assert.True(o.ExitCode == 0, o.Error);
        return JObject.Parse(o.Out);
    }

    [Fact]
    public void Json_carries_time_and_both_bandwidths_for_every_size_and_the_systems_provenance()
    {
        var j = Json("all-reduce", "--system", "dgx-a100", "--bytes", "1048576", "1073741824", "--algorithm", "ring");
        Assert.Equal("accelsim.collective/1", (string?)j["schema"]);
        Assert.Equal("dgx-a100", (string?)j["system"]);
        Assert.Equal(8, (int)j["ranks"]!);
        Assert.Equal(1, (int)j["nodes"]!);
        var rows = (JArray)j["results"]!;
        Assert.Equal(2, rows.Count);
        foreach (var r in rows)
        {
            var bytes = (long)r["bytes"]!;
            var time = (double)r["time_s"]!;
            Assert.True(time > 0);
            Assert.Equal(bytes / time, (double)r["algorithm_bandwidth_Bps"]!, 6);
            // nccl-tests: all-reduce bus bandwidth = algorithm bandwidth x 2(n-1)/n.
            Assert.Equal((double)r["algorithm_bandwidth_Bps"]! * 2 * 7 / 8, (double)r["bus_bandwidth_Bps"]!, 3);
            Assert.Equal("ring", (string?)r["algorithm"]);
            Assert.Equal(2L * 7 * bytes, (long)r["bytes_on_wire"]!);
        }
        // The top level repeats the last size's figures.
        Assert.Equal((double)rows[1]["time_s"]!, (double)j["time_s"]!);
        Assert.Contains("dgx-a100.json", j["provenance"]!["files"]![0]!["file"]!.ToString());
        Assert.Equal(64, j["provenance"]!["files"]![0]!["sha256"]!.ToString().Length);
        // Small messages are latency-bound: their bus bandwidth is far below the large ones'.
        Assert.True((double)rows[0]["bus_bandwidth_Bps"]! < 0.5 * (double)rows[1]["bus_bandwidth_Bps"]!);
    }

    [Theory]
    // nccl-tests all-reduce bus bandwidth, large messages (docs/systems.md, "Reproductions"):
    // 8x A100 SXM ring ~230 GB/s (nccl-tests#149, #175); 8x H100 ring ~370 GB/s (nccl-tests#212).
    [InlineData("dgx-a100", 230e9)]
    [InlineData("dgx-h100", 370e9)]
    public void A_ring_all_reduce_on_one_node_is_within_15_percent_of_nccl_tests(string system, double published)
    {
        var j = Json("all-reduce", "--system", system, "--bytes", "8589934592", "--algorithm", "ring");
        var busbw = (double)j["bus_bandwidth_Bps"]!;
        Assert.InRange(busbw / published, 0.85, 1.15);
    }

    [Theory]
    // 8x H100 with NVLS ~480 GB/s (nccl-tests#212); 8x H200 475 GB/s (nccl-tests#272): the switch's reduction rate,
    // not the links' 360 GB/s, sets it (node.fabric.in_network_reduction_Bps).
    [InlineData("dgx-h100", 480e9)]
    [InlineData("hgx-h200", 475e9)]
    public void An_in_network_all_reduce_on_one_node_is_within_15_percent_of_nccl_tests(string system, double published)
    {
        var j = Json("all-reduce", "--system", system, "--bytes", "8589934592", "--algorithm", "in-network");
        var busbw = (double)j["bus_bandwidth_Bps"]!;
        Assert.InRange(busbw / published, 0.85, 1.15);
        // The default picks it for a large buffer inside a node.
        Assert.Equal("in-network", (string)Json("all-reduce", "--system", system, "--bytes", "8589934592")["algorithm"]!);
    }

    [Fact]
    public void The_same_request_gives_byte_identical_output()
    {
        var a = CliHarness.Run("collective", "all-to-all", "--system", "dgx-h100", "--nodes", "2", "--bytes", "67108864", "--format", "json");
        var b = CliHarness.Run("collective", "all-to-all", "--system", "dgx-h100", "--nodes", "2", "--bytes", "67108864", "--format", "json");
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(a.Out, b.Out);
        Assert.Equal(16, (int)JObject.Parse(a.Out)["ranks"]!);
    }

    [Fact]
    public void Across_two_dgx_a100_nodes_the_default_rings_one_per_rail_reach_nccl_tests_192_GBps()
    {
        // nccl-tests, two DGX A100 nodes (8 x HDR 200 Gb/s each): 192 GB/s all-reduce bus bandwidth (nccl#812,
        // quoted in nccl#1576). The rings are held to the NICs: 8 rails x the HDR NIC's effective rate.
        var rings = Json("all-reduce", "--system", "dgx-a100", "--nodes", "2", "--bytes", "8589934592");
        var hier = Json("all-reduce", "--system", "dgx-a100", "--nodes", "2", "--bytes", "8589934592", "--algorithm", "hierarchical");
        Assert.Equal("ring", (string?)rings["algorithm"]);
        Assert.Equal(16, (int)rings["ranks"]!);
        Assert.InRange((double)rings["bus_bandwidth_Bps"]! / 192e9, 0.85, 1.15);
        Assert.True((double)rings["time_s"]! < (double)hier["time_s"]!);
    }

    [Fact]
    public void The_table_names_the_system_the_sizes_and_the_file()
    {
        var o = CliHarness.Run("collective", "reduce-scatter", "--system", "hgx-h200", "--bytes", "4194304");
        Assert.Equal(0, o.ExitCode);
        Assert.Contains("reduce-scatter on hgx-h200: 1 node, 8 ranks", o.Out);
        Assert.Contains("4194304", o.Out);
        Assert.Contains("hgx-h200.json", o.Out);
    }

    [Fact]
    public void A_one_node_mesh_goes_direct_by_default()
    {
        var j = Json("all-reduce", "--system", "sn40l-8", "--bytes", "1073741824");
        Assert.Equal("direct", (string)j["algorithm"]!);
        Assert.InRange((double)j["bus_bandwidth_Bps"]!, 0.98 * 400e9, 400e9);
    }

    [Theory]
    // Every device family as a system, and the mixed one; the one-node SN40L over all its socket links at once.
    [InlineData("sn40l-8", "direct", 8, 1, 0.98 * 400e9, 400e9)]
    [InlineData("cs2-cluster", "ring", 4, 4, 0.95 * 135e9, 135e9)]
    [InlineData("u280-ring", "ring", 4, 4, 0.95 * 11.25e9, 11.25e9)]
    [InlineData("h100-sn40l", "ring", 24, 3, 10e9, 400e9)]
    public void The_other_device_families_and_the_mixed_system_run_a_collective(string system, string algorithm, int ranks, int nodes, double min_Bps, double max_Bps)
    {
        var j = Json("all-reduce", "--system", system, "--bytes", "1073741824", "--algorithm", algorithm);
        Assert.Equal((ranks, nodes), ((int)j["ranks"]!, (int)j["nodes"]!));
        Assert.InRange((double)j["bus_bandwidth_Bps"]!, min_Bps, max_Bps);
    }

    [Theory]
    [InlineData(new[] { "collective", "all-reduce", "--system", "h100-sn40l", "--bytes", "8", "--nodes", "4" }, "nodes", "node groups")]
    [InlineData(new[] { "collective", "all-mix", "--system", "dgx-h100", "--bytes", "8" }, "kind", "all-reduce")]
    [InlineData(new[] { "collective", "all-reduce", "--system", "dgx-h999", "--bytes", "8" }, "--system", "dgx-h100")]
    [InlineData(new[] { "collective", "all-reduce", "--system", "dgx-h100", "--bytes", "-1" }, "--bytes", "at least 0")]
    [InlineData(new[] { "collective", "all-reduce", "--system", "dgx-h100", "--bytes", "8", "--ranks", "9" }, "--ranks", "8 ranks")]
    [InlineData(new[] { "collective", "all-reduce", "--system", "dgx-h100", "--bytes", "8", "--nodes", "0" }, "--nodes", "at least one")]
    [InlineData(new[] { "collective", "all-reduce", "--system", "dgx-h100", "--bytes", "8", "--algorithm", "magic" }, "--algorithm", "halving-doubling")]
    [InlineData(new[] { "collective", "reduce-scatter", "--system", "dgx-h100", "--bytes", "8", "--ranks", "6", "--algorithm", "halving-doubling" }, "--algorithm", "6")]
    public void Bad_requests_exit_2_naming_what_was_wrong(string[] args, string path, string expected)
    {
        var o = CliHarness.Run(args);
        Assert.Equal(2, o.ExitCode);
        Assert.StartsWith("error:", o.Error);
        Assert.DoesNotContain("   at ", o.Error);
        Assert.Contains(path, o.Error);
        Assert.Contains(expected, o.Error);
        Assert.Equal("", o.Out);
    }
}
