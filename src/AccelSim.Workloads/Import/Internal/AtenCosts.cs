using AccelSim.Core.Graph;

namespace AccelSim.Workloads.Import.Internal;

/// <summary>The work of one aten call as the cost rules count it: kind, FLOPs, bytes read and
/// written, compute dtype and, for products and attention, their shapes.</summary>
internal sealed record AtenWork(OpKind Kind, long Flops, DType DType, GemmShape? Gemm, AttentionShape? Attention,
    long BytesRead, long BytesWritten, IReadOnlyList<EtTensor> Reads, IReadOnlyList<EtTensor> Writes);

/// <summary>Applies an <see cref="AtenRule"/> to a call's tensor arguments (docs/pytorch-et.md, Mapping).
/// Shared by the importers of PyTorch Execution Traces (JSON) and Chakra execution traces (protobuf).</summary>
internal static class AtenCosts
{
    /// <summary>The work of <paramref name="node"/> under <paramref name="rule"/>. A product or an
    /// attention whose shapes cannot be read becomes <see cref="OpKind.Generic"/> (memory-bound over its bytes).</summary>
    public static AtenWork Work(EtNode node, AtenRule rule)
    {
        var reads = ReadTensors(node);
        var writes = node.Outputs.SelectMany(v => v.Tensors).Where(t => t.Defined).GroupBy(t => t.StorageId).Select(g => g.First()).ToList();
        var dtype = ComputeDType(reads.Concat(writes));
        long bytesRead = reads.Sum(t => t.Bytes);
        long bytesWritten = writes.Sum(t => t.Bytes);
        long flops = 0;
        GemmShape? gemm = null;
        AttentionShape? attention = null;
        var kind = rule.Kind;
        switch (rule.Cost)
        {
            case AtenCost.MatMul:
                gemm = Gemm(node);
                if (gemm is { } g) flops = g.Flops;
                else kind = OpKind.Generic;
                break;
            case AtenCost.Attention:
                attention = Attention(node);
                if (attention is { } a) flops = a.Flops;
                else kind = OpKind.Generic;
                break;
            case AtenCost.Gather:
            {
                // Reads the indices and the gathered rows (as many bytes as it writes), not the table.
                var table = FirstTensor(node.Inputs);
                bytesRead = reads.Where(t => !ReferenceEquals(t, table)).Sum(t => t.Bytes) + bytesWritten;
                break;
            }
            case AtenCost.Scatter:
            {
                var self = FirstTensor(node.Inputs);
                var others = reads.Where(t => !ReferenceEquals(t, self)).ToList();
                bytesRead = others.Sum(t => t.Bytes);
                bytesWritten = others.Where(IsFloating).Select(t => t.Bytes).DefaultIfEmpty(bytesWritten).Max();
                break;
            }
            case AtenCost.PerOutput:
            {
                var per = node.Short.StartsWith("gelu", StringComparison.Ordinal) ? AtenOps.GeluFlops(node) : rule.FlopsPerElement;
                flops = per * writes.Sum(t => t.Numel);
                break;
            }
            case AtenCost.PerInput:
                flops = rule.FlopsPerElement * (reads.Count > 0 ? reads[0].Numel : 0);
                break;
            case AtenCost.Move:
                break;
        }
        return new AtenWork(kind, flops, dtype, gemm, attention, bytesRead, bytesWritten, reads, writes);
    }

    /// <summary>Tensors the op reads: every defined tensor argument, except write-only ones (the
    /// destination of copy_/fill_/zero_ and arguments named "out"), each storage once.</summary>
    public static List<EtTensor> ReadTensors(EtNode node)
    {
        var skip = new HashSet<int>();
        var outIndex = node.ArgIndex("out");
        if (outIndex >= 0) skip.Add(outIndex);
        if (node.Short is "copy_" or "fill_" or "zero_" or "normal_" or "uniform_" or "bernoulli_") skip.Add(0);
        var list = new List<EtTensor>();
        var seen = new HashSet<(long, long, long)>();
        for (var i = 0; i < node.Inputs.Count; i++)
        {
            if (skip.Contains(i)) continue;
            foreach (var t in node.Inputs[i].Tensors)
            {
                if (t.Defined && seen.Add((t.StorageId, t.Offset, t.Numel))) list.Add(t);
            }
        }
        return list;
    }

    public static EtTensor? FirstTensor(IReadOnlyList<EtValue> values) =>
        values.SelectMany(v => v.Tensors).FirstOrDefault(t => t.Defined);

    // ---- dtypes ----

    /// <summary>The element type inside <c>Tensor(...)</c>.</summary>
    private static string ElementType(EtTensor t)
    {
        var s = t.Type;
        var open = s.IndexOf('(');
        var close = s.LastIndexOf(')');
        return open >= 0 && close > open ? s[(open + 1)..close] : s;
    }

    public static DType? FloatingDType(EtTensor t) => ElementType(t) switch
    {
        "c10::BFloat16" => DType.Bf16,
        "c10::Half" => DType.Fp16,
        "float" => DType.Fp32,
        "c10::Float8_e4m3fn" or "c10::Float8_e5m2" or "c10::Float8_e4m3fnuz" or "c10::Float8_e5m2fnuz" => DType.Fp8,
        _ => null,
    };

    public static bool IsFloating(EtTensor t) => FloatingDType(t) is not null;

