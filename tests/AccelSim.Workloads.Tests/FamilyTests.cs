using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Models.Internal;
using Newtonsoft.Json.Linq;
using Xunit.Abstractions;

namespace AccelSim.Workloads.Tests;

/// <summary>Every family: parameter counts against the published sizes, forward FLOPs against the
/// closed form, MoE weight reads, bad fields.</summary>
public class FamilyTests(ITestOutputHelper output)
{
    private static WorkloadGraph Build(string model, WorkloadRequest request) =>
        ModelBuilderRegistry.Default.Build(TestConfigs.Load(model), request);

    private static long Raw(ModelConfig m, string key) => m.Raw[key]!.Value<long>();

    /// <summary>Matmul parameters one token passes through in the decoder layers (routed experts: k of
    /// them), counted by hand from the config, and the attention FLOPs of a causal prefill of s tokens.</summary>
    internal static (double MatmulParams, double Attention, long HeadWidth) ClosedForm(ModelConfig m, long b, long s)
    {
        double h = m.HiddenSize, hq = m.NumAttentionHeads, hkv = m.NumKeyValueHeads, d = m.HeadDim, i = m.IntermediateSize, l = m.NumHiddenLayers;
        double pairs = s * (s + 1) / 2.0;
        var std = l * 4 * b * hq * d * pairs;
        switch (m.ModelType)
        {
            case "llama" or "mistral" or "qwen2":
                return (l * (h * (hq + 2 * hkv) * d + hq * d * h + 3 * h * i), std, m.HiddenSize);
            case "mixtral":
            {
                double e = Raw(m, "num_local_experts"), k = Raw(m, "num_experts_per_tok");
                return (l * (h * (hq + 2 * hkv) * d + hq * d * h + h * e + k * 3 * h * i), std, m.HiddenSize);
            }
            case "gpt2" or "opt":
                return (l * (4 * h * h + 2 * h * i), std, m.HiddenSize);
            case "falcon":
                return (l * (h * (hq + 2 * hkv) * d + h * h + 2 * h * i), std, m.HiddenSize);
            case "deepseek_v2":
            {
                double r = Raw(m, "kv_lora_rank"), nope = Raw(m, "qk_nope_head_dim"), rope = Raw(m, "qk_rope_head_dim"), v = Raw(m, "v_head_dim");
                double e = Raw(m, "n_routed_experts"), k = Raw(m, "num_experts_per_tok"), ie = Raw(m, "moe_intermediate_size"), sh = Raw(m, "n_shared_experts");
                double dense = Raw(m, "first_k_dense_replace");
                var attn = h * hq * (nope + rope) + h * (r + rope) + r * hq * (nope + v) + hq * v * h;
                var moe = h * e + k * 3 * h * ie + sh * 3 * h * ie;
                return (l * attn + dense * 3 * h * i + (l - dense) * moe, l * 2 * b * hq * pairs * (nope + rope + v), m.HiddenSize);
            }
            default:
                throw new InvalidOperationException(m.ModelType);
        }
    }

    public static TheoryData<string, double, double> Published() => new()
    {
        // model, published total (billions), published active (billions; 0 = dense)
        { "gpt2-medium", 0.355, 0 },
        { "opt-6.7b", 6.7, 0 },
        { "falcon-7b", 7.22, 0 },
        { "mixtral-8x7b", 46.7, 12.9 },
        { "qwen2-7b", 7.6, 0 },
        { "yi-34b", 34.4, 0 },
        { "deepseek-v2-lite", 15.7, 2.4 },
    };

    [Theory]
    [MemberData(nameof(Published))]
    public void Parameter_counts_match_the_published_ones(string model, double total, double active)
    {
        var m = TestConfigs.Load(model);
        var (t, a) = ModelStats.Count(m);
        // The Hub's count for falcon-7b includes lm_head.weight, stored as its own tensor although
        // the model ties it to the embedding (one tensor here).
        var published = model == "falcon-7b" ? t + (long)m.VocabSize * m.HiddenSize : t;
        output.WriteLine($"{model}: total {t:N0}, active {a:N0}");
        Assert.InRange(published / (total * 1e9), 0.98, 1.02);
        if (active > 0)
        {
            // DeepSeek publishes "2.4B" for 2.45B (one significant digit after the point, truncated).
            var tol = model == "deepseek-v2-lite" ? 0.025 : 0.02;
            Assert.InRange(a / (active * 1e9), 1 - tol, 1 + tol);
        }
        else
        {
            // A dense model reads every weight per token but the embedding rows it does not gather.
            var embedRows = (long)(m.VocabSize - 1) * (model == "opt-6.7b" ? Raw(m, "word_embed_proj_dim") : m.HiddenSize);
            var positions = model switch
            {
                "gpt2-medium" => (m.MaxPositionEmbeddings!.Value - 1L) * m.HiddenSize,
                "opt-6.7b" => (m.MaxPositionEmbeddings!.Value + 1L) * m.HiddenSize,
                _ => 0,
            };
            // Tied: the table is read whole by the head and one row by the gather (counted twice).
            var width = model == "opt-6.7b" ? Raw(m, "word_embed_proj_dim") : m.HiddenSize;
            Assert.Equal(m.TieWordEmbeddings ? t - positions + width : t - embedRows - positions, a);
        }
    }

