using AccelSim.Core.Graph;

namespace AccelSim.Workloads.Models.Internal;

/// <summary>Appends the backward pass and the optimizer step to a forward graph that ends with its
/// loss op (see docs/workloads.md, "Training step"). Reverse mode over the forward ops:
/// <list type="bullet">
/// <item>matmul: a data-gradient GEMM (dX = dY W^T) and a weight-gradient GEMM (dW = X^T dY), each
/// with the forward's FLOPs; only the weights the forward read are read and written (routed experts);</item>
/// <item>attention: one op with 2.5x the forward FLOPs (flash-attention backward recomputes QK^T and
/// the probabilities, then computes dV, dP, dQ and dK: five matmuls against the forward's two);</item>
/// <item>residual and other sums: no op, the gradient passes to every input;</item>
/// <item>RoPE: the inverse rotation, 1x the forward FLOPs; other element-wise ops, norms,
/// activations and the router softmax: 2x (the local derivative and its product with the incoming
/// gradient);</item>
/// <item>embedding: a scatter-add of the gradient rows into the table's gradient;</item>
/// <item>a tensor read by several ops gets the sum of their gradients (one add per element per
/// extra consumer).</item>
/// </list>
/// With recomputation, the forward ops of each decoder layer are re-run (as <c>*.recompute</c>
/// ops) just before that layer's backward, which then reads the recomputed tensors: of the layer's
/// forward tensors only its input is kept. The optimizer is AdamW with fp32 master weights and two
/// fp32 moments: one op per layer over all its parameters.</summary>
public static class TrainingStep
{
    /// <summary>Attention backward FLOPs over forward FLOPs (five matmuls against two).</summary>
    public const double AttentionBackwardFactor = 2.5;

    /// <summary>Element-wise backward FLOPs over forward FLOPs.</summary>
    public const long ElementwiseBackwardFactor = 2;

    /// <summary>Bytes per parameter of optimizer state: fp32 master weight, first and second moment.</summary>
    public const long OptimizerStateBytesPerParam = 12;

    public static void Append(GraphAssembler g, bool recompute)
    {
        ArgumentNullException.ThrowIfNull(g);
        new Pass(g, recompute).Run();
    }

    private sealed class Pass(GraphAssembler g, bool recompute)
    {
        private readonly Op[] _fwd = g.Ops.ToArray();
        private readonly HashSet<int> _produced = [];
        private readonly Dictionary<int, int> _consumers = [];
        private readonly Dictionary<int, List<Tensor>> _contrib = [];
        private readonly Dictionary<int, Tensor> _remap = [];
        private readonly List<(Tensor Weight, int Layer)> _weights = [];

        public void Run()
        {
            var seenWeights = new HashSet<int>();
            foreach (var op in _fwd)
            {
                foreach (var t in op.Outputs) _produced.Add(t.Id);
                foreach (var t in op.Inputs.DistinctBy(t => t.Id))
                {
                    _consumers[t.Id] = _consumers.GetValueOrDefault(t.Id) + 1;
                    if (t.Role == TensorRole.Weight && seenWeights.Add(t.Id)) _weights.Add((t, op.Layer));
                }
            }

            var loss = _fwd[^1];
            var logits = loss.Inputs[0];
            var dlogits = g.Activation(logits.Name + ".grad", logits.Shape.ToArray());
            g.Add("loss.backward", OpKind.Elementwise, -1, [logits], [dlogits], ElementFlops.CrossEntropyBackward * logits.Elements);
            Contribute(logits, dlogits);

            int? recomputed = null;
            for (var i = _fwd.Length - 2; i >= 0; i--)
            {
                var op = _fwd[i];
                var rule = g.RuleOf(op);
                if (rule == GradRule.None) continue;
                if (recompute && op.Layer >= 0 && op.Layer != recomputed)
                {
                    Recompute(op.Layer);
                    recomputed = op.Layer;
                }
                var douts = op.Outputs.Select(t => Resolve(t, op.Layer)).OfType<Tensor>().ToArray();
                if (douts.Length == 0) continue;
                if (rule == GradRule.PassThrough)
                {
                    foreach (var t in op.Inputs) if (NeedsGrad(t)) Contribute(t, douts[0]);
                    continue;
                }
                if (rule == GradRule.Dropout)
                {
                    Dropout(op, douts[0]);
                    continue;
                }
                switch (op.Kind)
                {
                    case OpKind.MatMul: MatMul(op, douts); break;
                    case OpKind.Attention: Attention(op, douts); break;
                    case OpKind.Embedding: Embedding(op, douts); break;
                    case OpKind.Copy: Copy(op, douts); break;
                    default: Elementwise(op, douts); break;
                }
            }

            // Final weight gradients, then the optimizer, one op per layer (layer -1: embeddings, head, final norm).
            var byLayer = new List<(int Layer, List<(Tensor W, Tensor Grad)> Items)>();
            foreach (var (w, layer) in _weights)
            {
                var grad = Resolve(w, layer) ?? throw new InvalidOperationException($"weight '{w.Name}' got no gradient");
                var group = byLayer.FindIndex(x => x.Layer == layer);
                if (group < 0) { byLayer.Add((layer, [])); group = byLayer.Count - 1; }
                byLayer[group].Items.Add((w, grad));
            }
            foreach (var (layer, items) in byLayer)
            {
                var inputs = new List<Tensor>();
                long parameters = 0, stateBytes = 0, gradBytes = 0, weightBytes = 0;
                foreach (var (w, grad) in items)
                {
                    inputs.Add(grad);
                    foreach (var s in new[] { ".master", ".adam_m", ".adam_v" })
                    {
                        var state = g.NewTensor(w.Name + s, w.Shape, TensorRole.OptimizerState, DType.Fp32);
                        inputs.Add(state);
                        stateBytes += state.Bytes;
                    }
                    parameters += w.Elements;
                    gradBytes += grad.Bytes;
                    weightBytes += w.Bytes;
                }
                // Reads gradients and states; writes the states back and the updated weights in the compute type.
                g.Add(layer >= 0 ? $"optimizer.layer{layer}" : "optimizer.global", OpKind.Optimizer, layer, inputs.ToArray(), [],
                    ElementFlops.AdamW * parameters, bytesRead: gradBytes + stateBytes, bytesWritten: stateBytes + weightBytes,
                    computeDType: DType.Fp32, rule: GradRule.None);
            }
        }

