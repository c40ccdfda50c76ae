using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Workloads.Import;
using AccelSim.Workloads.Traces;

namespace AccelSim.Workloads.Tests.Import;

/// <summary>The recorded TinyLlama prefill (22 layers, hidden 2048, 32 q / 4 kv heads of 64, MLP 5632,
/// vocab 32000, batch 1 x 512 tokens, bf16, eager transformers with SDPA) imported end to end.</summary>
public sealed class TinyLlamaImportTests
{
    private static readonly Lazy<PytorchEtImport> Imported = new(() => PytorchEtImporter.Import(EtFiles.TinyLlamaEt, new PytorchEtOptions { Name = "tinyllama-prefill512" }));

    private const long Layers = 22, Hidden = 2048, HeadsQ = 32, HeadsKv = 4, HeadDim = 64, Mlp = 5632, Vocab = 32000, Tokens = 512;

    private static PytorchEtImport R => Imported.Value;

    [Fact]
    public void Every_op_is_known()
    {
        Assert.Empty(R.Summary.Unknown);
        Assert.DoesNotContain(R.Graph.Ops, o => o.Kind == OpKind.Generic);
        Assert.Contains("unknown ops: none", R.Summary.Format());
    }

    [Fact]
    public void Workload_is_inferred_from_the_token_ids()
    {
        var info = R.Graph.Info;
        Assert.Equal(1, info.Batch);
        Assert.Equal(Tokens, info.SeqLen);
        Assert.Equal(Tokens, info.Tokens);
        Assert.Equal("prefill", info.Phase);
    }

    [Fact]
    public void Op_counts_by_kind_are_the_layers_times_the_per_layer_ops()
    {
        var byKind = R.Summary.OpsByKind;
        // 7 projections per layer + lm_head + the rotary-frequency outer product.
        Assert.Equal(Layers * 7 + 1 + 1, byKind[OpKind.MatMul]);
        Assert.Equal(Layers, byKind[OpKind.Attention]);
        Assert.Equal(1, byKind[OpKind.Embedding]);
        Assert.Equal(Layers, byKind[OpKind.Activation]);
        // Each of the 2 x 22 + 1 RMSNorms reduces once (mean); plus cumsum and all of the position ids.
        Assert.Equal(2 * Layers + 1 + 2, byKind[OpKind.Reduction]);
        Assert.Equal(Layers, R.Summary.Layers);
        for (var l = 0; l < Layers; l++)
        {
            var ops = R.Graph.Ops.Where(o => o.Layer == l).ToList();
            Assert.Equal(7, ops.Count(o => o.Kind == OpKind.MatMul));
            Assert.Equal(1, ops.Count(o => o.Kind == OpKind.Attention));
            Assert.Equal(2, ops.Count(o => o.Kind == OpKind.Reduction));
        }
        Assert.Equal(OpKind.MatMul, R.Graph.Ops[^1].Kind);
        Assert.Equal(-1, R.Graph.Ops[^1].Layer);
    }

    [Fact]
    public void One_device_op_per_kernel_of_the_profile()
    {
        // The Kineto profile of the same run has 866 kernels (plus memsets and memcpys of cuDNN and .item()).
        var k = KinetoSummary.Load(Path.Combine(Path.GetDirectoryName(EtFiles.TinyLlamaEt)!, "tinyllama-prefill512.kineto.json.gz"));
        Assert.Equal(k.Kernels, R.Summary.DeviceOps);
    }

    [Fact]
    public void Matmul_flops_match_the_closed_form_within_one_percent()
    {
        long perLayer = Hidden * HeadsQ * HeadDim + 2 * Hidden * HeadsKv * HeadDim + HeadsQ * HeadDim * Hidden + 3 * Hidden * Mlp;
        var linearParams = Layers * perLayer + Vocab * Hidden;
        var linearFlops = 2 * linearParams * Tokens;
        var attention = Layers * 4 * HeadsQ * HeadDim * (Tokens * (Tokens + 1) / 2);
        var matmul = R.Summary.MatMulFlops;
        Assert.InRange(matmul + R.Summary.AttentionFlops, (linearFlops + attention) * 0.99, (linearFlops + attention) * 1.01);
        Assert.InRange(matmul, linearFlops * 0.99, linearFlops * 1.01);
        Assert.Equal(attention, R.Summary.AttentionFlops);
        var attn = R.Graph.Ops.First(o => o.Kind == OpKind.Attention).Attention!.Value;
        Assert.Equal(new AttentionShape(1, HeadsQ, HeadsKv, HeadDim, Tokens, Tokens, Causal: true), attn);
    }

