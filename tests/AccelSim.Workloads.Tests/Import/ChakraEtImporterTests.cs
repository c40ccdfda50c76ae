using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Import;
using AccelSim.Workloads.Traces;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;

namespace AccelSim.Workloads.Tests.Import;

public class ChakraEtImporterTests
{
    private const string Source = "test.et";

    /// <summary>aten::mm [64,32]x[32,16] -> a 2048-byte store -> aten::addmm bias[8] + [64,16]x[16,8], all bf16.</summary>
    internal static EtNodeSpec[] Chain() =>
    [
        new(10, "aten::mm")
        {
            Inputs = ChakraEtWriter.Bf16((1, [64, 32]), (2, [32, 16])),
            Outputs = ChakraEtWriter.Bf16((3, [64, 16])),
            Attrs = [new EtAttr("is_cpu_op", Bool: false), new EtAttr("op_schema", String: "aten::mm(Tensor self, Tensor mat2) -> Tensor")],
            DurationMicros = 7,
        },
        new(11, "offload.store", Type: 3) { DataDeps = [10], Attrs = [new EtAttr("tensor_size", UInt64: 2048)] },
        new(12, "aten::addmm")
        {
            DataDeps = [11],
            Inputs = ChakraEtWriter.Bf16((4, [8]), (5, [64, 16]), (6, [16, 8])),
            Outputs = ChakraEtWriter.Bf16((7, [64, 8])),
            DurationMicros = 5,
        },
    ];

    private static ChakraEtImport Import(IEnumerable<EtNodeSpec> nodes) => ChakraEtImporter.Parse(ChakraEtWriter.Trace(nodes), Source);

    private static HashSet<(int, int)> Edges(WorkloadGraph g) => g.Graph.Edges.Select(e => (e.Source.Id, e.Target.Id)).ToHashSet();

    [Fact]
    public void Chain_of_two_gemms_and_a_store_imports_with_flops_bytes_kinds_and_edges()
    {
        var r = Import(Chain());
        var ops = r.Graph.Ops;
        Assert.Equal(3, ops.Count);

        Assert.Equal(("aten::mm", OpKind.MatMul), (ops[0].Name, ops[0].Kind));
        Assert.Equal(2L * 64 * 16 * 32, ops[0].Flops);
        Assert.Equal(new GemmShape(1, 64, 16, 32, WeightShared: true), ops[0].Gemm);
        Assert.Equal((64 * 32 + 32 * 16) * 2L, ops[0].BytesRead);
        Assert.Equal(64 * 16 * 2L, ops[0].BytesWritten);
        Assert.Equal(DType.Bf16, ops[0].ComputeDType);

        Assert.Equal(("offload.store", OpKind.Copy, 0L), (ops[1].Name, ops[1].Kind, ops[1].Flops));
        Assert.Equal((2048L, 2048L), (ops[1].BytesRead, ops[1].BytesWritten));

        Assert.Equal(OpKind.MatMul, ops[2].Kind);
        Assert.Equal(2L * 64 * 8 * 16, ops[2].Flops);
        Assert.Equal((8 + 64 * 16 + 16 * 8) * 2L, ops[2].BytesRead);
        Assert.Equal(64 * 8 * 2L, ops[2].BytesWritten);

        Assert.Equal(new HashSet<(int, int)> { (0, 1), (1, 2) }, Edges(r.Graph));
        var s = r.Summary;
        Assert.Equal("0.0.4", s.Version);
        Assert.Equal(2L * 64 * 16 * 32 + 2L * 64 * 8 * 16, s.TotalFlops);
        Assert.Equal(s.TotalFlops, s.MatMulFlops);
        Assert.Equal(12, s.RecordedMicros);
        Assert.Equal(new Dictionary<string, int> { ["aten::addmm"] = 1, ["aten::mm"] = 1 }, s.OpsByAtenName);
        Assert.Empty(s.Unknown);
        Assert.Empty(s.Unsupported);
    }

    [Fact]
    public void Imported_graph_round_trips_through_the_native_trace()
    {
        var g = Import(Chain()).Graph;
        var text = new StringWriter { NewLine = "\n" };
        NativeTraceWriter.Write(g, text);
        var back = NativeTraceReader.ReadText(text.ToString(), "chain.json");
        Assert.Equal(g.Ops.Select(o => (o.Name, o.Kind, o.Flops, o.BytesRead, o.BytesWritten)),
            back.Ops.Select(o => (o.Name, o.Kind, o.Flops, o.BytesRead, o.BytesWritten)));
        Assert.Equal(Edges(g), Edges(back));
        var again = new StringWriter { NewLine = "\n" };
        NativeTraceWriter.Write(Import(Chain()).Graph, again);
        Assert.Equal(text.ToString(), again.ToString());
    }

