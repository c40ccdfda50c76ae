namespace AccelSim.Core.Graph;

/// <summary>How a framework's generic element-wise kernel (PyTorch's TensorIterator loops) reaches its operands.</summary>
public enum ElementAccess
{
    /// <summary>Not a framework element-wise kernel: the device costs the op by its kind.</summary>
    Unspecified,

    /// <summary>Contiguous operands of one data type: wide vector loads and stores.</summary>
    Vectorized,

    /// <summary>A strided, broadcast or dtype-converting operand (a transposed or sliced view, a row
    /// vector broadcast over a matrix, bf16 to fp32): every element's address is computed from its index.</summary>
    Strided,
}

/// <summary>A move of bytes from tier <see cref="From"/> to tier <see cref="To"/> (tier names of the device).</summary>
public readonly record struct TierTransfer(string From, string To);

/// <summary>One operation of a workload graph: what it computes (<see cref="Kind"/> and, for the
/// structured kinds, <see cref="Gemm"/> or <see cref="Attention"/>), what it reads and writes, and
/// its arithmetic work. Immutable once built.</summary>
public sealed class Op
{
    public Op(
        int id,
        string name,
        OpKind kind,
        int layer,
        IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor> outputs,
        long flops,
        DType computeDType,
        GemmShape? gemm = null,
        AttentionShape? attention = null,
        long? bytesRead = null,
        long? bytesWritten = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        if (flops < 0) throw new ArgumentOutOfRangeException(nameof(flops), $"op '{name}' has negative FLOPs");
        Id = id;
        Name = name;
        Kind = kind;
        Layer = layer;
        Inputs = inputs.ToArray();
        Outputs = outputs.ToArray();
        Flops = flops;
        ComputeDType = computeDType;
        Gemm = gemm;
        Attention = attention;
        BytesRead = bytesRead ?? Inputs.Sum(t => t.Bytes);
        BytesWritten = bytesWritten ?? Outputs.Sum(t => t.Bytes);
        if (BytesRead < 0 || BytesWritten < 0)
            throw new ArgumentOutOfRangeException(nameof(bytesRead), $"op '{name}' has negative bytes");
        // Throws OverflowException when the op's traffic is past 2^63 - 1 bytes.
        Bytes = checked(BytesRead + BytesWritten);
    }

    public int Id { get; }
    public string Name { get; }
    public OpKind Kind { get; }

    /// <summary>Decoder layer index, or -1 for ops outside the layers (embedding, head).</summary>
    public int Layer { get; }

    public IReadOnlyList<Tensor> Inputs { get; }
    public IReadOnlyList<Tensor> Outputs { get; }
    public long Flops { get; }
    public DType ComputeDType { get; }
    public GemmShape? Gemm { get; }
    public AttentionShape? Attention { get; }

    /// <summary>Bytes the op reads from memory. Defaults to the sum of its inputs; a builder sets it
    /// when an op touches only part of an input (a routed expert, an embedding gather).</summary>
    public long BytesRead { get; }

    public long BytesWritten { get; }

    /// <summary>Host-side framework calls that issue this op, counting the metadata-only calls (views,
    /// reshapes) made since the previous device op. An eager framework pays a dispatch cost for each.</summary>
    public int HostCalls { get; init; } = 1;

    /// <summary>Of <see cref="HostCalls"/>, the metadata-only calls the program made itself (views,
    /// reshapes, transposes, chunks, a non-converting <c>to</c>): each costs the host a call that
    /// launches nothing.</summary>
    public int HostViews { get; init; }

    /// <summary>Of <see cref="HostCalls"/>, the calls made inside other calls (the <c>t</c>, <c>matmul</c>
    /// and <c>mm</c> inside an <c>aten::linear</c>): a dispatcher hop each. The rest of the calls (at most
    /// one) is the op's own call, which costs the host what an op of its kind costs.</summary>
    public int HostNested { get; init; }

    /// <summary>The op's own call, when it is among the <see cref="HostCalls"/> (1), or 0 when every call
    /// that issues the op was made inside another op's call.</summary>
    public int HostOwnCalls => Math.Max(0, HostCalls - HostViews - HostNested);

    /// <summary>The host waits for this op to finish before it issues anything else (a value read back to
    /// the host: <c>.item()</c>, <c>nonzero</c>, a copy to host memory).</summary>
    public bool HostSync { get; init; }

    /// <summary>How a framework's generic element-wise kernel reaches its operands (docs/stacks.md);
    /// <see cref="ElementAccess.Unspecified"/> for a purpose-built kernel (every op of a fused stack, a trace).</summary>
    public ElementAccess Access { get; init; }

    /// <summary>For a copy between memory tiers (weights streamed from host memory, KV swapped out),
    /// the tiers it moves bytes between; null for ordinary ops. Devices cost it on their copy path.</summary>
    public TierTransfer? Transfer { get; init; }
    public long Bytes { get; }

    /// <summary>FLOPs per byte of memory traffic (0 when the op moves no bytes).</summary>
    public double ArithmeticIntensity => Bytes == 0 ? 0 : Flops / (double)Bytes;

    public override string ToString() => $"#{Id} {Name} ({Kind.Name()})";
}