    [Fact]
    public void Nested_ops_are_not_counted_twice()
    {
        // aten::linear -> aten::t + aten::matmul -> aten::mm: one op, named after the outermost call.
        Assert.Equal(Layers * 7 + 1, R.Summary.OpsByAtenName["aten::linear"]);
        Assert.DoesNotContain(R.Graph.Ops, o => o.Name.EndsWith("aten::mm", StringComparison.Ordinal));
        Assert.DoesNotContain(R.Graph.Ops, o => o.Name.Contains("_cudnn_attention", StringComparison.Ordinal));
        var q = R.Graph.Ops.First(o => o.Kind == OpKind.MatMul && o.Layer == 0);
        Assert.Equal(new GemmShape(1, Tokens, HeadsQ * HeadDim, Hidden), q.Gemm);
        // Every framework call is counted exactly once, in some op's host calls.
        Assert.Equal(R.Summary.HostCalls, R.Graph.Ops.Sum(o => o.HostCalls));
        Assert.Equal(3219, R.Summary.HostCalls);
    }

    [Fact]
    public void Views_cost_nothing_but_host_calls()
    {
        string[] views = ["view", "reshape", "transpose", "t", "expand", "slice", "unsqueeze", "as_strided", "_unsafe_view", "alias"];
        Assert.DoesNotContain(R.Graph.Ops, o => views.Any(v => o.Name == "aten::" + v || o.Name.EndsWith(">aten::" + v, StringComparison.Ordinal)));
        // The views before a linear (none) and inside it (t, transpose, as_strided, matmul, reshape, view, mm, _unsafe_view).
        var q = R.Graph.Ops.First(o => o.Kind == OpKind.MatMul && o.Layer == 0);
        Assert.Equal(9, q.HostCalls);
        Assert.True(R.Summary.MetadataCalls > 0);
    }

    [Fact]
    public void Host_calls_are_split_into_own_calls_views_and_nested_calls()
    {
        var q = R.Graph.Ops.First(o => o.Kind == OpKind.MatMul && o.Layer == 0);
        // aten::linear: its own call and the 8 calls inside it; no view before it.
        Assert.Equal((1, 0, 8), (q.HostOwnCalls, q.HostViews, q.HostNested));
        // Every op carries its own call once, and the rest add up to the calls of the trace.
        Assert.All(R.Graph.Ops, o => Assert.Equal(1, o.HostOwnCalls));
        Assert.Equal(R.Summary.HostCalls, R.Graph.Ops.Sum(o => o.HostOwnCalls + o.HostViews + o.HostNested));
        // The views the program made itself are the top-level calls that are not ops.
        Assert.Equal(R.Summary.TopLevelCalls - R.Graph.Ops.Count(o => !o.Name.Contains('>', StringComparison.Ordinal)), R.Graph.Ops.Sum(o => o.HostViews));
    }

