namespace AccelSim.Core.Graph;

/// <summary>What a tensor is for; placement and memory reports group by it.</summary>
public enum TensorRole
{
    Weight,
    Activation,
    KvCache,
    Gradient,
    OptimizerState,
}

public static class TensorRoles
{
    public static string Name(this TensorRole r) => r switch
    {
        TensorRole.Weight => "weight",
        TensorRole.Activation => "activation",
        TensorRole.KvCache => "kv-cache",
        TensorRole.Gradient => "gradient",
        TensorRole.OptimizerState => "optimizer-state",
        _ => throw new ArgumentOutOfRangeException(nameof(r)),
    };

    public static bool TryParse(string? text, out TensorRole role)
    {
        foreach (var r in Enum.GetValues<TensorRole>())
        {
            if (string.Equals(r.Name(), text, StringComparison.OrdinalIgnoreCase)) { role = r; return true; }
        }
        role = default;
        return false;
    }

    public const string Expected = "one of weight, activation, kv-cache, gradient, optimizer-state";
}

/// <summary>A tensor of the workload graph. Identity is <see cref="Id"/>, unique within a graph.</summary>
public sealed class Tensor
{
    public Tensor(int id, string name, IReadOnlyList<long> shape, DType dtype, TensorRole role)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        long elements = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"tensor '{name}' has a negative dimension", nameof(shape));
            elements = checked(elements * d);
        }
        Id = id;
        Name = name;
        Shape = shape.ToArray();
        DType = dtype;
        Role = role;
        Elements = elements;
        Bytes = dtype.BytesFor(elements);
    }

    public int Id { get; }
    public string Name { get; }
    public IReadOnlyList<long> Shape { get; }
    public DType DType { get; }
    public TensorRole Role { get; }
    public long Elements { get; }
    public long Bytes { get; }

    /// <summary>True for a staging buffer a placement inserted: the top tier's copy of tensors streamed
    /// in from a lower tier (a layer's offloaded weights or swapped KV cache), written by the copy op and
    /// listed as an extra input of the ops that read them. Its bytes are those tensors' bytes (the ops'
    /// read totals are unchanged), so a device that places tensors by role can tell that an op reads
    /// them from the top tier. Its name may say so too, for people; no code reads the name.</summary>
    public bool IsStagingBuffer { get; init; }

    public override string ToString() => $"{Name}[{string.Join('x', Shape)}]:{DType.Name()}";
}
