namespace AccelSim.Core.Graph;

/// <summary>What an op computes. Device models dispatch on it; unknown work is <see cref="Generic"/>,
/// costed as a memory-bound op over its bytes.</summary>
public enum OpKind
{
    MatMul,
    Attention,
    Embedding,
    Norm,
    Rope,
    Elementwise,
    Activation,
    Softmax,
    Reduction,
    Copy,
    Optimizer,
    Generic,
}

public static class OpKinds
{
    public static string Name(this OpKind k) => k switch
    {
        OpKind.MatMul => "matmul",
        OpKind.Attention => "attention",
        OpKind.Embedding => "embedding",
        OpKind.Norm => "norm",
        OpKind.Rope => "rope",
        OpKind.Elementwise => "elementwise",
        OpKind.Activation => "activation",
        OpKind.Softmax => "softmax",
        OpKind.Reduction => "reduction",
        OpKind.Copy => "copy",
        OpKind.Optimizer => "optimizer",
        OpKind.Generic => "generic",
        _ => throw new ArgumentOutOfRangeException(nameof(k)),
    };

    public static bool TryParse(string? text, out OpKind kind)
    {
        foreach (var k in Enum.GetValues<OpKind>())
        {
            if (string.Equals(k.Name(), text, StringComparison.OrdinalIgnoreCase)) { kind = k; return true; }
        }
        kind = default;
        return false;
    }

    public static string Expected => "one of " + string.Join(", ", Enum.GetValues<OpKind>().Select(k => k.Name()));
}
