using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads;
using AccelSim.Workloads.Models;

namespace AccelSim.Plugins.Fpga.Tests;

public class WeightFormatTests
{
    [Fact]
    public void Int4WeightsQuarterTheMatrixBytesOfBf16AndKeepFlops()
    {
        var g = SingleOps.MatMul(1, 4096, 4096, DType.Bf16);
        var q = WeightFormat.Apply(g, DType.Int4, null);
        var w = 4096L * 4096;
        Assert.Equal(g.Ops[0].BytesRead - 2 * w + w / 2, q.Ops[0].BytesRead);
        Assert.Equal(g.Ops[0].Flops, q.Ops[0].Flops);
        Assert.Equal(DType.Bf16, q.Ops[0].ComputeDType);
    }

    [Fact]
    public void TwoFourSparsityHalvesValuesAddsTwoBitIndicesAndHalvesFlops()
    {
        var g = SingleOps.MatMul(8, 4096, 4096, DType.Int8);
        var s = WeightFormat.Apply(g, null, new NmSparsity(2, 4));
        var w = 4096L * 4096;
        var kept = w / 2;
        Assert.Equal(g.Ops[0].BytesRead - w + kept + kept * 2 / 8, s.Ops[0].BytesRead);
        Assert.Equal(g.Ops[0].Flops / 2, s.Ops[0].Flops);
        Assert.Equal(0.5, WeightFormat.Density(s.Ops[0]));
        Assert.Equal(g.Ops[0].Gemm, s.Ops[0].Gemm);
        Assert.Contains(s.Ops[0].Inputs, t => t.Name == "B.idx" && t.Role == TensorRole.Weight);
    }

    [Fact]
    public void NormScalesAndUntiedEmbeddingsKeepTheirTypeAndGraphIsUnchanged()
    {
        var g = FpgaTestSupport.Llama("llama2-7b", Phase.Decode, 1, 128);
        var q = WeightFormat.Apply(g, DType.Int4, new NmSparsity(2, 4));
        Assert.Equal(g.Ops.Count, q.Ops.Count);
        var norm = q.Ops.First(o => o.Kind == OpKind.Norm);
        Assert.All(norm.Inputs.Where(t => t.Role == TensorRole.Weight), t => Assert.Equal(g.Ops[norm.Id].Inputs[0].DType, t.DType));
        var embed = q.Ops.First(o => o.Kind == OpKind.Embedding);
        Assert.Equal(g.Ops.First(o => o.Kind == OpKind.Embedding).BytesRead, embed.BytesRead);
        // Matrix weights: 4-bit values of half of them plus 2-bit indices = 3/8 of a byte per dense weight.
        long Matrix(WorkloadGraph x) => x.Ops.Where(o => o.Kind == OpKind.MatMul).Sum(o => o.Inputs.Where(t => t.Role == TensorRole.Weight).Sum(t => t.Bytes));
        Assert.Equal(Matrix(g) * 3 / 16.0, Matrix(q), Matrix(g) * 1e-6);
        Assert.True(q.TotalFlops < g.TotalFlops * 0.51);
        Assert.Same(g, WeightFormat.Apply(g, null, null));
        var qkv = g.Ops.First(o => o.Kind == OpKind.MatMul && o.Layer == 0);
        Assert.NotSame(qkv, q.Ops[qkv.Id]);
        Assert.Same(norm.Id == 0 ? q.Ops[0] : g.Ops[norm.Id], q.Ops[norm.Id]);
    }

    [Theory]
    [InlineData("2:4", 2, 4)]
    [InlineData("1:8", 1, 8)]
    public void ParsesSparsity(string text, int n, int m) => Assert.Equal(new NmSparsity(n, m), NmSparsity.Parse(text));

    [Theory]
    [InlineData("4:2")]
    [InlineData("2-4")]
    [InlineData("0:4")]
    public void RejectsBadSparsityWithTheOption(string text)
    {
        var e = Assert.Throws<InputException>(() => NmSparsity.Parse(text));
        Assert.Equal(RequestParameter.Sparsity, Assert.Single(e.Problems).Path);
    }

    [Fact]
    public void RejectsBadWeightType()
    {
        var e = Assert.Throws<InputException>(() => WeightFormat.ParseWeights("int3"));
        Assert.Equal(RequestParameter.Weights, Assert.Single(e.Problems).Path);
        Assert.Equal(DType.Int4, WeightFormat.ParseWeights("int4"));
    }

    [Fact]
    public void ASparseChainRunsFewerCyclesThanADenseOne()
    {
        var g = WeightFormat.Apply(SingleOps.MatMul(256, 4096, 4096, DType.Int8), null, new NmSparsity(2, 4));
        var sparse = FpgaTestSupport.Model("u280");
        var dense = FpgaTestSupport.Model(FpgaTestSupport.Load("u280").WithText("compute.sparse_dsp_chain", "false"));
        Assert.True(FpgaTestSupport.Seconds(g, sparse) < 0.6 * FpgaTestSupport.Seconds(g, dense));
    }
}
