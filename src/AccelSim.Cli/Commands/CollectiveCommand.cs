using System.CommandLine;
using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Reports;
using AccelSim.Workloads.Configs;
using Newtonsoft.Json.Linq;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim collective KIND --system NAME --bytes N</c>: one collective on a system, lowered into
/// flows on its routes and simulated; prints the time and nccl-tests' algorithm and bus bandwidths, one row
/// per message size.</summary>
public static class CollectiveCommand
{
    private static readonly (string Name, CollectiveKind Kind)[] Kinds =
    [
        ("all-reduce", CollectiveKind.AllReduce), ("reduce-scatter", CollectiveKind.ReduceScatter),
        ("all-gather", CollectiveKind.AllGather), ("all-to-all", CollectiveKind.AllToAll),
        ("broadcast", CollectiveKind.Broadcast), ("reduce", CollectiveKind.Reduce), ("send-recv", CollectiveKind.SendRecv),
    ];

    private static readonly (string Name, CollectiveAlgorithm Algorithm)[] Algorithms =
    [
        ("default", CollectiveAlgorithm.Default), ("ring", CollectiveAlgorithm.Ring), ("tree", CollectiveAlgorithm.Tree),
        ("halving-doubling", CollectiveAlgorithm.HalvingDoubling), ("direct", CollectiveAlgorithm.Direct),
        ("hierarchical", CollectiveAlgorithm.Hierarchical), ("in-network", CollectiveAlgorithm.InNetwork),
    ];

    /// <summary>One simulated collective.</summary>
    public sealed record Row(long Bytes, string Algorithm, double TimeS, double AlgorithmBandwidth_Bps, double BusBandwidth_Bps, long Sends, long BytesOnWire);

    public static Command Create(CliContext cli)
    {
        var c = new Command("collective", "One collective on a system: time, algorithm and bus bandwidth (nccl-tests' definitions)");
        var kind = new Argument<string>("kind") { Description = "all-reduce, reduce-scatter, all-gather, all-to-all, broadcast, reduce or send-recv" };
        var system = new Option<string>("--system") { Required = true, Description = "Bundled system name (configs/systems) or a path to a system JSON" };
        var nodes = new Option<int?>("--nodes") { Description = "Nodes of the system (default: the system's own count)" };
        var bytes = new Option<long[]>("--bytes") { Required = true, AllowMultipleArgumentsPerToken = true, Description = "Message size in bytes as nccl-tests reads it; several give one row each" };
        var algorithm = new Option<string>("--algorithm") { DefaultValueFactory = _ => "default", Description = "default, ring, tree, halving-doubling, direct, hierarchical or in-network" };
        var ranks = new Option<int?>("--ranks") { Description = "Ranks taking part: the first N of the system (default: all)" };
        var format = CommonOptions.Format();
        c.Arguments.Add(kind);
        foreach (var o in new Option[] { system, nodes, bytes, algorithm, ranks, format }) c.Options.Add(o);
        c.SetAction(p =>
        {
            var k = Parse(Kinds, p.GetValue(kind)!, "kind", "a collective");
            var a = Parse(Algorithms, p.GetValue(algorithm)!, "--algorithm", "an algorithm");
            var sizes = p.GetValue(bytes)!;
            foreach (var b in sizes)
                if (b < 0) throw new InputException(null, "--bytes", $"expected a size of at least 0 bytes, got {b}");
            if (p.GetValue(nodes) is < 1) throw new InputException(null, "--nodes", $"expected at least one node, got {p.GetValue(nodes)}");
            var spec = SystemConfigLoader.LoadNamed(p.GetValue(system)!);
            var probe = SystemFabric.Build(spec, p.GetValue(nodes));
            var n = p.GetValue(ranks) ?? probe.Ranks;
            if (n < 2 || n > probe.Ranks)
                throw new InputException(null, "--ranks", $"expected between 2 and the system's {probe.Ranks} ranks, got {n}");
            var rows = sizes.Select(b => Simulate(spec, p.GetValue(nodes), k, a, b, n)).ToArray();
            var kindName = Kinds.First(x => x.Kind == k).Name;
            if (p.GetValue(format) == "json") cli.Out.Write(JsonReport.Format(ToJson(spec, probe.Nodes, n, kindName, rows)));
            else Render(spec, probe.Nodes, n, kindName, rows, Execution.ConsoleFor(cli.Out));
            return 0;
        });
        return c;
    }

