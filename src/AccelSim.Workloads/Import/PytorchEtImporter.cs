using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Import.Internal;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Import;

/// <summary>Describes the imported workload; unset values are inferred from the trace (batch and
/// sequence length from the token ids of the first embedding).</summary>
public sealed record PytorchEtOptions
{
    public string? Name { get; init; }
    public string Phase { get; init; } = "prefill";
    public long? Batch { get; init; }
    public long? SeqLen { get; init; }
    public long Context { get; init; }
}

/// <summary>The imported graph and what the import found.</summary>
public sealed record PytorchEtImport(WorkloadGraph Graph, PytorchEtSummary Summary);

/// <summary>Imports a PyTorch Execution Trace (<c>torch.profiler.ExecutionTraceObserver</c>, schema
/// <c>1.1.x-chakra.*</c>) as a workload graph. See docs/pytorch-et.md: each device op is the
/// outermost aten call that has a cost rule (its nested calls are not counted again); views and other
/// metadata calls become no op but are counted in the next op's <see cref="Op.HostCalls"/>; data
/// dependencies follow tensor storages; unknown ops become <see cref="OpKind.Generic"/> and are listed
/// in the summary.</summary>
public static class PytorchEtImporter
{
    /// <summary>Imports a trace file (.json or .json.gz).</summary>
    public static PytorchEtImport Import(string path, PytorchEtOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var root = JsonInput.Load(path);
        options ??= new PytorchEtOptions();
        if (options.Name is null) options = options with { Name = DefaultName(path) };
        return Parse(root, path, options);
    }

    /// <summary>Imports a trace given as text; <paramref name="source"/> names it in errors.</summary>
    public static PytorchEtImport ImportText(string json, string source = "<trace>", PytorchEtOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        var token = JsonInput.ParseText(json, source);
        return Parse(token, source, options);
    }

    /// <summary>Imports a parsed trace; <paramref name="file"/> names it in errors.</summary>
    public static PytorchEtImport Parse(JToken root, string file, PytorchEtOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(file);
        var (schema, nodes) = EtDocument.Parse(root, file);
        return new Builder(options ?? new PytorchEtOptions()).Build(schema, nodes);
    }

    private static string DefaultName(string path)
    {
        var name = Path.GetFileName(path);
        foreach (var suffix in new[] { ".gz", ".json" })
        {
            if (name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) name = name[..^suffix.Length];
        }
        return name;
    }

    private sealed record OpSpec(EtNode Node, string Name, OpKind Kind, List<Tensor> Inputs, List<Tensor> Outputs, long Flops, DType DType,
        GemmShape? Gemm, AttentionShape? Attention, long BytesRead, long BytesWritten, int HostCalls, IReadOnlyList<EtTensor> EtOutputs)
    {
        public int HostViews { get; init; }
        public int HostNested { get; init; }
        public bool HostSync { get; init; }
    }

    private sealed class Builder(PytorchEtOptions options)
    {
        private readonly List<OpSpec> _ops = [];
        private readonly Dictionary<long, Tensor> _version = []; // storage id -> latest tensor written by a device op
        private readonly Dictionary<long, Tensor> _inputs = []; // storage id -> graph input tensor
        private readonly HashSet<long> _fresh = []; // storages allocated and not yet written
        private readonly Dictionary<string, (int Count, long First)> _unknown = new(StringComparer.Ordinal);
        private readonly Dictionary<EtNode, bool> _work = [];
        private int _nextTensor;
        private int _pendingCalls;
        private int _pendingViews; // of the pending calls, those the program made itself
        private int _hostCalls;
        private int _topLevel;
        private int _metadata;
        private EtTensor? _tokenIds;

