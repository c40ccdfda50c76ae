using AccelSim.Core.Config;
using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Systems;
using AccelSim.Workloads.Import;

namespace AccelSim.Workloads.Tests.Import;

/// <summary>Per-rank Chakra traces into a system program: segments between communication nodes, the trace's
/// dependencies as <c>After</c> lists, collectives matched by order per process group, sends paired with receives,
/// and clear errors naming the file, the node and what was expected.</summary>
public class ChakraEtSystemImporterTests
{
    private static EtNodeSpec Comp(ulong id, long flops, params ulong[] deps) =>
        new(id, "gemm") { DataDeps = deps, Attrs = [new EtAttr("num_ops", Int64: flops), new EtAttr("tensor_size", UInt64: 1024)] };

    private static EtNodeSpec Coll(ulong id, int type, long bytes, string? pg, params ulong[] deps) =>
        new(id, "coll", Type: 7)
        {
            DataDeps = deps,
            Attrs = pg is null
                ? [new EtAttr("comm_type", Int64: type), new EtAttr("comm_size", Int64: bytes)]
                : [new EtAttr("comm_type", Int64: type), new EtAttr("comm_size", Int64: bytes), new EtAttr("pg_name", String: pg)],
        };

    private static EtNodeSpec Send(ulong id, int dst, long bytes, params ulong[] deps) =>
        new(id, "send", Type: 5) { DataDeps = deps, Attrs = [new EtAttr("comm_dst", Int64: dst), new EtAttr("comm_size", Int64: bytes), new EtAttr("comm_tag", Int64: 7)] };

    private static EtNodeSpec Recv(ulong id, int src, long bytes, params ulong[] deps) =>
        new(id, "recv", Type: 6) { DataDeps = deps, Attrs = [new EtAttr("comm_src", Int64: src), new EtAttr("comm_size", Int64: bytes), new EtAttr("comm_tag", Int64: 7)] };

    private static ChakraSystemImport Parse(params EtNodeSpec[][] ranks) =>
        ChakraEtSystemImporter.Parse(ranks.Select((n, r) => (r, $"workload.{r}.et", ChakraEtWriter.Trace(n))).ToArray(), new ChakraEtOptions { Name = "t" });

    private static InputException Fails(params EtNodeSpec[][] ranks) => Assert.Throws<InputException>(() => Parse(ranks));

    /// <summary>Data parallel: compute, an all-reduce of its gradient, compute after it.</summary>
    private static EtNodeSpec[] DataParallel(long bytes = 4096) => [Comp(1, 1000), Coll(2, 0, bytes, null, 1), Comp(3, 500, 2)];

    [Fact]
    public void Compute_between_collectives_becomes_segments_with_the_traces_dependencies()
    {
        var import = Parse(DataParallel(), DataParallel());
        Assert.Equal("t", import.Program.Name);
        Assert.Equal([0, 1], import.Program.Ranks.Select(r => r.Rank).ToArray());
        foreach (var rank in import.Program.Ranks)
        {
            var s = rank.Segments;
            Assert.Equal(3, s.Count);
            Assert.Equal((1000L, 0), (s[0].Compute!.TotalFlops, s[0].After.Count));
            Assert.True(s[1].IsComm);
            Assert.Equal((CollectiveKind.AllReduce, 4096L, CollectiveAlgorithm.Default), (s[1].Comm!.Kind, s[1].Comm!.Bytes, s[1].Comm!.Algorithm));
            Assert.Equal([0, 1], s[1].Comm!.Group);
            Assert.Equal([0], s[1].After);
            Assert.Equal((500L, 1), (s[2].Compute!.TotalFlops, s[2].After.Single()));
        }
        Assert.Equal(import.Program.Ranks[0].Segments[1].Key, import.Program.Ranks[1].Segments[1].Key);
        Assert.Equal((2, 1), (import.Ranks[0].ComputeSegments, import.Ranks[0].CommSegments));
        Assert.Equal(1500, import.Ranks[1].Summary!.TotalFlops);
    }

    [Fact]
    public void Nodes_that_follow_and_feed_the_same_collectives_share_a_graph()
    {
        // A feeds the all-reduce; B and D (after A) feed none and follow none: one graph; C follows the all-reduce and B.
        EtNodeSpec[] rank = [Comp(1, 10), Coll(2, 0, 64, null, 1), Comp(3, 20), Comp(4, 30, 2, 3), Comp(5, 40, 1)];
        var s = Parse(rank, rank).Program.Ranks[0].Segments;
        Assert.Equal(["compute 0", "coll world #0", "compute 2", "compute 3"], s.Select(x => x.Label).ToArray());
        Assert.Equal(10, s[0].Compute!.TotalFlops);
        Assert.Equal([0], s[1].After);
        Assert.Equal((2, 60L), (s[2].Compute!.Ops.Count, s[2].Compute!.TotalFlops)); // B and D
        Assert.Equal([0], s[2].After);  // D waits for A
        Assert.Equal(30, s[3].Compute!.TotalFlops);
        Assert.Equal([1, 2], s[3].After); // C waits for the all-reduce and for B's graph
    }

