using System.Text;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using Newtonsoft.Json;

namespace AccelSim.Workloads.Traces;

/// <summary>Writes a <see cref="WorkloadGraph"/> as a native trace (<c>accelsim.trace/1</c>, see
/// docs/trace-format.md). Output is deterministic: fixed key order, invariant number formatting,
/// "\n" line endings, one tensor or op per line.</summary>
public static class NativeTraceWriter
{
    public const string Schema = "accelsim.trace/1";

    public static void Write(WorkloadGraph graph, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("{\n");
        writer.Write("  \"schema\": ");
        writer.Write(JsonConvert.ToString(Schema));
        writer.Write(",\n  \"workload\": ");
        writer.Write(Item(w => WriteWorkload(w, graph.Info)));
        if (graph.Info.Recorded is { } recorded)
        {
            writer.Write(",\n  \"recorded\": ");
            writer.Write(Item(w => WriteRecorded(w, recorded)));
        }
        writer.Write(",\n  \"tensors\": ");
        WriteArray(writer, graph.Tensors, WriteTensor);
        writer.Write(",\n  \"ops\": ");
        WriteArray(writer, graph.Ops, WriteOp);
        writer.Write("\n}\n");
    }

    /// <summary>Writes to a file (gzip-compressed when the name ends in .gz).</summary>
    public static void Write(WorkloadGraph graph, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = File.Create(path);
        Stream s = file;
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
            s = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Optimal);
        using var text = new StreamWriter(s, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        Write(graph, text);
    }

    /// <summary>The trace as a string.</summary>
    public static string ToText(WorkloadGraph graph)
    {
        var sw = new StringWriter(System.Globalization.CultureInfo.InvariantCulture) { NewLine = "\n" };
        Write(graph, sw);
        return sw.ToString();
    }

    private static void WriteArray<T>(TextWriter writer, IReadOnlyList<T> items, Action<JsonWriter, T> write)
    {
        if (items.Count == 0)
        {
            writer.Write("[]");
            return;
        }
        writer.Write("[\n");
        for (var i = 0; i < items.Count; i++)
        {
            writer.Write("    ");
            var item = items[i];
            writer.Write(Item(w => write(w, item)));
            writer.Write(i + 1 < items.Count ? ",\n" : "\n");
        }
        writer.Write("  ]");
    }

    private static string Item(Action<JsonWriter> write)
    {
        var sb = new StringBuilder();
        using (var sw = new StringWriter(sb, System.Globalization.CultureInfo.InvariantCulture))
        using (var w = new JsonTextWriter(sw) { Formatting = Formatting.None, Culture = System.Globalization.CultureInfo.InvariantCulture })
        {
            write(w);
        }
        return sb.ToString();
    }

    private static void WriteWorkload(JsonWriter w, WorkloadInfo info)
    {
        w.WriteStartObject();
        w.WritePropertyName("name"); w.WriteValue(info.Name);
        w.WritePropertyName("phase"); w.WriteValue(info.Phase);
        w.WritePropertyName("batch"); w.WriteValue(info.Batch);
        w.WritePropertyName("seq_len"); w.WriteValue(info.SeqLen);
        w.WritePropertyName("context"); w.WriteValue(info.Context);
        w.WritePropertyName("tokens"); w.WriteValue(info.Tokens);
        if (info.Stack is not null)
        {
            w.WritePropertyName("stack"); w.WriteValue(info.Stack);
        }
        w.WriteEndObject();
    }

    private static void WriteRecorded(JsonWriter w, RecordedProgram r)
    {
        w.WriteStartObject();
        w.WritePropertyName("launch"); w.WriteValue(r.Launch.Name());
        w.WritePropertyName("framework"); w.WriteValue(r.Framework);
        if (r.Source is not null)
        {
            w.WritePropertyName("source"); w.WriteValue(r.Source);
        }
        w.WriteEndObject();
    }

    private static void WriteTensor(JsonWriter w, Tensor t)
    {
        w.WriteStartObject();
        w.WritePropertyName("id"); w.WriteValue(t.Id);
        w.WritePropertyName("name"); w.WriteValue(t.Name);
        w.WritePropertyName("shape");
        w.WriteStartArray();
        foreach (var d in t.Shape) w.WriteValue(d);
        w.WriteEndArray();
        w.WritePropertyName("dtype"); w.WriteValue(t.DType.Name());
        w.WritePropertyName("role"); w.WriteValue(t.Role.Name());
        w.WriteEndObject();
    }

    private static void WriteOp(JsonWriter w, Op op)
    {
        w.WriteStartObject();
        w.WritePropertyName("id"); w.WriteValue(op.Id);
        w.WritePropertyName("name"); w.WriteValue(op.Name);
        w.WritePropertyName("kind"); w.WriteValue(op.Kind.Name());
        w.WritePropertyName("layer"); w.WriteValue(op.Layer);
        w.WritePropertyName("inputs");
        w.WriteStartArray();
        foreach (var t in op.Inputs) w.WriteValue(t.Id);
        w.WriteEndArray();
        w.WritePropertyName("outputs");
        w.WriteStartArray();
        foreach (var t in op.Outputs) w.WriteValue(t.Id);
        w.WriteEndArray();
        w.WritePropertyName("flops"); w.WriteValue(op.Flops);
        w.WritePropertyName("dtype"); w.WriteValue(op.ComputeDType.Name());
        w.WritePropertyName("bytes_read"); w.WriteValue(op.BytesRead);
        w.WritePropertyName("bytes_written"); w.WriteValue(op.BytesWritten);
        if (op.HostCalls != 1)
        {
            w.WritePropertyName("host_calls"); w.WriteValue(op.HostCalls);
        }
        // The breakdown is written whenever it differs from what a reader assumes without it
        // (every call beyond the op's own a view).
        if (op.HostNested != 0 || op.HostViews != Math.Max(0, op.HostCalls - 1))
        {
            w.WritePropertyName("host_views"); w.WriteValue(op.HostViews);
            w.WritePropertyName("host_nested"); w.WriteValue(op.HostNested);
        }
        if (op.HostSync)
        {
            w.WritePropertyName("host_sync"); w.WriteValue(true);
        }
        if (op.Access != ElementAccess.Unspecified)
        {
            w.WritePropertyName("access"); w.WriteValue(op.Access == ElementAccess.Strided ? "strided" : "vectorized");
        }
        if (op.Gemm is { } g)
        {
            w.WritePropertyName("gemm");
            w.WriteStartObject();
            w.WritePropertyName("batch"); w.WriteValue(g.Batch);
            w.WritePropertyName("m"); w.WriteValue(g.M);
            w.WritePropertyName("n"); w.WriteValue(g.N);
            w.WritePropertyName("k"); w.WriteValue(g.K);
            w.WritePropertyName("weight_shared"); w.WriteValue(g.WeightShared);
            w.WriteEndObject();
        }
        if (op.Attention is { } a)
        {
            w.WritePropertyName("attention");
            w.WriteStartObject();
            w.WritePropertyName("batch"); w.WriteValue(a.Batch);
            w.WritePropertyName("heads_q"); w.WriteValue(a.HeadsQ);
            w.WritePropertyName("heads_kv"); w.WriteValue(a.HeadsKv);
            w.WritePropertyName("head_dim"); w.WriteValue(a.HeadDim);
            w.WritePropertyName("query_len"); w.WriteValue(a.QueryLen);
            w.WritePropertyName("kv_len"); w.WriteValue(a.KvLen);
            w.WritePropertyName("causal"); w.WriteValue(a.Causal);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
