using System.Globalization;
using AccelSim.Core.Config;
using Google.Protobuf;

namespace AccelSim.Workloads.Import.Internal;

/// <summary>Chakra's node types (<c>NodeType</c> in et_def.proto; the numbers are the wire values).</summary>
internal enum ChakraNodeType
{
    Invalid = 0,
    Metadata = 1,
    MemLoad = 2,
    MemStore = 3,
    Comp = 4,
    CommSend = 5,
    CommRecv = 6,
    CommColl = 7,
    Storage = 8,
    Batch = 9,
    Checkpoint = 10,
}

/// <summary>One <c>AttributeProto</c>: a name and a scalar value (integers of every protobuf
/// encoding in <see cref="Int"/>, float and double in <see cref="Double"/>). List and bytes values
/// are read for validity but not kept: no mapping rule uses them.</summary>
internal sealed class ChakraAttr
{
    public string Name { get; set; } = "";
    public long? Int { get; set; }
    public double? Double { get; set; }
    public bool? Bool { get; set; }
    public string? String { get; set; }

    /// <summary>The value as a whole number: an integer, a whole double, or a bool as 0/1.</summary>
    public long? AsLong =>
        Int ?? (Double is { } d && Math.Floor(d) == d && Math.Abs(d) < 9.2e18 ? (long)d : (long?)null) ?? (Bool is { } b ? (b ? 1 : 0) : (long?)null);
}

/// <summary>An <c>IOInfo</c>: Python-literal (or JSON) texts of the argument values, shapes and types.</summary>
internal sealed record ChakraIo(string Values, string Shapes, string Types);

/// <summary>The leading <c>GlobalMetadata</c> message.</summary>
internal sealed class ChakraMetadata
{
    public string Version { get; set; } = "";
    public List<ChakraAttr> Attrs { get; } = [];
}

/// <summary>One <c>Node</c> message, with its position in the file for messages.</summary>
internal sealed class ChakraNode
{
    public int Index { get; init; }
    public long Offset { get; init; }
    public ulong Id { get; set; }
    public bool HasId { get; set; }
    public string Name { get; set; } = "";
    public int Type { get; set; }
    public List<ulong> CtrlDeps { get; } = [];
    public List<ulong> DataDeps { get; } = [];
    public ulong StartMicros { get; set; }
    public ulong DurationMicros { get; set; }
    public ChakraIo? Inputs { get; set; }
    public ChakraIo? Outputs { get; set; }
    public List<ChakraAttr> Attrs { get; } = [];

    public ChakraAttr? Attr(string name)
    {
        foreach (var a in Attrs)
        {
            if (a.Name == name) return a;
        }
        return null;
    }

    /// <summary>How messages name the node: its position among the nodes and, once read, its id.</summary>
    public string Where => HasId ? string.Create(CultureInfo.InvariantCulture, $"node {Index} (id {Id})") : string.Create(CultureInfo.InvariantCulture, $"node {Index}");
}

/// <summary>Reads the framing and the messages of a Chakra execution trace (.et): a sequence of
/// messages, each preceded by its length as a varint; the first is a <c>GlobalMetadata</c>, every
/// later one a <c>Node</c>. Field numbers and wire types follow et_def.proto; unknown fields are
/// skipped (newer writers), a known field with the wrong wire type is an error.</summary>
internal static class ChakraWire
{
    private const int Varint = 0, Fixed64 = 1, Delimited = 2, Fixed32 = 5;

    /// <summary>A known field with a wire type the schema does not allow, or a value out of range.</summary>
    private sealed class FormatError(string message) : Exception(message);

