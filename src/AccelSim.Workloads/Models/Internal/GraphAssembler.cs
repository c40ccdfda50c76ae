using AccelSim.Core.Graph;

namespace AccelSim.Workloads.Models.Internal;

/// <summary>Per-element FLOP counts of the non-matmul ops (see docs/workloads.md). A transcendental
/// (exp, rsqrt, tanh, erf) counts as one FLOP, as do add, multiply, divide and compare.</summary>
public static class ElementFlops
{
    /// <summary>RMSNorm: square, accumulate, scale by the row's 1/rms, scale by the weight.</summary>
    public const long RmsNorm = 4;

    /// <summary>LayerNorm: accumulate the mean, subtract it, square, accumulate the variance,
    /// scale by the row's 1/std, scale by the weight, add the bias.</summary>
    public const long LayerNorm = 7;

    /// <summary>Residual add: one add.</summary>
    public const long Add = 1;

    /// <summary>Rotary embedding: x*cos + rotate(x)*sin = two multiplies and one add.</summary>
    public const long Rope = 3;

    /// <summary>SiLU(gate) x up per output element: exp, add, divide (sigmoid), multiply by the gate,
    /// multiply by up.</summary>
    public const long SiluGate = 5;

    /// <summary>GELU, tanh approximation (<c>gelu_new</c>, <c>gelu_pytorch_tanh</c>, <c>gelu_fast</c>):
    /// x^3 (2), x 0.044715 (1), + x (1), x sqrt(2/pi) (1), tanh (1), + 1 (1), x x (1), x 0.5 (1).</summary>
    public const long GeluTanh = 9;

    /// <summary>GELU, exact (<c>gelu</c>): x / sqrt 2, erf, + 1, x x, x 0.5.</summary>
    public const long GeluErf = 5;

    /// <summary>ReLU: one compare.</summary>
    public const long Relu = 1;

    /// <summary>Softmax over router logits: exp, accumulate, divide (the max subtraction is not counted).</summary>
    public const long Softmax = 3;

    /// <summary>Dropout: compare a random number with the keep probability, select and scale (the
    /// random number generation is not counted).</summary>
    public const long Dropout = 2;

    /// <summary>Cross-entropy loss over the logits: max, subtract, exp, accumulate (the log of the
    /// row sum and the pick of the target are per row, negligible).</summary>
    public const long CrossEntropy = 4;

    /// <summary>Gradient of the cross-entropy w.r.t. the logits: normalise the stored exp (divide) and
    /// subtract the one-hot target.</summary>
    public const long CrossEntropyBackward = 2;

    /// <summary>AdamW per parameter: first moment (2 multiplies, 1 add), second moment (square,
    /// 2 multiplies, 1 add), update m / (sqrt(v) + eps) (sqrt, add, divide), decoupled weight decay and
    /// learning rate w - lr (u + wd w) (multiply, add, multiply-subtract = 3). Bias corrections are
    /// per step scalars.</summary>
    public const long AdamW = 13;
}

/// <summary>How the training step differentiates an op (see <see cref="TrainingStep"/>).</summary>
public enum GradRule
{
    /// <summary>By its kind (matmul: data and weight gradients; attention: 2.5x; element-wise: 2x).</summary>
    ByKind,

    /// <summary>A sum: the output gradient is the gradient of every input, no op needed.</summary>
    PassThrough,

    /// <summary>Not differentiated (cache writes, the loss itself).</summary>
    None,

    /// <summary>Masked dropout of the first input (its last output is the one-byte mask), the other
    /// inputs added unchanged: the backward is one element-wise kernel reading the output gradient and
    /// the mask and writing the first input's gradient; the others take the output gradient as it is.</summary>
    Dropout,
}

/// <summary>Allocates op and tensor ids in order while a builder adds ops in a topological order,
/// and provides the pieces decoder families share (norms, linear layers, residual adds).</summary>
public sealed class GraphAssembler
{
    private readonly List<Op> _ops = [];
    private readonly Dictionary<int, GradRule> _rules = [];
    private int _nextTensor;

    public GraphAssembler(DType dtype) => DType = dtype;

    /// <summary>The data type of weights, activations and arithmetic.</summary>
    public DType DType { get; }

    public IReadOnlyList<Op> Ops => _ops;

    /// <summary>How residual adds and sums reach their operands: unspecified (a purpose-built kernel)
    /// or vectorised (a framework's element-wise add, under a stack whose <c>residual</c> is <c>framework_add</c>).</summary>
    public ElementAccess SumAccess { get; set; }

    /// <summary>Residual adds drop out their branch (the second term) first, in the same kernel
    /// (Megatron-LM's bias-dropout-add): the kernel also writes a one-byte mask per element.</summary>
    public bool ResidualDropout { get; set; }

    public Tensor Weight(string name, params long[] shape) => NewTensor(name, shape, TensorRole.Weight);

    public Tensor Activation(string name, params long[] shape) => NewTensor(name, shape, TensorRole.Activation);

