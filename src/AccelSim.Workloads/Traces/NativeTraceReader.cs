using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Workloads.Configs;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Traces;

/// <summary>Reads and validates a native trace (<c>accelsim.trace/1</c>, see docs/trace-format.md).
/// Every problem is reported at once as an <see cref="InputException"/> naming the file and the
/// JSON path (e.g. <c>ops[12].inputs[1]</c>).</summary>
public static class NativeTraceReader
{
    public const string Schema = NativeTraceWriter.Schema;

    private const int MaxProblems = 100;

    private static readonly string[] RootKeys = ["schema", "workload", "recorded", "tensors", "ops"];
    private static readonly string[] RecordedKeys = ["launch", "framework", "source"];
    private static readonly string[] WorkloadKeys = ["name", "phase", "batch", "seq_len", "context", "tokens", "stack"];
    private static readonly string[] TensorKeys = ["id", "name", "shape", "dtype", "role"];
    private static readonly string[] OpKeys =
        ["id", "name", "kind", "layer", "inputs", "outputs", "flops", "dtype", "bytes_read", "bytes_written", "gemm", "attention", "host_calls", "host_views",
        "host_nested", "host_sync", "access"];
    private static readonly string[] GemmKeys = ["batch", "m", "n", "k", "weight_shared"];
    private static readonly string[] AttentionKeys = ["batch", "heads_q", "heads_kv", "head_dim", "query_len", "kv_len", "causal"];