    public static (ChakraMetadata Metadata, List<ChakraNode> Nodes) Read(byte[] data, string file)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Length == 0)
            throw new InputException(file, null, "empty file; expected a GlobalMetadata message followed by Node messages");
        long pos = 0;
        var (metaStart, metaLength) = Frame(data, ref pos, file, "GlobalMetadata");
        var metadata = new ChakraMetadata();
        try
        {
            ReadMetadata(new CodedInputStream(data, (int)metaStart, metaLength), metadata);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or FormatError)
        {
            throw new InputException(file, "GlobalMetadata", $"{Reason(e)} (message at byte {metaStart}, {metaLength} bytes)");
        }

        var nodes = new List<ChakraNode>();
        while (pos < data.Length)
        {
            var index = nodes.Count;
            var (start, length) = Frame(data, ref pos, file, string.Create(CultureInfo.InvariantCulture, $"node {index}"));
            var node = new ChakraNode { Index = index, Offset = start };
            try
            {
                ReadNode(new CodedInputStream(data, (int)start, length), node);
            }
            catch (Exception e) when (e is InvalidProtocolBufferException or FormatError)
            {
                throw new InputException(file, node.Where, $"{Reason(e)} (message at byte {start}, {length} bytes)");
            }
            nodes.Add(node);
        }
        return (metadata, nodes);
    }

    private static string Reason(Exception e) => e is FormatError ? e.Message : "malformed protobuf: " + e.Message.TrimEnd('.');

    /// <summary>Reads one length prefix at <paramref name="pos"/> and checks the message fits in the file.</summary>
    private static (long Start, int Length) Frame(byte[] data, ref long pos, string file, string where)
    {
        var prefixAt = pos;
        ulong length = 0;
        var shift = 0;
        while (true)
        {
            if (pos >= data.Length)
                throw new InputException(file, where, $"truncated length prefix at byte {prefixAt}: the file ends inside a varint");
            var b = data[pos++];
            if (shift == 63 && b > 1)
                throw new InputException(file, where, $"malformed length prefix at byte {prefixAt}: the varint is longer than 64 bits");
            length |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) break;
            shift += 7;
            if (shift > 63)
                throw new InputException(file, where, $"malformed length prefix at byte {prefixAt}: the varint is longer than 10 bytes");
        }
        var left = data.Length - pos;
        if (length > (ulong)left)
            throw new InputException(file, where,
                $"message length {length} (prefix at byte {prefixAt}) runs past the end of the file: {left} bytes left; the file is truncated or not a Chakra trace");
        var start = pos;
        pos += (long)length;
        return (start, (int)length);
    }

    private static string WireName(int wt) => wt switch
    {
        Varint => "varint (0)",
        Fixed64 => "64-bit (1)",
        Delimited => "length-delimited (2)",
        Fixed32 => "32-bit (5)",
        _ => string.Create(CultureInfo.InvariantCulture, $"{wt}"),
    };

    private static void Expect(uint tag, int wireType, string message, string field)
    {
        var wt = (int)WireFormat.GetTagWireType(tag);
        if (wt != wireType)
            throw new FormatError(string.Create(CultureInfo.InvariantCulture,
                $"{message}.{field} (field {WireFormat.GetTagFieldNumber(tag)}) has wire type {WireName(wt)}; the schema expects {WireName(wireType)}"));
    }

    private static void ReadMetadata(CodedInputStream s, ChakraMetadata m)
    {
        uint tag;
        while ((tag = s.ReadTag()) != 0)
        {
            var field = WireFormat.GetTagFieldNumber(tag);
            var wt = (int)WireFormat.GetTagWireType(tag);
            if ((field == 1 && wt == Varint) || field is >= 3 and <= 11)
                throw new FormatError(string.Create(CultureInfo.InvariantCulture,
                    $"the first message is not a GlobalMetadata (it has field {field} with wire type {WireName(wt)}, as a Node does); a Chakra trace starts with a GlobalMetadata message"));
            switch (field)
            {
                case 1:
                    Expect(tag, Delimited, "GlobalMetadata", "version");
                    m.Version = s.ReadString();
                    break;
                case 2:
                    Expect(tag, Delimited, "GlobalMetadata", "attr");
                    m.Attrs.Add(ReadAttr(s.ReadBytes()));
                    break;
                default:
                    s.SkipLastField();
                    break;
            }
        }
    }

    private static void ReadNode(CodedInputStream s, ChakraNode n)
    {
        uint tag;
        while ((tag = s.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    Expect(tag, Varint, "Node", "id");
                    n.Id = s.ReadUInt64();
                    n.HasId = true;
                    break;
                case 2:
                    Expect(tag, Delimited, "Node", "name");
                    n.Name = s.ReadString();
                    break;
                case 3:
                    Expect(tag, Varint, "Node", "type");
                    n.Type = s.ReadEnum();
                    break;
                case 4:
                    ReadIds(s, tag, n.CtrlDeps, "ctrl_deps");
                    break;
                case 5:
                    ReadIds(s, tag, n.DataDeps, "data_deps");
                    break;
                case 6:
                    Expect(tag, Varint, "Node", "start_time_micros");
                    n.StartMicros = s.ReadUInt64();
                    break;
                case 7:
                    Expect(tag, Varint, "Node", "duration_micros");
                    n.DurationMicros = s.ReadUInt64();
                    break;
                case 8:
                    Expect(tag, Delimited, "Node", "inputs");
                    n.Inputs = ReadIo(s.ReadBytes());
                    break;
                case 9:
                    Expect(tag, Delimited, "Node", "outputs");
                    n.Outputs = ReadIo(s.ReadBytes());
                    break;
                case 10:
                    Expect(tag, Delimited, "Node", "attr");
                    n.Attrs.Add(ReadAttr(s.ReadBytes()));
                    break;
                case 11:
                    Expect(tag, Delimited, "Node", "storage");
                    s.SkipLastField();
                    break;
                default:
                    s.SkipLastField();
                    break;
            }
        }
    }

    /// <summary>A repeated uint64: packed (one length-delimited run) or one varint per element.</summary>
    private static void ReadIds(CodedInputStream s, uint tag, List<ulong> ids, string field)
    {
        var wt = (int)WireFormat.GetTagWireType(tag);
        if (wt == Varint)
        {
            ids.Add(s.ReadUInt64());
            return;
        }
        Expect(tag, Delimited, "Node", field);
        var packed = s.ReadBytes().CreateCodedInput();
        while (!packed.IsAtEnd) ids.Add(packed.ReadUInt64());
    }

    private static ChakraIo ReadIo(ByteString bytes)
    {
        var s = bytes.CreateCodedInput();
        string values = "", shapes = "", types = "";
        uint tag;
        while ((tag = s.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: Expect(tag, Delimited, "IOInfo", "values"); values = s.ReadString(); break;
                case 2: Expect(tag, Delimited, "IOInfo", "shapes"); shapes = s.ReadString(); break;
                case 3: Expect(tag, Delimited, "IOInfo", "types"); types = s.ReadString(); break;
                default: s.SkipLastField(); break;
            }
        }
        return new ChakraIo(values, shapes, types);
    }

    private static ChakraAttr ReadAttr(ByteString bytes)
    {
        var s = bytes.CreateCodedInput();
        var a = new ChakraAttr();
        uint tag;
        while ((tag = s.ReadTag()) != 0)
        {
            var field = WireFormat.GetTagFieldNumber(tag);
            var what = a.Name.Length > 0 ? $"AttributeProto '{a.Name}'" : "AttributeProto";
            switch (field)
            {
                case 1: Expect(tag, Delimited, what, "name"); a.Name = s.ReadString(); break;
                case 2: Expect(tag, Delimited, what, "doc_string"); s.ReadString(); break;
                case 3: Expect(tag, Fixed64, what, "double_val"); a.Double = s.ReadDouble(); break;
                case 5: Expect(tag, Fixed32, what, "float_val"); a.Double = s.ReadFloat(); break;
                case 7: Expect(tag, Varint, what, "int32_val"); a.Int = s.ReadInt32(); break;
                case 9: Expect(tag, Varint, what, "int64_val"); a.Int = s.ReadInt64(); break;
                case 11: Expect(tag, Varint, what, "uint32_val"); a.Int = s.ReadUInt32(); break;
                case 13: Expect(tag, Varint, what, "uint64_val"); a.Int = Unsigned(s.ReadUInt64(), what, "uint64_val"); break;
                case 15: Expect(tag, Varint, what, "sint32_val"); a.Int = s.ReadSInt32(); break;
                case 17: Expect(tag, Varint, what, "sint64_val"); a.Int = s.ReadSInt64(); break;
                case 19: Expect(tag, Fixed32, what, "fixed32_val"); a.Int = s.ReadFixed32(); break;
                case 21: Expect(tag, Fixed64, what, "fixed64_val"); a.Int = Unsigned(s.ReadFixed64(), what, "fixed64_val"); break;
                case 23: Expect(tag, Fixed32, what, "sfixed32_val"); a.Int = s.ReadSFixed32(); break;
                case 25: Expect(tag, Fixed64, what, "sfixed64_val"); a.Int = s.ReadSFixed64(); break;
                case 27: Expect(tag, Varint, what, "bool_val"); a.Bool = s.ReadBool(); break;
                case 29: Expect(tag, Delimited, what, "string_val"); a.String = s.ReadString(); break;
                case >= 4 and <= 32 when field % 2 == 0 || field == 31:
                    // Lists (even field numbers 4..32) and bytes_val (31): read, not kept.
                    Expect(tag, Delimited, what, field == 31 ? "bytes_val" : "list value");
                    s.SkipLastField();
                    break;
                default: s.SkipLastField(); break;
            }
        }
        return a;
    }

    private static long Unsigned(ulong v, string what, string field) =>
        v <= long.MaxValue ? (long)v : throw new FormatError(string.Create(CultureInfo.InvariantCulture, $"{what}.{field} is {v}, beyond the range of a signed 64-bit integer"));
}
