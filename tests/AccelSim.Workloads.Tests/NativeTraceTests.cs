using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Traces;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Tests;

public class NativeTraceTests
{
    internal static void AssertSameGraph(WorkloadGraph expected, WorkloadGraph actual)
    {
        Assert.Equal(expected.Info, actual.Info);
        Assert.Equal(expected.Ops.Count, actual.Ops.Count);
        Assert.Equal(expected.Tensors.Count, actual.Tensors.Count);
        for (var i = 0; i < expected.Tensors.Count; i++)
        {
            var (a, b) = (expected.Tensors[i], actual.Tensors[i]);
            Assert.Equal((a.Id, a.Name, a.DType, a.Role, a.Bytes), (b.Id, b.Name, b.DType, b.Role, b.Bytes));
            Assert.Equal(a.Shape, b.Shape);
        }
        for (var i = 0; i < expected.Ops.Count; i++)
        {
            var (a, b) = (expected.Ops[i], actual.Ops[i]);
            Assert.Equal((a.Id, a.Name, a.Kind, a.Layer, a.Flops, a.ComputeDType, a.BytesRead, a.BytesWritten, a.Gemm, a.Attention),
                (b.Id, b.Name, b.Kind, b.Layer, b.Flops, b.ComputeDType, b.BytesRead, b.BytesWritten, b.Gemm, b.Attention));
            Assert.Equal((a.HostCalls, a.HostViews, a.HostNested, a.HostSync), (b.HostCalls, b.HostViews, b.HostNested, b.HostSync));
            Assert.Equal(a.Inputs.Select(t => t.Id), b.Inputs.Select(t => t.Id));
            Assert.Equal(a.Outputs.Select(t => t.Id), b.Outputs.Select(t => t.Id));
        }
        Assert.Equal(expected.TotalFlops, actual.TotalFlops);
        Assert.Equal(expected.TotalBytes, actual.TotalBytes);
    }

    [Theory]
    [InlineData("llama2-7b", "prefill")]
    [InlineData("mistral-7b", "decode")]
    public void Model_graphs_round_trip_through_a_file(string model, string phase)
    {
        var m = TestConfigs.Load(model);
        // Mistral decode past its window exercises the capped cache.
        var g = ModelBuilderRegistry.Default.Build(m,
            Phases.Parse(phase) == Phase.Prefill ? WorkloadRequest.Prefill(2, 256) : WorkloadRequest.Decode(3, 5000));
        var text = NativeTraceWriter.ToText(g);
        using var f = new TestConfigs.TempFile(text);
        var back = NativeTraceReader.Read(f.Path);
        AssertSameGraph(g, back);
        Assert.Equal(text, NativeTraceWriter.ToText(back));
    }