        private bool NeedsGrad(Tensor t) => t.Role == TensorRole.Weight || (t.Role == TensorRole.Activation && _produced.Contains(t.Id));

        private Tensor Map(Tensor t) => _remap.TryGetValue(t.Id, out var r) ? r : t;

        private void Contribute(Tensor t, Tensor grad)
        {
            if (!_contrib.TryGetValue(t.Id, out var list)) _contrib[t.Id] = list = [];
            if (!list.Any(x => x.Id == grad.Id)) list.Add(grad);
        }

        /// <summary>The gradient of <paramref name="t"/>: its only contribution, or their sum.</summary>
        private Tensor? Resolve(Tensor t, int layer)
        {
            if (!_contrib.TryGetValue(t.Id, out var list) || list.Count == 0) return null;
            if (list.Count == 1) return list[0];
            var role = t.Role == TensorRole.Weight ? TensorRole.Gradient : TensorRole.Activation;
            var sum = g.NewTensor(t.Name + ".grad", t.Shape, role, g.DType);
            g.Add(t.Name + ".grad_sum", OpKind.Elementwise, layer, list.ToArray(), [sum], ElementFlops.Add * (list.Count - 1) * t.Elements);
            _contrib[t.Id] = [sum];
            return sum;
        }

        /// <summary>A gradient tensor for input <paramref name="t"/> of <paramref name="op"/>.</summary>
        private Tensor GradFor(Tensor t, Op op)
        {
            var shared = _consumers.GetValueOrDefault(t.Id) > 1;
            var role = t.Role == TensorRole.Weight && !shared ? TensorRole.Gradient : TensorRole.Activation;
            var grad = g.NewTensor(t.Name + ".grad" + (shared ? "@" + op.Name : ""), t.Shape, role, g.DType);
            Contribute(t, grad);
            return grad;
        }

        private void Recompute(int layer)
        {
            foreach (var op in _fwd.Where(o => o.Layer == layer))
            {
                var inputs = op.Inputs.Select(Map).ToArray();
                var outputs = op.Outputs.Select(o =>
                {
                    var r = g.NewTensor(o.Name + ".rc", o.Shape, o.Role, o.DType);
                    _remap[o.Id] = r;
                    return r;
                }).ToArray();
                g.Add(op.Name + ".recompute", op.Kind, layer, inputs, outputs, op.Flops, op.Gemm, op.Attention,
                    op.BytesRead, op.BytesWritten, op.ComputeDType, GradRule.None);
            }
        }

        private void MatMul(Op op, Tensor[] douts)
        {
            var weights = op.Inputs.Where(t => t.Role == TensorRole.Weight).ToArray();
            if (weights.Length == 0 && op.Inputs.Count == 2 && op.Gemm is { } pair)
            {
                ActivationMatMul(op, pair, douts);
                return;
            }
            if (weights.Length == 0) throw new InvalidOperationException($"matmul '{op.Name}' has no weight; not differentiable here");
            var w = weights[0];
            var bias = weights.Length > 1 ? weights[1] : null;
            var xs = op.Inputs.Where(t => t.Role != TensorRole.Weight).ToArray();
            var gemm = op.Gemm ?? throw new InvalidOperationException($"matmul '{op.Name}' has no shape");
            var biasFlops = bias is null ? 0 : gemm.Batch * gemm.M * gemm.N;
            var mm = op.Flops - biasFlops;
            var xBytes = xs.Sum(t => t.Bytes);
            var weightRead = Math.Clamp(op.BytesRead - xBytes - (bias?.Bytes ?? 0), 0, w.Bytes);
            var dyBytes = douts.Sum(t => t.Bytes);
            var layer = op.Layer;

            var dxs = xs.Where(NeedsGrad).Select(x => GradFor(x, op)).ToArray();
            if (dxs.Length > 0)
            {
                g.Add(op.Name + ".bwd_data", OpKind.MatMul, layer, [.. douts, w], dxs, mm,
                    gemm: new GemmShape(gemm.Batch, gemm.M, gemm.K, gemm.N, gemm.WeightShared), bytesRead: dyBytes + weightRead);
            }
            var dw = GradFor(w, op);
            Tensor[] outs = bias is null ? [dw] : [dw, GradFor(bias, op)];
            g.Add(op.Name + ".bwd_weight", OpKind.MatMul, layer, [.. xs.Select(Map), .. douts], outs, mm + biasFlops,
                gemm: new GemmShape(gemm.Batch, gemm.K, gemm.N, gemm.M, WeightShared: false),
                bytesRead: xBytes + dyBytes, bytesWritten: weightRead + (bias?.Bytes ?? 0));
        }

