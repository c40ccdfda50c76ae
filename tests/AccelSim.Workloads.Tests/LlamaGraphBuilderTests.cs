using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Models.Internal;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Tests;

public class LlamaGraphBuilderTests
{
    private static WorkloadGraph Build(string model, WorkloadRequest request) =>
        ModelBuilderRegistry.Default.Build(TestConfigs.Load(model), request);

    private static long Params(WorkloadGraph g) => g.Tensors.Where(t => t.Role == TensorRole.Weight).Sum(t => t.Elements);

    private static Op Op(WorkloadGraph g, string name) => g.Ops.Single(o => o.Name == name);

    /// <summary>Parameters of a Llama model from its config, counted by hand.</summary>
    private static long ClosedFormParams(ModelConfig m)
    {
        long h = m.HiddenSize, i = m.IntermediateSize, d = m.HeadDim, hq = m.NumAttentionHeads, hkv = m.NumKeyValueHeads, v = m.VocabSize;
        var layer = h * (hq + 2 * hkv) * d + hq * d * h + 3 * h * i + 2 * h;
        return m.NumHiddenLayers * layer + h + v * h * (m.TieWordEmbeddings ? 1 : 2);
    }

    [Theory]
    [InlineData("llama2-7b", 6_738_415_616L)]
    [InlineData("llama3-8b", 8_030_261_248L)]
    [InlineData("llama2-70b", 68_976_648_192L)]
    [InlineData("llama2-13b", 13_015_864_320L)]
    [InlineData("llama3-70b", 70_553_706_496L)]
    [InlineData("mistral-7b", 7_241_732_096L)]
    public void Parameter_count_matches_the_published_model(string model, long expected)
    {
        var g = Build(model, WorkloadRequest.Prefill(1, 16));
        Assert.Equal(expected, Params(g));
        Assert.Equal(ClosedFormParams(TestConfigs.Load(model)), Params(g));
    }

    [Fact]
    public void Parameter_counts_are_near_the_headline_sizes()
    {
        Assert.InRange(Params(Build("llama2-7b", WorkloadRequest.Prefill(1, 1))) / 1e9, 6.73, 6.75);
        Assert.InRange(Params(Build("llama3-8b", WorkloadRequest.Prefill(1, 1))) / 1e9, 8.02, 8.04);
        Assert.InRange(Params(Build("llama2-70b", WorkloadRequest.Prefill(1, 1))) / 1e9, 68.97, 68.99);
    }