        public PytorchEtImport Build(string schema, IReadOnlyList<EtNode> nodes)
        {
            var byId = new Dictionary<long, EtNode>();
            foreach (var n in nodes) byId.TryAdd(n.Id, n);
            var roots = new List<EtNode>();
            foreach (var n in nodes)
            {
                if (n.Parent != n.Id && byId.TryGetValue(n.Parent, out var p)) p.Children.Add(n);
                else roots.Add(n);
            }
            var order = Comparer<EtNode>.Create((a, b) => a.RfId != b.RfId ? a.RfId.CompareTo(b.RfId) : a.Id.CompareTo(b.Id));
            foreach (var n in nodes) n.Children.Sort(order);
            roots.Sort(order);
            foreach (var r in roots) Walk(r, topLevel: true);

            var trailing = _pendingCalls;
            if (trailing > 0 && _ops.Count > 0)
            {
                _ops[^1] = _ops[^1] with
                {
                    HostCalls = _ops[^1].HostCalls + trailing,
                    HostViews = _ops[^1].HostViews + _pendingViews,
                    HostNested = _ops[^1].HostNested + trailing - _pendingViews,
                };
            }

            var layers = AssignLayers(out var layerCount);
            var ops = new List<Op>(_ops.Count);
            for (var i = 0; i < _ops.Count; i++)
            {
                var s = _ops[i];
                ops.Add(new Op(i, s.Name, s.Kind, layers[i], s.Inputs, s.Outputs, s.Flops, s.DType, s.Gemm, s.Attention, s.BytesRead, s.BytesWritten)
                {
                    HostCalls = s.HostCalls,
                    HostViews = s.HostViews,
                    HostNested = s.HostNested,
                    HostSync = s.HostSync,
                });
            }
            var info = Info() with
            {
                Recorded = new Core.Simulation.RecordedProgram(Core.Simulation.LaunchMode.Eager, "PyTorch") { Source = $"PyTorch execution trace, schema {schema}" },
            };
            var graph = new WorkloadGraph(info, ops);
            var summary = new PytorchEtSummary
            {
                Schema = schema,
                Nodes = nodes.Count,
                HostCalls = _hostCalls,
                TopLevelCalls = _topLevel,
                MetadataCalls = _metadata,
                DeviceOps = ops.Count,
                TrailingHostCalls = trailing,
                OpsByKind = ops.GroupBy(o => o.Kind).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count()),
                OpsByAtenName = _ops.GroupBy(o => o.Node.Name, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                    .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
                Unknown = _unknown.OrderBy(u => u.Key, StringComparer.Ordinal).Select(u => new UnknownAtenOp(u.Key, u.Value.Count, u.Value.First)).ToArray(),
                Layers = layerCount,
                MatMulFlops = ops.Where(o => o.Kind == OpKind.MatMul).Sum(o => o.Flops),
                AttentionFlops = ops.Where(o => o.Kind == OpKind.Attention).Sum(o => o.Flops),
                TotalFlops = graph.TotalFlops,
                TotalBytes = graph.TotalBytes,
            };
            return new PytorchEtImport(graph, summary);
        }

        private WorkloadInfo Info()
        {
            long batch = 1, seq = 0;
            if (_tokenIds is { } t)
            {
                if (t.Shape.Count >= 2) { batch = t.Shape[0]; seq = t.Shape.Skip(1).Aggregate(1L, (a, b) => a * b); }
                else if (t.Shape.Count == 1) seq = t.Shape[0];
            }
            batch = options.Batch ?? batch;
            seq = options.SeqLen ?? seq;
            return new WorkloadInfo(options.Name ?? "pytorch-et", options.Phase, batch, seq, options.Context, batch * seq);
        }

        // ---- walking the call tree ----

        private void Walk(EtNode node, bool topLevel)
        {
            if (!node.IsCall)
            {
                // Profiler roots and user scopes: their children are what the program called.
                foreach (var c in node.Children) Walk(c, topLevel: true);
                return;
            }
            if (topLevel)
            {
                _topLevel++;
                _currentTop = node;
            }
            var rule = AtenOps.Rule(node.Short);
            if (rule is not null && HasWork(node))
            {
                Emit(node, rule, topLevel);
                return;
            }
            _hostCalls++;
            _pendingCalls++;
            if (topLevel) _pendingViews++;
            if (node.Children.Count > 0)
            {
                foreach (var c in node.Children) Walk(c, topLevel: false);
                return;
            }
            if (rule is not null || AtenOps.Metadata.Contains(node.Short))
            {
                _metadata++;
                if (AtenOps.Allocations.Contains(node.Short))
                {
                    foreach (var v in node.Outputs)
                    foreach (var t in v.Tensors)
                    {
                        if (!t.Defined) continue;
                        _version.Remove(t.StorageId);
                        _fresh.Add(t.StorageId);
                    }
                }
                return;
            }
            // A leaf the importer does not know: memory-bound generic work, listed in the summary.
            _hostCalls--;
            _pendingCalls--;
            if (topLevel) _pendingViews--;
            var count = _unknown.TryGetValue(node.Name, out var u) ? u : (0, node.Id);
            _unknown[node.Name] = (count.Item1 + 1, count.Item2);
            Emit(node, new AtenRule(OpKind.Generic, AtenCost.Move), topLevel);
        }

        /// <summary>Whether a call does device work: it has a cost rule that does not delegate, or it
        /// is an unknown leaf, or one of its children does work.</summary>
        private bool HasWork(EtNode node)
        {
            if (_work.TryGetValue(node, out var known)) return known;
            var rule = AtenOps.Rule(node.Short);
            bool work;
            if (rule is { Delegates: false }) work = true;
            else if (node.Children.Count == 0) work = rule is null && !AtenOps.Metadata.Contains(node.Short) && node.IsCall;
            else work = node.Children.Any(HasWork);
            _work[node] = work;
            return work;
        }

        private static int CountCalls(EtNode node)
        {
            var n = node.IsCall ? 1 : 0;
            foreach (var c in node.Children) n += CountCalls(c);
            return n;
        }

        // ---- one device op ----