    [Fact]
    public void Node_attributes_num_ops_and_tensor_size_set_flops_and_bytes()
    {
        var r = Import(
        [
            new(1, "fused_block") { Attrs = [new EtAttr("num_ops", Int64: 1_000_000), new EtAttr("tensor_size", UInt64: 4096)] },
            new(2, "aten::mm")
            {
                DataDeps = [1],
                Inputs = ChakraEtWriter.Bf16((1, [4, 4]), (2, [4, 4])),
                Outputs = ChakraEtWriter.Bf16((3, [4, 4])),
                Attrs = [new EtAttr("num_ops", Int64: 999), new EtAttr("tensor_size", Double: 300)],
            },
        ]);
        var ops = r.Graph.Ops;
        Assert.Equal((OpKind.Generic, 1_000_000L, 4096L, 0L), (ops[0].Kind, ops[0].Flops, ops[0].BytesRead, ops[0].BytesWritten));
        // num_ops wins over the shape (which then no longer describes the op); tensor_size is split 2:1 like the tensors.
        Assert.Equal((OpKind.MatMul, 999L, null as GemmShape?), (ops[1].Kind, ops[1].Flops, ops[1].Gemm));
        Assert.Equal((200L, 100L), (ops[1].BytesRead, ops[1].BytesWritten));
        Assert.Equal(2, r.Summary.AttributeCostedOps);
        Assert.Empty(r.Summary.Unknown);
    }

    [Fact]
    public void Communication_is_listed_and_dependencies_pass_through_it()
    {
        var r = Import(
        [
            new(1, "aten::mm") { Inputs = ChakraEtWriter.Bf16((1, [8, 8]), (2, [8, 8])), Outputs = ChakraEtWriter.Bf16((3, [8, 8])) },
            new(2, "grad_allreduce", Type: 7) { DataDeps = [1], Attrs = [new EtAttr("comm_type", Int64: 0), new EtAttr("comm_size", Int64: 1 << 20)] },
            new(3, "meta", Type: 1) { CtrlDeps = [2] },
            new(4, "grad_allreduce2", Type: 7) { DataDeps = [1], Attrs = [new EtAttr("comm_type", Int64: 0), new EtAttr("comm_size", Int64: 1 << 20)] },
            new(5, "send", Type: 5) { DataDeps = [3, 4] },
            new(6, "custom_kernel") { DataDeps = [5], Inputs = ChakraEtWriter.Bf16((3, [8, 8])), Outputs = ChakraEtWriter.Bf16((4, [8, 8])) },
        ]);
        Assert.Equal(["aten::mm", "custom_kernel"], r.Graph.Ops.Select(o => o.Name));
        Assert.Equal(new HashSet<(int, int)> { (0, 1) }, Edges(r.Graph));
        Assert.Equal(
            [new ChakraUnsupportedNode("COMM_COLL_NODE", "ALL_REDUCE", 2, 2 << 20, 2), new ChakraUnsupportedNode("COMM_SEND_NODE", "", 1, 0, 5)],
            r.Summary.Unsupported);
        // The kernel has no cost rule and no num_ops: generic over its tensors, and listed.
        Assert.Equal((OpKind.Generic, 256L), (r.Graph.Ops[1].Kind, r.Graph.Ops[1].Bytes));
        Assert.Equal([new ChakraUnknownOp("custom_kernel", 1, 6)], r.Summary.Unknown);
        var text = r.Summary.Format();
        Assert.Contains("COMM_COLL_NODE ALL_REDUCE x2, 2,097,152 bytes (first at node 2)", text);
        Assert.Contains("custom_kernel x1 (first at node 6)", text);
    }

    [Fact]
    public void Device_kernel_takes_the_cost_of_the_host_call_that_launched_it()
    {
        var r = Import(
        [
            new(1, "aten::mm")
            {
                Inputs = ChakraEtWriter.Bf16((1, [128, 64]), (2, [64, 32])),
                Outputs = ChakraEtWriter.Bf16((3, [128, 32])),
                Attrs = [new EtAttr("is_cpu_op", Bool: true)],
            },
            new(2, "sm90_xmma_gemm_bf16bf16_bf16f32") { CtrlDeps = [1], Attrs = [new EtAttr("is_cpu_op", Bool: false)] },
            new(3, "aten::view") { CtrlDeps = [1], Attrs = [new EtAttr("is_cpu_op", Bool: true)] },
        ]);
        var op = Assert.Single(r.Graph.Ops);
        Assert.Equal(("sm90_xmma_gemm_bf16bf16_bf16f32", OpKind.MatMul, 2L * 128 * 32 * 64), (op.Name, op.Kind, op.Flops));
        Assert.Equal(2, r.Summary.HostNodes);
        Assert.Empty(r.Summary.Unknown);
    }

