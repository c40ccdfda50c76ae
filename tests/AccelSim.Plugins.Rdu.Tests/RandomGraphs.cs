using AccelSim.Core.Graph;

namespace AccelSim.Plugins.Rdu.Tests;

/// <summary>Random layered graphs for the law properties: chains of matmuls, norms, element-wise ops
/// (with residual skips), attention over a KV cache and KV writes, some ops reading only part of
/// their inputs; one head op outside the layers.</summary>
internal static class RandomGraphs
{
    public static WorkloadGraph Build(int seed)
    {
        var rnd = new Random(seed);
        var ops = new List<Op>();
        var tid = 0;
        long rows = rnd.Next(1, 5) switch { 1 => 1, 2 => rnd.Next(1, 64), 3 => rnd.Next(64, 2048), _ => rnd.Next(1, 8192) };
        long width = 64L * rnd.Next(1, 96);
        var x = new Tensor(tid++, "x", [rows, width], DType.Bf16, TensorRole.Activation);
        var layers = rnd.Next(1, 4);
        for (var l = 0; l < layers; l++)
        {
            var layerIn = x;
            var count = rnd.Next(2, 9);
            for (var k = 0; k < count; k++)
            {
                var name = $"layer{l}.op{k}";
                long? bytesRead = null;
                switch (rnd.Next(0, 7))
                {
                    case 0:
                    case 1:
                    {
                        var w = x.Shape[^1];
                        var n = 64L * rnd.Next(1, 256);
                        var wt = new Tensor(tid++, name + ".w", [w, n], DType.Bf16, TensorRole.Weight);
                        var y = new Tensor(tid++, name + ".out", [rows, n], DType.Bf16, TensorRole.Activation);
                        var g = new GemmShape(1, rows, n, w);
                        ops.Add(new Op(ops.Count, name, OpKind.MatMul, l, [x, wt], [y], g.Flops, DType.Bf16, gemm: g));
                        x = y;
                        break;
                    }
                    case 2:
                    {
                        var wt = new Tensor(tid++, name + ".w", [x.Shape[^1]], DType.Bf16, TensorRole.Weight);
                        var y = new Tensor(tid++, name + ".out", x.Shape.ToArray(), DType.Bf16, TensorRole.Activation);
                        ops.Add(new Op(ops.Count, name, OpKind.Norm, l, [x, wt], [y], 4 * x.Elements, DType.Bf16));
                        x = y;
                        break;
                    }
                    case 3:
                    {
                        Tensor[] ins = layerIn.Shape.SequenceEqual(x.Shape) && layerIn != x ? [x, layerIn] : [x];
                        var y = new Tensor(tid++, name + ".out", x.Shape.ToArray(), DType.Bf16, TensorRole.Activation);
                        if (rnd.Next(0, 3) == 0) bytesRead = (long)(ins.Sum(t => t.Bytes) * rnd.NextDouble());
                        ops.Add(new Op(ops.Count, name, rnd.Next(0, 2) == 0 ? OpKind.Elementwise : OpKind.Activation, l, ins, [y],
                            x.Elements, DType.Bf16, bytesRead: bytesRead));
                        x = y;
                        break;
                    }
                    case 4:
                    {
                        var headDim = 64L;
                        var heads = Math.Max(1, x.Shape[^1] / headDim);
                        var ctx = (long)rnd.Next(0, 4096);
                        var kv = new Tensor(tid++, name + ".kv", [2, rows + ctx, heads, headDim], DType.Bf16, TensorRole.KvCache);
                        var y = new Tensor(tid++, name + ".out", [rows, heads * headDim], DType.Bf16, TensorRole.Activation);
                        var a = new AttentionShape(1, heads, heads, headDim, rows, rows + ctx, Causal: true);
                        ops.Add(new Op(ops.Count, name, OpKind.Attention, l, [x, kv], [y], a.Flops, DType.Bf16, attention: a));
                        x = y;
                        break;
                    }
                    case 5:
                    {
                        var kv = new Tensor(tid++, name + ".kv_new", x.Shape.ToArray(), DType.Bf16, TensorRole.KvCache);
                        ops.Add(new Op(ops.Count, name, OpKind.Copy, l, [x], [kv], 0, DType.Bf16));
                        break;
                    }
                    default:
                    {
                        var y = new Tensor(tid++, name + ".out", x.Shape.ToArray(), DType.Bf16, TensorRole.Activation);
                        ops.Add(new Op(ops.Count, name, OpKind.Softmax, l, [x], [y], 5 * x.Elements, DType.Bf16));
                        x = y;
                        break;
                    }
                }
            }
        }
        var head = new Tensor(tid++, "head.w", [x.Shape[^1], 256], DType.Bf16, TensorRole.Weight);
        var logits = new Tensor(tid++, "logits", [rows, 256], DType.Bf16, TensorRole.Activation);
        var hg = new GemmShape(1, rows, 256, x.Shape[^1]);
        ops.Add(new Op(ops.Count, "head", OpKind.MatMul, -1, [x, head], [logits], hg.Flops, DType.Bf16, gemm: hg));
        return new WorkloadGraph(new WorkloadInfo($"random{seed}", "decode", 1, rows, 0, rows), ops);
    }
}