    /// <summary>The native dtype and shape that store <paramref name="t"/> in exactly its bytes:
    /// floating types map to their own dtype; any other element (integers, bool, double) maps by
    /// width: 1 byte int8, 2 bytes fp16, 4 bytes fp32, and a wider element (8-byte long or double)
    /// as elem_bytes/4 fp32 words in a trailing dimension (a [1, 512] int64 tensor becomes [1, 512, 2] fp32).</summary>
    public static (DType DType, IReadOnlyList<long> Shape) Storage(EtTensor t)
    {
        if (FloatingDType(t) is { } f && f.Bits() == t.ElemBytes * 8) return (f, t.Shape);
        return t.ElemBytes switch
        {
            1 => (DType.Int8, t.Shape),
            2 => (DType.Fp16, t.Shape),
            4 => (DType.Fp32, t.Shape),
            _ => (DType.Fp32, t.Shape.Append(Math.Max(1, t.ElemBytes / 4)).ToArray()),
        };
    }

    /// <summary>The arithmetic type: the first floating tensor's; for integer-only ops the storage
    /// width's (int8 for bytes, fp32 otherwise: integer math runs on the general cores).</summary>
    public static DType ComputeDType(IEnumerable<EtTensor> tensors)
    {
        EtTensor? first = null;
        foreach (var t in tensors)
        {
            if (FloatingDType(t) is { } f) return f;
            first ??= t;
        }
        return first is { ElemBytes: 1 } ? DType.Int8 : DType.Fp32;
    }

    // ---- shapes ----

    public static GemmShape? Gemm(EtNode node)
    {
        var ts = node.Inputs.SelectMany(v => v.Tensors).Where(t => t.Defined).ToList();
        static long Prod(IEnumerable<long> d) => d.Aggregate(1L, (a, b) => a * b);
        switch (node.Short)
        {
            case "linear":
            {
                if (ts.Count < 2 || ts[1].Shape.Count != 2 || ts[0].Shape.Count < 1) return null;
                var x = ts[0].Shape;
                return new GemmShape(1, Prod(x.Take(x.Count - 1)), ts[1].Shape[0], x[^1], WeightShared: true);
            }
            case "mm" or "_scaled_mm":
                return ts.Count >= 2 && ts[0].Shape.Count == 2 && ts[1].Shape.Count == 2
                    ? new GemmShape(1, ts[0].Shape[0], ts[1].Shape[1], ts[0].Shape[1], WeightShared: true) : null;
            case "addmm" or "_addmm_activation":
                return ts.Count >= 3 && ts[1].Shape.Count == 2 && ts[2].Shape.Count == 2
                    ? new GemmShape(1, ts[1].Shape[0], ts[2].Shape[1], ts[1].Shape[1], WeightShared: true) : null;
            case "bmm":
                return ts.Count >= 2 && ts[0].Shape.Count == 3 && ts[1].Shape.Count == 3
                    ? new GemmShape(ts[0].Shape[0], ts[0].Shape[1], ts[1].Shape[2], ts[0].Shape[2], WeightShared: false) : null;
            case "baddbmm":
                return ts.Count >= 3 && ts[1].Shape.Count == 3 && ts[2].Shape.Count == 3
                    ? new GemmShape(ts[1].Shape[0], ts[1].Shape[1], ts[2].Shape[2], ts[1].Shape[2], WeightShared: false) : null;
            case "mv":
                return ts.Count >= 2 && ts[0].Shape.Count == 2 ? new GemmShape(1, ts[0].Shape[0], 1, ts[0].Shape[1], WeightShared: true) : null;
            case "addmv":
                return ts.Count >= 3 && ts[1].Shape.Count == 2 ? new GemmShape(1, ts[1].Shape[0], 1, ts[1].Shape[1], WeightShared: true) : null;
            case "matmul":
            {
                if (ts.Count < 2 || ts[0].Shape.Count == 0 || ts[1].Shape.Count == 0) return null;
                var a = ts[0].Shape;
                var b = ts[1].Shape;
                var m = a.Count >= 2 ? a[^2] : 1;
                var k = a[^1];
                var n = b.Count >= 2 ? b[^1] : 1;
                if (b.Count <= 2)
                    return new GemmShape(1, a.Count >= 2 ? Prod(a.Take(a.Count - 1)) : 1, n, k, WeightShared: true);
                // Batched: broadcast the leading dimensions of both operands.
                var ba = a.Count > 2 ? a.Take(a.Count - 2).ToArray() : [];
                var bb = b.Take(b.Count - 2).ToArray();
                var rank = Math.Max(ba.Length, bb.Length);
                long batch = 1;
                for (var i = 0; i < rank; i++)
                {
                    var da = i < rank - ba.Length ? 1 : ba[i - (rank - ba.Length)];
                    var db = i < rank - bb.Length ? 1 : bb[i - (rank - bb.Length)];
                    batch *= Math.Max(da, db);
                }
                return new GemmShape(batch, m, n, k, WeightShared: false);
            }
            default:
                return null;
        }
    }

    public static AttentionShape? Attention(EtNode node)
    {
        var ts = node.Inputs.SelectMany(v => v.Tensors).Where(t => t.Defined).ToList();
        if (ts.Count < 2) return null;
        var q = ts[0].Shape;
        var k = ts[1].Shape;
        if (q.Count != k.Count || q.Count < 3) return null;
        // The SDPA family takes [batch, heads, seq, head_dim]; the flash and efficient kernels
        // called directly take [batch, seq, heads, head_dim].
        var bshd = node.Short is "_flash_attention_forward" or "_efficient_attention_forward";
        long batch = q.Count == 4 ? q[0] : 1;
        var off = q.Count == 4 ? 1 : 0;
        long hq = bshd ? q[off + 1] : q[off], sq = bshd ? q[off] : q[off + 1];
        long hkv = bshd ? k[off + 1] : k[off], skv = bshd ? k[off] : k[off + 1];
        var d = q[^1];
        var causal = (node.Arg("is_causal") ?? node.Arg("causal"))?.AsBool ?? false;
        if (causal && skv < sq) causal = false;
        return new AttentionShape(batch, hq, hkv, d, sq, skv, causal);
    }

}