    /// <summary>The one-byte-per-element mask a dropout of <paramref name="x"/> writes (PyTorch keeps a bool mask).</summary>
    public Tensor DropoutMask(string name, Tensor x) => NewTensor(name, x.Shape, TensorRole.Activation, DType.Int8);

    public Tensor KvCache(string name, params long[] shape) => NewTensor(name, shape, TensorRole.KvCache);

    public Tensor NewTensor(string name, long[] shape, TensorRole role) => NewTensor(name, shape, role, DType);

    public Tensor NewTensor(string name, IReadOnlyList<long> shape, TensorRole role, DType dtype) => new(_nextTensor++, name, shape, dtype, role);

    public Op Add(string name, OpKind kind, int layer, Tensor[] inputs, Tensor[] outputs, long flops,
        GemmShape? gemm = null, AttentionShape? attention = null, long? bytesRead = null, long? bytesWritten = null,
        DType? computeDType = null, GradRule rule = GradRule.ByKind, int hostCalls = 1, ElementAccess access = ElementAccess.Unspecified)
    {
        var op = new Op(_ops.Count, name, kind, layer, inputs, outputs, flops, computeDType ?? DType, gemm, attention, bytesRead, bytesWritten)
        {
            HostCalls = hostCalls,
            Access = access,
        };
        _ops.Add(op);
        if (rule != GradRule.ByKind) _rules[op.Id] = rule;
        return op;
    }

    /// <summary>How the training step differentiates <paramref name="op"/>.</summary>
    public GradRule RuleOf(Op op) => _rules.GetValueOrDefault(op.Id, GradRule.ByKind);

    /// <summary>RMSNorm over the last dimension of <paramref name="x"/> with a learned scale.</summary>
    public Tensor RmsNorm(string name, int layer, Tensor x, Tensor weight)
    {
        var y = Activation(name + ".out", x.Shape.ToArray());
        Add(name, OpKind.Norm, layer, [x, weight], [y], ElementFlops.RmsNorm * x.Elements);
        return y;
    }

    /// <summary>LayerNorm over the last dimension of <paramref name="x"/> with a learned scale and shift.</summary>
    public Tensor LayerNorm(string name, int layer, Tensor x, Tensor weight, Tensor bias)
    {
        var y = Activation(name + ".out", x.Shape.ToArray());
        Add(name, OpKind.Norm, layer, [x, weight, bias], [y], ElementFlops.LayerNorm * x.Elements);
        return y;
    }

    /// <summary>y = x W for <paramref name="rows"/> rows of x: a GEMM with M = rows, N = W's output
    /// width, K = W's input width. Writes one tensor per entry of <paramref name="outputs"/> (a fused
    /// projection such as QKV writes several).</summary>
    public void Linear(string name, int layer, Tensor x, Tensor weight, long rows, long n, long k, Tensor[] outputs, long? bytesRead = null) =>
        Linear(name, layer, [x], weight, rows, n, k, outputs, bytesRead);

    /// <summary>As above, with x given in pieces (rows split over several tensors), and an optional
    /// bias added in the GEMM epilogue (one add per output element; the bias is the last input).</summary>
    public void Linear(string name, int layer, Tensor[] xs, Tensor weight, long rows, long n, long k, Tensor[] outputs,
        long? bytesRead = null, Tensor? bias = null)
    {
        var gemm = new GemmShape(1, rows, n, k);
        Tensor[] inputs = bias is null ? [.. xs, weight] : [.. xs, weight, bias];
        var flops = gemm.Flops + (bias is null ? 0 : rows * n);
        Add(name, OpKind.MatMul, layer, inputs, outputs, flops, gemm: gemm, bytesRead: bytesRead);
    }

    /// <summary>Element-wise sum of two tensors of the same shape.</summary>
    public Tensor Residual(string name, int layer, Tensor a, Tensor b)
    {
        var y = Activation(name + ".out", a.Shape.ToArray());
        if (ResidualDropout)
        {
            var mask = DropoutMask(name + ".mask", b);
            Add(name, OpKind.Elementwise, layer, [b, a], [y, mask], (ElementFlops.Add + ElementFlops.Dropout) * a.Elements, rule: GradRule.Dropout, access: SumAccess);
            return y;
        }
        Add(name, OpKind.Elementwise, layer, [a, b], [y], ElementFlops.Add * a.Elements, rule: GradRule.PassThrough, access: SumAccess);
        return y;
    }

    /// <summary>Element-wise sum of several tensors of the same shape (n - 1 adds per element).</summary>
    public Tensor Sum(string name, int layer, params Tensor[] terms)
    {
        var y = Activation(name + ".out", terms[0].Shape.ToArray());
        Add(name, OpKind.Elementwise, layer, terms, [y], ElementFlops.Add * (terms.Length - 1) * terms[0].Elements, rule: GradRule.PassThrough, access: SumAccess);
        return y;
    }

    public WorkloadGraph Build(WorkloadInfo info) => new(info, _ops);
}
