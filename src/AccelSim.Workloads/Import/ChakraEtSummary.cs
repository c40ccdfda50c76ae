using System.Globalization;
using System.Text;
using AccelSim.Core.Graph;

namespace AccelSim.Workloads.Import;

/// <summary>A computation node the importer had no cost for (no <c>num_ops</c>/<c>tensor_size</c>
/// attribute and no known aten name): it became <see cref="OpKind.Generic"/>, memory-bound over the
/// bytes of its tensors, <see cref="Count"/> times.</summary>
public sealed record ChakraUnknownOp(string Name, int Count, ulong FirstNodeId);

/// <summary>Nodes of a type the native trace cannot express (communication, storage, batch,
/// checkpoint, invalid): not simulated, with the dependencies of later nodes passing through them.
/// <see cref="Detail"/> is the collective (<c>ALL_REDUCE</c>, ...) for collectives, else empty;
/// <see cref="Bytes"/> sums their <c>comm_size</c>.</summary>
public sealed record ChakraUnsupportedNode(string Type, string Detail, int Count, long Bytes, ulong FirstNodeId);

/// <summary>What an import of a Chakra execution trace found.</summary>
public sealed class ChakraEtSummary
{
    /// <summary>The GlobalMetadata's version, or its <c>schema</c> attribute, or empty.</summary>
    public required string Version { get; init; }

    /// <summary>Node messages in the file.</summary>
    public required int Nodes { get; init; }

    /// <summary>Nodes per type name (<c>COMP_NODE</c>, <c>MEM_LOAD_NODE</c>, ...), in the schema's order.</summary>
    public required IReadOnlyList<KeyValuePair<string, int>> NodesByType { get; init; }

    /// <summary>Ops in the imported graph.</summary>
    public required int Ops { get; init; }

    /// <summary>Host-side computation nodes (<c>is_cpu_op</c> true in a trace that also has device
    /// nodes) that became no op; their launches' costs go to their first device node when it has none.</summary>
    public required int HostNodes { get; init; }

    /// <summary>Computation nodes named after an aten metadata op (views, reshapes) that do no device work.</summary>
    public required int MetadataCalls { get; init; }

    public required IReadOnlyDictionary<OpKind, int> OpsByKind { get; init; }

    /// <summary>Ops costed by the aten rules of the PyTorch importer, per aten name.</summary>
    public required IReadOnlyDictionary<string, int> OpsByAtenName { get; init; }

    /// <summary>Ops whose FLOPs or bytes came from the node's <c>num_ops</c>/<c>tensor_size</c> attributes.</summary>
    public required int AttributeCostedOps { get; init; }

    public required IReadOnlyList<ChakraUnknownOp> Unknown { get; init; }
    public required IReadOnlyList<ChakraUnsupportedNode> Unsupported { get; init; }

    /// <summary>Dependency edges of the imported graph (after passing through dropped nodes).</summary>
    public required int Edges { get; init; }

    public required long MatMulFlops { get; init; }
    public required long TotalFlops { get; init; }
    public required long TotalBytes { get; init; }

    /// <summary>Sum of the recorded <c>duration_micros</c> of the imported nodes (for comparison; not used by the simulation).</summary>
    public required long RecordedMicros { get; init; }

    /// <summary>A plain-text report (invariant culture), printed by <c>accelsim import chakra-et</c>.</summary>
    public string Format()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"chakra version {(Version.Length > 0 ? Version : "(none)")}: {Nodes} nodes (");
        sb.Append(string.Join(", ", NodesByType.Select(p => string.Create(c, $"{p.Key} {p.Value}"))));
        sb.Append(c, $"), {Ops} ops, {Edges} dependencies, {HostNodes} host-side nodes, {MetadataCalls} metadata-only calls\n");
        sb.Append(c, $"FLOPs: {TotalFlops:N0} total, {MatMulFlops:N0} matmul; bytes: {TotalBytes:N0}; recorded duration: {RecordedMicros:N0} us\n");
        sb.Append("ops by kind:");
        foreach (var (k, n) in OpsByKind.OrderBy(p => p.Key)) sb.Append(c, $" {k.Name()} {n},");
        if (OpsByKind.Count > 0) sb.Length--;
        sb.Append('\n');
        sb.Append("ops by aten op:");
        foreach (var (k, n) in OpsByAtenName.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)) sb.Append(c, $" {k} {n},");
        if (OpsByAtenName.Count > 0) sb.Length--;
        else sb.Append(" none");
        sb.Append('\n');
        sb.Append(c, $"ops costed from num_ops/tensor_size: {AttributeCostedOps}\n");
        if (Unknown.Count == 0)
        {
            sb.Append("unknown ops: none\n");
        }
        else
        {
            sb.Append(c, $"unknown ops ({Unknown.Count}), imported as generic memory-bound ops:\n");
            foreach (var u in Unknown) sb.Append(c, $"  {u.Name} x{u.Count} (first at node {u.FirstNodeId})\n");
        }
        if (Unsupported.Count == 0)
        {
            sb.Append("unsupported nodes: none\n");
        }
        else
        {
            sb.Append(c, $"unsupported nodes ({Unsupported.Count}), not simulated; dependencies pass through them:\n");
            foreach (var u in Unsupported)
            {
                sb.Append(c, $"  {u.Type}{(u.Detail.Length > 0 ? " " + u.Detail : "")} x{u.Count}");
                if (u.Bytes > 0) sb.Append(c, $", {u.Bytes:N0} bytes");
                sb.Append(c, $" (first at node {u.FirstNodeId})\n");
            }
        }
        return sb.ToString();
    }
}