    /// <summary>Simulates one collective of <paramref name="bytes"/> on a fresh fabric of the system.</summary>
    public static Row Simulate(SystemSpec spec, int? nodes, CollectiveKind kind, CollectiveAlgorithm algorithm, long bytes, int ranks)
    {
        var fabric = SystemFabric.Build(spec, nodes);
        var kernel = new Kernel(fabric.Network);
        var group = Enumerable.Range(0, ranks).ToArray();
        Collective collective;
        try
        {
            collective = Collective.Issue(kernel, fabric, kind, algorithm, bytes, group);
        }
        catch (ArgumentException e)
        {
            // The algorithm cannot run this collective on this group (a power-of-two group, one node for
            // in-network reduction): the user's choice, reported as such.
            throw new InputException(null, "--algorithm", e.Message.Split(" (Parameter")[0]);
        }
        kernel.Run();
        var name = Algorithms.First(x => x.Algorithm == collective.Algorithm).Name;
        return new Row(bytes, name, Core.Time.Ps.ToSeconds(collective.DurationPs), collective.AlgorithmBandwidth_Bps,
            collective.BusBandwidth_Bps, collective.Sends, collective.BytesOnWire);
    }

    private static T Parse<T>((string Name, T Value)[] table, string text, string flag, string what)
    {
        foreach (var (name, value) in table)
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase)) return value;
        throw new InputException(null, flag, $"expected {what}: {string.Join(", ", table.Select(t => t.Name))}; got '{text}'");
    }

    public static JObject ToJson(SystemSpec spec, int nodes, int ranks, string kind, IReadOnlyList<Row> rows)
    {
        var results = new JArray();
        foreach (var r in rows) results.Add(RowJson(r));
        var last = rows[^1];
        var files = new JArray();
        foreach (var f in spec.Files) files.Add(new JObject { ["role"] = f.Role, ["file"] = f.Name, ["sha256"] = f.Sha256 });
        var counts = new JObject();
        foreach (var g in spec.Tags.Values.GroupBy(t => t.Name()).OrderBy(g => g.Key, StringComparer.Ordinal)) counts[g.Key] = g.Count();
        var root = new JObject
        {
            ["schema"] = "accelsim.collective/1",
            ["system"] = spec.Name,
            ["nodes"] = nodes,
            ["ranks"] = ranks,
            ["collective"] = kind,
        };
        foreach (var (key, value) in RowJson(last)) root[key] = value;
        root["results"] = results;
        root["provenance"] = new JObject { ["files"] = files, ["parameters_by_tag"] = counts };
        return root;
    }

    private static JObject RowJson(Row r) => new()
    {
        ["bytes"] = r.Bytes,
        ["algorithm"] = r.Algorithm,
        ["time_s"] = r.TimeS,
        ["algorithm_bandwidth_Bps"] = r.AlgorithmBandwidth_Bps,
        ["bus_bandwidth_Bps"] = r.BusBandwidth_Bps,
        ["sends"] = r.Sends,
        ["bytes_on_wire"] = r.BytesOnWire,
    };

    private static void Render(SystemSpec spec, int nodes, int ranks, string kind, IReadOnlyList<Row> rows, IAnsiConsole console)
    {
        console.MarkupLine(Markup.Escape($"{kind} on {spec.Name}: {nodes} node{(nodes == 1 ? "" : "s")}, {ranks} ranks"));
        var table = new Table().AddColumns("bytes", "algorithm", "time", "algbw", "busbw", "sends");
        foreach (var col in table.Columns.Skip(2)) col.RightAligned();
        foreach (var r in rows)
            table.AddRow(r.Bytes.ToString(CultureInfo.InvariantCulture), r.Algorithm,
                Quantities.Time(r.TimeS), Quantities.ByteRate(r.AlgorithmBandwidth_Bps), Quantities.ByteRate(r.BusBandwidth_Bps),
                r.Sends.ToString(CultureInfo.InvariantCulture));
        console.Write(table);
        foreach (var f in spec.Files) console.MarkupLine(Markup.Escape($"{f.Role}: {f.Name} sha256 {f.Sha256[..12]}"));
    }
}