    [Fact]
    public void Tied_embeddings_share_one_tensor()
    {
        var j = JObject.Parse(File.ReadAllText(TestConfigs.ModelPath("llama2-7b")));
        j["tie_word_embeddings"] = true;
        using var f = new TestConfigs.TempFile(j.ToString());
        var m = ModelConfigLoader.Load(f.Path);
        var g = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Prefill(1, 8));
        Assert.Same(Op(g, "embed").Inputs[0], Op(g, "lm_head").Inputs[1]);
        Assert.Equal(6_738_415_616L - 32000L * 4096, Params(g));
        Assert.Equal(ClosedFormParams(m), Params(g));
    }

    [Fact]
    public void Prefill_ops_match_closed_forms()
    {
        const long b = 2, s = 512, h = 4096, i = 11008, hq = 32, hkv = 32, d = 128, v = 32000, e = 2; // fp16
        const long t = b * s;
        var g = Build("llama2-7b", WorkloadRequest.Prefill(b, s));

        var embed = Op(g, "embed");
        Assert.Equal(OpKind.Embedding, embed.Kind);
        Assert.Equal(t * h * e, embed.BytesRead);
        Assert.Equal(t * h * e, embed.BytesWritten);
        Assert.Equal(-1, embed.Layer);

        var norm = Op(g, "layer0.attn_norm");
        Assert.Equal(4 * t * h, norm.Flops);
        Assert.Equal((t * h + h) * e, norm.BytesRead);
        Assert.Equal(t * h * e, norm.BytesWritten);

        var qkv = Op(g, "layer0.qkv");
        Assert.Equal(new GemmShape(1, t, (hq + 2 * hkv) * d, h), qkv.Gemm);
        Assert.Equal(2 * t * (hq + 2 * hkv) * d * h, qkv.Flops);
        Assert.Equal((t * h + h * (hq + 2 * hkv) * d) * e, qkv.BytesRead);
        Assert.Equal(t * (hq + 2 * hkv) * d * e, qkv.BytesWritten);

        var rope = Op(g, "layer0.rope");
        Assert.Equal(3 * t * (hq + hkv) * d, rope.Flops);

        var attn = Op(g, "layer3.attn");
        Assert.Equal(new AttentionShape(b, hq, hkv, d, s, s, true), attn.Attention);
        Assert.Equal(4 * b * hq * d * (s * (s + 1) / 2), attn.Flops);
        Assert.Equal(t * (hq + 2 * hkv) * d * e, attn.BytesRead);
        Assert.Equal(t * hq * d * e, attn.BytesWritten);
        Assert.Equal(3, attn.Layer);

        var kvw = Op(g, "layer0.kv_write");
        Assert.Equal(2 * t * hkv * d * e, kvw.BytesWritten);
        Assert.All(kvw.Outputs, o => Assert.Equal(TensorRole.KvCache, o.Role));

        Assert.Equal(2 * t * h * hq * d, Op(g, "layer0.o_proj").Flops);
        Assert.Equal(t * h, Op(g, "layer0.attn_residual").Flops);
        Assert.Equal(3 * t * h * e, Op(g, "layer0.attn_residual").BytesRead + Op(g, "layer0.attn_residual").BytesWritten);
        Assert.Equal(new GemmShape(1, t, 2 * i, h), Op(g, "layer0.gate_up").Gemm);
        var act = Op(g, "layer0.act");
        Assert.Equal(5 * t * i, act.Flops);
        Assert.Equal(2 * t * i * e, act.BytesRead);
        Assert.Equal(t * i * e, act.BytesWritten);
        Assert.Equal(new GemmShape(1, t, h, i), Op(g, "layer0.down").Gemm);

        var head = Op(g, "lm_head");
        Assert.Equal(new GemmShape(1, b, v, h), head.Gemm);
        Assert.Equal(2 * b * v * h, head.Flops);
        Assert.Equal((b * h + h * v) * e, head.BytesRead);
        Assert.Equal(b * v * e, head.BytesWritten);
    }

    [Fact]
    public void Prefill_total_flops_match_the_closed_form_exactly()
    {
        var m = TestConfigs.Load("llama2-7b");
        const long b = 1, s = 2048;
        var g = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Prefill(b, s));
        long h = m.HiddenSize, i = m.IntermediateSize, hq = m.NumAttentionHeads, hkv = m.NumKeyValueHeads, d = m.HeadDim, v = m.VocabSize;
        var t = b * s;
        var perLayer =
            2 * t * h * (hq + 2 * hkv) * d      // qkv
            + 2 * t * hq * d * h                // o_proj
            + 2 * t * h * 2 * i + 2 * t * i * h // gate_up, down
            + 4 * b * hq * d * (s * (s + 1) / 2) // causal attention
            + 2 * ElementFlops.RmsNorm * t * h + 2 * ElementFlops.Add * t * h
            + ElementFlops.Rope * t * (hq + hkv) * d + ElementFlops.SiluGate * t * i;
        var expected = m.NumHiddenLayers * perLayer + ElementFlops.RmsNorm * t * h + 2 * b * v * h;
        Assert.Equal(expected, g.TotalFlops);
        Assert.Equal(27_633_964_285_952L, g.TotalFlops);
    }

    [Theory]
    [InlineData("llama2-7b", 1, 2048)]
    [InlineData("llama3-8b", 4, 1024)]
    [InlineData("llama2-70b", 1, 4096)]
    public void Prefill_flops_are_two_flops_per_parameter_per_token_plus_attention(string model, long b, long s)
    {
        var m = TestConfigs.Load(model);
        var g = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Prefill(b, s));
        var t = b * s;
        long h = m.HiddenSize, v = m.VocabSize;
        // Matmul parameters seen by every token: all weights but the embedding, the LM head and the norms.
        var norms = (2L * m.NumHiddenLayers + 1) * h;
        var bodyParams = Params(g) - 2 * v * h - norms;
        var attention = m.NumHiddenLayers * 4L * b * m.NumAttentionHeads * m.HeadDim * (s * (s + 1) / 2);
        var approx = 2.0 * bodyParams * t + 2.0 * b * v * h + attention;
        Assert.InRange(g.TotalFlops / approx, 1.0, 1.01);
    }

    [Fact]
    public void Decode_reads_the_kv_cache_of_context_plus_one_tokens()
    {
        const long b = 8, ctx = 1000, hq = 32, hkv = 8, d = 128, e = 2; // llama3-8b, bf16
        var g = Build("llama3-8b", WorkloadRequest.Decode(b, ctx));
        Assert.Equal(new WorkloadInfo("llama3-8b", "decode", b, 1, ctx, b), g.Info);

        var attn = Op(g, "layer5.attn");
        Assert.Equal(new AttentionShape(b, hq, hkv, d, 1, ctx + 1, true), attn.Attention);
        Assert.Equal(4 * b * hq * d * (ctx + 1), attn.Flops);
        var caches = attn.Inputs.Where(t => t.Role == TensorRole.KvCache && !g.Producer.ContainsKey(t.Id)).ToArray();
        Assert.Equal(2, caches.Length);
        Assert.All(caches, c => Assert.Equal([b, ctx + 1, hkv, d], c.Shape));
        Assert.Equal((b * hq * d + 2 * b * (ctx + 1) * hkv * d) * e, attn.BytesRead);

        // The new token's K and V are written once, before the attention reads them.
        var write = Op(g, "layer5.kv_write");
        Assert.Equal(2 * b * hkv * d * e, write.BytesWritten);
        Assert.Contains(write, g.Predecessors(attn));

        // Every matmul sees one row per sequence.
        Assert.All(g.Ops.Where(o => o.Gemm is not null), o => Assert.Equal(b, o.Gemm!.Value.M));
        // Weights are read in full once per step; the embedding reads only the gathered rows.
        Assert.Equal(b * 4096 * e, Op(g, "embed").BytesRead);
    }

    [Fact]
    public void Decode_flops_are_two_per_parameter_plus_cache_attention()
    {
        var m = TestConfigs.Load("llama2-7b");
        const long b = 4, ctx = 2047;
        var g = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Decode(b, ctx));
        var matmul = g.Ops.Where(o => o.Kind == OpKind.MatMul).Sum(o => o.Flops);
        Assert.Equal(2 * b * (Params(g) - 32000L * 4096 - 65L * 4096), matmul);
        var attention = g.Ops.Where(o => o.Kind == OpKind.Attention).Sum(o => o.Flops);
        Assert.Equal(32 * 4 * b * 32 * 128 * (ctx + 1), attention);
    }

    [Fact]
    public void Mistral_window_caps_decode_attention_and_cache()
    {
        var g = Build("mistral-7b", WorkloadRequest.Decode(1, 10_000));
        var attn = Op(g, "layer0.attn");
        Assert.Equal(4096, attn.Attention!.Value.KvLen);
        Assert.Equal(4L * 32 * 128 * 4096, attn.Flops);
        Assert.All(attn.Inputs.Where(t => t.Name.EndsWith("_cache", StringComparison.Ordinal)), c => Assert.Equal(4096, c.Shape[1]));

        // Below the window nothing changes.
        var short_ = Op(Build("mistral-7b", WorkloadRequest.Decode(1, 100)), "layer0.attn");
        Assert.Equal(101, short_.Attention!.Value.KvLen);
    }

    [Fact]
    public void Mistral_window_prefill_splits_into_a_causal_square_and_a_band()
    {
        const long s = 8192, w = 4096, hq = 32, hkv = 8, d = 128, e = 2;
        var g = Build("mistral-7b", WorkloadRequest.Prefill(1, s));
        var square = Op(g, "layer0.attn");
        var band = Op(g, "layer0.attn_band");
        Assert.Equal(new AttentionShape(1, hq, hkv, d, w, w, true), square.Attention);
        Assert.Equal(new AttentionShape(1, hq, hkv, d, s - w, w, false), band.Attention);
        // Query i attends to min(i + 1, w) keys.
        long pairs = 0;
        for (long q = 0; q < s; q++) pairs += Math.Min(q + 1, w);
        Assert.Equal(4 * hq * d * pairs, square.Flops + band.Flops);
        Assert.True(square.Flops + band.Flops < new AttentionShape(1, hq, hkv, d, s, s, true).Flops);
        // The projection reads both halves of the output.
        var o = Op(g, "layer0.o_proj");
        Assert.Equal(s * hq * d * e + hq * d * 4096 * e, o.BytesRead);
        Assert.Contains(square, g.Predecessors(o));
        Assert.Contains(band, g.Predecessors(o));
        // The rolling cache keeps the last window of tokens.
        Assert.Equal(2 * w * hkv * d * e, Op(g, "layer0.kv_write").BytesWritten);
    }

    [Fact]
    public void Graph_is_well_formed()
    {
        var g = Build("llama3-8b", WorkloadRequest.Prefill(1, 64));
        Assert.Equal(Enumerable.Range(0, g.Ops.Count), g.Ops.Select(o => o.Id));
        Assert.Equal(g.Ops, g.TopologicalOrder());
        Assert.Equal(g.Tensors.Count, g.Tensors.Select(t => t.Id).Distinct().Count());
        Assert.Equal(g.Ops.Count, g.Ops.Select(o => o.Name).Distinct().Count());
        // 1 embed + 32 x 12 layer ops + final norm + lm head
        Assert.Equal(1 + 32 * 12 + 2, g.Ops.Count);
        Assert.All(g.Ops, o => Assert.InRange(o.Layer, -1, 31));
        Assert.All(g.Ops.Where(o => o.Name.StartsWith("layer7.", StringComparison.Ordinal)), o => Assert.Equal(7, o.Layer));
        Assert.All(g.Ops.Where(o => o.Kind == OpKind.MatMul), o => Assert.Equal(TensorRole.Weight, o.Inputs[^1].Role));
        Assert.Equal(new WorkloadInfo("llama3-8b", "prefill", 1, 64, 0, 64), g.Info);
        // Each layer's first op depends on the previous layer's last.
        Assert.Contains(Op(g, "layer0.mlp_residual"), g.Predecessors(Op(g, "layer1.attn_norm")));
    }

    [Fact]
    public void Dtype_defaults_to_torch_dtype_and_can_be_overridden()
    {
        Assert.All(Build("llama2-7b", WorkloadRequest.Prefill(1, 4)).Tensors, t => Assert.Equal(DType.Fp16, t.DType));
        var g = Build("llama2-7b", WorkloadRequest.Prefill(1, 4, DType.Fp8));
        Assert.All(g.Tensors, t => Assert.Equal(DType.Fp8, t.DType));
        Assert.Equal(6_738_415_616L, g.Tensors.Where(t => t.Role == TensorRole.Weight).Sum(t => t.Bytes));
    }

    [Theory]
    [MemberData(nameof(BundledPhases))]
    public void Every_bundled_model_builds_prefill_and_decode(string model, string phase)
    {
        var m = TestConfigs.Load(model);
        var request = Phases.Parse(phase) == Phase.Prefill ? WorkloadRequest.Prefill(2, 128) : WorkloadRequest.Decode(2, 512);
        var g = ModelBuilderRegistry.Default.Build(m, request);
        Assert.Equal(phase, g.Info.Phase);
        Assert.Equal(model, g.Info.Name);
        Assert.Equal(m.NumHiddenLayers, g.Ops.Count(o => o.Kind == OpKind.Attention));
        Assert.True(g.TotalFlops > 2 * request.Tokens * (long)m.NumHiddenLayers * m.HiddenSize * m.HiddenSize);
        Assert.Equal(g.Ops.Count, g.QuikGraphTopologicalOrder().Count());
    }

    public static TheoryData<string, string> BundledPhases()
    {
        var data = new TheoryData<string, string>();
        foreach (var m in TestConfigs.Bundled)
        {
            data.Add(m, "prefill");
            data.Add(m, "decode");
        }
        return data;
    }

    [Theory]
    [InlineData(0, 16, 0, "batch")]
    [InlineData(1, 0, 0, "seq")]
    [InlineData(1, 16, 5, "context")]
    [InlineData(1, 4096, 0, "max_position_embeddings")]
    public void Bad_prefill_requests_are_input_errors(long batch, long seq, long ctx, string path)
    {
        var m = TestConfigs.Load("llama2-7b");
        var e = Assert.Throws<InputException>(() => ModelBuilderRegistry.Default.Build(m, new WorkloadRequest(Phase.Prefill, batch, seq + (path == "max_position_embeddings" ? 1 : 0), ctx)));
        Assert.Equal(path, Assert.Single(e.Problems).Path);
    }

    [Fact]
    public void Decode_ignores_the_prompt_length()
    {
        var m = TestConfigs.Load("llama2-7b");
        var a = ModelBuilderRegistry.Default.Build(m, new WorkloadRequest(Phase.Decode, 2, 2048, 100));
        var b = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Decode(2, 100));
        Assert.Equal(b.Info, a.Info);
        Assert.Equal(new WorkloadInfo("llama2-7b", "decode", 2, 1, 100, 2), a.Info);
        Assert.Equal(b.TotalFlops, a.TotalFlops);
        Assert.Equal(b.TotalBytes, a.TotalBytes);
    }

    [Fact]
    public void Bad_decode_requests_are_input_errors()
    {
        var m = TestConfigs.Load("llama2-7b");
        Assert.Equal(RequestParameter.Context, Assert.Single(Assert.Throws<InputException>(() =>
            ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Decode(1, -1))).Problems).Path);
        // 4095 cached + 1 new = 4096 positions fits; one more does not.
        ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Decode(1, 4095));
        Assert.Throws<InputException>(() => ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Decode(1, 4096)));
    }
}
