using AccelSim.Core.Config;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Import.Internal;

/// <summary>One tensor argument of an ET node: the value tuple
/// <c>[tensor_id, storage_id, offset, numel, elem_bytes, device]</c> with its shape and strides.</summary>
internal sealed record EtTensor(long TensorId, long StorageId, long Offset, long Numel, int ElemBytes, string Device,
    IReadOnlyList<long> Shape, IReadOnlyList<long>? Strides, string Type)
{
    /// <summary>An undefined tensor (an optional output that was not produced) has no device and no bytes.</summary>
    public bool Defined => Device.Length > 0 && ElemBytes > 0;

    /// <summary>Elements actually stored: the logical count, or less for a broadcast view (stride 0)
    /// whose extent in memory is smaller.</summary>
    public long StoredElements
    {
        get
        {
            if (Strides is null || Strides.Count != Shape.Count) return Numel;
            long extent = 1;
            for (var i = 0; i < Shape.Count; i++)
            {
                if (Shape[i] == 0) return 0;
                if (Strides[i] > 0) extent += (Shape[i] - 1) * Strides[i];
            }
            return Math.Min(Numel, extent);
        }
    }

    public long Bytes => StoredElements * ElemBytes;
}

/// <summary>One positional argument or result of an ET node.</summary>
internal sealed record EtValue(string Type, JToken Raw, IReadOnlyList<EtTensor> Tensors)
{
    public bool IsNone => Type == "None" || (Raw.Type == JTokenType.String && (string?)Raw == "<None>");

    public bool? AsBool => Raw.Type == JTokenType.Boolean ? (bool)Raw : null;

    public string? AsString => Raw.Type == JTokenType.String ? (string?)Raw : null;
}

/// <summary>One node of a PyTorch Execution Trace (an aten call, a record_function scope or the
/// process/thread roots).</summary>
internal sealed class EtNode
{
    public required long Id { get; init; }
    public required string Name { get; init; }
    public required long Parent { get; init; }
    public required long RfId { get; init; }
    public required string Schema { get; init; }
    public required IReadOnlyList<EtValue> Inputs { get; init; }
    public required IReadOnlyList<EtValue> Outputs { get; init; }
    public required int Index { get; init; }
    public List<EtNode> Children { get; } = [];

    /// <summary>A framework call (<c>aten::mm</c>, <c>torchvision::nms</c>), as opposed to a profiler
    /// root (<c>[pytorch|profiler|...]</c>) or a user scope (<c>## forward ##</c>).</summary>
    public bool IsCall => !Name.StartsWith('[') && Name.Contains("::", StringComparison.Ordinal);

    /// <summary>The op name without namespace and overload: <c>aten::add.Tensor</c> -> <c>add</c>.</summary>
    public string Short
    {
        get
        {
            var s = Name;
            var c = s.LastIndexOf("::", StringComparison.Ordinal);
            if (c >= 0) s = s[(c + 2)..];
            var dot = s.IndexOf('.');
            return dot >= 0 ? s[..dot] : s;
        }
    }

    /// <summary>Positional index of the argument named <paramref name="arg"/> in the op schema, or -1.</summary>
    public int ArgIndex(string arg)
    {
        var open = Schema.IndexOf('(');
        if (open < 0) return -1;
        var depth = 0;
        var start = open + 1;
        var index = 0;
        for (var i = open + 1; i < Schema.Length; i++)
        {
            var ch = Schema[i];
            if (ch is '(' or '[') depth++;
            else if (ch is ']') depth--;
            else if (ch == ')' && depth > 0) depth--;
            else if ((ch == ',' || ch == ')') && depth == 0)
            {
                var part = Schema[start..i].Trim();
                if (part != "*")
                {
                    var eq = part.IndexOf('=');
                    if (eq >= 0) part = part[..eq].TrimEnd();
                    var space = part.LastIndexOf(' ');
                    if (space >= 0 && part[(space + 1)..] == arg) return index;
                    index++;
                }
                start = i + 1;
                if (ch == ')') break;
            }
        }
        return -1;
    }

    public EtValue? Arg(string name)
    {
        var i = ArgIndex(name);
        return i >= 0 && i < Inputs.Count ? Inputs[i] : null;
    }