        private void Attention(Op op, Tensor[] douts)
        {
            var grads = op.Inputs.Where(NeedsGrad).DistinctBy(t => t.Id).Select(t => GradFor(t, op)).ToArray();
            var saved = op.Outputs.Select(Map).ToArray();
            g.Add(op.Name + ".bwd", OpKind.Attention, op.Layer, [.. op.Inputs.Select(Map), .. saved, .. douts], grads,
                (long)Math.Round(op.Flops * AttentionBackwardFactor), attention: op.Attention,
                bytesRead: op.BytesRead + saved.Sum(t => t.Bytes) + douts.Sum(t => t.Bytes));
        }

        /// <summary>A batched product of two activations (Y = A B, as attention's QK^T and PV when the
        /// scores are materialised): dA = dY B^T and dB = A^T dY, two batched GEMMs of the forward's FLOPs.</summary>
        private void ActivationMatMul(Op op, GemmShape gemm, Tensor[] douts)
        {
            Tensor a = op.Inputs[0], b = op.Inputs[1];
            var dyBytes = douts.Sum(t => t.Bytes);
            if (NeedsGrad(a))
            {
                g.Add(op.Name + ".bwd_a", OpKind.MatMul, op.Layer, [.. douts, Map(b)], [GradFor(a, op)], op.Flops,
                    gemm: new GemmShape(gemm.Batch, gemm.M, gemm.K, gemm.N, WeightShared: false), bytesRead: dyBytes + b.Bytes);
            }
            if (NeedsGrad(b))
            {
                g.Add(op.Name + ".bwd_b", OpKind.MatMul, op.Layer, [Map(a), .. douts], [GradFor(b, op)], op.Flops,
                    gemm: new GemmShape(gemm.Batch, gemm.K, gemm.N, gemm.M, WeightShared: false), bytesRead: a.Bytes + dyBytes);
            }
        }

        /// <summary>Masked dropout (<see cref="GradRule.Dropout"/>): dx = dy * mask * scale, one kernel
        /// reading the output gradient and the mask; the other inputs take the output gradient unchanged.</summary>
        private void Dropout(Op op, Tensor dout)
        {
            var x = op.Inputs[0];
            var mask = Map(op.Outputs[^1]);
            if (NeedsGrad(x))
                g.Add(op.Name + ".bwd", OpKind.Elementwise, op.Layer, [dout, mask], [GradFor(x, op)], ElementFlops.Dropout * x.Elements);
            foreach (var t in op.Inputs.Skip(1)) if (NeedsGrad(t)) Contribute(t, dout);
        }

        private void Embedding(Op op, Tensor[] douts)
        {
            var table = op.Inputs[0];
            var dt = GradFor(table, op);
            var rows = douts.Sum(t => t.Bytes);
            // Scatter-add of the gradient rows: one add per element; only the gathered rows are written.
            g.Add(op.Name + ".bwd", OpKind.Embedding, op.Layer, douts, [dt], douts.Sum(t => t.Elements), bytesRead: rows, bytesWritten: rows);
        }

        private void Copy(Op op, Tensor[] douts)
        {
            var dxs = op.Inputs.Where(NeedsGrad).Select(x => GradFor(x, op)).ToArray();
            if (dxs.Length == 0) return;
            // A fan-out copy (token dispatch) sums the copies' gradients back.
            var flops = Math.Max(0, douts.Sum(t => t.Elements) - dxs.Sum(t => t.Elements));
            g.Add(op.Name + ".bwd", OpKind.Copy, op.Layer, douts, dxs, flops);
        }

        private void Elementwise(Op op, Tensor[] douts)
        {
            var grads = op.Inputs.Where(NeedsGrad).DistinctBy(t => t.Id).Select(t => GradFor(t, op)).ToArray();
            if (grads.Length == 0) return;
            var factor = op.Kind == OpKind.Rope ? 1 : ElementwiseBackwardFactor;
            g.Add(op.Name + ".bwd", op.Kind, op.Layer, [.. op.Inputs.Select(Map), .. douts], grads, factor * op.Flops);
        }
    }
}