        private void Emit(EtNode node, AtenRule rule, bool topLevel)
        {
            var calls = CountCalls(node);
            _hostCalls += calls;
            var hostCalls = _pendingCalls + calls;
            var views = _pendingViews;
            _pendingCalls = 0;
            _pendingViews = 0;

            var work = AtenCosts.Work(node, rule);
            var reads = work.Reads;
            var writes = work.Writes;
            if (rule.Cost == AtenCost.Gather && work.Kind == OpKind.Embedding && _tokenIds is null)
            {
                var table = AtenCosts.FirstTensor(node.Inputs);
                _tokenIds = reads.FirstOrDefault(t => !ReferenceEquals(t, table) && !AtenCosts.IsFloating(t));
            }

            var inputs = new List<Tensor>();
            foreach (var t in reads)
            {
                var tensor = InputTensor(t);
                if (tensor is not null && !inputs.Contains(tensor)) inputs.Add(tensor);
            }
            var name = topLevel ? node.Name : $"{Ancestor(node)}>{node.Name}";
            var outputs = new List<Tensor>();
            foreach (var t in writes)
            {
                var tensor = NewTensor($"op{_ops.Count}.{node.Short}.out{outputs.Count}", t, TensorRole.Activation);
                outputs.Add(tensor);
                _version[t.StorageId] = tensor;
                _fresh.Remove(t.StorageId);
            }
            _ops.Add(new OpSpec(node, name, work.Kind, inputs, outputs, work.Flops, work.DType, work.Gemm, work.Attention, work.BytesRead,
                work.BytesWritten, Math.Max(1, hostCalls), writes)
            {
                HostViews = views,
                HostNested = Math.Max(1, hostCalls) - 1 - views,
                HostSync = AtenOps.ReadsBack(node),
            });
        }

        /// <summary>The enclosing top-level call, for readable names of nested ops (<c>aten::to>aten::copy_</c>).</summary>
        private EtNode? _currentTop;

        private string Ancestor(EtNode node) => _currentTop?.Name ?? node.Name;

        private Tensor? InputTensor(EtTensor t)
        {
            if (_version.TryGetValue(t.StorageId, out var produced)) return produced;
            if (_fresh.Contains(t.StorageId)) return null; // allocated, not yet written: nothing to depend on
            if (_inputs.TryGetValue(t.StorageId, out var input)) return input;
            var role = AtenCosts.IsFloating(t) ? TensorRole.Weight : TensorRole.Activation;
            input = NewTensor($"{(role == TensorRole.Weight ? "weight" : "input")}.s{t.StorageId}", t, role);
            _inputs[t.StorageId] = input;
            return input;
        }

        private Tensor NewTensor(string name, EtTensor t, TensorRole role)
        {
            var (dtype, shape) = AtenCosts.Storage(t);
            return new Tensor(_nextTensor++, name, shape, dtype, role);
        }

        // ---- layers ----

        /// <summary>Decoder layers, anchored on the attention ops: layer k runs from just after the
        /// last hidden-sized residual add before attention k (layer 0: from the first op reading the
        /// embedding output) to the last hidden-sized add after the last attention. Ops outside are -1.</summary>
        private int[] AssignLayers(out int count)
        {
            var layers = Enumerable.Repeat(-1, _ops.Count).ToArray();
            var attn = Enumerable.Range(0, _ops.Count).Where(i => _ops[i].Kind == OpKind.Attention).ToList();
            count = attn.Count;
            if (attn.Count == 0) return layers;
            var embed = _ops.FindIndex(o => o.Kind == OpKind.Embedding);
            var hidden = embed >= 0 && _ops[embed].EtOutputs.Count > 0 ? _ops[embed].EtOutputs[0].Shape : null;
            bool Residual(int i) => hidden is not null && _ops[i].Node.Short is "add" or "add_" && _ops[i].EtOutputs.Count == 1
                && _ops[i].EtOutputs[0].Shape.SequenceEqual(hidden);

            var starts = new int[attn.Count];
            starts[0] = 0;
            if (embed >= 0 && embed < attn[0])
            {
                var x = _ops[embed].Outputs;
                var reader = Enumerable.Range(embed + 1, attn[0] - embed).FirstOrDefault(i => _ops[i].Inputs.Any(x.Contains), attn[0]);
                starts[0] = reader;
            }
            for (var k = 1; k < attn.Count; k++)
            {
                starts[k] = attn[k - 1] + 1;
                for (var i = attn[k] - 1; i > attn[k - 1]; i--)
                {
                    if (Residual(i)) { starts[k] = i + 1; break; }
                }
            }
            var end = _ops.Count - 1;
            if (hidden is not null)
            {
                for (var i = _ops.Count - 1; i > attn[^1]; i--)
                {
                    if (Residual(i)) { end = i; break; }
                }
            }
            for (var k = 0; k < attn.Count; k++)
            {
                var stop = k + 1 < attn.Count ? starts[k + 1] - 1 : end;
                for (var i = starts[k]; i <= stop; i++) layers[i] = k;
            }
            return layers;
        }
    }
}