    public override string ToString() => $"node {Id} {Name}";
}

/// <summary>Reads and validates the JSON of an Execution Trace: every problem with its JSON path.</summary>
internal static class EtDocument
{
    private const int MaxProblems = 100;

    public static (string Schema, IReadOnlyList<EtNode> Nodes) Parse(JToken root, string file)
    {
        var problems = new List<InputProblem>();
        void Problem(string path, string message)
        {
            if (problems.Count < MaxProblems) problems.Add(new InputProblem(file, path, message));
        }

        if (root is not JObject obj) throw new InputException(file, "$", $"expected a JSON object (a PyTorch Execution Trace), got {root.Type}");
        var schemaToken = obj["schema"];
        if (schemaToken is null || schemaToken.Type != JTokenType.String)
            throw new InputException(file, "schema", "missing or not a string; expected a PyTorch Execution Trace schema such as \"1.1.1-chakra.0.0.4\"");
        var schema = (string)schemaToken!;
        if (!schema.StartsWith("1.", StringComparison.Ordinal))
            throw new InputException(file, "schema", $"unsupported Execution Trace schema \"{schema}\"; this importer reads schema 1.x (\"1.1.x-chakra.*\")");
        if (obj["nodes"] is not JArray arr)
            throw new InputException(file, "nodes", obj["nodes"] is null ? "missing; expected an array of nodes" : "expected an array of nodes");

        var nodes = new List<EtNode>(arr.Count);
        var seen = new Dictionary<long, int>();
        for (var i = 0; i < arr.Count; i++)
        {
            var path = $"nodes[{i}]";
            if (arr[i] is not JObject n) { Problem(path, "expected an object"); continue; }
            var id = Long(n, path, "id", Problem);
            var name = n["name"] is { Type: JTokenType.String } nm ? (string)nm! : null;
            if (name is null) Problem(path + ".name", "missing or not a string; expected the op name");
            var parent = Long(n, path, "ctrl_deps", Problem);
            long rf = id ?? 0;
            var schemaText = "";
            if (n["attrs"] is JArray attrs)
            {
                for (var k = 0; k < attrs.Count; k++)
                {
                    if (attrs[k] is not JObject a || a["name"] is not { Type: JTokenType.String } an)
                    {
                        Problem($"{path}.attrs[{k}]", "expected an object with \"name\", \"type\" and \"value\"");
                        continue;
                    }
                    var v = a["value"];
                    switch ((string)an!)
                    {
                        case "rf_id" when v is { Type: JTokenType.Integer }: rf = (long)v; break;
                        case "rf_id": Problem($"{path}.attrs[{k}].value", "expected a whole number (rf_id)"); break;
                        case "op_schema" when v is { Type: JTokenType.String }: schemaText = (string)v!; break;
                    }
                }
            }
            else if (n["attrs"] is not null)
            {
                Problem(path + ".attrs", "expected an array");
            }
            var inputs = Args(n, path, "inputs", Problem);
            var outputs = Args(n, path, "outputs", Problem);
            if (id is { } nid)
            {
                if (seen.TryGetValue(nid, out var prior)) Problem(path + ".id", $"duplicate node id {nid} (also nodes[{prior}])");
                else seen[nid] = i;
            }
            if (id is null || name is null || parent is null || inputs is null || outputs is null) continue;
            nodes.Add(new EtNode
            {
                Id = id.Value, Name = name, Parent = parent.Value, RfId = rf, Schema = schemaText,
                Inputs = inputs, Outputs = outputs, Index = i,
            });
        }
        if (problems.Count > 0) throw new InputException(problems);
        return (schema, nodes);
    }

    private static long? Long(JObject o, string path, string key, Action<string, string> problem)
    {
        if (o[key] is { Type: JTokenType.Integer } t) return (long)t;
        problem($"{path}.{key}", o[key] is null ? "missing; expected a whole number" : $"expected a whole number, got {o[key]!.ToString(Formatting.None)}");
        return null;
    }

