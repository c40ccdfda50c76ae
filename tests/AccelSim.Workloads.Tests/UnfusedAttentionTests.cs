using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Stacks;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Workloads.Tests;

/// <summary>The <c>unfused</c> attention family (scores in memory) and masked dropout, as the bundled
/// <c>megatron-lm</c> stack uses them (docs/stacks.md).</summary>
public class UnfusedAttentionTests
{
    private static SoftwareStack Megatron()
    {
        _ = TestConfigs.ModelsDir;
        return StackLoader.LoadNamed("megatron-lm");
    }

    private static WorkloadGraph Build(WorkloadRequest request, SoftwareStack stack) =>
        ModelBuilderRegistry.Default.Build(TestConfigs.Load("gpt2-medium"), request with { Stack = stack });

    [Fact]
    public void TheMegatronStackRunsUnfusedAttentionWithDropoutEagerly()
    {
        var s = Megatron();
        Assert.Equal(AttentionLowering.Unfused, s.Attention);
        Assert.Equal(DropoutLowering.Masked, s.Dropout);
        Assert.Equal(LaunchMode.Eager, s.Launch);
        Assert.Equal(AttentionLowering.Flash, SoftwareStack.Fused.Attention);
        Assert.Equal(DropoutLowering.None, SoftwareStack.Fused.Dropout);
    }

    [Fact]
    public void ATrainingStepWritesTheScoresAndTheDropoutMasksAndDifferentiatesThem()
    {
        // gpt2-medium: 16 heads of 64, 24 layers
        long b = 2, s = 256, heads = 16, d = 64;
        var g = Build(WorkloadRequest.Train(b, s), Megatron());
        var ops = g.Ops.Where(o => o.Layer == 0).ToDictionary(o => o.Name);

        var qk = ops["layer0.attn.qk"];
        Assert.Equal(OpKind.MatMul, qk.Kind);
        Assert.Equal(new GemmShape(b * heads, s, s, d, WeightShared: false), qk.Gemm);
        Assert.Equal(2 * b * heads * s * s * d, qk.Flops);
        Assert.Equal(2 * b * heads * s * s, qk.Outputs.Single().Bytes);
        var softmax = ops["layer0.attn.softmax"];
        Assert.Equal(qk.Outputs.Single().Id, softmax.Inputs.Single().Id);
        var dropout = ops["layer0.attn.dropout"];
        Assert.Equal(softmax.Outputs.Single().Id, dropout.Inputs.Single().Id);
        var mask = dropout.Outputs[^1];
        Assert.Equal(DType.Int8, mask.DType);
        Assert.Equal(b * heads * s * s, mask.Bytes);
        var pv = ops["layer0.attn.pv"];
        Assert.Equal(dropout.Outputs[0].Id, pv.Inputs[0].Id);
        Assert.Equal(2 * b * heads * s * s * d, pv.Flops);
        Assert.DoesNotContain(g.Ops, o => o.Kind == OpKind.Attention);

        // Both residual adds drop out their branch in the same kernel (bias-dropout-add).
        foreach (var name in new[] { "layer0.attn_residual", "layer0.mlp_residual" })
        {
            Assert.Equal(2, ops[name].Outputs.Count);
            Assert.Equal(DType.Int8, ops[name].Outputs[^1].DType);
        }

        // Backward: two batched GEMMs per product, and each dropout's backward reads its mask.
        Assert.Contains("layer0.attn.qk.bwd_a", ops.Keys);
        Assert.Contains("layer0.attn.qk.bwd_b", ops.Keys);
        Assert.Contains("layer0.attn.pv.bwd_a", ops.Keys);
        Assert.Contains("layer0.attn.pv.bwd_b", ops.Keys);
        Assert.Equal(2 * b * heads * s * s * d, ops["layer0.attn.pv.bwd_a"].Flops);
        var dropBack = ops["layer0.attn.dropout.bwd"];
        Assert.Contains(dropBack.Inputs, t => t.Id == mask.Id);
        Assert.Equal(b * heads * s * s * (2 + 1), dropBack.BytesRead);
        Assert.Contains(ops["layer0.mlp_residual.bwd"].Inputs, t => t.DType == DType.Int8);
    }

    [Fact]
    public void InferenceHasNoDropoutAndDecodeKeepsFlashDecoding()
    {
        var prefill = Build(WorkloadRequest.Prefill(1, 128), Megatron());
        Assert.Contains(prefill.Ops, o => o.Name == "layer0.attn.softmax");
        Assert.DoesNotContain(prefill.Ops, o => o.Name.Contains("dropout", StringComparison.Ordinal));
        Assert.DoesNotContain(prefill.Ops, o => o.Outputs.Any(t => t.DType == DType.Int8));
        var decode = Build(WorkloadRequest.Decode(1, 128), Megatron());
        Assert.Contains(decode.Ops, o => o.Kind == OpKind.Attention);
    }

    [Fact]
    public void DropoutAloneChangesBytesNotGemmFlops()
    {
        var request = WorkloadRequest.Train(1, 128);
        var masked = Build(request, Megatron());
        var plain = Build(request, Megatron() with { Dropout = DropoutLowering.None });
        double Gemm(WorkloadGraph g) => g.Ops.Where(o => o.Kind == OpKind.MatMul).Sum(o => (double)o.Flops);
        Assert.Equal(Gemm(plain), Gemm(masked));
        Assert.True(masked.Ops.Sum(o => (double)o.BytesWritten) > plain.Ops.Sum(o => (double)o.BytesWritten));
        Assert.DoesNotContain(plain.Ops, o => o.Outputs.Any(t => t.DType == DType.Int8));
    }

    [Fact]
    public void UnknownAttentionFamiliesAndDropoutValuesAreErrors()
    {
        using var f = new TestConfigs.TempFile("""{ "name": "x", "lowering": { "dropout": "sometimes" }, "attention": { "family": "paged" } }""");
        var e = Assert.Throws<InputException>(() => StackLoader.Load(f.Path));
        Assert.Contains(e.Problems, p => p.Path == "lowering.dropout" && p.Message.Contains("\"none\" or \"masked\"", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Path == "attention.family" && p.Message.Contains("\"flash\" or \"unfused\"", StringComparison.Ordinal));
    }

    /// <summary>Unfused attention computes the whole square of every head: QK^T and PV each 2 b h s² d FLOPs
    /// (the causal flash kernel about half), and its softmax reads and writes the b h s² scores.</summary>
    [Property(MaxTest = 20)]
    public Property TheScoresAreMaterialisedForAnyShape() =>
        Prop.ForAll(Gen.Choose(1, 4).ToArbitrary(), Gen.Choose(1, 48).ToArbitrary(), (b, s16) =>
        {
            long s = s16 * 16, heads = 16, d = 64;
            var g = Build(WorkloadRequest.Prefill(b, s), Megatron());
            var qk = g.Ops.Single(o => o.Name == "layer3.attn.qk");
            var pv = g.Ops.Single(o => o.Name == "layer3.attn.pv");
            var softmax = g.Ops.Single(o => o.Name == "layer3.attn.softmax");
            var scores = 2 * b * heads * s * s;
            return qk.Flops == 2 * b * heads * s * s * d && pv.Flops == qk.Flops
                && softmax.BytesRead == scores && softmax.BytesWritten == scores;
        });
}
