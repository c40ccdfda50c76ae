using System.Globalization;
using System.Text;
using AccelSim.Core.Graph;

namespace AccelSim.Workloads.Import;

/// <summary>An aten op the importer has no cost rule for: it became <see cref="OpKind.Generic"/>
/// (memory-bound over its input and output bytes) <see cref="Count"/> times.</summary>
public sealed record UnknownAtenOp(string Name, int Count, long FirstNodeId);

/// <summary>What an import found: node and call counts, device ops by kind, and every op the importer
/// did not know.</summary>
public sealed class PytorchEtSummary
{
    /// <summary>The trace's schema string (e.g. <c>1.1.1-chakra.0.0.4</c>).</summary>
    public required string Schema { get; init; }

    /// <summary>Nodes in the trace, including the profiler's process and thread roots.</summary>
    public required int Nodes { get; init; }

    /// <summary>Framework calls (every aten node at any depth): what the host dispatches.</summary>
    public required int HostCalls { get; init; }

    /// <summary>Calls made directly by the user program (children of the thread roots and of user scopes).</summary>
    public required int TopLevelCalls { get; init; }

    /// <summary>Calls that cost host time but launch no device work (views, reshapes, allocations,
    /// dtype casts that do not convert), outside any device op.</summary>
    public required int MetadataCalls { get; init; }

    /// <summary>Device ops in the imported graph.</summary>
    public required int DeviceOps { get; init; }

    /// <summary>Host calls after the last device op, folded into its <see cref="Op.HostCalls"/>.</summary>
    public required int TrailingHostCalls { get; init; }

    /// <summary>Device ops per kind.</summary>
    public required IReadOnlyDictionary<OpKind, int> OpsByKind { get; init; }

    /// <summary>Device ops per mapped aten op name (the outermost call with a cost rule).</summary>
    public required IReadOnlyDictionary<string, int> OpsByAtenName { get; init; }

    /// <summary>Ops with no cost rule, imported as <see cref="OpKind.Generic"/>; empty when all were known.</summary>
    public required IReadOnlyList<UnknownAtenOp> Unknown { get; init; }

    /// <summary>Decoder layers found (attention ops used as anchors; 0 when there is no attention).</summary>
    public required int Layers { get; init; }

    public required long MatMulFlops { get; init; }
    public required long AttentionFlops { get; init; }
    public required long TotalFlops { get; init; }
    public required long TotalBytes { get; init; }

    /// <summary>A plain-text report (invariant culture), printed by <c>accelsim import</c>.</summary>
    public string Format()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"schema {Schema}: {Nodes} nodes, {HostCalls} host calls ({TopLevelCalls} top-level), {DeviceOps} device ops, {MetadataCalls} metadata-only calls, {Layers} layers\n");
        sb.Append(c, $"FLOPs: {TotalFlops:N0} total, {MatMulFlops:N0} matmul, {AttentionFlops:N0} attention; bytes: {TotalBytes:N0}\n");
        sb.Append("device ops by kind:");
        foreach (var (k, n) in OpsByKind.OrderBy(p => p.Key)) sb.Append(c, $" {k.Name()} {n},");
        if (OpsByKind.Count > 0) sb.Length--;
        sb.Append('\n');
        sb.Append("device ops by aten op:");
        foreach (var (k, n) in OpsByAtenName.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)) sb.Append(c, $" {k} {n},");
        if (OpsByAtenName.Count > 0) sb.Length--;
        sb.Append('\n');
        if (Unknown.Count == 0)
        {
            sb.Append("unknown ops: none\n");
        }
        else
        {
            sb.Append(c, $"unknown ops ({Unknown.Count}), imported as generic memory-bound ops:\n");
            foreach (var u in Unknown) sb.Append(c, $"  {u.Name} x{u.Count} (first at node {u.FirstNodeId})\n");
        }
        return sb.ToString();
    }
}