    [Fact]
    public void A_send_waits_only_for_the_compute_that_feeds_it()
    {
        // Forward feeds the send and the backward; the backward feeds the all-reduce: the send need not wait for it.
        EtNodeSpec[] stage0 = [Comp(1, 100), Send(2, 1, 64, 1), Comp(3, 200, 1), Coll(4, 0, 32, "a", 3)];
        EtNodeSpec[] stage1 = [Recv(1, 0, 64)];
        var s = Parse(stage0, stage1).Program.Ranks[0].Segments;
        Assert.Equal(["compute 0", "p2p 0->1 tag 7 #0", "compute 2", "coll a #0"], s.Select(x => x.Label).ToArray());
        Assert.Equal([0], s[1].After);
        Assert.Equal([0], s[2].After);
        Assert.Equal([2], s[3].After);
        Assert.Equal([0], s[3].Comm!.Group);
    }

    [Fact]
    public void A_segment_is_listed_after_every_segment_it_waits_for_even_when_its_first_node_comes_earlier()
    {
        // Node 1 (after the collective 3) comes first in the file; node 2 feeds the collective.
        EtNodeSpec[] rank = [Comp(1, 10, 3), Comp(2, 20), Coll(3, 0, 64, null, 2)];
        var s = Parse(rank, rank).Program.Ranks[0].Segments;
        Assert.Equal(20, s[0].Compute!.TotalFlops);
        Assert.True(s[1].IsComm);
        Assert.Equal((10L, 1), (s[2].Compute!.TotalFlops, s[2].After.Single()));
        foreach (var (seg, k) in s.Select((x, k) => (x, k))) Assert.All(seg.After, a => Assert.True(a < k));
    }

    [Fact]
    public void Process_groups_are_the_ranks_whose_traces_name_them_and_match_by_order()
    {
        EtNodeSpec[] A(long b) => [Comp(1, 1), Coll(2, 2, b, "stage0", 1), Coll(3, 7, 2 * b, "stage0", 2)];
        EtNodeSpec[] B(long b) => [Comp(1, 1), Coll(2, 2, b, "stage1", 1), Coll(3, 7, 2 * b, "stage1", 2)];
        var p = Parse(A(100), A(100), B(300), B(300)).Program;
        var r0 = p.Ranks[0].Segments;
        var r2 = p.Ranks[2].Segments;
        Assert.Equal((CollectiveKind.AllGather, 100L), (r0[1].Comm!.Kind, r0[1].Comm!.Bytes));
        Assert.Equal((CollectiveKind.ReduceScatter, 200L), (r0[2].Comm!.Kind, r0[2].Comm!.Bytes));
        Assert.Equal([0, 1], r0[1].Comm!.Group);
        Assert.Equal([2, 3], r2[1].Comm!.Group);
        Assert.NotEqual(r0[1].Key, r2[1].Key);
        Assert.Equal(r0[2].Key, p.Ranks[1].Segments[2].Key);
    }

    [Fact]
    public void A_send_pairs_with_the_receive_of_the_same_pair_tag_and_order()
    {
        EtNodeSpec[] stage0 = [Comp(1, 100), Send(2, 1, 512, 1), Comp(3, 50, 1), Send(4, 1, 256, 3)];
        EtNodeSpec[] stage1 = [Recv(1, 0, 512), Comp(2, 100, 1), Recv(3, 0, 256, 2), Comp(4, 10, 3)];
        var p = Parse(stage0, stage1).Program;
        var sends = p.Ranks[0].Segments.Where(s => s.IsComm).ToArray();
        var recvs = p.Ranks[1].Segments.Where(s => s.IsComm).ToArray();
        Assert.Equal(sends.Select(s => s.Key), recvs.Select(s => s.Key));
        Assert.Equal((CollectiveKind.Broadcast, 512L), (sends[0].Comm!.Kind, sends[0].Comm!.Bytes));
        Assert.Equal([0, 1], sends[0].Comm!.Group);
        Assert.Equal(256, recvs[1].Comm!.Bytes);
        Assert.Equal(CollectiveAlgorithm.Direct, sends[1].Comm!.Algorithm);
        // On rank 1 the second compute waits for the second receive, which waits for the first compute.
        var r1 = p.Ranks[1].Segments;
        Assert.Equal(["p2p 0->1 tag 7 #0", "compute 1", "p2p 0->1 tag 7 #1", "compute 3"], r1.Select(s => s.Label).ToArray());
        Assert.Equal([1], r1[2].After);
    }

    [Fact]
    public void Mismatched_collectives_name_both_ranks_files_and_the_node()
    {
        var size = Fails(DataParallel(4096), DataParallel(8192));
        Assert.Equal("workload.1.et", size.Problems[0].File);
        Assert.Equal("node 1 (id 2)", size.Problems[0].Path);
        Assert.Contains("AllReduce of 8192 bytes, but on rank 0 (workload.0.et, node 1 (id 2)) it is AllReduce of 4096", size.Message);

        var count = Fails(DataParallel(), [Comp(1, 1)]);
        Assert.Contains("rank 1 issues 0 collectives of the whole set (no pg_name) but rank 0", count.Message);
    }

