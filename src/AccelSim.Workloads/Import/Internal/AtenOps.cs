using AccelSim.Core.Graph;
using AccelSim.Workloads.Models.Internal;

namespace AccelSim.Workloads.Import.Internal;

/// <summary>How an aten op's work is counted.</summary>
internal enum AtenCost
{
    /// <summary>A matrix product (mm, addmm, bmm, baddbmm, matmul, linear, mv, addmv).</summary>
    MatMul,

    /// <summary>Scaled-dot-product attention (the SDPA front end and its flash, efficient, cuDNN and math back ends).</summary>
    Attention,

    /// <summary>A row gather from a table (embedding): reads the indices and the gathered rows only.</summary>
    Gather,

    /// <summary>A scatter into part of a tensor (index_put_, scatter, index_add_): reads the source and
    /// indices, writes as many bytes as the source.</summary>
    Scatter,

    /// <summary>FLOPs per output element.</summary>
    PerOutput,

    /// <summary>FLOPs per element of the first input (reductions).</summary>
    PerInput,

    /// <summary>Data movement, no arithmetic.</summary>
    Move,
}

/// <summary>The cost rule of a known aten op. <see cref="Delegates"/>: the op does work only through its
/// children (<c>aten::to</c> is a no-op when the dtype already matches; when it converts, its child
/// <c>aten::copy_</c> runs a kernel), so it becomes a device op only if a descendant does work.</summary>
internal sealed record AtenRule(OpKind Kind, AtenCost Cost, long FlopsPerElement = 0, bool Delegates = false);

/// <summary>The aten ops the importer knows: metadata ops (no device work) and ops with a cost rule.</summary>
internal static class AtenOps
{
    /// <summary>Ops that only create tensor metadata (views, shapes, allocations, dispatcher helpers):
    /// the host spends time on them, the device does nothing. When one has children (a reshape that
    /// has to copy a non-contiguous input), the children are examined for work.</summary>
    public static readonly HashSet<string> Metadata = new(StringComparer.Ordinal)
    {
        "view", "_unsafe_view", "_reshape_alias", "reshape", "as_strided", "transpose", "t", "permute", "expand", "expand_as",
        "slice", "select", "narrow", "unsqueeze", "squeeze", "alias", "view_as", "detach", "detach_", "lift_fresh",
        "size", "stride", "numel", "dim", "sym_size", "sym_stride", "sym_numel", "sym_storage_offset", "storage_offset",
        "empty", "empty_strided", "empty_like", "new_empty", "new_empty_strided", "resize_", "resize_as_", "result_type",
        "unbind", "split", "split_with_sizes", "chunk", "tensor_split", "unflatten", "flatten", "movedim", "moveaxis",
        "swapaxes", "swapdims", "diagonal", "real", "imag", "view_as_real", "view_as_complex", "contiguous", "type_as",
        "is_nonzero", "item", "set_", "is_same_size", "_has_compatible_shallow_copy_type", "broadcast_tensors",
        "align_as", "unfold", "_nested_tensor_from_mask_left_aligned", "requires_grad_", "retain_grad", "_version",
        "is_floating_point", "is_complex", "dropout", "feature_dropout", "alpha_dropout", "_assert_async", "record_stream",
    };

    /// <summary>Allocation ops: their output storage holds nothing yet, so a later read of it depends on no op.</summary>
    public static readonly HashSet<string> Allocations = new(StringComparer.Ordinal)
    {
        "empty", "empty_strided", "empty_like", "new_empty", "new_empty_strided", "resize_", "resize_as_",
    };

    private static readonly Dictionary<string, AtenRule> Rules = Build();

    public static AtenRule? Rule(string shortName) => Rules.GetValueOrDefault(shortName);