    [Theory]
    [InlineData("gpt2-medium", 4, 1024)]
    [InlineData("opt-6.7b", 1, 2048)]
    [InlineData("falcon-7b", 2, 2048)]
    [InlineData("mixtral-8x7b", 1, 4096)]
    [InlineData("qwen2-7b", 1, 4096)]
    [InlineData("yi-34b", 1, 4096)]
    [InlineData("deepseek-v2-lite", 1, 4096)]
    [InlineData("llama3-8b", 2, 2048)]
    public void Forward_flops_are_two_per_active_parameter_per_token_plus_attention(string model, long b, long s)
    {
        var m = TestConfigs.Load(model);
        var g = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Prefill(b, s));
        var (mm, attention, width) = ClosedForm(m, b, s);
        var approx = 2.0 * mm * b * s + attention + 2.0 * b * m.VocabSize * width;
        output.WriteLine($"{model} b={b} s={s}: graph {g.TotalFlops:E4}, closed form {approx:E4}, ratio {g.TotalFlops / approx:F5}");
        Assert.InRange(g.TotalFlops / approx, 0.99, 1.01);
        Assert.Equal(attention, g.Ops.Where(o => o.Kind == OpKind.Attention).Sum(o => (double)o.Flops));
    }

    [Theory]
    [InlineData("mixtral-8x7b")]
    [InlineData("deepseek-v2-lite")]
    public void Moe_decode_at_batch_one_reads_only_k_experts(string model)
    {
        var m = TestConfigs.Load(model);
        var k = Raw(m, "num_experts_per_tok");
        var e = m.ModelType == "mixtral" ? Raw(m, "num_local_experts") : Raw(m, "n_routed_experts");
        var g = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Decode(1, 100));
        var experts = g.Ops.Where(o => o.Name.Contains(".experts.", StringComparison.Ordinal) && o.Kind == OpKind.MatMul).ToArray();
        Assert.NotEmpty(experts);
        foreach (var op in experts)
        {
            var w = op.Inputs[^1];
            Assert.Equal(TensorRole.Weight, w.Role);
            Assert.Equal(op.Inputs[0].Bytes + k * (w.Bytes / e), op.BytesRead);
            Assert.Equal(k, op.Gemm!.Value.Batch);
            Assert.Equal(1, op.Gemm!.Value.M);
        }
        // Batch 64 decode touches E (1 - (1 - k/E)^64) experts on average.
        var g64 = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Decode(64, 100));
        var op64 = g64.Ops.First(o => o.Name.EndsWith(".experts.gate_up", StringComparison.Ordinal));
        var touched = e * (1 - Math.Pow(1 - (double)k / e, 64));
        var w64 = op64.Inputs[^1];
        Assert.Equal((long)Math.Round(touched * w64.Bytes / e), op64.BytesRead - op64.Inputs[0].Bytes);
        Assert.Equal(2 * 64 * k * w64.Shape[1] * w64.Shape[2], op64.Flops);
    }

    [Fact]
    public void Expert_skew_concentrates_tokens_on_fewer_experts()
    {
        var m = TestConfigs.Load("mixtral-8x7b");
        long Read(double skew) => ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Decode(4, 10) with { ExpertSkew = skew })
            .Ops.First(o => o.Name == "layer0.moe.experts.down").BytesRead;
        var flops0 = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Decode(4, 10)).TotalFlops;
        var flops9 = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Decode(4, 10) with { ExpertSkew = 0.9 }).TotalFlops;
        Assert.True(Read(0.9) < Read(0.5));
        Assert.True(Read(0.5) < Read(0));
        Assert.Equal(flops0, flops9); // routing moves weights, not work
        // Selection probabilities: sum to k, capped at 1, uniform at 0.
        var q = MoeRouting.SelectionProbabilities(8, 2, 0.9);
        Assert.Equal(2.0, q.Sum(), 9);
        Assert.All(q, x => Assert.InRange(x, 0, 1));
        Assert.Equal(1.0, q[0]);
        Assert.All(MoeRouting.SelectionProbabilities(8, 2, 0), x => Assert.Equal(0.25, x));
        Assert.Throws<InputException>(() => ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Decode(1, 1) with { ExpertSkew = 1 }));
    }

    [Fact]
    public void Mla_decode_caches_the_compressed_latent()
    {
        var m = TestConfigs.Load("deepseek-v2-lite");
        const long b = 2, ctx = 999, hq = 16, r = 512, rope = 64, nope = 128, v = 128, e = 2;
        var g = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Decode(b, ctx));
        var attn = g.Ops.Single(o => o.Name == "layer3.attn");
        var cache = attn.Inputs.Single(t => t.Name == "layer3.latent_cache");
        Assert.Equal([b, ctx + 1, r + rope], cache.Shape);
        Assert.Equal(2 * b * hq * (ctx + 1) * (2 * r + rope), attn.Flops);
        Assert.Equal(r + rope, attn.Attention!.Value.HeadDim);
        Assert.Equal(1, attn.Attention!.Value.HeadsKv);
        // The cache is all the KV state there is: 576 values per token and layer.
        Assert.Equal(27 * b * (ctx + 1) * (r + rope) * e,
            g.Tensors.Where(t => t.Role == TensorRole.KvCache && t.Name.EndsWith("latent_cache", StringComparison.Ordinal)).Sum(t => t.Bytes));
        // Absorbed projections read the two halves of kv_b_proj.
        var wkvb = g.Tensors.Single(t => t.Name == "layer3.kv_b_proj.weight");
        var qa = g.Ops.Single(o => o.Name == "layer3.q_absorb");
        var va = g.Ops.Single(o => o.Name == "layer3.v_absorb");
        Assert.Equal(wkvb.Bytes, qa.BytesRead - qa.Inputs[0].Bytes + va.BytesRead - va.Inputs[0].Bytes);
        Assert.Equal(2 * b * hq * nope * r + 2 * b * hq * r * v, qa.Flops + va.Flops);

        // Prefill: decompressed heads with qk dim 192 and v dim 128.
        var p = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Prefill(1, 100)).Ops.Single(o => o.Name == "layer0.attn");
        Assert.Equal(nope + rope, p.Attention!.Value.HeadDim);
        Assert.Equal(2L * hq * (100 * 101 / 2) * (nope + rope + v), p.Flops);
    }

    [Fact]
    public void Gpt2_has_learned_positions_biases_and_a_tied_head()
    {
        var g = Build("gpt2-medium", WorkloadRequest.Prefill(2, 64));
        Assert.Contains(g.Ops, o => o.Name == "pos_embed");
        Assert.Equal([1024L, 1024L], g.Tensors.Single(t => t.Name == "wpe.weight").Shape);
        Assert.Same(g.Ops.Single(o => o.Name == "embed").Inputs[0], g.Ops.Single(o => o.Name == "lm_head").Inputs[1]);
        var qkv = g.Ops.Single(o => o.Name == "layer0.qkv");
        Assert.Equal(qkv.Gemm!.Value.Flops + 128 * 3 * 1024, qkv.Flops);
        Assert.Equal(TensorRole.Weight, qkv.Inputs[^1].Role);
        Assert.Equal(ElementFlops.GeluTanh * 128 * 4096, g.Ops.Single(o => o.Name == "layer0.act").Flops);
        Assert.Equal(ElementFlops.LayerNorm * 128 * 1024, g.Ops.Single(o => o.Name == "layer0.ln_1").Flops);
        Assert.DoesNotContain(g.Ops, o => o.Kind == OpKind.Rope);
    }

    [Fact]
    public void Falcon_is_multi_query_with_parallel_attention_and_mlp()
    {
        var g = Build("falcon-7b", WorkloadRequest.Prefill(1, 32));
        var attn = g.Ops.Single(o => o.Name == "layer0.attn");
        Assert.Equal(new AttentionShape(1, 71, 1, 64, 32, 32, true), attn.Attention);
        var sum = g.Ops.Single(o => o.Name == "layer0.residual");
        Assert.Equal(3, sum.Inputs.Count);
        // One LayerNorm feeds both branches.
        var norm = g.Ops.Single(o => o.Name == "layer0.input_layernorm");
        Assert.Equal(2, g.Successors(norm).Count());
    }

    [Fact]
    public void Qwen2_biases_qkv_only()
    {
        var g = Build("qwen2-7b", WorkloadRequest.Prefill(1, 16));
        Assert.Equal(3, g.Ops.Single(o => o.Name == "layer0.qkv").Inputs.Count);
        Assert.Equal(2, g.Ops.Single(o => o.Name == "layer0.o_proj").Inputs.Count);
    }

    [Theory]
    [InlineData("mixtral-8x7b", "hidden_act", "gelu")]
    [InlineData("qwen2-7b", "use_sliding_window", true)]
    [InlineData("gpt2-medium", "activation_function", "swish")]
    [InlineData("gpt2-medium", "add_cross_attention", true)]
    [InlineData("opt-6.7b", "do_layer_norm_before", false)]
    [InlineData("falcon-7b", "alibi", true)]
    [InlineData("deepseek-v2-lite", "scoring_func", "relu")]
    [InlineData("deepseek-v2-lite", "num_experts_per_tok", 100)]
    [InlineData("qwen2-7b", "num_experts", 8)]
    public void Compute_changing_fields_that_are_not_modelled_are_errors(string model, string key, object value)
    {
        var j = JObject.Parse(File.ReadAllText(TestConfigs.ModelPath(model)));
        j[key] = JToken.FromObject(value);
        using var f = new TestConfigs.TempFile(j.ToString());
        var e = Assert.Throws<InputException>(() => ModelConfigLoader.Load(f.Path));
        Assert.Equal(key, Assert.Single(e.Problems).Path);
        Assert.Equal(f.Path, e.Problems[0].File);
    }

    [Fact]
    public void Family_field_names_appear_in_errors()
    {
        var j = JObject.Parse(File.ReadAllText(TestConfigs.ModelPath("gpt2-medium")));
        j["n_embd"] = -4;
        using var f = new TestConfigs.TempFile(j.ToString());
        var e = Assert.Throws<InputException>(() => ModelConfigLoader.Load(f.Path));
        Assert.Contains(e.Problems, p => p.Path == "n_embd");
    }

    [Fact]
    public void Every_family_dispatches_on_model_type_and_architectures()
    {
        foreach (var (model, type) in new[] { ("gpt2-medium", "gpt2"), ("opt-6.7b", "opt"), ("falcon-7b", "falcon"), ("mixtral-8x7b", "mixtral"),
                     ("qwen2-7b", "qwen2"), ("yi-34b", "llama"), ("deepseek-v2-lite", "deepseek_v2") })
        {
            Assert.Equal(type, TestConfigs.Load(model).ModelType);
            var j = JObject.Parse(File.ReadAllText(TestConfigs.ModelPath(model)));
            j.Remove("model_type");
            using var f = new TestConfigs.TempFile(j.ToString());
            Assert.Equal(type, ModelConfigLoader.Load(f.Path).ModelType);
        }
    }

    /// <summary>Prints the per-family table of docs/workloads.md.</summary>
    [Fact]
    public void Flops_table()
    {
        foreach (var (model, b, s) in new[] { ("llama2-7b", 1L, 2048L), ("mistral-7b", 1L, 2048L), ("yi-34b", 1L, 2048L), ("qwen2-7b", 1L, 2048L), ("gpt2-medium", 1L, 1024L),
                     ("opt-6.7b", 1L, 2048L), ("falcon-7b", 1L, 2048L), ("mixtral-8x7b", 1L, 2048L), ("deepseek-v2-lite", 1L, 2048L) })
        {
            var m = TestConfigs.Load(model);
            var (t, a) = ModelStats.Count(m);
            var g = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Prefill(b, s));
            var (mm, attention, width) = ClosedForm(m, b, s);
            var approx = 2.0 * mm * b * s + attention + 2.0 * b * m.VocabSize * width;
            var err = (g.TotalFlops / approx - 1) * 100;
            output.WriteLine(FormattableString.Invariant($"| {m.ModelType} | {model} | {t:N0} | {a:N0} | {g.TotalFlops:E4} | {approx:E4} | {err:+0.00;-0.00}% |"));
            Assert.InRange(err, -1, 1);
        }
    }
}