    [Fact]
    public void Unpaired_or_unknown_peers_and_missing_attributes_are_errors()
    {
        var unpaired = Fails([Comp(1, 1), Send(2, 1, 64, 1)], [Comp(1, 1)]);
        Assert.Equal("workload.0.et", unpaired.Problems[0].File);
        Assert.Contains("no matching receive", unpaired.Message);
        Assert.Contains("names no rank of the set", Fails([Comp(1, 1), Send(2, 5, 64, 1)], [Comp(1, 1)]).Message);
        Assert.Contains("is 32 bytes but its send", Fails([Send(1, 1, 64)], [Recv(1, 0, 32)]).Message);

        var noType = Fails([new EtNodeSpec(1, "c", Type: 7) { Attrs = [new EtAttr("comm_size", Int64: 8)] }]);
        Assert.Equal(("workload.0.et", "node 0 (id 1)"), (noType.Problems[0].File, noType.Problems[0].Path));
        Assert.Contains("needs the attribute 'comm_type'", noType.Message);
        var barrier = Fails([Coll(1, 9, 0, null)]);
        Assert.Equal("node 0 (id 1).attr 'comm_type'", barrier.Problems[0].Path);
        Assert.Contains("BARRIER is not simulated", barrier.Message);
        // A one-rank check (a dangling dependency) keeps its message and the file's node position.
        var dangling = Fails([Comp(1, 1), Comp(2, 1, 9)]);
        Assert.Equal("node 1 (id 2).data_deps[0]", dangling.Problems[0].Path);
    }

    [Fact]
    public void Ranks_come_from_file_names()
    {
        Assert.Equal(12, ChakraEtSystemImporter.RankOf("traces/x/workload.12.et"));
        Assert.Equal(3, ChakraEtSystemImporter.RankOf("rank_3.et.gz"));
        Assert.Contains("workload.<rank>.et", Assert.Throws<InputException>(() => ChakraEtSystemImporter.RankOf("trace.et")).Message);
        var trace = ChakraEtWriter.Trace(DataParallel());
        var dup = Assert.Throws<InputException>(() => ChakraEtSystemImporter.Parse([(0, "a.0.et", trace), (0, "b.0.et", trace)]));
        Assert.Contains("rank 0 is also the rank of a.0.et", dup.Message);
    }

    [Fact]
    public void A_directory_of_rank_files_imports_in_rank_order()
    {
        var dir = Directory.CreateTempSubdirectory("chakra-ranks-");
        try
        {
            for (var r = 0; r < 3; r++) File.WriteAllBytes(Path.Combine(dir.FullName, $"workload.{r}.et"), ChakraEtWriter.Trace(DataParallel()));
            File.WriteAllText(Path.Combine(dir.FullName, "README.md"), "not a trace");
            var import = ChakraEtSystemImporter.ImportDirectory(dir.FullName);
            Assert.Equal([0, 1, 2], import.Program.Ranks.Select(r => r.Rank).ToArray());
            Assert.Equal([0, 1, 2], import.Program.Ranks[2].Segments[1].Comm!.Group);
            Assert.Equal(dir.Name, import.Program.Name);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
        Assert.Throws<InputException>(() => ChakraEtSystemImporter.ImportDirectory(dir.FullName));
    }

    [Fact]
    public void The_bundled_multi_rank_example_imports()
    {
        var dir = Path.Combine(Path.GetDirectoryName(TestConfigs.ModelsDir)!, "..", "traces", "chakra-multirank");
        var import = ChakraEtSystemImporter.ImportDirectory(dir);
        Assert.Equal(4, import.Program.Ranks.Count);
        // Stage 0 (ranks 0, 1): forward, send activations, all-reduce within stage 0; stage 1 (ranks 2, 3): receive first.
        Assert.Equal([0, 1], import.Program.Ranks[0].Segments.First(s => s.Comm?.Kind == CollectiveKind.AllReduce).Comm!.Group);
        Assert.Equal([2, 3], import.Program.Ranks[3].Segments.First(s => s.Comm?.Kind == CollectiveKind.AllReduce).Comm!.Group);
        Assert.Equal(["compute 0", "p2p 0->2 tag 0 #0", "compute 2", "coll stage0 #0", "compute 4"], import.Program.Ranks[0].Segments.Select(s => s.Label).ToArray());
        Assert.Equal([[], [0], [0], [2], [3]], import.Program.Ranks[0].Segments.Select(s => s.After.ToArray()).ToArray());
        Assert.Equal(["p2p 0->2 tag 0 #0", "compute 1", "coll stage1 #0", "compute 3"], import.Program.Ranks[2].Segments.Select(s => s.Label).ToArray());
        var recv = import.Program.Ranks[2].Segments[0].Comm!;
        Assert.Equal((CollectiveKind.Broadcast, 1L << 20, CollectiveAlgorithm.Direct), (recv.Kind, recv.Bytes, recv.Algorithm));
        Assert.Equal([0, 2], recv.Group);
    }
}