    private static Dictionary<string, AtenRule> Build()
    {
        var r = new Dictionary<string, AtenRule>(StringComparer.Ordinal);
        void Add(AtenRule rule, params string[] names)
        {
            foreach (var n in names) r[n] = rule;
        }

        Add(new AtenRule(OpKind.MatMul, AtenCost.MatMul), "mm", "addmm", "bmm", "baddbmm", "matmul", "linear", "mv", "addmv",
            "_scaled_mm", "_addmm_activation");
        Add(new AtenRule(OpKind.Attention, AtenCost.Attention), "scaled_dot_product_attention", "_scaled_dot_product_attention_math",
            "_scaled_dot_product_flash_attention", "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention",
            "_scaled_dot_product_fused_attention_overrideable", "_flash_attention_forward", "_efficient_attention_forward",
            "_cudnn_attention_forward");
        Add(new AtenRule(OpKind.Embedding, AtenCost.Gather), "embedding", "embedding_bag", "_embedding_bag");
        Add(new AtenRule(OpKind.Copy, AtenCost.Gather), "index_select", "gather", "index", "take", "masked_select");
        Add(new AtenRule(OpKind.Copy, AtenCost.Scatter), "index_put_", "index_put", "_index_put_impl_", "scatter", "scatter_",
            "scatter_add", "scatter_add_", "scatter_reduce", "scatter_reduce_", "index_add", "index_add_", "index_copy", "index_copy_",
            "masked_scatter", "masked_scatter_", "slice_scatter", "select_scatter");
        Add(new AtenRule(OpKind.Softmax, AtenCost.PerOutput, 5), "softmax", "_softmax", "log_softmax", "_log_softmax", "_safe_softmax");
        Add(new AtenRule(OpKind.Norm, AtenCost.PerOutput, ElementFlops.LayerNorm), "layer_norm", "native_layer_norm", "group_norm",
            "native_group_norm", "batch_norm", "native_batch_norm", "_native_batch_norm_legit_no_training", "instance_norm");
        Add(new AtenRule(OpKind.Norm, AtenCost.PerOutput, ElementFlops.RmsNorm), "rms_norm", "_fused_rms_norm");
        Add(new AtenRule(OpKind.Activation, AtenCost.PerOutput, 4), "silu", "silu_", "sigmoid", "sigmoid_", "mish", "hardswish");
        Add(new AtenRule(OpKind.Activation, AtenCost.PerOutput, ElementFlops.GeluErf), "gelu", "gelu_");
        Add(new AtenRule(OpKind.Activation, AtenCost.PerOutput, ElementFlops.Relu), "relu", "relu_", "leaky_relu", "threshold", "hardtanh");
        Add(new AtenRule(OpKind.Activation, AtenCost.PerOutput, 1), "tanh", "tanh_", "softplus", "elu");
        Add(new AtenRule(OpKind.Elementwise, AtenCost.PerOutput, 1),
            "add", "add_", "sub", "sub_", "rsub", "mul", "mul_", "div", "div_", "neg", "neg_", "pow", "pow_", "rsqrt", "rsqrt_",
            "sqrt", "sqrt_", "exp", "exp_", "log", "log_", "cos", "sin", "abs", "reciprocal", "square", "erf", "where", "masked_fill",
            "masked_fill_", "clamp", "clamp_", "clamp_min", "clamp_max", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
            "logical_and", "logical_or", "logical_not", "bitwise_and", "bitwise_or", "bitwise_not", "addcmul", "addcdiv", "lerp",
            "triu", "tril", "floor_divide", "remainder", "fmod", "sign", "round", "floor", "ceil", "fill_", "zero_", "zeros",
            "ones", "full", "zeros_like", "ones_like", "full_like", "arange", "linspace", "rand", "randn", "bernoulli_", "normal_",
            "uniform_", "polar", "isinf", "isnan", "nan_to_num");
        Add(new AtenRule(OpKind.Reduction, AtenCost.PerInput, 1), "mean", "sum", "amax", "amin", "max", "min", "argmax", "argmin",
            "var", "std", "var_mean", "norm", "linalg_vector_norm", "cumsum", "cumprod", "prod", "all", "any", "topk", "sort",
            "argsort", "logsumexp", "count_nonzero", "nonzero", "unique", "_unique2", "bincount", "histc", "multinomial");
        Add(new AtenRule(OpKind.Copy, AtenCost.Move), "copy_", "clone", "cat", "stack", "repeat", "repeat_interleave", "flip",
            "roll", "tile", "constant_pad_nd", "pad", "narrow_copy", "_local_scalar_dense", "_to_copy_out");
        Add(new AtenRule(OpKind.Copy, AtenCost.Move, Delegates: true), "to", "_to_copy", "type", "cuda", "cpu", "float", "half", "bfloat16");
        return r;
    }

    /// <summary>Ops whose result the host reads back before it goes on (a scalar, or a data-dependent
    /// shape): the host thread waits for the device to finish them.</summary>
    public static readonly HashSet<string> ReadBacks = new(StringComparer.Ordinal)
    {
        "_local_scalar_dense", "item", "nonzero", "masked_select", "unique", "_unique2", "unique_consecutive",
    };

    /// <summary>Whether the host waits for this call: a read-back op, or a call (or a call inside it) that
    /// copies a device tensor into a host (cpu) tensor.</summary>
    public static bool ReadsBack(EtNode node)
    {
        if (ReadBacks.Contains(node.Short)) return true;
        static bool Any(IReadOnlyList<EtValue> values, bool cpu) =>
            values.Any(v => v.Tensors.Any(t => t.Defined && t.Device.StartsWith("cpu", StringComparison.Ordinal) == cpu));
        if (Any(node.Outputs, cpu: true) && Any(node.Inputs, cpu: false)) return true;
        foreach (var c in node.Children)
        {
            if (ReadsBack(c)) return true;
        }
        return false;
    }

    /// <summary>FLOPs per element for an activation whose formula depends on its arguments (tanh-approximated GELU).</summary>
    public static long GeluFlops(EtNode node) =>
        node.Arg("approximate")?.AsString == "tanh" ? ElementFlops.GeluTanh : ElementFlops.GeluErf;
}
