using System.Globalization;
using AccelSim.Core.Config;

namespace AccelSim.Core.Graph;

/// <summary>N:M structured sparsity: of every <see cref="M"/> consecutive weights, <see cref="N"/> are
/// kept (2:4 keeps half). Each kept value carries an index of ceil(log2 M) bits saying where it sat
/// in its group, as NVIDIA's 2:4 format and FlightLLM's sparse DSP chain store them.</summary>
public readonly record struct NmSparsity
{
    public NmSparsity(int n, int m)
    {
        if (m < 2 || n < 1 || n > m)
            throw new ArgumentOutOfRangeException(nameof(n), $"N:M sparsity needs 1 <= N <= M and M >= 2, got {n}:{m}");
        N = n;
        M = m;
    }

    public int N { get; }
    public int M { get; }

    /// <summary>Fraction of weights kept (N / M).</summary>
    public double Density => N / (double)M;

    /// <summary>Bits of position metadata per kept value: ceil(log2 M) (0 when N = M, dense).</summary>
    public int IndexBits => N == M ? 0 : (int)Math.Ceiling(Math.Log2(M) - 1e-12);

    /// <summary>Kept values out of <paramref name="elements"/> dense ones (a partial last group keeps
    /// up to N).</summary>
    public long Kept(long elements) => elements / M * N + Math.Min(elements % M, N);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{N}:{M}");

    /// <summary>Parses "N:M" (for example "2:4"); <paramref name="path"/> names the option for errors.</summary>
    public static NmSparsity Parse(string? text, string path = RequestParameter.Sparsity)
    {
        var parts = (text ?? "").Split(':');
        if (parts.Length == 2
            && int.TryParse(parts[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && int.TryParse(parts[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var m)
            && m >= 2 && n >= 1 && n <= m && m <= 1024)
            return new NmSparsity(n, m);
        throw new InputException(null, path, $"expected N:M with 1 <= N <= M, 2 <= M <= 1024 (for example 2:4), got '{text}'");
    }
}

/// <summary>Rewrites a workload's weight matrices into another storage format: a narrower data type
/// (<c>--weights int4|int8|bf16</c>) and/or N:M structured sparsity (<c>--sparsity 2:4</c>). Pure: the
/// input graph is not changed.
/// <list type="bullet">
/// <item>Which weights: tensors of role <see cref="TensorRole.Weight"/> with at least two dimensions
/// that no op of the graph writes and that some <see cref="OpKind.MatMul"/> reads (projection, MLP and
/// head matrices; norm scales and untied embedding tables keep their type).</item>
/// <item>Bytes: the matrix is stored in the new type; under N:M sparsity only the kept values are
/// stored (a 1-D tensor <c>name.nz</c>) plus their position metadata (<c>name.idx</c>, int8 bytes). An
/// op that reads part of a converted weight (an embedding gather of a tied table) reads the same part
/// of the new format.</item>
/// <item>FLOPs: a matmul reading a sparse weight does N/M of its multiply-adds; its
/// <see cref="Op.Flops"/> is scaled by N/M while its <see cref="GemmShape"/> stays dense, so a device
/// whose array skips zeros costs the FLOPs (see <see cref="Density"/>) and one that does not costs the
/// dense shape.</item>
/// <item>The op's <see cref="Op.ComputeDType"/> is unchanged: it is the activations' type; a device
/// decides what its MACs run in (a DSP array may pack narrow weights).</item>
/// </list></summary>
public static class WeightFormat
{
    /// <summary>The graph with every weight matrix stored as <paramref name="weights"/> (null: keep each
    /// tensor's type) and pruned to <paramref name="sparsity"/> (null: dense). With both null the
    /// input graph itself is returned.</summary>
    public static WorkloadGraph Apply(WorkloadGraph graph, DType? weights, NmSparsity? sparsity)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (weights is null && sparsity is null) return graph;
        var sparse = sparsity is { } s0 && s0.N < s0.M ? sparsity : null;

        // Weight matrices read by a matmul and written by nobody.
        var matmulInputs = new HashSet<int>();
        foreach (var op in graph.Ops)
            if (op.Kind == OpKind.MatMul)
                foreach (var t in op.Inputs) matmulInputs.Add(t.Id);
        var nextId = graph.Tensors.Count == 0 ? 0 : graph.Tensors.Max(t => t.Id) + 1;
        var replaced = new Dictionary<int, Tensor[]>();
        foreach (var t in graph.Tensors)
        {
            if (t.Role != TensorRole.Weight || t.Shape.Count < 2 || graph.Producer.ContainsKey(t.Id) || !matmulInputs.Contains(t.Id))
                continue;
            var dtype = weights ?? t.DType;
            if (sparse is not { } sp)
            {
                replaced[t.Id] = [new Tensor(t.Id, t.Name, t.Shape, dtype, t.Role)];
                continue;
            }
            var kept = sp.Kept(t.Elements);
            var indexBytes = (kept * sp.IndexBits + 7) / 8;
            var values = new Tensor(t.Id, t.Name + ".nz", [kept], dtype, t.Role);
            replaced[t.Id] = indexBytes > 0
                ? [values, new Tensor(nextId++, t.Name + ".idx", [indexBytes], DType.Int8, t.Role)]
                : [values];
        }
        if (replaced.Count == 0) return graph;

        var ops = new Op[graph.Ops.Count];
        for (var i = 0; i < ops.Length; i++)
        {
            var op = graph.Ops[i];
            long oldW = 0, newW = 0;
            var readsSparse = false;
            var inputs = new List<Tensor>(op.Inputs.Count + 1);
            foreach (var t in op.Inputs)
            {
                if (replaced.TryGetValue(t.Id, out var parts))
                {
                    oldW += t.Bytes;
                    foreach (var p in parts) newW += p.Bytes;
                    inputs.AddRange(parts);
                    readsSparse |= sparse is not null;
                }
                else
                {
                    inputs.Add(t);
                }
            }
            if (oldW == 0)
            {
                ops[i] = op;
                continue;
            }
            // The part of the op's reads that falls on the converted weights scales with their size.
            var weightPart = Math.Min(op.BytesRead, oldW);
            var bytesRead = op.BytesRead - weightPart + (long)Math.Round(weightPart * (newW / (double)oldW), MidpointRounding.AwayFromZero);
            var flops = op.Flops;
            if (readsSparse && op.Kind == OpKind.MatMul && sparse is { } sp)
                flops = (long)Math.Round(op.Flops * sp.Density, MidpointRounding.AwayFromZero);
            ops[i] = new Op(op.Id, op.Name, op.Kind, op.Layer, inputs, op.Outputs, flops, op.ComputeDType,
                op.Gemm, op.Attention, bytesRead, op.BytesWritten)
            { HostCalls = op.HostCalls, HostViews = op.HostViews, HostNested = op.HostNested, HostSync = op.HostSync };
        }
        return new WorkloadGraph(graph.Info, ops);
    }

    /// <summary>Fraction of a matmul's dense multiply-adds it really performs: <see cref="Op.Flops"/>
    /// over its dense <see cref="GemmShape"/> FLOPs (N/M after <see cref="Apply"/> with N:M sparsity,
    /// 1 for a dense matmul or any other op). Never above 1.</summary>
    public static double Density(Op op)
    {
        ArgumentNullException.ThrowIfNull(op);
        if (op.Kind != OpKind.MatMul || op.Gemm is not { } g || g.Flops <= 0) return 1;
        return Math.Clamp(op.Flops / (double)g.Flops, 0, 1);
    }

    /// <summary>Parses a <c>--weights</c> value (int4, int8, fp8, bf16, fp16, fp32).</summary>
    public static DType ParseWeights(string? text, string path = RequestParameter.Weights) =>
        DTypes.TryParse(text, out var d) && d != DType.Tf32
            ? d
            : throw new InputException(null, path, $"expected one of int4, int8, fp8, bf16, fp16, fp32, got '{text}'");
}