    internal static List<EtValue>? Args(JObject n, string path, string key, Action<string, string> problem)
    {
        var p = $"{path}.{key}";
        if (n[key] is not JObject args) { problem(p, n[key] is null ? "missing; expected an object with \"values\", \"shapes\" and \"types\"" : "expected an object"); return null; }
        if (args["values"] is not JArray values) { problem(p + ".values", "missing or not an array"); return null; }
        if (args["shapes"] is not JArray shapes) { problem(p + ".shapes", "missing or not an array"); return null; }
        if (args["types"] is not JArray types) { problem(p + ".types", "missing or not an array"); return null; }
        var strides = args["strides"] as JArray;
        if (shapes.Count != values.Count || types.Count != values.Count)
        {
            problem(p, $"\"values\", \"shapes\" and \"types\" must have the same length, got {values.Count}, {shapes.Count} and {types.Count}");
            return null;
        }
        var list = new List<EtValue>(values.Count);
        var ok = true;
        for (var j = 0; j < values.Count; j++)
        {
            if (types[j].Type != JTokenType.String) { problem($"{p}.types[{j}]", "expected a string"); ok = false; continue; }
            var type = (string)types[j]!;
            var tensors = new List<EtTensor>();
            var stride = strides is not null && j < strides.Count ? strides[j] : null;
            if (type.StartsWith("Tensor(", StringComparison.Ordinal))
            {
                var t = Tensor(values[j], shapes[j], stride, type, $"{p}.values[{j}]", $"{p}.shapes[{j}]", problem);
                if (t is null) { ok = false; continue; }
                tensors.Add(t);
            }
            else if (type.StartsWith("GenericList[Tensor", StringComparison.Ordinal))
            {
                if (values[j] is not JArray items || shapes[j] is not JArray itemShapes || itemShapes.Count != items.Count)
                {
                    problem($"{p}.values[{j}]", "expected a list of tensors with one shape per tensor");
                    ok = false;
                    continue;
                }
                var itemStrides = stride as JArray;
                for (var k = 0; k < items.Count; k++)
                {
                    var t = Tensor(items[k], itemShapes[k], itemStrides is not null && k < itemStrides.Count ? itemStrides[k] : null,
                        ElementType(type), $"{p}.values[{j}][{k}]", $"{p}.shapes[{j}][{k}]", problem);
                    if (t is null) { ok = false; continue; }
                    tensors.Add(t);
                }
            }
            list.Add(new EtValue(type, values[j], tensors));
        }
        return ok ? list : null;
    }

    private static string ElementType(string listType)
    {
        // "GenericList[Tensor(c10::BFloat16),Tensor(c10::BFloat16)]" -> "Tensor(c10::BFloat16)"
        var start = listType.IndexOf('[') + 1;
        var end = listType.IndexOf(')', start);
        return end > start ? listType[start..(end + 1)] : listType;
    }

    private static EtTensor? Tensor(JToken value, JToken shape, JToken? stride, string type, string path, string shapePath, Action<string, string> problem)
    {
        if (value.Type == JTokenType.String && (string?)value == "<None>") return null;
        if (value is not JArray v || v.Count != 6 || v.Take(5).Any(x => x.Type != JTokenType.Integer) || v[5].Type != JTokenType.String)
        {
            problem(path, $"expected a tensor [tensor_id, storage_id, offset, numel, elem_bytes, device], got {value.ToString(Formatting.None)}");
            return null;
        }
        var dims = Dims(shape);
        if (dims is null || dims.Any(d => d < 0))
        {
            problem(shapePath, $"expected the tensor's shape as an array of whole numbers >= 0, got {shape.ToString(Formatting.None)}");
            return null;
        }
        var elem = (long)v[4];
        var numel = (long)v[3];
        if (elem < 0 || elem > 64 || numel < 0)
        {
            problem(path, $"expected numel >= 0 and elem_bytes in 0..64, got numel {numel}, elem_bytes {elem}");
            return null;
        }
        return new EtTensor((long)v[0], (long)v[1], (long)v[2], numel, (int)elem, (string)v[5]!, dims, stride is null ? null : Dims(stride), type);
    }

    private static long[]? Dims(JToken token)
    {
        if (token is not JArray a) return null;
        var dims = new long[a.Count];
        for (var i = 0; i < a.Count; i++)
        {
            if (a[i].Type != JTokenType.Integer) return null;
            dims[i] = (long)a[i];
        }
        return dims;
    }
}