    [Fact]
    public void Nodes_listed_before_their_dependencies_are_ordered_and_unpacked_deps_are_read()
    {
        var r = Import(
        [
            new(3, "c") { DataDeps = [2], CtrlDeps = [1], Packed = false, Attrs = [new EtAttr("num_ops", Int64: 3)] },
            new(2, "b") { DataDeps = [1], Attrs = [new EtAttr("num_ops", Int64: 2)] },
            new(1, "a") { Attrs = [new EtAttr("num_ops", Int64: 1)] },
        ]);
        Assert.Equal(["a", "b", "c"], r.Graph.Ops.Select(o => o.Name));
        Assert.Equal(new HashSet<(int, int)> { (0, 1), (1, 2), (0, 2) }, Edges(r.Graph));
    }

    [Fact]
    public void Gzip_compressed_trace_imports_the_same()
    {
        var raw = ChakraEtWriter.Trace(Chain());
        using var ms = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(ms, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)) gz.Write(raw);
        var a = ChakraEtImporter.Parse(raw, Source).Graph;
        var b = ChakraEtImporter.Parse(ms.ToArray(), Source).Graph;
        Assert.Equal(a.Ops.Select(o => (o.Flops, o.Bytes)), b.Ops.Select(o => (o.Flops, o.Bytes)));
    }

    // ---- malformed files ----

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static byte[] Meta => ChakraEtWriter.Framed(ChakraEtWriter.Metadata("0.0.4"));

    private static byte[] NodeBytes(EtNodeSpec n) => ChakraEtWriter.Framed(ChakraEtWriter.Node(n));

    public static TheoryData<string, byte[], string, string> Malformed()
    {
        var ok = NodeBytes(new EtNodeSpec(7, "a"));
        var full = ChakraEtWriter.Node(new EtNodeSpec(8, "b"));
        return new()
        {
            { "truncated varint", Concat(Meta, ok, [0x85]), "node 1", "truncated length prefix" },
            { "length beyond the end", Concat(Meta, ok, [(byte)(full.Length + 5)], full), "node 1", "runs past the end of the file" },
            {
                "wrong wire type for id",
                Concat(Meta, ChakraEtWriter.Framed(ChakraEtWriter.Message(s => { s.WriteTag(1, WireFormat.WireType.LengthDelimited); s.WriteString("x"); }))),
                "node 0", "Node.id (field 1) has wire type length-delimited (2); the schema expects varint (0)"
            },
            {
                "wrong wire type after the id",
                Concat(Meta, ok, ChakraEtWriter.Framed(ChakraEtWriter.Message(s => { s.WriteTag(1, WireFormat.WireType.Varint); s.WriteUInt64(9); s.WriteTag(2, WireFormat.WireType.Fixed64); s.WriteDouble(1); }))),
                "node 1 (id 9)", "Node.name (field 2) has wire type 64-bit (1)"
            },
            { "no GlobalMetadata", Concat(ok, NodeBytes(new EtNodeSpec(8, "b"))), "GlobalMetadata", "the first message is not a GlobalMetadata" },
            { "empty file", [], "", "empty file" },
            { "unknown dependency", Concat(Meta, NodeBytes(new EtNodeSpec(7, "a") { DataDeps = [99] })), "node 0 (id 7).data_deps[0]", "depends on id 99" },
            { "duplicate id", Concat(Meta, ok, ok), "node 1 (id 7)", "duplicate node id 7 (also node 0 (id 7))" },
            {
                "cycle",
                Concat(Meta, NodeBytes(new EtNodeSpec(1, "a") { DataDeps = [2] }), NodeBytes(new EtNodeSpec(2, "b") { CtrlDeps = [1] })),
                "node 0 (id 1)", "cycle"
            },
            {
                "bad tensor literal",
                Concat(Meta, NodeBytes(new EtNodeSpec(5, "aten::mm") { Inputs = new EtIo("[[1, 1, 0, 4, 2, 'cuda:0'", "[[2, 2]]", "['Tensor(c10::BFloat16)']") })),
                "node 0 (id 5).inputs.values", "expected a list"
            },
            {
                "tensor tuple too short",
                Concat(Meta, NodeBytes(new EtNodeSpec(5, "aten::mm") { Inputs = new EtIo("[[1, 1, 0]]", "[[2, 2]]", "['Tensor(c10::BFloat16)']") })),
                "node 0 (id 5).inputs.values[0]", "expected a tensor"
            },
            {
                "negative num_ops",
                Concat(Meta, NodeBytes(new EtNodeSpec(5, "k") { Attrs = [new EtAttr("num_ops", Int64: -3)] })),
                "node 0 (id 5).attr 'num_ops'", "expected a whole number >= 0, got -3"
            },
            { "only communication", Concat(Meta, NodeBytes(new EtNodeSpec(5, "ar", Type: 7))), "", "no computation or memory nodes" },
        };
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_file_gives_input_exception_naming_file_and_node(string what, byte[] data, string where, string message)
    {
        var e = Assert.Throws<InputException>(() => ChakraEtImporter.Parse(data, "bad.et"));
        var p = Assert.Single(e.Problems);
        Assert.True(p.File == "bad.et", what);
        Assert.Equal(where, p.Path ?? "");
        Assert.Contains(message, p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_truncation_of_a_valid_trace_is_an_input_exception_or_a_shorter_trace()
    {
        var data = ChakraEtWriter.Trace(Chain());
        for (var n = 0; n < data.Length; n++)
        {
            try
            {
                var r = ChakraEtImporter.Parse(data[..n], "cut.et");
                Assert.True(r.Graph.Ops.Count < 3, $"a trace cut at {n} of {data.Length} bytes kept every op");
            }
            catch (InputException e)
            {
                Assert.All(e.Problems, p => Assert.Equal("cut.et", p.File));
            }
        }
    }

    [Fact]
    public void Unreadable_file_names_the_file()
    {
        var path = Path.Combine(Path.GetTempPath(), "accelsim-missing-" + Guid.NewGuid().ToString("N") + ".et");
        var e = Assert.Throws<InputException>(() => ChakraEtImporter.Import(path));
        Assert.Equal(path, e.Problems[0].File);
    }

    // ---- property: random DAGs keep their nodes and edges ----

    private static Arbitrary<(int Seed, int Nodes)> Dags() =>
        Arb.From(Gen.Choose(0, int.MaxValue).SelectMany(seed => Gen.Choose(1, 40), (seed, n) => (seed, n)));

    [Property(MaxTest = 150)]
    public Property Random_dags_import_with_the_same_nodes_and_edges() =>
        Prop.ForAll(Dags(), d =>
        {
            var rng = new Random(d.Seed);
            // Node k of the DAG depends on some earlier nodes; ids are random and the file order shuffled.
            var ids = Enumerable.Range(0, d.Nodes).Select(k => (ulong)(k * 7919 + rng.Next(0, 7919))).ToArray();
            var edges = new HashSet<(ulong From, ulong To)>();
            var specs = new List<EtNodeSpec>();
            for (var k = 0; k < d.Nodes; k++)
            {
                var data = new List<ulong>();
                var ctrl = new List<ulong>();
                for (var j = 0; j < k; j++)
                {
                    if (rng.Next(4) != 0) continue;
                    (rng.Next(2) == 0 ? data : ctrl).Add(ids[j]);
                    edges.Add((ids[j], ids[k]));
                }
                specs.Add(new EtNodeSpec(ids[k], $"n{ids[k]}")
                {
                    DataDeps = data.ToArray(),
                    CtrlDeps = ctrl.ToArray(),
                    Packed = rng.Next(2) == 0,
                    Attrs = [new EtAttr("num_ops", Int64: rng.Next(0, 1 << 20)), new EtAttr("tensor_size", UInt64: (ulong)rng.Next(0, 1 << 20))],
                });
            }
            var shuffled = specs.OrderBy(_ => rng.Next()).ToList();
            var g = ChakraEtImporter.Parse(ChakraEtWriter.Trace(shuffled), "dag.et").Graph;

            var idOf = g.Ops.ToDictionary(o => o.Id, o => ulong.Parse(o.Name[1..], System.Globalization.CultureInfo.InvariantCulture));
            var imported = g.Graph.Edges.Select(e => (idOf[e.Source.Id], idOf[e.Target.Id])).ToHashSet();
            Assert.Equal(d.Nodes, g.Ops.Count);
            Assert.True(imported.SetEquals(edges), $"edge sets differ: {imported.Count} imported, {edges.Count} written");
            Assert.All(g.Graph.Edges, e => Assert.True(e.Source.Id < e.Target.Id, $"edge {e.Source.Id} -> {e.Target.Id} against the op order"));
            Assert.Equal(specs.Sum(s => s.Attrs[0].Int64!.Value), g.TotalFlops);
        });
}