    [Fact]
    public void The_documented_example_is_valid_canonical_and_its_numbers_hold()
    {
        var doc = File.ReadAllText(Path.Combine(Path.GetDirectoryName(TestConfigs.ModelsDir)!, "..", "docs", "trace-format.md"));
        var start = doc.IndexOf("```json\n", doc.IndexOf("## Complete example", StringComparison.Ordinal), StringComparison.Ordinal) + "```json\n".Length;
        var example = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];
        var g = NativeTraceReader.ReadText(example, "docs/trace-format.md");
        Assert.Equal(example, NativeTraceWriter.ToText(g));
        var attn = g.Ops[0];
        Assert.Equal(attn.Attention!.Value.Flops, attn.Flops);
        Assert.Equal(attn.Inputs.Sum(t => t.Bytes), attn.BytesRead);
        Assert.Equal(g.Ops[1].Gemm!.Value.Flops, g.Ops[1].Flops);
        Assert.Equal(g.Ops[1].Inputs.Sum(t => t.Bytes), g.Ops[1].BytesRead);
        Assert.All(g.Ops, o => Assert.Equal(o.Outputs.Sum(t => t.Bytes), o.BytesWritten));
    }

    [Fact]
    public void Gzip_round_trip()
    {
        var g = SingleOps.Attention(2, 8, 2, 64, 16, 100, DType.Bf16);
        var path = Path.Combine(Path.GetTempPath(), "accelsim-test-" + Guid.NewGuid().ToString("N") + ".json.gz");
        try
        {
            NativeTraceWriter.Write(g, path);
            Assert.Equal(0x1f, File.ReadAllBytes(path)[0]);
            AssertSameGraph(g, NativeTraceReader.Read(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private const string Small = """
        {
          "schema": "accelsim.trace/1",
          "workload": {"name":"tiny","phase":"prefill","batch":1,"seq_len":4,"context":0,"tokens":4},
          "tensors": [
            {"id":0,"name":"x","shape":[4,8],"dtype":"bf16","role":"activation"},
            {"id":1,"name":"w","shape":[8,16],"dtype":"bf16","role":"weight"},
            {"id":2,"name":"y","shape":[4,16],"dtype":"bf16","role":"activation"},
            {"id":3,"name":"z","shape":[4,16],"dtype":"bf16","role":"activation"}
          ],
          "ops": [
            {"id":0,"name":"proj","kind":"matmul","layer":0,"inputs":[0,1],"outputs":[2],"flops":1024,"dtype":"bf16","bytes_read":320,"bytes_written":128,"gemm":{"batch":1,"m":4,"n":16,"k":8,"weight_shared":true}},
            {"id":1,"name":"act","kind":"activation","layer":0,"inputs":[2],"outputs":[3],"flops":320,"dtype":"bf16","bytes_read":128,"bytes_written":128}
          ]
        }
        """;

    [Fact]
    public void A_hand_written_trace_reads_and_writes_canonically()
    {
        var g = NativeTraceReader.ReadText(Small);
        Assert.Equal(2, g.Ops.Count);
        Assert.Equal(new GemmShape(1, 4, 16, 8), g.Ops[0].Gemm);
        Assert.Equal(1344, g.TotalFlops);
        Assert.Same(g.Ops[0], g.Predecessors(g.Ops[1]).Single());
        var text = NativeTraceWriter.ToText(g);
        Assert.StartsWith("{\n  \"schema\": \"accelsim.trace/1\",\n  \"workload\": {\"name\":\"tiny\"", text);
        Assert.Contains("\n    {\"id\":1,\"name\":\"act\",\"kind\":\"activation\",\"layer\":0,\"inputs\":[2],\"outputs\":[3],\"flops\":320,\"dtype\":\"bf16\",\"bytes_read\":128,\"bytes_written\":128}\n  ]\n}\n", text);
        Assert.Equal(text, NativeTraceWriter.ToText(NativeTraceReader.ReadText(text)));
    }

    [Fact]
    public void Optional_fields_take_their_defaults()
    {
        var j = JObject.Parse(Small);
        var op = (JObject)j["ops"]![1]!;
        op.Remove("bytes_read");
        op.Remove("bytes_written");
        op.Remove("layer");
        op["_note"] = "comments are ignored";
        ((JObject)j["ops"]![0]!["gemm"]!).Remove("weight_shared");
        var g = NativeTraceReader.ReadText(j.ToString());
        Assert.Equal(-1, g.Ops[1].Layer);
        Assert.Equal(128, g.Ops[1].BytesRead);
        Assert.True(g.Ops[0].Gemm!.Value.WeightShared);
    }

    [Fact]
    public void A_trace_without_recorded_loads_as_a_built_workload()
    {
        var g = NativeTraceReader.ReadText(Small);
        Assert.Null(g.Info.Recorded);
        Assert.DoesNotContain("recorded", NativeTraceWriter.ToText(g));
    }

    [Fact]
    public void Recorded_round_trips_and_sits_after_the_workload()
    {
        var j = JObject.Parse(Small);
        j.Property("workload")!.AddAfterSelf(new JProperty("recorded", new JObject { ["launch"] = "eager", ["framework"] = "PyTorch", ["source"] = "an ET" }));
        var g = NativeTraceReader.ReadText(j.ToString());
        Assert.Equal(new RecordedProgram(LaunchMode.Eager, "PyTorch") { Source = "an ET" }, g.Info.Recorded);
        var text = NativeTraceWriter.ToText(g);
        Assert.Contains("\"tokens\":4},\n  \"recorded\": {\"launch\":\"eager\",\"framework\":\"PyTorch\",\"source\":\"an ET\"},\n  \"tensors\"", text);
        AssertSameGraph(g, NativeTraceReader.ReadText(text));
        Assert.Equal(text, NativeTraceWriter.ToText(NativeTraceReader.ReadText(text)));

        var graphLaunch = NativeTraceReader.ReadText(text.Replace("\"eager\"", "\"graph\"", StringComparison.Ordinal));
        Assert.Equal(LaunchMode.Graph, graphLaunch.Info.Recorded!.Launch);
        Assert.Null(NativeTraceReader.ReadText(text.Replace(",\"source\":\"an ET\"", "", StringComparison.Ordinal)).Info.Recorded!.Source);
    }

    [Fact]
    public void A_bad_recorded_field_is_named()
    {
        Assert.Equal("recorded.launch", BadSingle(j => j["recorded"] = new JObject { ["launch"] = "lazy", ["framework"] = "PyTorch" }).Path);
        Assert.Equal("recorded.framework", BadSingle(j => j["recorded"] = new JObject { ["launch"] = "eager" }).Path);
        Assert.Equal("recorded.speed", BadSingle(j => j["recorded"] = new JObject { ["launch"] = "eager", ["framework"] = "x", ["speed"] = 2 }).Path);
        Assert.Equal("recorded", BadSingle(j => j["recorded"] = "eager").Path);
    }

    [Fact]
    public void Host_call_breakdown_and_read_backs_round_trip()
    {
        var j = JObject.Parse(Small);
        var op = (JObject)j["ops"]![0]!;
        op["host_calls"] = 9;
        op["host_views"] = 2;
        op["host_nested"] = 6;
        op["host_sync"] = true;
        var g = NativeTraceReader.ReadText(j.ToString());
        Assert.Equal((9, 2, 6, 1, true), (g.Ops[0].HostCalls, g.Ops[0].HostViews, g.Ops[0].HostNested, g.Ops[0].HostOwnCalls, g.Ops[0].HostSync));
        Assert.Equal((1, 0, 0, false), (g.Ops[1].HostCalls, g.Ops[1].HostViews, g.Ops[1].HostNested, g.Ops[1].HostSync));
        var text = NativeTraceWriter.ToText(g);
        Assert.Contains("\"host_calls\":9,\"host_views\":2,\"host_nested\":6,\"host_sync\":true", text);
        AssertSameGraph(g, NativeTraceReader.ReadText(text));
    }

    [Fact]
    public void Host_calls_without_a_breakdown_are_views()
    {
        // Traces written before the breakdown: every call beyond the op's own is a view.
        var j = JObject.Parse(Small);
        ((JObject)j["ops"]![0]!)["host_calls"] = 5;
        var g = NativeTraceReader.ReadText(j.ToString());
        Assert.Equal((5, 4, 0), (g.Ops[0].HostCalls, g.Ops[0].HostViews, g.Ops[0].HostNested));
        Assert.DoesNotContain("host_views", NativeTraceWriter.ToText(g));
    }

    [Fact]
    public void A_breakdown_larger_than_the_calls_is_rejected()
    {
        var p = BadSingle(j =>
        {
            var op = (JObject)j["ops"]![0]!;
            op["host_calls"] = 3;
            op["host_views"] = 2;
            op["host_nested"] = 2;
        });
        Assert.Equal("ops[0].host_views", p.Path);
        Assert.Contains("exceed host_calls", p.Message);
        Assert.Equal("ops[0].host_sync", BadSingle(j => ((JObject)j["ops"]![0]!)["host_sync"] = 1).Path);
    }

    private static InputProblem BadSingle(Action<JObject> edit)
    {
        var j = JObject.Parse(Small);
        edit(j);
        var e = Assert.Throws<InputException>(() => NativeTraceReader.ReadText(j.ToString(), "t.json"));
        var p = Assert.Single(e.Problems);
        Assert.Equal("t.json", p.File);
        return p;
    }

    [Fact]
    public void Unknown_schema_version_is_rejected()
    {
        var p = BadSingle(j => j["schema"] = "accelsim.trace/2");
        Assert.Equal("schema", p.Path);
        Assert.Contains("accelsim.trace/1", p.Message);
        Assert.Equal("schema", BadSingle(j => j.Remove("schema")).Path);
    }

    [Fact]
    public void Missing_fields_are_named()
    {
        Assert.Equal("ops[1].flops", BadSingle(j => ((JObject)j["ops"]![1]!).Remove("flops")).Path);
        Assert.Equal("tensors[2].dtype", BadSingle(j => ((JObject)j["tensors"]![2]!).Remove("dtype")).Path);
        Assert.Equal("workload.tokens", BadSingle(j => ((JObject)j["workload"]!).Remove("tokens")).Path);
        Assert.Equal("ops[0].gemm.k", BadSingle(j => ((JObject)j["ops"]![0]!["gemm"]!).Remove("k")).Path);
    }

    [Fact]
    public void Negative_values_are_rejected()
    {
        Assert.Equal("ops[0].bytes_read", BadSingle(j => j["ops"]![0]!["bytes_read"] = -5).Path);
        Assert.Equal("tensors[1].shape[1]", BadSingle(j => j["tensors"]![1]!["shape"]![1] = -16).Path);
        Assert.Equal("ops[1].flops", BadSingle(j => j["ops"]![1]!["flops"] = -1).Path);
        Assert.Equal("ops[0].layer", BadSingle(j => j["ops"]![0]!["layer"] = -2).Path);
    }

    [Fact]
    public void Unknown_tensor_ids_are_rejected()
    {
        var p = BadSingle(j => j["ops"]![1]!["inputs"] = new JArray(2, 9));
        Assert.Equal("ops[1].inputs[1]", p.Path);
        Assert.Contains("unknown tensor id 9", p.Message);
    }

    [Fact]
    public void A_tensor_written_twice_is_rejected()
    {
        var p = BadSingle(j => j["ops"]![1]!["outputs"] = new JArray(2));
        Assert.Equal("ops[1].outputs[0]", p.Path);
        Assert.Contains("already written by ops[0]", p.Message);
    }

    [Fact]
    public void A_cycle_is_rejected()
    {
        var p = BadSingle(j => j["ops"]![0]!["inputs"] = new JArray(0, 1, 3));
        Assert.Contains("cycle", p.Message);
        Assert.Contains("ops[0] 'proj' -> ops[1] 'act' -> ops[0] 'proj'", p.Message);

        var self = BadSingle(j => j["ops"]![1]!["inputs"] = new JArray(2, 3));
        Assert.Equal("ops[1]", self.Path);
        Assert.Contains("cycle", self.Message);
    }

    [Fact]
    public void Ops_out_of_topological_order_are_rejected()
    {
        var p = BadSingle(j =>
        {
            var ops = (JArray)j["ops"]!;
            var first = ops[0];
            ops.RemoveAt(0);
            ops.Add(first);
            ops[0]["id"] = 0;
            ops[1]["id"] = 1;
        });
        Assert.Equal("ops[0].inputs[0]", p.Path);
        Assert.Contains("topological order", p.Message);
    }

    [Fact]
    public void Ids_unknown_kinds_and_unknown_fields_are_rejected()
    {
        Assert.Equal("ops[1].id", BadSingle(j => j["ops"]![1]!["id"] = 7).Path);
        var dup = JObject.Parse(Small);
        dup["tensors"]![3]!["id"] = 0;
        var e = Assert.Throws<InputException>(() => NativeTraceReader.ReadText(dup.ToString()));
        Assert.Equal("tensors[3].id", e.Problems[0].Path);
        Assert.Contains("duplicate tensor id 0 (also tensors[0])", e.Problems[0].Message);
        Assert.Contains("unknown kind", BadSingle(j => j["ops"]![0]!["kind"] = "conv").Message);
        Assert.Equal("ops[0].bytes_reads", BadSingle(j => j["ops"]![0]!["bytes_reads"] = 1).Path);
        Assert.Contains("kv_len >= query_len", BadSingle(j => j["ops"]![1]!["attention"] = JObject.Parse(
            """{"batch":1,"heads_q":1,"heads_kv":1,"head_dim":8,"query_len":4,"kv_len":2,"causal":true}""")).Message);
    }

    [Fact]
    public void Malformed_json_is_an_input_error()
    {
        var e = Assert.Throws<InputException>(() => NativeTraceReader.ReadText("{\"schema\": \"accelsim.trace/1\",", "x.json"));
        Assert.Equal("x.json", Assert.Single(e.Problems).File);
        using var f = new TestConfigs.TempFile("{ nope");
        Assert.Throws<InputException>(() => NativeTraceReader.Read(f.Path));
    }

    [Fact]
    public void All_problems_are_reported_together()
    {
        var j = JObject.Parse(Small);
        j["ops"]![0]!["flops"] = -1;
        j["ops"]![1]!["dtype"] = "fp13";
        j["tensors"]![0]!["role"] = "bias";
        var e = Assert.Throws<InputException>(() => NativeTraceReader.ReadText(j.ToString()));
        Assert.Equal(["ops[0].flops", "ops[1].dtype", "tensors[0].role"], e.Problems.Select(p => p.Path!).Order(StringComparer.Ordinal));
    }
}
