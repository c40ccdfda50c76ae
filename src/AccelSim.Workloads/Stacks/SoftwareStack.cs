using AccelSim.Core.Simulation;

namespace AccelSim.Workloads.Stacks;

/// <summary>RMSNorm: one kernel, or PyTorch's unfused fp32 expression (to float, pow, mean, add,
/// rsqrt, to the model type, multiply, multiply). LayerNorm is one kernel under every stack
/// (<c>torch.nn.LayerNorm</c> is a fused kernel in PyTorch too).</summary>
public enum NormLowering
{
    Fused,
    UnfusedFp32,
}

/// <summary>Rotary embedding: one kernel for q and k, or <c>x*cos + rotate_half(x)*sin</c> as five
/// kernels each for q and for k (mul, neg, cat, mul, add).</summary>
public enum RotaryLowering
{
    Fused,
    Unfused,
}

/// <summary>SwiGLU's SiLU(gate) x up: one kernel, or SiLU then a separate multiply.</summary>
public enum GateLowering
{
    Fused,
    Unfused,
}

/// <summary>The residual add after the output and down projections: a separate purpose-built kernel,
/// or the framework's generic element-wise add (<c>x + y</c>, a vectorised kernel). Fusing it into the
/// GEMM epilogue is not modelled.</summary>
public enum ResidualLowering
{
    Separate,
    FrameworkAdd,
}

/// <summary>The KV-cache write: one kernel for k and v, or one slice copy each.</summary>
public enum KvWriteLowering
{
    Fused,
    SliceCopy,
}

/// <summary>Rows an inference op at the end of the model works on.</summary>
public enum RowsLowering
{
    LastToken,
    AllTokens,
}

/// <summary>Projections that share an input: one GEMM over the concatenated weights, or one GEMM each.</summary>
public enum ProjectionLowering
{
    Fused,
    Separate,
}

/// <summary>Host calls an eager framework makes per kernel: one, or the aten calls a plain PyTorch
/// module makes for it, the metadata-only ones (view, reshape, chunk, transpose, slice) included.</summary>
public enum HostCallsLowering
{
    PerKernel,
    Aten,
}

/// <summary>Dropout in a training step: none, or masked dropout on the attention probabilities (under
/// unfused attention) and on the two residual branches, fused into the residual add (bias-dropout-add).
/// Each dropout writes a one-byte mask that its backward reads.</summary>
public enum DropoutLowering
{
    None,
    Masked,
}

/// <summary>The attention kernels: one flash-style kernel that keeps its scores on chip, or the unfused
/// sequence of a batched QK^T GEMM writing the scores to memory, a fused scale-mask-softmax kernel and a
/// batched GEMM with V.</summary>
public enum AttentionLowering
{
    Flash,
    Unfused,
}

/// <summary>A software stack: how a framework lowers each decoder layer into kernels (what it
/// fuses), which attention and GEMM kernels it calls, and how it launches them by default. Loaded
/// from <c>configs/stacks/*.json</c> (docs/stacks.md); <see cref="Fused"/> is the built-in default.</summary>
public sealed record SoftwareStack
{
    public required string Name { get; init; }
    public string? Source { get; init; }
    public LaunchMode Launch { get; init; } = LaunchMode.Graph;
    public NormLowering Norm { get; init; } = NormLowering.Fused;
    public RotaryLowering Rotary { get; init; } = RotaryLowering.Fused;
    public GateLowering ActivationGate { get; init; } = GateLowering.Fused;
    public ResidualLowering Residual { get; init; } = ResidualLowering.Separate;
    public KvWriteLowering KvCacheWrite { get; init; } = KvWriteLowering.Fused;
    public RowsLowering Logits { get; init; } = RowsLowering.LastToken;
    public RowsLowering FinalNorm { get; init; } = RowsLowering.AllTokens;
    public ProjectionLowering Qkv { get; init; } = ProjectionLowering.Fused;
    public ProjectionLowering GateUp { get; init; } = ProjectionLowering.Fused;
    public HostCallsLowering HostCalls { get; init; } = HostCallsLowering.PerKernel;
    public DropoutLowering Dropout { get; init; } = DropoutLowering.None;

    /// <summary>The host time this framework spends per call, relative to the device family's
    /// <c>host.dispatch.by_kind</c> costs (which are those of an eager Hugging Face transformers program,
    /// the program the bundled PyTorch traces record). Plain PyTorch ops called from a script skip the
    /// module machinery and cost less. Applies under eager launch only.</summary>
    public double HostCostFactor { get; init; } = 1.0;

    /// <summary>Attention kernel family: <c>flash</c> (the device's attention model costs one kernel) or
    /// <c>unfused</c> (batched GEMMs and a softmax kernel, the scores in memory).</summary>
    public string AttentionFamily { get; init; } = "flash";

    /// <summary>Whether attention materialises its scores (the <c>unfused</c> family).</summary>
    public AttentionLowering Attention => AttentionFamily == "unfused" ? AttentionLowering.Unfused : AttentionLowering.Flash;

    /// <summary>GEMM library (descriptive; the device's GEMM model, its tiles and alignment rules, costs it).</summary>
    public string GemmLibrary { get; init; } = "cublas";

    /// <summary>A serving engine's fused implementation: one kernel per norm, per rotary embedding, per
    /// activation and per KV-cache write, residual adds separate, CUDA-graph launch. Exactly the graph
    /// the builders make without a stack file (configs/stacks/fused.json says the same).</summary>
    public static SoftwareStack Fused { get; } = new() { Name = "fused" };

    /// <summary>Eager PyTorch's aten calls count when the host issues the kernel.</summary>
    public bool AtenHostCalls => HostCalls == HostCallsLowering.Aten;

    public static string LaunchName(LaunchMode m) => m.Name();
}
