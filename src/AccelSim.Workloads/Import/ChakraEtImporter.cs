using System.Globalization;
using System.IO.Compression;
using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Import.Internal;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Import;

/// <summary>Describes the imported workload; a Chakra trace carries no token counts, so batch and
/// sequence length are what the caller says (default 1 and 0).</summary>
public sealed record ChakraEtOptions
{
    public string? Name { get; init; }
    public string Phase { get; init; } = "train";
    public long? Batch { get; init; }
    public long? SeqLen { get; init; }
    public long Context { get; init; }
}

/// <summary>The imported graph and what the import found.</summary>
public sealed record ChakraEtImport(WorkloadGraph Graph, ChakraEtSummary Summary);

/// <summary>Imports an MLCommons Chakra execution trace (the protobuf <c>.et</c> of ASTRA-sim and
/// Chakra's converters) as a workload graph. See docs/chakra-et.md: computation nodes become ops
/// costed from their <c>num_ops</c>/<c>tensor_size</c> attributes or, for aten ops, from their tensor
/// shapes by the PyTorch importer's rules; memory load/store nodes become copies; the data and control
/// dependencies become the graph's edges; communication and other nodes the native trace cannot
/// express are listed and the dependencies pass through them.</summary>
public static class ChakraEtImporter
{
    /// <summary>Imports a trace file (.et, or gzip-compressed).</summary>
    public static ChakraEtImport Import(string path, ChakraEtOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(path, null, $"cannot read: {e.Message}");
        }
        options ??= new ChakraEtOptions();
        if (options.Name is null) options = options with { Name = DefaultName(path) };
        return Parse(data, path, options);
    }

    /// <summary>Imports a trace given as bytes (gzip-compressed or not); <paramref name="file"/> names it in errors.</summary>
    public static ChakraEtImport Parse(byte[] data, string file, ChakraEtOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(file);
        if (data.Length >= 2 && data[0] == 0x1f && data[1] == 0x8b) data = Gunzip(data, file);
        var (metadata, nodes) = ChakraWire.Read(data, file);
        return new Builder(file, options ?? new ChakraEtOptions()).Build(metadata, nodes);
    }

    /// <summary>The graph of <paramref name="nodes"/> (one rank's file, or a part of it whose dependencies stay
    /// inside it); null when none of them becomes an op and <paramref name="allowEmpty"/> is set.</summary>
    internal static ChakraEtImport? BuildGraph(ChakraMetadata metadata, List<ChakraNode> nodes, string file, ChakraEtOptions options, bool allowEmpty) =>
        new Builder(file, options).Build(metadata, nodes, allowEmpty);

    /// <summary>Each node's dependencies (node indices, data then control, each once; checked) and a topological
    /// order that keeps the file order where it can (the order the importer numbers ops in).</summary>
    internal static (List<int>[] Deps, List<int> Order) Order(List<ChakraNode> nodes, string file)
    {
        var b = new Builder(file, new ChakraEtOptions());
        var deps = b.Dependencies(nodes);
        return (deps, b.TopologicalOrder(nodes, deps));
    }

    internal static byte[] Gunzip(byte[] data, string file)
    {
        try
        {
            using var input = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
            using var output = new MemoryStream();
            input.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new InputException(file, null, $"cannot decompress: {e.Message}");
        }
    }

    private static string DefaultName(string path)
    {
        var name = Path.GetFileName(path);
        foreach (var suffix in new[] { ".gz", ".et" })
        {
            if (name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) name = name[..^suffix.Length];
        }
        return name;
    }

    internal static string TypeName(int type) => type switch
    {
        0 => "INVALID_NODE",
        1 => "METADATA_NODE",
        2 => "MEM_LOAD_NODE",
        3 => "MEM_STORE_NODE",
        4 => "COMP_NODE",
        5 => "COMM_SEND_NODE",
        6 => "COMM_RECV_NODE",
        7 => "COMM_COLL_NODE",
        8 => "STORAGE_NODE",
        9 => "BATCH_NODE",
        10 => "CHECKPOINT_NODE",
        _ => string.Create(CultureInfo.InvariantCulture, $"NODE_TYPE_{type}"),
    };

    internal static string CollectiveName(long? type) => type switch
    {
        null => "",
        0 => "ALL_REDUCE",
        1 => "REDUCE",
        2 => "ALL_GATHER",
        3 => "GATHER",
        4 => "SCATTER",
        5 => "BROADCAST",
        6 => "ALL_TO_ALL",
        7 => "REDUCE_SCATTER",
        8 => "REDUCE_SCATTER_BLOCK",
        9 => "BARRIER",
        { } t => string.Create(CultureInfo.InvariantCulture, $"COMM_TYPE_{t}"),
    };

    private sealed record OpSpec(ChakraNode Node, string Name, OpKind Kind, long Flops, DType DType, GemmShape? Gemm,
        AttentionShape? Attention, long BytesRead, long BytesWritten, EtTensor? Output, SortedSet<int> Preds);

    private sealed class Builder(string file, ChakraEtOptions options)
    {
        private readonly List<OpSpec> _ops = [];
        private readonly Dictionary<string, (int Count, ulong First)> _unknown = new(StringComparer.Ordinal);
        private readonly Dictionary<(string Type, string Detail), (int Count, long Bytes, ulong First)> _unsupported = [];
        private readonly Dictionary<string, int> _byAten = new(StringComparer.Ordinal);
        private int _hostNodes;
        private int _metadataCalls;
        private int _attributeCosted;

        public ChakraEtImport Build(ChakraMetadata metadata, List<ChakraNode> nodes) => Build(metadata, nodes, allowEmpty: false)!;

        public ChakraEtImport? Build(ChakraMetadata metadata, List<ChakraNode> nodes, bool allowEmpty)
        {
            if (nodes.Count == 0)
                throw new InputException(file, null, "no Node messages after the GlobalMetadata; nothing to import");
            var deps = Dependencies(nodes);
            var order = TopologicalOrder(nodes, deps);
            var hasDevice = nodes.Any(n => n.Type == (int)ChakraNodeType.Comp && n.Attr("is_cpu_op")?.Bool == false);

            var opOf = new int[nodes.Count];
            Array.Fill(opOf, -1);
            var through = new SortedSet<int>?[nodes.Count]; // ops a dropped node stands for, as a dependency
            var hostCost = new Dictionary<int, (EtNode Node, AtenRule Rule)>(); // host aten calls whose cost is not yet given to a device node
            foreach (var i in order)
            {
                var n = nodes[i];
                var preds = new SortedSet<int>();
                foreach (var d in deps[i])
                {
                    if (opOf[d] >= 0) preds.Add(opOf[d]);
                    else preds.UnionWith(through[d]!);
                }
                var spec = n.Type switch
                {
                    (int)ChakraNodeType.Comp => Computation(n, i, deps[i], hasDevice, hostCost, preds),
                    (int)ChakraNodeType.MemLoad or (int)ChakraNodeType.MemStore => Memory(n, preds),
                    (int)ChakraNodeType.Metadata => null,
                    _ => Unsupported(n),
                };
                if (spec is null)
                {
                    through[i] = preds;
                    continue;
                }
                opOf[i] = _ops.Count;
                _ops.Add(spec);
            }
            if (_ops.Count == 0 && allowEmpty) return null;
            if (_ops.Count == 0)
                throw new InputException(file, null,
                    $"no computation or memory nodes to import among the {nodes.Count} nodes ({string.Join(", ", CountTypes(nodes).Select(p => $"{p.Key} {p.Value}"))}); nothing to simulate");

            var ops = new List<Op>(_ops.Count);
            var outputs = new Tensor[_ops.Count];
            for (var k = 0; k < _ops.Count; k++)
            {
                var s = _ops[k];
                outputs[k] = OutputTensor(k, s);
                var inputs = s.Preds.Select(p => outputs[p]).ToList();
                ops.Add(new Op(k, s.Name, s.Kind, -1, inputs, [outputs[k]], s.Flops, s.DType, s.Gemm, s.Attention, s.BytesRead, s.BytesWritten));
            }
            var batch = options.Batch ?? 1;
            var seq = options.SeqLen ?? 0;
            var graph = new WorkloadGraph(new WorkloadInfo(options.Name ?? "chakra-et", options.Phase, batch, seq, options.Context, batch * seq), ops);
            var version = metadata.Version.Length > 0 ? metadata.Version
                : metadata.Attrs.FirstOrDefault(a => a.Name == "schema" && a.String is not null)?.String ?? "";
            var summary = new ChakraEtSummary
            {
                Version = version,
                Nodes = nodes.Count,
                NodesByType = CountTypes(nodes),
                Ops = ops.Count,
                HostNodes = _hostNodes,
                MetadataCalls = _metadataCalls,
                OpsByKind = ops.GroupBy(o => o.Kind).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count()),
                OpsByAtenName = _byAten.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
                AttributeCostedOps = _attributeCosted,
                Unknown = _unknown.OrderBy(u => u.Key, StringComparer.Ordinal).Select(u => new ChakraUnknownOp(u.Key, u.Value.Count, u.Value.First)).ToArray(),
                Unsupported = _unsupported.OrderBy(u => u.Key.Type, StringComparer.Ordinal).ThenBy(u => u.Key.Detail, StringComparer.Ordinal)
                    .Select(u => new ChakraUnsupportedNode(u.Key.Type, u.Key.Detail, u.Value.Count, u.Value.Bytes, u.Value.First)).ToArray(),
                Edges = graph.Graph.EdgeCount,
                MatMulFlops = ops.Where(o => o.Kind == OpKind.MatMul).Sum(o => o.Flops),
                TotalFlops = graph.TotalFlops,
                TotalBytes = graph.TotalBytes,
                RecordedMicros = _ops.Sum(o => (long)Math.Min(o.Node.DurationMicros, (ulong)long.MaxValue / 1024)),
            };
            return new ChakraEtImport(graph, summary);
        }

        private static IReadOnlyList<KeyValuePair<string, int>> CountTypes(List<ChakraNode> nodes) =>
            nodes.GroupBy(n => n.Type).OrderBy(g => g.Key).Select(g => new KeyValuePair<string, int>(TypeName(g.Key), g.Count())).ToArray();

        // ---- dependencies ----

        /// <summary>Each node's dependencies as node indices: data_deps then ctrl_deps, each once.</summary>
        internal List<int>[] Dependencies(List<ChakraNode> nodes)
        {
            var byId = new Dictionary<ulong, int>();
            foreach (var n in nodes)
            {
                if (!byId.TryAdd(n.Id, n.Index))
                    throw new InputException(file, n.Where, $"duplicate node id {n.Id} (also {nodes[byId[n.Id]].Where}); node ids are unique");
            }
            var deps = new List<int>[nodes.Count];
            foreach (var n in nodes)
            {
                var list = new List<int>();
                void Add(List<ulong> ids, string field)
                {
                    for (var k = 0; k < ids.Count; k++)
                    {
                        if (!byId.TryGetValue(ids[k], out var d))
                            throw new InputException(file, $"{n.Where}.{field}[{k}]", $"depends on id {ids[k]}, which no node in the file has");
                        if (d == n.Index)
                            throw new InputException(file, $"{n.Where}.{field}[{k}]", "the node depends on itself");
                        if (!list.Contains(d)) list.Add(d);
                    }
                }
                Add(n.DataDeps, "data_deps");
                Add(n.CtrlDeps, "ctrl_deps");
                deps[n.Index] = list;
            }
            return deps;
        }

        /// <summary>Kahn's algorithm, taking the ready node that comes first in the file: a file that
        /// lists nodes after their dependencies keeps its order.</summary>
        internal List<int> TopologicalOrder(List<ChakraNode> nodes, List<int>[] deps)
        {
            var missing = new int[nodes.Count];
            var users = new List<int>[nodes.Count];
            for (var i = 0; i < nodes.Count; i++) users[i] = [];
            for (var i = 0; i < nodes.Count; i++)
            {
                missing[i] = deps[i].Count;
                foreach (var d in deps[i]) users[d].Add(i);
            }
            var ready = new PriorityQueue<int, int>();
            for (var i = 0; i < nodes.Count; i++)
            {
                if (missing[i] == 0) ready.Enqueue(i, i);
            }
            var order = new List<int>(nodes.Count);
            while (ready.TryDequeue(out var i, out _))
            {
                order.Add(i);
                foreach (var u in users[i])
                {
                    if (--missing[u] == 0) ready.Enqueue(u, u);
                }
            }
            if (order.Count == nodes.Count) return order;

            // Name one cycle: from the first node left, follow unresolved dependencies until one repeats.
            var start = Enumerable.Range(0, nodes.Count).First(i => missing[i] > 0);
            var path = new List<int>();
            var at = new Dictionary<int, int>();
            var cur = start;
            while (!at.ContainsKey(cur))
            {
                at[cur] = path.Count;
                path.Add(cur);
                cur = deps[cur].First(d => missing[d] > 0);
            }
            var cycle = path.Skip(at[cur]).Append(cur).Select(k => string.Create(CultureInfo.InvariantCulture, $"id {nodes[k].Id}"));
            throw new InputException(file, nodes[cur].Where, $"the dependencies form a cycle (each depends on the next): {string.Join(" -> ", cycle)}");
        }

        // ---- node kinds ----

        private OpSpec? Computation(ChakraNode n, int index, List<int> deps, bool hasDevice,
            Dictionary<int, (EtNode Node, AtenRule Rule)> hostCost, SortedSet<int> preds)
        {
            var et = ToEtNode(n);
            var rule = et.IsCall ? AtenOps.Rule(et.Short) : null;
            if (hasDevice && n.Attr("is_cpu_op")?.Bool == true)
            {
                // A host-side call in a trace that also records the device kernels: the kernels are the work.
                _hostNodes++;
                if (rule is not null) hostCost[index] = (et, rule);
                return null;
            }
            var numOps = NonNegative(n, "num_ops");
            var tensorSize = NonNegative(n, "tensor_size");
            if (rule is null && numOps is null && tensorSize is null && et.IsCall && AtenOps.Metadata.Contains(et.Short))
            {
                _metadataCalls++;
                return null;
            }

            var costNode = et;
            if (rule is null && numOps is null && tensorSize is null)
            {
                // A device kernel without a cost of its own takes the aten cost of the host call that launched it (the first kernel of that call only).
                foreach (var d in deps)
                {
                    if (hostCost.Remove(d, out var launcher))
                    {
                        (costNode, rule) = launcher;
                        break;
                    }
                }
            }

            OpKind kind;
            long flops = 0, read, written;
            DType dtype;
            GemmShape? gemm = null;
            AttentionShape? attention = null;
            IReadOnlyList<EtTensor> writes;
            var known = false;
            if (rule is not null)
            {
                var w = AtenCosts.Work(costNode, rule);
                (kind, flops, dtype, gemm, attention, read, written, writes) = (w.Kind, w.Flops, w.DType, w.Gemm, w.Attention, w.BytesRead, w.BytesWritten, w.Writes);
                if (w.Reads.Count + w.Writes.Count > 0)
                {
                    known = true;
                    _byAten[costNode.Name] = _byAten.GetValueOrDefault(costNode.Name) + 1;
                }
            }
            else
            {
                var reads = AtenCosts.ReadTensors(et);
                writes = Writes(et);
                kind = OpKind.Generic;
                dtype = AtenCosts.ComputeDType(reads.Concat(writes));
                read = reads.Sum(t => t.Bytes);
                written = writes.Sum(t => t.Bytes);
            }
            if (numOps is { } ops)
            {
                flops = ops;
                if (gemm is { } g && g.Flops != ops) gemm = null;
                if (attention is { } a && a.Flops != ops) attention = null;
            }
            if (tensorSize is { } size) (read, written) = Split(size, read, written);
            if (numOps is not null || tensorSize is not null)
            {
                known = true;
                _attributeCosted++;
            }
            if (!known)
            {
                var key = n.Name.Length > 0 ? n.Name : "(unnamed)";
                var u = _unknown.TryGetValue(key, out var prior) ? prior : (0, n.Id);
                _unknown[key] = (u.Item1 + 1, u.Item2);
            }
            return new OpSpec(n, OpName(n), kind, flops, dtype, gemm, attention, read, written, writes.Count == 1 ? writes[0] : null, preds);
        }

        private OpSpec Memory(ChakraNode n, SortedSet<int> preds)
        {
            var et = ToEtNode(n);
            var reads = AtenCosts.ReadTensors(et);
            var writes = Writes(et);
            var bytes = NonNegative(n, "tensor_size") ?? reads.Concat(writes).GroupBy(t => t.StorageId).Sum(g => g.First().Bytes);
            var dtype = AtenCosts.ComputeDType(reads.Concat(writes));
            return new OpSpec(n, OpName(n), OpKind.Copy, 0, dtype, null, null, bytes, bytes, null, preds);
        }

        private OpSpec? Unsupported(ChakraNode n)
        {
            var type = TypeName(n.Type);
            var detail = n.Type == (int)ChakraNodeType.CommColl ? CollectiveName(n.Attr("comm_type")?.AsLong) : "";
            var bytes = Math.Max(0, n.Attr("comm_size")?.AsLong ?? 0);
            var u = _unsupported.TryGetValue((type, detail), out var prior) ? prior : (0, 0L, n.Id);
            _unsupported[(type, detail)] = (u.Item1 + 1, u.Item2 + bytes, u.Item3);
            return null;
        }

        /// <summary>Splits the node's total bytes in the proportion of its tensors' reads and writes, or
        /// all as reads when it has no tensors.</summary>
        private static (long Read, long Written) Split(long total, long read, long written)
        {
            if (read + written <= 0) return (total, 0);
            var r = (long)Math.Round(total * (read / (double)(read + written)), MidpointRounding.AwayFromZero);
            r = Math.Clamp(r, 0, total);
            return (r, total - r);
        }

        private static List<EtTensor> Writes(EtNode et) =>
            et.Outputs.SelectMany(v => v.Tensors).Where(t => t.Defined).GroupBy(t => t.StorageId).Select(g => g.First()).ToList();

        private static string OpName(ChakraNode n) =>
            n.Name.Length > 0 ? n.Name : string.Create(CultureInfo.InvariantCulture, $"{TypeName(n.Type).ToLowerInvariant()}.{n.Id}");

        private long? NonNegative(ChakraNode n, string attr)
        {
            if (n.Attr(attr) is not { } a) return null;
            if (a.AsLong is not { } v || v < 0)
                throw new InputException(file, $"{n.Where}.attr '{attr}'", $"expected a whole number >= 0, got {Describe(a)}");
            return v;
        }

        private static string Describe(ChakraAttr a) =>
            a.Int is { } i ? i.ToString(CultureInfo.InvariantCulture)
            : a.Double is { } d ? d.ToString("R", CultureInfo.InvariantCulture)
            : a.Bool is { } b ? (b ? "true" : "false")
            : a.String is { } s ? $"the string \"{s}\""
            : "no scalar value";

        /// <summary>Output tensor of op <paramref name="k"/>: the node's own output when it has exactly
        /// one of the written size, else <c>bytes_written</c> bytes (int8 elements). It carries the
        /// dependency to the ops that depend on this one.</summary>
        private static Tensor OutputTensor(int k, OpSpec s)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"op{k}.out");
            if (s.Output is { } t && t.Bytes == s.BytesWritten)
            {
                var (dtype, shape) = AtenCosts.Storage(t);
                var candidate = new Tensor(k, name, shape, dtype, TensorRole.Activation);
                if (candidate.Bytes == s.BytesWritten) return candidate;
            }
            return new Tensor(k, name, [s.BytesWritten], DType.Int8, TensorRole.Activation);
        }

        // ---- tensors of a node ----

        private EtNode ToEtNode(ChakraNode n)
        {
            long rf = n.Index;
            if (n.Attr("rf_id")?.AsLong is { } r) rf = r;
            return new EtNode
            {
                Id = unchecked((long)n.Id),
                Name = n.Name,
                Parent = -1,
                RfId = rf,
                Schema = n.Attr("op_schema")?.String ?? "",
                Inputs = Args(n, n.Inputs, "inputs"),
                Outputs = Args(n, n.Outputs, "outputs"),
                Index = n.Index,
            };
        }

        private List<EtValue> Args(ChakraNode n, ChakraIo? io, string key)
        {
            if (io is null || (io.Values.Length == 0 && io.Shapes.Length == 0 && io.Types.Length == 0)) return [];
            var args = new JObject
            {
                ["values"] = Literal(n, key, "values", io.Values),
                ["shapes"] = Literal(n, key, "shapes", io.Shapes),
                ["types"] = Literal(n, key, "types", io.Types),
            };
            var problems = new List<InputProblem>();
            var list = EtDocument.Args(new JObject { [key] = args }, n.Where, key, (p, m) => problems.Add(new InputProblem(file, p, m)));
            if (problems.Count > 0) throw new InputException(problems);
            return list ?? [];
        }

        private JToken Literal(ChakraNode n, string key, string field, string text)
        {
            if (text.Trim().Length == 0) return new JArray();
            try
            {
                return PyLiteral.Parse(text);
            }
            catch (PyLiteral.SyntaxError e)
            {
                throw new InputException(file, $"{n.Where}.{key}.{field}",
                    string.Create(CultureInfo.InvariantCulture, $"expected a list written as a Python or JSON literal: {e.Message} at character {e.Position}"));
            }
        }
    }
}
