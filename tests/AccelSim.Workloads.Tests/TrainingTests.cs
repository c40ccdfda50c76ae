using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Models.Internal;
using AccelSim.Workloads.Traces;
using Xunit.Abstractions;

namespace AccelSim.Workloads.Tests;

public class TrainingTests(ITestOutputHelper output)
{
    private static WorkloadGraph Build(string model, WorkloadRequest request) =>
        ModelBuilderRegistry.Default.Build(TestConfigs.Load(model), request);

    private static Op Op(WorkloadGraph g, string name) => g.Ops.Single(o => o.Name == name);

    [Theory]
    [InlineData("llama2-7b", false, 6.0)]
    [InlineData("llama2-7b", true, 8.0)]
    [InlineData("gpt2-medium", false, 6.0)]
    [InlineData("mixtral-8x7b", false, 6.0)]
    [InlineData("deepseek-v2-lite", true, 8.0)]
    [InlineData("falcon-7b", false, 6.0)]
    public void Training_flops_are_six_per_parameter_per_token_plus_attention(string model, bool recompute, double perParam)
    {
        var m = TestConfigs.Load(model);
        const long b = 2, s = 1024;
        var g = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Train(b, s, recompute: recompute));
        var (mm, attention, width) = FamilyTests.ClosedForm(m, b, s);
        var t = b * s;
        var head = 2.0 * m.VocabSize * width * t;
        // Layers: forward 2, backward 4, recompute 2 more; the head is not recomputed. Attention:
        // forward 1, backward 2.5, recompute 1 more.
        var approx = perParam / 2 * 2.0 * mm * t + 3 * head + (recompute ? 4.5 : 3.5) * attention;
        output.WriteLine($"{model} recompute={recompute}: graph {g.TotalFlops:E4}, closed form {approx:E4}, ratio {g.TotalFlops / approx:F4}");
        Assert.InRange(g.TotalFlops / approx, 0.99, 1.03);
        Assert.Equal("train", g.Info.Phase);
        Assert.Equal(new WorkloadInfo(m.Name, "train", b, s, 0, t), g.Info);
    }

    [Fact]
    public void Every_matmul_gets_a_data_and_a_weight_gradient_of_its_own_flops()
    {
        var g = Build("llama3-8b", WorkloadRequest.Train(1, 128));
        var loss = Op(g, "loss");
        foreach (var fwd in g.Ops.Where(o => o.Id < loss.Id && o.Kind == OpKind.MatMul))
        {
            var dx = Op(g, fwd.Name + ".bwd_data");
            var dw = Op(g, fwd.Name + ".bwd_weight");
            Assert.Equal(fwd.Flops, dx.Flops);
            Assert.Equal(fwd.Flops, dw.Flops);
            var gm = fwd.Gemm!.Value;
            Assert.Equal(new GemmShape(1, gm.M, gm.K, gm.N), dx.Gemm);
            Assert.Equal(new GemmShape(1, gm.K, gm.N, gm.M, false), dw.Gemm);
            Assert.Equal(TensorRole.Gradient, dw.Outputs[0].Role);
            Assert.Equal(fwd.Inputs[^1].Shape, dw.Outputs[0].Shape);
        }
        var attn = Op(g, "layer2.attn");
        Assert.Equal(attn.Flops * 5 / 2, Op(g, "layer2.attn.bwd").Flops);
        Assert.Equal(3, Op(g, "layer2.attn.bwd").Outputs.Count); // dq, dk, dv
        Assert.Equal(2 * Op(g, "layer2.act").Flops, Op(g, "layer2.act.bwd").Flops);
        Assert.Equal(2 * Op(g, "layer2.mlp_norm").Flops, Op(g, "layer2.mlp_norm.bwd").Flops);
        Assert.Equal(Op(g, "layer2.rope").Flops, Op(g, "layer2.rope.bwd").Flops);
        // Training has no KV cache; logits cover every token.
        Assert.DoesNotContain(g.Tensors, t => t.Role == TensorRole.KvCache);
        Assert.Equal(128, Op(g, "lm_head").Gemm!.Value.M);
        // Backward runs after the loss and the optimizer after the backward.
        Assert.All(g.Ops.Where(o => o.Name.EndsWith(".bwd_data", StringComparison.Ordinal)), o => Assert.True(o.Id > loss.Id));
        Assert.Equal(g.Ops.Count, g.QuikGraphTopologicalOrder().Count());
    }

    [Fact]
    public void Parameters_gradients_and_optimizer_states_are_tensors_of_the_graph()
    {
        var g = Build("llama2-7b", WorkloadRequest.Train(1, 64));
        var p = ModelStats.Parameters(g);
        Assert.Equal(6_738_415_616L, p);
        var mem = TrainingMemory.Of(g);
        Assert.Equal(2 * p, mem.Weights);          // fp16
        Assert.Equal(2 * p, mem.Gradients);        // one gradient per parameter, compute type
        Assert.Equal(12 * p, mem.OptimizerStates); // fp32 master, m, v
        Assert.All(g.Tensors.Where(t => t.Role == TensorRole.OptimizerState), t => Assert.Equal(DType.Fp32, t.DType));

        var opt = g.Ops.Where(o => o.Kind == OpKind.Optimizer).ToArray();
        Assert.Equal(33, opt.Length); // one per layer and one for embedding, final norm, head
        Assert.Equal(ElementFlops.AdamW * p, opt.Sum(o => o.Flops));
        Assert.Equal(14 * p, opt.Sum(o => o.BytesRead));    // grad 2 + master 4 + m 4 + v 4
        Assert.Equal(14 * p, opt.Sum(o => o.BytesWritten)); // master, m, v back + the fp16 weight
        Assert.All(opt, o => Assert.Equal(DType.Fp32, o.ComputeDType));
    }

    [Fact]
    public void Tied_embeddings_sum_the_gradients_of_gather_and_head()
    {
        var g = Build("gpt2-medium", WorkloadRequest.Train(1, 32));
        var sum = Op(g, "wte.weight.grad_sum");
        Assert.Equal(2, sum.Inputs.Count);
        Assert.Equal(TensorRole.Gradient, sum.Outputs[0].Role);
        Assert.Equal(ModelStats.Parameters(g), g.Tensors.Where(t => t.Role == TensorRole.Gradient).Sum(t => t.Elements));
    }

    [Fact]
    public void Recomputation_keeps_only_layer_inputs_and_reruns_each_layer()
    {
        var m = TestConfigs.Load("llama2-7b");
        const long b = 1, s = 512, e = 2;
        var plain = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Train(b, s));
        var rc = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Train(b, s, recompute: true));
        var loss = Op(rc, "loss");
        var layerFwd = rc.Ops.Where(o => o.Id < loss.Id && o.Layer >= 0).Sum(o => o.Flops);
        Assert.Equal(plain.TotalFlops + layerFwd, rc.TotalFlops);
        Assert.Equal(32 * 11, rc.Ops.Count(o => o.Name.EndsWith(".recompute", StringComparison.Ordinal)));

        var saved = TrainingMemory.Of(rc).SavedActivations;
        var savedPlain = TrainingMemory.Of(plain).SavedActivations;
        // Layer inputs (32 x T x H) plus the head's: the final norm's input and output and the logits.
        var layerInputs = 32 * b * s * 4096 * e;
        var headSide = 2 * b * s * 4096 * e + b * s * 32000 * e;
        Assert.Equal(layerInputs + headSide, saved);
        output.WriteLine($"saved activations: {savedPlain:N0} B without, {saved:N0} B with recomputation");
        Assert.True(savedPlain > 8 * saved);
        Assert.Throws<InputException>(() => ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Prefill(1, 8) with { Recompute = true }));
    }

    [Fact]
    public void Moe_training_writes_gradients_only_for_touched_experts()
    {
        var g = Build("mixtral-8x7b", WorkloadRequest.Train(1, 1));
        var fwd = Op(g, "layer0.moe.experts.gate_up");
        var dw = Op(g, "layer0.moe.experts.gate_up.bwd_weight");
        var w = fwd.Inputs[^1];
        Assert.Equal(2 * (w.Bytes / 8), dw.BytesWritten);
        Assert.Equal(fwd.Flops, dw.Flops);
    }

    public static TheoryData<string> Bundled()
    {
        var data = new TheoryData<string>();
        foreach (var m in TestConfigs.Bundled) data.Add(m);
        return data;
    }

    [Theory]
    [MemberData(nameof(Bundled))]
    public void Every_bundled_model_builds_a_training_step(string model)
    {
        var m = TestConfigs.Load(model);
        var g = ModelBuilderRegistry.Default.Build(m, WorkloadRequest.Train(1, 64));
        Assert.Equal(ModelStats.Parameters(g), g.Tensors.Where(t => t.Role == TensorRole.Gradient).Sum(t => t.Elements));
        Assert.Equal(12 * ModelStats.Parameters(g), g.Tensors.Where(t => t.Role == TensorRole.OptimizerState).Sum(t => t.Bytes));
        Assert.Equal(2 * m.NumHiddenLayers, g.Ops.Count(o => o.Kind == OpKind.Attention));
        Assert.Equal(g.Ops.Count, g.Ops.Select(o => o.Name).Distinct().Count());
        Assert.Equal(g.Ops.Count, g.TopologicalOrder().Count);
    }

    public static TheoryData<string, string> ExportCases() => new()
    {
        { "llama3-8b", "train" },
        { "qwen2-7b", "prefill" },
        { "gpt2-medium", "train" },
        { "opt-6.7b", "decode" },
        { "falcon-7b", "prefill" },
        { "mixtral-8x7b", "decode" },
        { "deepseek-v2-lite", "decode" },
        { "deepseek-v2-lite", "train" },
    };

    [Theory]
    [MemberData(nameof(ExportCases))]
    public void Export_round_trips_every_family(string model, string phase)
    {
        var request = Phases.Parse(phase) switch
        {
            Phase.Prefill => WorkloadRequest.Prefill(2, 128),
            // Expert skew applies to mixture-of-experts models only (an error on a dense one).
            Phase.Decode => WorkloadRequest.Decode(8, 300) with { ExpertSkew = model is "mixtral-8x7b" or "deepseek-v2-lite" ? 0.3 : 0 },
            _ => WorkloadRequest.Train(1, 64, recompute: model == "deepseek-v2-lite"),
        };
        var g = Build(model, request);
        using var f = new TestConfigs.TempFile("");
        NativeTraceWriter.Write(g, f.Path);
        var back = NativeTraceReader.Read(f.Path);
        NativeTraceTests.AssertSameGraph(g, back);
        Assert.Equal(NativeTraceWriter.ToText(g), NativeTraceWriter.ToText(back));
    }
}
