using Google.Protobuf;

namespace AccelSim.Workloads.Tests.Import;

/// <summary>An attribute of a test node; exactly one value is set.</summary>
internal sealed record EtAttr(string Name, long? Int64 = null, ulong? UInt64 = null, double? Double = null, bool? Bool = null, string? String = null);

/// <summary>An IOInfo of a test node, as Chakra's converters write it (Python literals).</summary>
internal sealed record EtIo(string Values, string Shapes, string Types);

/// <summary>A Node message of a test trace. Node types: 2 MEM_LOAD, 3 MEM_STORE, 4 COMP, 7 COMM_COLL.</summary>
internal sealed record EtNodeSpec(ulong Id, string Name, int Type = 4)
{
    public ulong[] DataDeps { get; init; } = [];
    public ulong[] CtrlDeps { get; init; } = [];
    public EtIo? Inputs { get; init; }
    public EtIo? Outputs { get; init; }
    public EtAttr[] Attrs { get; init; } = [];
    public ulong DurationMicros { get; init; }

    /// <summary>Write repeated dependencies packed (one length-delimited run) or one varint each.</summary>
    public bool Packed { get; init; } = true;
}

/// <summary>Builds Chakra execution traces (.et) for tests with Google.Protobuf's CodedOutputStream:
/// a varint-length-prefixed GlobalMetadata, then one varint-length-prefixed Node per node, with the
/// field numbers of et_def.proto.</summary>
internal static class ChakraEtWriter
{
    public static byte[] Trace(IEnumerable<EtNodeSpec> nodes, string version = "0.0.4")
    {
        using var ms = new MemoryStream();
        var output = new CodedOutputStream(ms);
        output.WriteBytes(ByteString.CopyFrom(Metadata(version)));
        foreach (var n in nodes) output.WriteBytes(ByteString.CopyFrom(Node(n)));
        output.Flush();
        return ms.ToArray();
    }

    public static byte[] Metadata(string version) => Message(s =>
    {
        if (version.Length > 0)
        {
            s.WriteTag(1, WireFormat.WireType.LengthDelimited);
            s.WriteString(version);
        }
        Sub(s, 2, Attr(new EtAttr("schema", String: "1.0.2-chakra.0.0.4")));
    });

    public static byte[] Node(EtNodeSpec n) => Message(s =>
    {
        if (n.Id != 0)
        {
            s.WriteTag(1, WireFormat.WireType.Varint);
            s.WriteUInt64(n.Id);
        }
        if (n.Name.Length > 0)
        {
            s.WriteTag(2, WireFormat.WireType.LengthDelimited);
            s.WriteString(n.Name);
        }
        s.WriteTag(3, WireFormat.WireType.Varint);
        s.WriteEnum(n.Type);
        Ids(s, 4, n.CtrlDeps, n.Packed);
        Ids(s, 5, n.DataDeps, n.Packed);
        if (n.DurationMicros != 0)
        {
            s.WriteTag(7, WireFormat.WireType.Varint);
            s.WriteUInt64(n.DurationMicros);
        }
        if (n.Inputs is { } i) Sub(s, 8, Io(i));
        if (n.Outputs is { } o) Sub(s, 9, Io(o));
        foreach (var a in n.Attrs) Sub(s, 10, Attr(a));
    });

    /// <summary>Frames raw message bytes as the trace does: a varint length, then the bytes.</summary>
    public static byte[] Framed(byte[] message) => Message(s => s.WriteBytes(ByteString.CopyFrom(message)));

    public static byte[] Message(Action<CodedOutputStream> write)
    {
        using var ms = new MemoryStream();
        var s = new CodedOutputStream(ms);
        write(s);
        s.Flush();
        return ms.ToArray();
    }

    private static void Sub(CodedOutputStream s, int field, byte[] message)
    {
        s.WriteTag(field, WireFormat.WireType.LengthDelimited);
        s.WriteBytes(ByteString.CopyFrom(message));
    }

    private static void Ids(CodedOutputStream s, int field, ulong[] ids, bool packed)
    {
        if (ids.Length == 0) return;
        if (!packed)
        {
            foreach (var id in ids)
            {
                s.WriteTag(field, WireFormat.WireType.Varint);
                s.WriteUInt64(id);
            }
            return;
        }
        Sub(s, field, Message(p =>
        {
            foreach (var id in ids) p.WriteUInt64(id);
        }));
    }

    private static byte[] Io(EtIo io) => Message(s =>
    {
        s.WriteTag(1, WireFormat.WireType.LengthDelimited);
        s.WriteString(io.Values);
        s.WriteTag(2, WireFormat.WireType.LengthDelimited);
        s.WriteString(io.Shapes);
        s.WriteTag(3, WireFormat.WireType.LengthDelimited);
        s.WriteString(io.Types);
    });

    private static byte[] Attr(EtAttr a) => Message(s =>
    {
        s.WriteTag(1, WireFormat.WireType.LengthDelimited);
        s.WriteString(a.Name);
        if (a.Double is { } d)
        {
            s.WriteTag(3, WireFormat.WireType.Fixed64);
            s.WriteDouble(d);
        }
        if (a.Int64 is { } i)
        {
            s.WriteTag(9, WireFormat.WireType.Varint);
            s.WriteInt64(i);
        }
        if (a.UInt64 is { } u)
        {
            s.WriteTag(13, WireFormat.WireType.Varint);
            s.WriteUInt64(u);
        }
        if (a.Bool is { } b)
        {
            s.WriteTag(27, WireFormat.WireType.Varint);
            s.WriteBool(b);
        }
        if (a.String is { } str)
        {
            s.WriteTag(29, WireFormat.WireType.LengthDelimited);
            s.WriteString(str);
        }
    });

    /// <summary>A bf16 tensor argument list in Chakra's Python-literal form: each tensor is
    /// <c>[tensor_id, storage_id, offset, numel, elem_bytes, device]</c>.</summary>
    public static EtIo Bf16(params (long Storage, long[] Shape)[] tensors)
    {
        var values = tensors.Select(t => $"[{t.Storage}, {t.Storage}, 0, {t.Shape.Aggregate(1L, (a, b) => a * b)}, 2, 'cuda:0']");
        var shapes = tensors.Select(t => "[" + string.Join(", ", t.Shape) + "]");
        var types = tensors.Select(_ => "'Tensor(c10::BFloat16)'");
        return new EtIo("[" + string.Join(", ", values) + "]", "[" + string.Join(", ", shapes) + "]", "[" + string.Join(", ", types) + "]");
    }
}
