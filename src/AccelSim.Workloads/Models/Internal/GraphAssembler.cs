using AccelSim.Core.Graph;

namespace AccelSim.Workloads.Models.Internal;

/// <summary>Per-element FLOP counts of the non-matmul ops (see docs/workloads.md). A transcendental
/// (exp, rsqrt) counts as one FLOP, as do add, multiply and divide.</summary>
public static class ElementFlops
{
    /// <summary>RMSNorm: square, accumulate, scale by the row's 1/rms, scale by the weight.</summary>
    public const long RmsNorm = 4;

    /// <summary>Residual add: one add.</summary>
    public const long Add = 1;

    /// <summary>Rotary embedding: x*cos + rotate(x)*sin = two multiplies and one add.</summary>
    public const long Rope = 3;

    /// <summary>SiLU(gate) x up per output element: exp, add, divide (sigmoid), multiply by the gate,
    /// multiply by up.</summary>
    public const long SiluGate = 5;
}

/// <summary>Allocates op and tensor ids in order while a builder adds ops in a topological order,
/// and provides the pieces decoder families share (norms, linear layers, residual adds).</summary>
public sealed class GraphAssembler
{
    private readonly List<Op> _ops = [];
    private int _nextTensor;

    public GraphAssembler(DType dtype) => DType = dtype;

    /// <summary>The data type of weights, activations and arithmetic.</summary>
    public DType DType { get; }

    public IReadOnlyList<Op> Ops => _ops;

    public Tensor Weight(string name, params long[] shape) => NewTensor(name, shape, TensorRole.Weight);

    public Tensor Activation(string name, params long[] shape) => NewTensor(name, shape, TensorRole.Activation);

    public Tensor KvCache(string name, params long[] shape) => NewTensor(name, shape, TensorRole.KvCache);

    public Tensor NewTensor(string name, long[] shape, TensorRole role) => new(_nextTensor++, name, shape, DType, role);

    public Op Add(string name, OpKind kind, int layer, Tensor[] inputs, Tensor[] outputs, long flops,
        GemmShape? gemm = null, AttentionShape? attention = null, long? bytesRead = null, long? bytesWritten = null)
    {
        var op = new Op(_ops.Count, name, kind, layer, inputs, outputs, flops, DType, gemm, attention, bytesRead, bytesWritten);
        _ops.Add(op);
        return op;
    }

    /// <summary>RMSNorm over the last dimension of <paramref name="x"/> with a learned scale.</summary>
    public Tensor RmsNorm(string name, int layer, Tensor x, Tensor weight)
    {
        var y = Activation(name + ".out", x.Shape.ToArray());
        Add(name, OpKind.Norm, layer, [x, weight], [y], ElementFlops.RmsNorm * x.Elements);
        return y;
    }

    /// <summary>y = x W for <paramref name="rows"/> rows of x: a GEMM with M = rows, N = W's output
    /// width, K = W's input width. Writes one tensor per entry of <paramref name="outputs"/> (a fused
    /// projection such as QKV writes several).</summary>
    public void Linear(string name, int layer, Tensor x, Tensor weight, long rows, long n, long k, Tensor[] outputs, long? bytesRead = null) =>
        Linear(name, layer, [x], weight, rows, n, k, outputs, bytesRead);

    /// <summary>As above, with x given in pieces (rows split over several tensors).</summary>
    public void Linear(string name, int layer, Tensor[] xs, Tensor weight, long rows, long n, long k, Tensor[] outputs, long? bytesRead = null)
    {
        var gemm = new GemmShape(1, rows, n, k);
        Add(name, OpKind.MatMul, layer, [.. xs, weight], outputs, gemm.Flops, gemm: gemm, bytesRead: bytesRead);
    }

    /// <summary>Element-wise sum of two tensors of the same shape.</summary>
    public Tensor Residual(string name, int layer, Tensor a, Tensor b)
    {
        var y = Activation(name + ".out", a.Shape.ToArray());
        Add(name, OpKind.Elementwise, layer, [a, b], [y], ElementFlops.Add * a.Elements);
        return y;
    }

    public WorkloadGraph Build(WorkloadInfo info) => new(info, _ops);
}