    [Fact]
    public void The_trace_records_an_eager_program_and_its_one_read_back()
    {
        Assert.Equal(LaunchMode.Eager, R.Graph.Info.Recorded!.Launch);
        Assert.Equal("PyTorch", R.Graph.Info.Recorded.Framework);
        Assert.Contains("1.1.1-chakra.0.0.4", R.Graph.Info.Recorded.Source, StringComparison.Ordinal);
        // The attention-mask check reads one value back (.item() -> _local_scalar_dense).
        var sync = Assert.Single(R.Graph.Ops, o => o.HostSync);
        Assert.EndsWith("aten::_local_scalar_dense", sync.Name, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_dependencies_follow_the_tensors()
    {
        var g = R.Graph;
        var attn = g.Ops.First(o => o.Kind == OpKind.Attention);
        var preds = g.Predecessors(attn).ToList();
        // q and k come from the rotary add, v straight from its projection.
        Assert.Equal(3, preds.Count);
        Assert.Contains(preds, p => p.Kind == OpKind.MatMul && p.Gemm!.Value.N == HeadsKv * HeadDim);
        Assert.Equal(2, preds.Count(p => p.Name == "aten::add"));
        // Weights are graph inputs: 7 projections and 2 norm scales per layer, the embedding table, the
        // final norm, lm_head and the rotary inverse frequencies (a float buffer).
        Assert.Equal(Layers * 9 + 4, g.Tensors.Count(t => t.Role == TensorRole.Weight && !g.Producer.ContainsKey(t.Id)));
    }

    [Fact]
    public void Native_trace_round_trips_and_matches_the_committed_file()
    {
        var text = NativeTraceWriter.ToText(R.Graph);
        var back = NativeTraceReader.ReadText(text);
        Assert.Equal(text, NativeTraceWriter.ToText(back));
        Assert.Equal(R.Graph.Ops.Select(o => o.HostCalls), back.Ops.Select(o => o.HostCalls));
        var committed = NativeTraceReader.Read(EtFiles.TinyLlamaNative);
        Assert.Equal(text, NativeTraceWriter.ToText(committed));
    }
}

/// <summary>Hand-written traces: unknown ops, errors, nesting and dtype rules.</summary>
public sealed class PytorchEtSmallTests
{
    private const string Bf = "Tensor(c10::BFloat16)";

    private static string Node(long id, string name, long parent, long rf, string inputs, string outputs, string schema = "") =>
        $$"""{"id":{{id}},"name":"{{name}}","ctrl_deps":{{parent}},"inputs":{{inputs}},"outputs":{{outputs}},"attrs":[{"name":"rf_id","type":"uint64","value":{{rf}}},{"name":"op_schema","type":"string","value":"{{schema}}"}]}""";

    private static string Args(params (string Value, string Shape, string Type)[] a) =>
        $$"""{"values":[{{string.Join(",", a.Select(x => x.Value))}}],"shapes":[{{string.Join(",", a.Select(x => x.Shape))}}],"types":[{{string.Join(",", a.Select(x => "\"" + x.Type + "\""))}}]}""";

    private static (string, string, string) T(long tid, long sid, long numel, int bytes, string shape, string type = Bf) =>
        ($"[{tid},{sid},0,{numel},{bytes},\"cuda:0\"]", shape, type);

    private static string Trace(params string[] nodes) =>
        $$"""{"schema":"1.1.1-chakra.0.0.4","pid":1,"nodes":[{{Node(1, "[pytorch|profiler|execution_trace|process]", 1, 0, Args(), Args())}},{{Node(2, "[pytorch|profiler|execution_trace|thread]", 1, 0, Args(), Args())}},{{string.Join(",", nodes)}}]}""";

    private static readonly string Small = Trace(
        // x [4, 8] @ w^T (w [16, 8]) through linear -> t -> mm
        Node(10, "aten::linear", 2, 1, Args(T(100, 1, 32, 2, "[4,8]"), T(101, 2, 128, 2, "[16,8]"), ("\"<None>\"", "[]", "None")), Args(T(102, 3, 64, 2, "[4,16]"))),
        Node(11, "aten::t", 10, 2, Args(T(101, 2, 128, 2, "[16,8]")), Args(T(103, 2, 128, 2, "[8,16]"))),
        Node(12, "aten::mm", 10, 3, Args(T(100, 1, 32, 2, "[4,8]"), T(103, 2, 128, 2, "[8,16]")), Args(T(102, 3, 64, 2, "[4,16]"))),
        Node(13, "aten::view", 2, 4, Args(T(102, 3, 64, 2, "[4,16]"), ("[64]", "[[]]", "GenericList[Int]")), Args(T(104, 3, 64, 2, "[64]"))),
        Node(14, "custom::frobnicate", 2, 5, Args(T(104, 3, 64, 2, "[64]")), Args(T(105, 4, 64, 2, "[64]"))),
        Node(15, "aten::argmax", 2, 6, Args(T(105, 4, 64, 2, "[64]")), Args(T(106, 5, 1, 8, "[]", "Tensor(long int)"))));

    [Fact]
    public void Unknown_op_is_listed_and_imported_as_generic()
    {
        var r = PytorchEtImporter.ImportText(Small, "small.json");
        var u = Assert.Single(r.Summary.Unknown);
        Assert.Equal(new UnknownAtenOp("custom::frobnicate", 1, 14), u);
        Assert.Contains("custom::frobnicate x1", r.Summary.Format());
        var op = Assert.Single(r.Graph.Ops, o => o.Kind == OpKind.Generic);
        Assert.Equal(128, op.BytesRead);      // memory-bound over its input...
        Assert.Equal(128, op.BytesWritten);   // ...and output bytes
        Assert.Equal(0, op.Flops);
    }

    [Fact]
    public void Small_trace_maps_nesting_views_dependencies_and_host_calls()
    {
        var r = PytorchEtImporter.ImportText(Small, "small.json");
        var g = r.Graph;
        Assert.Equal(["aten::linear", "custom::frobnicate", "aten::argmax"], g.Ops.Select(o => o.Name));
        Assert.Equal(new GemmShape(1, 4, 16, 8), g.Ops[0].Gemm);
        Assert.Equal(2L * 4 * 16 * 8, g.Ops[0].Flops);
        Assert.Equal((32 + 128) * 2, g.Ops[0].BytesRead);
        Assert.Equal([3, 2, 1], g.Ops.Select(o => o.HostCalls)); // linear+t+mm; view+frobnicate; argmax
        Assert.Equal([0, 1, 0], g.Ops.Select(o => o.HostViews));  // the view the program made before frobnicate
        Assert.Equal([2, 0, 0], g.Ops.Select(o => o.HostNested)); // t and mm inside the linear
        Assert.Equal(LaunchMode.Eager, g.Info.Recorded!.Launch);
        Assert.DoesNotContain(g.Ops, o => o.HostSync);
        Assert.Equal(6, r.Summary.HostCalls);
        Assert.Equal(1, r.Summary.MetadataCalls);
        // frobnicate reads the linear's output through the view (same storage).
        Assert.Equal([g.Ops[0]], g.Predecessors(g.Ops[1]));
        Assert.Equal([g.Ops[1]], g.Predecessors(g.Ops[2]));
        // An 8-byte integer is stored as 2 fp32 words: exact bytes.
        var idx = g.Ops[2].Outputs[0];
        Assert.Equal(DType.Fp32, idx.DType);
        Assert.Equal([2L], idx.Shape);
        Assert.Equal(8, idx.Bytes);
    }

    [Fact]
    public void Reading_a_value_back_makes_the_host_wait()
    {
        // x.sum().item(): a reduction, then item -> _local_scalar_dense; then y.to("cpu"): a copy into a
        // host tensor; then a plain add.
        var cpu = ($"[105,6,0,8,2,\"cpu\"]", "[8]", Bf);
        var trace = Trace(
            Node(10, "aten::sum", 2, 1, Args(T(100, 1, 8, 2, "[8]")), Args(T(101, 2, 1, 2, "[]"))),
            Node(11, "aten::item", 2, 2, Args(T(101, 2, 1, 2, "[]")), Args()),
            Node(12, "aten::_local_scalar_dense", 11, 3, Args(T(101, 2, 1, 2, "[]")), Args()),
            Node(13, "aten::to", 2, 4, Args(T(100, 1, 8, 2, "[8]")), Args(cpu)),
            Node(14, "aten::_to_copy", 13, 5, Args(T(100, 1, 8, 2, "[8]")), Args(cpu)),
            Node(15, "aten::copy_", 14, 6, Args(cpu, T(100, 1, 8, 2, "[8]")), Args(cpu)),
            Node(16, "aten::add", 2, 7, Args(T(100, 1, 8, 2, "[8]"), T(100, 1, 8, 2, "[8]")), Args(T(106, 7, 8, 2, "[8]"))));
        var g = PytorchEtImporter.ImportText(trace, "sync.json").Graph;
        Assert.Equal(["aten::sum", "aten::item>aten::_local_scalar_dense", "aten::to", "aten::add"], g.Ops.Select(o => o.Name));
        Assert.Equal([false, true, true, false], g.Ops.Select(o => o.HostSync));
        // item is a call the program made that launches nothing itself: a view of the op it wraps.
        Assert.Equal((2, 1, 0), (g.Ops[1].HostCalls, g.Ops[1].HostViews, g.Ops[1].HostNested));
        Assert.Equal((3, 0, 2), (g.Ops[2].HostCalls, g.Ops[2].HostViews, g.Ops[2].HostNested));
    }

    [Fact]
    public void In_place_updates_get_a_new_version_of_the_tensor()
    {
        var trace = Trace(
            Node(10, "aten::mul", 2, 1, Args(T(100, 1, 8, 2, "[8]"), T(101, 2, 8, 2, "[8]")), Args(T(102, 3, 8, 2, "[8]"))),
            Node(11, "aten::add_", 2, 2, Args(T(102, 3, 8, 2, "[8]"), T(101, 2, 8, 2, "[8]")), Args(T(102, 3, 8, 2, "[8]"))),
            Node(12, "aten::neg", 2, 3, Args(T(102, 3, 8, 2, "[8]")), Args(T(103, 4, 8, 2, "[8]"))));
        var g = PytorchEtImporter.ImportText(trace, "inplace.json").Graph;
        Assert.Equal(3, g.Ops.Count);
        Assert.Equal([g.Ops[0]], g.Predecessors(g.Ops[1]));
        Assert.Equal([g.Ops[1]], g.Predecessors(g.Ops[2]));
        Assert.NotEqual(g.Ops[0].Outputs[0].Id, g.Ops[1].Outputs[0].Id);
    }

    [Fact]
    public void Dtype_conversion_that_converts_nothing_is_no_op()
    {
        var trace = Trace(
            Node(10, "aten::to", 2, 1, Args(T(100, 1, 8, 2, "[8]"), ("15", "[]", "Int")), Args(T(100, 1, 8, 2, "[8]"))),
            Node(11, "aten::to", 2, 2, Args(T(100, 1, 8, 2, "[8]"), ("6", "[]", "Int")), Args(T(101, 2, 8, 4, "[8]", "Tensor(float)"))),
            Node(12, "aten::_to_copy", 11, 3, Args(T(100, 1, 8, 2, "[8]")), Args(T(101, 2, 8, 4, "[8]", "Tensor(float)"))),
            Node(13, "aten::empty_strided", 12, 4, Args(("[8]", "[[]]", "GenericList[Int]")), Args(T(101, 2, 8, 4, "[8]", "Tensor(float)"))),
            Node(14, "aten::copy_", 12, 5, Args(T(101, 2, 8, 4, "[8]", "Tensor(float)"), T(100, 1, 8, 2, "[8]")), Args(T(101, 2, 8, 4, "[8]", "Tensor(float)"))));
        var r = PytorchEtImporter.ImportText(trace, "to.json");
        var op = Assert.Single(r.Graph.Ops);
        Assert.Equal(OpKind.Copy, op.Kind);
        Assert.Equal("aten::to", op.Name);
        Assert.Equal(16, op.BytesRead);   // the bf16 source only, not the destination
        Assert.Equal(32, op.BytesWritten);
        Assert.Equal(5, op.HostCalls);     // the no-op to, then to, _to_copy, empty_strided, copy_
        Assert.Empty(r.Summary.Unknown);
    }

    [Theory]
    [InlineData("""{"schema":"1.1.1-chakra.0.0.4","nodes":[{"id":"x","name":"aten::mm","ctrl_deps":1,"inputs":{"values":[],"shapes":[],"types":[]},"outputs":{"values":[],"shapes":[],"types":[]}}]}""", "nodes[0].id")]
    [InlineData("""{"schema":"1.1.1-chakra.0.0.4","nodes":[{"id":3,"name":"aten::mm","ctrl_deps":1,"inputs":{"values":[[1,2,0]],"shapes":[[4]],"types":["Tensor(float)"]},"outputs":{"values":[],"shapes":[],"types":[]}}]}""", "nodes[0].inputs.values[0]")]
    [InlineData("""{"schema":"1.1.1-chakra.0.0.4","nodes":[{"id":3,"name":"aten::mm","ctrl_deps":1,"inputs":{"values":[1],"shapes":[],"types":["Int"]},"outputs":{"values":[],"shapes":[],"types":[]}}]}""", "nodes[0].inputs")]
    [InlineData("""{"schema":"1.1.1-chakra.0.0.4","nodes":[{"id":3,"ctrl_deps":1,"inputs":{"values":[],"shapes":[],"types":[]},"outputs":{"values":[],"shapes":[],"types":[]}}]}""", "nodes[0].name")]
    [InlineData("""{"schema":"1.1.1-chakra.0.0.4","nodes":{}}""", "nodes")]
    [InlineData("""{"schema":"2.0.0","nodes":[]}""", "schema")]
    [InlineData("""{"nodes":[]}""", "schema")]
    [InlineData("""[1,2]""", "$")]
    public void Malformed_trace_gives_input_exception_with_file_and_path(string json, string path)
    {
        var e = Assert.Throws<InputException>(() => PytorchEtImporter.ImportText(json, "bad-et.json"));
        Assert.Contains(e.Problems, p => p.File == "bad-et.json" && p.Path == path);
    }

    [Fact]
    public void Malformed_file_names_the_file()
    {
        var path = Path.Combine(Path.GetTempPath(), "accelsim-et-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, """{"schema":"1.1.1-chakra.0.0.4","nodes":[{"id":1""");
        try
        {
            var e = Assert.Throws<InputException>(() => PytorchEtImporter.Import(path));
            Assert.Equal(path, e.Problems[0].File);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Host_calls_field_is_optional_in_native_traces()
    {
        var g = PytorchEtImporter.ImportText(Small, "small.json").Graph;
        var text = NativeTraceWriter.ToText(g);
        Assert.Contains("\"host_calls\":3", text);
        Assert.Equal([3, 2, 1], NativeTraceReader.ReadText(text).Ops.Select(o => o.HostCalls));
        var bad = text.Replace("\"host_calls\":3", "\"host_calls\":0", StringComparison.Ordinal);
        var e = Assert.Throws<InputException>(() => NativeTraceReader.ReadText(bad, "t.json"));
        Assert.Contains(e.Problems, p => p.Path == "ops[0].host_calls");
    }
}