    /// <summary>Reads a trace file (.json or .json.gz).</summary>
    public static WorkloadGraph Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(JsonInput.Load(path), path);
    }

    /// <summary>Reads a trace from text; <paramref name="source"/> names it in errors.</summary>
    public static WorkloadGraph ReadText(string json, string source = "<trace>")
    {
        ArgumentNullException.ThrowIfNull(json);
        var token = JsonInput.ParseText(json, source);
        return Parse(token, source);
    }

    /// <summary>Validates a parsed trace and builds its graph.</summary>
    public static WorkloadGraph Parse(JToken root, string file)
    {
        ArgumentNullException.ThrowIfNull(root);
        var r = new Reader(file);
        if (root is not JObject obj) throw new InputException(file, "$", $"expected a JSON object, got {root.Type}");

        var schema = obj["schema"];
        if (schema is null) throw new InputException(file, "schema", $"missing; expected \"{Schema}\"");
        if (schema.Type != JTokenType.String || (string?)schema != Schema)
            throw new InputException(file, "schema", $"unknown schema version {schema.ToString(Formatting.None)}; this reader understands \"{Schema}\"");
        r.Keys(obj, "", RootKeys);

        var info = r.Workload(obj);
        var recorded = r.Recorded(obj);
        if (info is not null && recorded is not null) info = info with { Recorded = recorded };
        var tensors = r.Tensors(obj);
        var ops = r.Ops(obj, tensors);
        r.ThrowIfAny();
        try
        {
            return ops.Build(info!);
        }
        catch (InputException e)
        {
            // A graph-wide limit (total FLOPs or bytes, op count): name the trace.
            throw new InputException(e.Problems.Select(p => p with { File = p.File ?? file }).ToArray());
        }
    }

    private sealed class Reader(string file)
    {
        private readonly List<InputProblem> _problems = [];

        public void Problem(string path, string message)
        {
            if (_problems.Count < MaxProblems) _problems.Add(new InputProblem(file, path, message));
        }

        public void ThrowIfAny()
        {
            if (_problems.Count > 0) throw new InputException(_problems);
        }

        public void Keys(JObject o, string path, string[] allowed)
        {
            foreach (var p in o.Properties())
            {
                if (p.Name.StartsWith('_') || allowed.Contains(p.Name, StringComparer.Ordinal)) continue;
                Problem(Join(path, p.Name), $"unknown field; expected one of {string.Join(", ", allowed)} (fields starting with \"_\" are comments)");
            }
        }

        public WorkloadInfo? Workload(JObject root)
        {
            if (root["workload"] is not JObject w)
            {
                Problem("workload", root["workload"] is null ? "missing; expected an object" : "expected an object");
                return null;
            }
            Keys(w, "workload", WorkloadKeys);
            var name = String(w, "workload", "name");
            var phase = String(w, "workload", "phase");
            var batch = Long(w, "workload", "batch", 0);
            var seq = Long(w, "workload", "seq_len", 0);
            var ctx = Long(w, "workload", "context", 0);
            var tokens = Long(w, "workload", "tokens", 0);
            var stack = w["stack"] is null ? null : String(w, "workload", "stack");
            return name is null || phase is null || batch is null || seq is null || ctx is null || tokens is null || (w["stack"] is not null && stack is null)
                ? null
                : new WorkloadInfo(name, phase, batch.Value, seq.Value, ctx.Value, tokens.Value) { Stack = stack };
        }

        /// <summary>The optional "recorded" object: the program the trace was recorded from.</summary>
        public RecordedProgram? Recorded(JObject root)
        {
            if (root["recorded"] is null) return null;
            if (root["recorded"] is not JObject r)
            {
                Problem("recorded", "expected an object {\"launch\": \"eager\"|\"graph\", \"framework\": ..., \"source\": ...}");
                return null;
            }
            Keys(r, "recorded", RecordedKeys);
            var launchText = String(r, "recorded", "launch");
            var framework = String(r, "recorded", "framework");
            string? source = null;
            if (r["source"] is not null) source = String(r, "recorded", "source");
            if (launchText is null || framework is null) return null;
            if (!LaunchModes.TryParse(launchText, out var launch))
            {
                Problem("recorded.launch", $"unknown launch \"{launchText}\"; expected eager or graph");
                return null;
            }
            return new RecordedProgram(launch, framework) { Source = source };
        }

        /// <summary>Tensor ids declared under "tensors", valid or not: an op referring to a
        /// declared but invalid tensor is not reported a second time.</summary>
        private readonly HashSet<int> _declared = [];

        public Dictionary<int, (Tensor Tensor, int Index)> Tensors(JObject root)
        {
            var result = new Dictionary<int, (Tensor Tensor, int Index)>();
            if (root["tensors"] is not JArray arr)
            {
                Problem("tensors", root["tensors"] is null ? "missing; expected an array" : "expected an array");
                return result;
            }
            for (var i = 0; i < arr.Count; i++)
            {
                var path = $"tensors[{i}]";
                if (arr[i] is not JObject t) { Problem(path, "expected an object"); continue; }
                Keys(t, path, TensorKeys);
                var id = Int(t, path, "id", 0);
                var name = String(t, path, "name");
                var shape = Shape(t, path);
                var dtype = DTypeField(t, path, "dtype");
                TensorRole? role = null;
                var roleText = String(t, path, "role");
                if (roleText is not null)
                {
                    if (TensorRoles.TryParse(roleText, out var rr)) role = rr;
                    else Problem(path + ".role", $"unknown role \"{roleText}\"; expected {TensorRoles.Expected}");
                }
                if (id is { } declared) _declared.Add(declared);
                if (id is { } tid && result.TryGetValue(tid, out var prior))
                {
                    Problem(path + ".id", $"duplicate tensor id {tid} (also tensors[{prior.Index}])");
                    continue;
                }
                if (id is null || name is null || shape is null || dtype is null || role is null) continue;
                try
                {
                    result.Add(id.Value, (new Tensor(id.Value, name, shape, dtype.Value, role.Value), i));
                }
                catch (OverflowException)
                {
                    Problem(path + ".shape", "the tensor has more elements than fit in a 64-bit count");
                }
            }
            return result;
        }

        public OpList Ops(JObject root, Dictionary<int, (Tensor Tensor, int Index)> tensors)
        {
            var list = new OpList();
            if (root["ops"] is not JArray arr)
            {
                Problem("ops", root["ops"] is null ? "missing; expected an array" : "expected an array");
                return list;
            }
            if (arr.Count > WorkloadGraph.MaxOps)
            {
                Problem("ops", $"{arr.Count} ops, beyond the sanity limit of {WorkloadGraph.MaxOps} ops per graph");
                return list;
            }
            var producer = new Dictionary<int, int>();
            var specs = new List<OpSpec?>();
            for (var i = 0; i < arr.Count; i++)
            {
                var path = $"ops[{i}]";
                if (arr[i] is not JObject o) { Problem(path, "expected an object"); specs.Add(null); continue; }
                Keys(o, path, OpKeys);
                var id = Int(o, path, "id", 0);
                if (id is { } oid && oid != i) Problem(path + ".id", $"expected {i}: ops are numbered 0..n-1 in the order they are listed, got {oid}");
                var name = String(o, path, "name");
                OpKind? kind = null;
                var kindText = String(o, path, "kind");
                if (kindText is not null)
                {
                    if (OpKinds.TryParse(kindText, out var k)) kind = k;
                    else Problem(path + ".kind", $"unknown kind \"{kindText}\"; expected {OpKinds.Expected}");
                }
                var layer = o["layer"] is null ? -1 : Int(o, path, "layer", -1);
                var inputs = TensorRefs(o, path, "inputs", tensors);
                var outputs = TensorRefs(o, path, "outputs", tensors);
                if (outputs is not null)
                {
                    for (var k = 0; k < outputs.Count; k++)
                    {
                        var tid = outputs[k].Id;
                        if (producer.TryGetValue(tid, out var prev))
                            Problem($"{path}.outputs[{k}]", $"tensor {tid} is already written by ops[{prev}]; a tensor has one producer");
                        else producer[tid] = i;
                    }
                }
                var flops = Long(o, path, "flops", 0);
                var dtype = DTypeField(o, path, "dtype");
                var bytesRead = o["bytes_read"] is null ? null : Long(o, path, "bytes_read", 0);
                var bytesWritten = o["bytes_written"] is null ? null : Long(o, path, "bytes_written", 0);
                var hostCalls = o["host_calls"] is null ? 1 : Int(o, path, "host_calls", 1);
                var hostViews = o["host_views"] is null ? (int?)null : Int(o, path, "host_views", 0);
                var hostNested = o["host_nested"] is null ? 0 : Int(o, path, "host_nested", 0);
                var hostSync = o["host_sync"] is null ? false : Bool(o, path, "host_sync");
                // Without a breakdown (traces written before it), every call beyond the op's own is a view.
                var views = hostViews ?? (o["host_nested"] is null && hostCalls is not null ? hostCalls.Value - 1 : 0);
                if (hostCalls is not null && hostNested is not null && views + hostNested.Value > hostCalls.Value)
                {
                    Problem(Join(path, o["host_views"] is null ? "host_nested" : "host_views"),
                        $"host_views + host_nested ({views} + {hostNested}) exceed host_calls ({hostCalls}); they count calls among the op's host calls");
                }
                ElementAccess? access = ElementAccess.Unspecified;
                if (o["access"] is { } accessToken)
                {
                    access = (string?)accessToken switch { "vectorized" => ElementAccess.Vectorized, "strided" => ElementAccess.Strided, _ => null };
                    if (access is null) Problem($"{path}.access", $"expected \"vectorized\" or \"strided\", got {accessToken.ToString(Newtonsoft.Json.Formatting.None)}");
                }
                var gemm = Gemm(o, path);
                var attention = Attention(o, path);
                var ok = id is not null && name is not null && kind is not null && layer is not null && inputs is not null
                    && outputs is not null && flops is not null && dtype is not null
                    && (o["bytes_read"] is null || bytesRead is not null) && (o["bytes_written"] is null || bytesWritten is not null)
                    && (o["gemm"] is null || gemm is not null) && (o["attention"] is null || attention is not null) && hostCalls is not null
                    && (o["host_views"] is null || hostViews is not null) && hostNested is not null && hostSync is not null && access is not null;
                specs.Add(ok
                    ? new OpSpec(name!, kind!.Value, layer!.Value, inputs!, outputs!, flops!.Value, dtype!.Value, gemm, attention, bytesRead, bytesWritten, hostCalls!.Value)
                    {
                        HostViews = views,
                        HostNested = hostNested!.Value,
                        HostSync = hostSync!.Value,
                        Access = access!.Value,
                    }
                    : null);
            }
            if (_problems.Count > 0) return list;

            // Dependencies: op j -> op i when i reads a tensor j writes.
            var edges = new List<int>[specs.Count];
            for (var i = 0; i < specs.Count; i++) edges[i] = [];
            for (var i = 0; i < specs.Count; i++)
            {
                foreach (var t in specs[i]!.Inputs)
                {
                    if (producer.TryGetValue(t.Id, out var j)) edges[j].Add(i);
                }
            }
            if (FindCycle(edges) is { } cycle)
            {
                var text = string.Join(" -> ", cycle.Append(cycle[0]).Select(c => $"ops[{c}] '{specs[c]!.Name}'"));
                Problem($"ops[{cycle[0]}]", $"the ops form a cycle: {text}");
                return list;
            }
            for (var i = 0; i < specs.Count; i++)
            {
                var inputs = specs[i]!.Inputs;
                for (var k = 0; k < inputs.Count; k++)
                {
                    if (producer.TryGetValue(inputs[k].Id, out var j) && j > i)
                        Problem($"ops[{i}].inputs[{k}]", $"tensor {inputs[k].Id} is written by ops[{j}], listed later; ops must be listed in a topological order");
                }
            }
            if (_problems.Count > 0) return list;

            for (var i = 0; i < specs.Count; i++)
            {
                var s = specs[i]!;
                try
                {
                    list.Add(new Op(i, s.Name, s.Kind, s.Layer, s.Inputs, s.Outputs, s.Flops, s.DType, s.Gemm, s.Attention, s.BytesRead, s.BytesWritten)
                    {
                        HostCalls = s.HostCalls,
                        HostViews = s.HostViews,
                        HostNested = s.HostNested,
                        HostSync = s.HostSync,
                        Access = s.Access,
                    });
                }
                catch (Exception e) when (e is ArgumentException or OverflowException)
                {
                    Problem($"ops[{i}]", e.Message);
                }
            }
            return list;
        }

        private List<Tensor>? TensorRefs(JObject o, string path, string key, Dictionary<int, (Tensor Tensor, int Index)> tensors)
        {
            var p = Join(path, key);
            if (o[key] is not JArray arr)
            {
                Problem(p, o[key] is null ? "missing; expected an array of tensor ids" : "expected an array of tensor ids");
                return null;
            }
            var list = new List<Tensor>();
            var ok = true;
            for (var k = 0; k < arr.Count; k++)
            {
                var id = IntValue(arr[k], $"{p}[{k}]", 0);
                if (id is null) { ok = false; continue; }
                if (!tensors.TryGetValue(id.Value, out var t))
                {
                    ok = false;
                    if (_declared.Contains(id.Value)) continue;
                    Problem($"{p}[{k}]", $"unknown tensor id {id.Value}; declare it under \"tensors\"");
                    continue;
                }
                list.Add(t.Tensor);
            }
            return ok ? list : null;
        }

        private GemmShape? Gemm(JObject o, string path)
        {
            if (o["gemm"] is not { } token || token.Type == JTokenType.Null) return null;
            var p = path + ".gemm";
            if (token is not JObject g) { Problem(p, "expected an object"); return null; }
            Keys(g, p, GemmKeys);
            var b = Long(g, p, "batch", 0);
            var m = Long(g, p, "m", 0);
            var n = Long(g, p, "n", 0);
            var k = Long(g, p, "k", 0);
            var shared = g["weight_shared"] is null ? true : Bool(g, p, "weight_shared");
            if (b is null || m is null || n is null || k is null || shared is null) return null;
            var shape = new GemmShape(b.Value, m.Value, n.Value, k.Value, shared.Value);
            return FitsCounts(() => shape.Flops, p) ? shape : null;
        }

        private AttentionShape? Attention(JObject o, string path)
        {
            if (o["attention"] is not { } token || token.Type == JTokenType.Null) return null;
            var p = path + ".attention";
            if (token is not JObject a) { Problem(p, "expected an object"); return null; }
            Keys(a, p, AttentionKeys);
            var b = Long(a, p, "batch", 0);
            var hq = Long(a, p, "heads_q", 0);
            var hkv = Long(a, p, "heads_kv", 0);
            var d = Long(a, p, "head_dim", 0);
            var ql = Long(a, p, "query_len", 0);
            var kl = Long(a, p, "kv_len", 0);
            var causal = Bool(a, p, "causal");
            if (b is null || hq is null || hkv is null || d is null || ql is null || kl is null || causal is null) return null;
            if (causal.Value && kl.Value < ql.Value)
            {
                Problem(p + ".kv_len", $"causal attention needs kv_len >= query_len (the cache plus the new tokens), got {kl.Value} < {ql.Value}");
                return null;
            }
            var shape = new AttentionShape(b.Value, hq.Value, hkv.Value, d.Value, ql.Value, kl.Value, causal.Value);
            return FitsCounts(() => shape.Flops, p) ? shape : null;
        }

        /// <summary>Whether a shape's FLOPs fit in 2^63 - 1 (a problem at <paramref name="path"/> if not).</summary>
        private bool FitsCounts(Func<long> flops, string path)
        {
            try
            {
                flops();
                return true;
            }
            catch (OverflowException)
            {
                Problem(path, $"the shape's FLOPs exceed {WorkloadGraph.CountRange}, the largest count the simulator represents");
                return false;
            }
        }

        private long[]? Shape(JObject t, string path)
        {
            var p = path + ".shape";
            if (t["shape"] is not JArray arr)
            {
                Problem(p, t["shape"] is null ? "missing; expected an array of whole numbers >= 0" : "expected an array of whole numbers >= 0");
                return null;
            }
            var dims = new long[arr.Count];
            var ok = true;
            for (var k = 0; k < arr.Count; k++)
            {
                var v = LongValue(arr[k], $"{p}[{k}]", 0);
                if (v is null) ok = false;
                else dims[k] = v.Value;
            }
            return ok ? dims : null;
        }

        private DType? DTypeField(JObject o, string path, string key)
        {
            var text = String(o, path, key);
            if (text is null) return null;
            if (DTypes.TryParse(text, out var d) && d.Name() == text) return d;
            Problem(Join(path, key), $"unknown data type \"{text}\"; expected {DTypes.Expected}");
            return null;
        }

        private string? String(JObject o, string path, string key)
        {
            var p = Join(path, key);
            if (o[key] is not { } token) { Problem(p, "missing; expected a string"); return null; }
            if (token.Type == JTokenType.String) return (string)token!;
            Problem(p, $"expected a string, got {token.Type.ToString().ToLowerInvariant()}");
            return null;
        }

        private bool? Bool(JObject o, string path, string key)
        {
            var p = Join(path, key);
            if (o[key] is not { } token) { Problem(p, "missing; expected true or false"); return null; }
            if (token.Type == JTokenType.Boolean) return (bool)token;
            Problem(p, $"expected true or false, got {token.ToString(Formatting.None)}");
            return null;
        }

        private long? Long(JObject o, string path, string key, long min)
        {
            var p = Join(path, key);
            if (o[key] is not { } token) { Problem(p, $"missing; expected a whole number >= {min}"); return null; }
            return LongValue(token, p, min);
        }

        private int? Int(JObject o, string path, string key, int min)
        {
            var p = Join(path, key);
            if (o[key] is not { } token) { Problem(p, $"missing; expected a whole number >= {min}"); return null; }
            return IntValue(token, p, min);
        }

        private long? LongValue(JToken token, string path, long min)
        {
            if (token is JValue { Type: JTokenType.Integer, Value: long v })
            {
                if (v >= min) return v;
                Problem(path, $"expected a whole number >= {min}, got {v}");
                return null;
            }
            Problem(path, $"expected a whole number >= {min}, got {token.ToString(Formatting.None)}");
            return null;
        }

        private int? IntValue(JToken token, string path, int min)
        {
            var v = LongValue(token, path, min);
            if (v is null) return null;
            if (v.Value <= int.MaxValue) return (int)v.Value;
            Problem(path, $"expected a whole number at most {int.MaxValue}, got {v.Value}");
            return null;
        }

        private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
    }

    private sealed record OpSpec(string Name, OpKind Kind, int Layer, List<Tensor> Inputs, List<Tensor> Outputs, long Flops, DType DType,
        GemmShape? Gemm, AttentionShape? Attention, long? BytesRead, long? BytesWritten, int HostCalls)
    {
        public int HostViews { get; init; }
        public int HostNested { get; init; }
        public bool HostSync { get; init; }
        public ElementAccess Access { get; init; }
    }

    private sealed class OpList
    {
        private readonly List<Op> _ops = [];

        public void Add(Op op) => _ops.Add(op);

        public WorkloadGraph Build(WorkloadInfo info) => new(info, _ops);
    }

    /// <summary>One cycle (op indices in order) if the dependency graph has any, else null.</summary>
    private static List<int>? FindCycle(List<int>[] edges)
    {
        var state = new byte[edges.Length]; // 0 new, 1 on stack, 2 done
        var parent = new int[edges.Length];
        for (var s = 0; s < edges.Length; s++)
        {
            if (state[s] != 0) continue;
            // Iterative DFS: (node, next edge index).
            var stack = new Stack<(int Node, int Next)>();
            stack.Push((s, 0));
            state[s] = 1;
            parent[s] = -1;
            while (stack.Count > 0)
            {
                var (node, next) = stack.Pop();
                if (next < edges[node].Count)
                {
                    stack.Push((node, next + 1));
                    var to = edges[node][next];
                    if (state[to] == 1)
                    {
                        var cycle = new List<int> { to };
                        for (var c = node; c != to; c = parent[c]) cycle.Add(c);
                        cycle.Reverse(1, cycle.Count - 1);
                        return cycle;
                    }
                    if (state[to] == 0)
                    {
                        state[to] = 1;
                        parent[to] = node;
                        stack.Push((to, 0));
                    }
                }
                else
                {
                    state[node] = 2;
                }
            }
        }
        return null;
    }
}
