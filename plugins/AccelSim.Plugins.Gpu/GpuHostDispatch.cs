using AccelSim.Core.Config;
using AccelSim.Core.Graph;

namespace AccelSim.Plugins.Gpu;

/// <summary>The host's cost of issuing work in eager execution (<c>host.dispatch.by_kind</c>): seconds per
/// call the program makes, by what the call is. An op's own call costs its kind's entry (the framework
/// call, its argument checks and output allocation, its kernel launch and the interpreter's time before
/// it); a metadata-only call the program makes costs <c>view</c>; a call made inside another call (the
/// <c>t</c> and <c>mm</c> inside an <c>aten::linear</c>) costs <c>nested</c>.</summary>
public sealed record GpuHostDispatchSpec(IReadOnlyDictionary<OpKind, double> ByKindS, double ViewS, double NestedS)
{
    public const string Prefix = "host.dispatch.by_kind";

    /// <summary>The kind names the config accepts: every op kind, <c>view</c> and <c>nested</c>.</summary>
    public static IReadOnlyList<string> Keys { get; } = [.. Enum.GetValues<OpKind>().Select(k => k.Name()), "view", "nested"];

    /// <summary>Host time to issue <paramref name="op"/>: its own call (if it carries it) by kind, plus its
    /// metadata-only and nested calls.</summary>
    public double DispatchS(Op op)
    {
        ArgumentNullException.ThrowIfNull(op);
        var views = Math.Max(0, op.HostViews);
        var nested = Math.Max(0, op.HostNested);
        var own = op.HostCalls - views - nested;
        if (own < 0) { own = 0; nested = Math.Max(0, op.HostCalls - views); }
        return Math.Min(own, 1) * ByKindS[op.Kind] + Math.Max(0, own - 1) * ViewS + views * ViewS + nested * NestedS;
    }

    public static GpuHostDispatchSpec Bind(ConfigBinder b)
    {
        ArgumentNullException.ThrowIfNull(b);
        foreach (var name in b.Config.Children(Prefix))
        {
            var path = $"{Prefix}.{name}";
            if (name.StartsWith('_') || HardwareConfig.IsDocumentation(path) || Keys.Contains(name, StringComparer.Ordinal)) continue;
            b.Fail(path, $"unknown kind '{name}'; expected one of {string.Join(", ", Keys)}");
        }
        var byKind = new Dictionary<OpKind, double>();
        foreach (var k in Enum.GetValues<OpKind>()) byKind[k] = b.Number($"{Prefix}.{k.Name()}");
        return new GpuHostDispatchSpec(byKind, b.Number($"{Prefix}.view"), b.Number($"{Prefix}.nested"));
    }
}
