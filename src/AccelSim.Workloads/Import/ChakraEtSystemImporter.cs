using System.Globalization;
using System.Text.RegularExpressions;
using AccelSim.Core.Config;
using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Systems;
using AccelSim.Workloads.Import.Internal;

namespace AccelSim.Workloads.Import;

/// <summary>What one rank's file gave.</summary>
/// <param name="Rank">The rank (from the file name).</param>
/// <param name="File">The file.</param>
/// <param name="ComputeSegments">Compute segments (graphs) of the rank.</param>
/// <param name="CommSegments">Communication segments (collectives, sends and receives) of the rank.</param>
/// <param name="Summary">The rank's whole file as the one-rank importer sees it; null when it has no computation or memory node.</param>
public sealed record ChakraRankImport(int Rank, string File, int ComputeSegments, int CommSegments, ChakraEtSummary? Summary);

/// <summary>A multi-rank import: the system program and, per rank, what its file gave.</summary>
public sealed record ChakraSystemImport(SystemProgram Program, IReadOnlyList<ChakraRankImport> Ranks);

/// <summary>Imports a set of per-rank Chakra execution traces (ASTRA-sim's <c>workload.&lt;rank&gt;.et</c>) as a
/// <see cref="SystemProgram"/>: per rank, compute segments (a <c>WorkloadGraph</c> each, made by the one-rank
/// importer's rules) between communication segments (collectives, sends and receives), with the trace's
/// dependencies as the segments' <c>After</c> lists. docs/chakra-et.md gives the rules:
///
/// <para>Segments: each communication node is a segment; every other node belongs to the compute segment of the
/// communication nodes it depends on and of those that depend on it (directly or through other
/// non-communication nodes), so nodes that follow the same collectives and feed the same ones run as one graph
/// and a send waits only for the compute that feeds it. Collectives are matched across ranks by their order per process group
/// (the <c>pg_name</c> attribute; a collective without one spans every rank of the set): the k-th collective of
/// group P on each of P's ranks is one call, and must agree on kind and size. A group's ranks are the ranks whose
/// traces hold a collective of that group, in rank order (the first is the root of broadcast and reduce). The k-th
/// send from a to b with tag t (<c>comm_dst</c>, <c>comm_tag</c>) pairs with the k-th receive on b from a with tag t
/// (<c>comm_src</c>).</para></summary>
public static partial class ChakraEtSystemImporter
{
    /// <summary>Imports every <c>*.et</c> (or <c>*.et.gz</c>) of <paramref name="directory"/>, the rank taken from each name.</summary>
    public static ChakraSystemImport ImportDirectory(string directory, ChakraEtOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory)) throw new InputException(directory, null, "not a directory; expected a directory of per-rank .et files (workload.<rank>.et)");
        var files = Directory.GetFiles(directory)
            .Where(f => f.EndsWith(".et", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".et.gz", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0) throw new InputException(directory, null, "no .et files; expected per-rank traces named as workload.<rank>.et");
        options ??= new ChakraEtOptions();
        if (options.Name is null) options = options with { Name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory))) };
        return Import(files, options);
    }

    /// <summary>Imports the given per-rank files, the rank taken from each name (<see cref="RankOf"/>).</summary>
    public static ChakraSystemImport Import(IReadOnlyList<string> files, ChakraEtOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        var ranks = new List<(int, string, byte[])>();
        foreach (var f in files)
        {
            var rank = RankOf(f);
            byte[] data;
            try
            {
                data = File.ReadAllBytes(f);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InputException(f, null, $"cannot read: {e.Message}");
            }
            ranks.Add((rank, f, data));
        }
        return Parse(ranks, options);
    }

    /// <summary>The rank in a trace file's name: the number before <c>.et</c> (<c>workload.3.et</c>, <c>rank_3.et.gz</c>).</summary>
    public static int RankOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var m = RankName().Match(Path.GetFileName(path));
        if (!m.Success || !int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var rank))
            throw new InputException(path, null, "expected the rank in the file name, as ASTRA-sim names them: workload.<rank>.et");
        return rank;
    }

    [GeneratedRegex(@"(\d+)\.et(\.gz)?$", RegexOptions.IgnoreCase)]
    private static partial Regex RankName();

    /// <summary>Imports per-rank traces given as bytes (gzip-compressed or not); each file name is used in errors.</summary>
    public static ChakraSystemImport Parse(IReadOnlyList<(int Rank, string File, byte[] Data)> ranks, ChakraEtOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(ranks);
        options ??= new ChakraEtOptions();
        if (ranks.Count == 0) throw new InputException(null, null, "no rank traces to import");
        var byRank = new SortedDictionary<int, (string File, byte[] Data)>();
        foreach (var (rank, file, data) in ranks)
        {
            if (rank < 0) throw new InputException(file, null, $"rank {rank}: expected a rank >= 0");
            if (byRank.TryGetValue(rank, out var other))
                throw new InputException(file, null, $"rank {rank} is also the rank of {other.File}; each rank has one trace");
            byRank[rank] = (file, data);
        }
        var name = options.Name ?? "chakra-et";
        var parsed = byRank.Select(p => RankTrace.Read(p.Key, p.Value.File, p.Value.Data, options with { Name = $"{name} rank {p.Key}" })).ToArray();
        var allRanks = parsed.Select(p => p.Rank).ToArray();
        var keys = Match(parsed, allRanks);

        var programs = new List<RankProgram>();
        var summaries = new List<ChakraRankImport>();
        foreach (var t in parsed)
        {
            var segments = t.Segments(keys);
            programs.Add(new RankProgram(t.Rank, segments, []));
            summaries.Add(new ChakraRankImport(t.Rank, t.File, segments.Count(s => !s.IsComm), segments.Count(s => s.IsComm), t.Summary));
        }
        return new ChakraSystemImport(new SystemProgram(name, programs), summaries);
    }

    /// <summary>The key and call of every communication node (rank, node index), matched across ranks.</summary>
    private static Dictionary<(int Rank, int Node), (string Key, CommCall Call)> Match(RankTrace[] traces, int[] allRanks)
    {
        var result = new Dictionary<(int, int), (string, CommCall)>();
        var traceOf = traces.ToDictionary(t => t.Rank);

        // Collectives: by process group, in each rank's issue order.
        var groups = new SortedDictionary<string, SortedSet<int>>(StringComparer.Ordinal);
        foreach (var t in traces)
            foreach (var c in t.Comms.Where(c => c.Kind is not null))
            {
                if (!groups.TryGetValue(c.Group, out var set)) groups[c.Group] = set = [];
                set.Add(t.Rank);
            }
        foreach (var (pg, members) in groups)
        {
            var group = pg.Length == 0 ? allRanks : members.ToArray();
            var lists = group.Select(r => (Rank: r, List: traceOf[r].Comms.Where(c => c.Kind is not null && c.Group == pg).ToList())).ToArray();
            var first = lists[0];
            foreach (var l in lists)
            {
                if (l.List.Count != first.List.Count)
                    throw new InputException(traceOf[l.Rank].File, null,
                        $"rank {l.Rank} issues {l.List.Count} collectives of {Pg(pg)} but rank {first.Rank} ({traceOf[first.Rank].File}) issues {first.List.Count}; every rank of a group issues each of its collectives");
            }
            for (var k = 0; k < first.List.Count; k++)
            {
                var a = first.List[k];
                foreach (var l in lists)
                {
                    var b = l.List[k];
                    if (b.Kind != a.Kind || b.Bytes != a.Bytes)
                        throw new InputException(traceOf[l.Rank].File, b.Where,
                            $"collective {k} of {Pg(pg)} is {b.Kind} of {b.Bytes} bytes, but on rank {first.Rank} ({traceOf[first.Rank].File}, {a.Where}) it is {a.Kind} of {a.Bytes} bytes; collectives are matched by their order in each group");
                }
                var key = string.Create(CultureInfo.InvariantCulture, $"coll {(pg.Length == 0 ? "world" : pg)} #{k}");
                var call = new CommCall(a.Kind!.Value, a.Bytes, group);
                foreach (var l in lists) result[(l.Rank, l.List[k].Node)] = (key, call);
            }
        }

        // Sends and receives: the k-th send a -> b with tag t pairs with the k-th receive on b from a with tag t.
        var sends = new Dictionary<(int From, int To, long Tag), List<(int Rank, Comm Comm)>>();
        var recvs = new Dictionary<(int From, int To, long Tag), List<(int Rank, Comm Comm)>>();
        foreach (var t in traces)
            foreach (var c in t.Comms.Where(c => c.Kind is null))
            {
                if (!traceOf.ContainsKey(c.Peer))
                    throw new InputException(t.File, c.Where, $"{(c.IsSend ? "comm_dst" : "comm_src")} {c.Peer} names no rank of the set ({string.Join(", ", allRanks)})");
                if (c.Peer == t.Rank) throw new InputException(t.File, c.Where, $"a {(c.IsSend ? "send" : "receive")} names its own rank {t.Rank} as its peer");
                var pair = c.IsSend ? (t.Rank, c.Peer, c.Tag) : (c.Peer, t.Rank, c.Tag);
                var map = c.IsSend ? sends : recvs;
                if (!map.TryGetValue(pair, out var list)) map[pair] = list = [];
                list.Add((t.Rank, c));
            }
        foreach (var pair in sends.Keys.Union(recvs.Keys).OrderBy(p => p))
        {
            var s = sends.GetValueOrDefault(pair) ?? [];
            var r = recvs.GetValueOrDefault(pair) ?? [];
            for (var k = 0; k < Math.Max(s.Count, r.Count); k++)
            {
                if (k >= r.Count)
                    throw new InputException(traceOf[pair.From].File, s[k].Comm.Where,
                        $"send {k} from rank {pair.From} to rank {pair.To} (tag {pair.Tag}) has no matching receive: {traceOf[pair.To].File} has {r.Count} receives from rank {pair.From} with that tag");
                if (k >= s.Count)
                    throw new InputException(traceOf[pair.To].File, r[k].Comm.Where,
                        $"receive {k} on rank {pair.To} from rank {pair.From} (tag {pair.Tag}) has no matching send: {traceOf[pair.From].File} has {s.Count} sends to rank {pair.To} with that tag");
                if (s[k].Comm.Bytes != r[k].Comm.Bytes)
                    throw new InputException(traceOf[pair.To].File, r[k].Comm.Where,
                        $"receive {k} from rank {pair.From} (tag {pair.Tag}) is {r[k].Comm.Bytes} bytes but its send ({traceOf[pair.From].File}, {s[k].Comm.Where}) is {s[k].Comm.Bytes}");
                var key = string.Create(CultureInfo.InvariantCulture, $"p2p {pair.From}->{pair.To} tag {pair.Tag} #{k}");
                var call = CommCall.Send(pair.From, pair.To, s[k].Comm.Bytes);
                result[(pair.From, s[k].Comm.Node)] = (key, call);
                result[(pair.To, r[k].Comm.Node)] = (key, call);
            }
        }
        return result;
    }

    private static string Pg(string pg) => pg.Length == 0 ? "the whole set (no pg_name)" : $"process group '{pg}'";

    /// <summary>A communication node: a collective (<see cref="Kind"/> set) or a send or receive.</summary>
    private sealed record Comm(int Node, string Where, CollectiveKind? Kind, long Bytes, string Group, bool IsSend, int Peer, long Tag);

    /// <summary>One rank's file: its nodes cut into units (compute groups and communication nodes) in issue order.</summary>
    private sealed class RankTrace
    {
        public required int Rank { get; init; }
        public required string File { get; init; }
        public required ChakraEtSummary? Summary { get; init; }
        public required List<Comm> Comms { get; init; } // in issue order
        private List<Unit> _units = [];

        private sealed class Unit
        {
            public int Comm = -1;                  // node index of a communication unit
            public List<int> Nodes = [];           // node indices of a compute unit, in order
            public SortedSet<int> Deps = [];       // unit indices
            public int First;                      // position of its first node in the topological order
            public Core.Graph.WorkloadGraph? Graph;
        }

        public static RankTrace Read(int rank, string file, byte[] data, ChakraEtOptions options)
        {
            if (data.Length >= 2 && data[0] == 0x1f && data[1] == 0x8b) data = ChakraEtImporter.Gunzip(data, file);
            var (metadata, nodes) = ChakraWire.Read(data, file);
            if (nodes.Count == 0) throw new InputException(file, null, "no Node messages after the GlobalMetadata; nothing to import");
            // The whole file through the one-rank importer first: every check, with the file's own node positions.
            var whole = ChakraEtImporter.BuildGraph(metadata, nodes, file, options, allowEmpty: true);
            var (deps, order) = ChakraEtImporter.Order(nodes, file);
            var position = new int[nodes.Count];
            for (var p = 0; p < order.Count; p++) position[order[p]] = p;

            // Group non-communication nodes by the communication nodes they follow and those they feed.
            var unitOf = new int[nodes.Count];
            var after = new SortedSet<int>[nodes.Count];
            var feeds = new SortedSet<int>[nodes.Count];
            var users = new List<int>[nodes.Count];
            for (var i = 0; i < nodes.Count; i++) users[i] = [];
            for (var i = 0; i < nodes.Count; i++) foreach (var d in deps[i]) users[d].Add(i);
            for (var p = order.Count - 1; p >= 0; p--)
            {
                var i = order[p];
                if (IsComm(nodes[i])) continue;
                var set = new SortedSet<int>();
                foreach (var u in users[i])
                {
                    if (IsComm(nodes[u])) set.Add(u);
                    else set.UnionWith(feeds[u]);
                }
                feeds[i] = set;
            }
            var units = new List<Unit>();
            var byKey = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var i in order)
            {
                if (IsComm(nodes[i]))
                {
                    unitOf[i] = units.Count;
                    units.Add(new Unit { Comm = i, First = position[i] });
                    continue;
                }
                var set = new SortedSet<int>();
                foreach (var d in deps[i])
                {
                    if (IsComm(nodes[d])) set.Add(d);
                    else set.UnionWith(after[d]);
                }
                after[i] = set;
                var key = string.Join(",", set) + "|" + string.Join(",", feeds[i]);
                if (!byKey.TryGetValue(key, out var u))
                {
                    byKey[key] = u = units.Count;
                    units.Add(new Unit { First = position[i] });
                }
                unitOf[i] = u;
                units[u].Nodes.Add(i);
            }
            foreach (var i in order)
            {
                foreach (var d in deps[i])
                {
                    if (unitOf[d] != unitOf[i]) units[unitOf[i]].Deps.Add(unitOf[d]);
                }
            }
            units = SortUnits(units);

            // Each compute unit's graph: its nodes with the dependencies among them.
            var graphName = options.Name ?? "chakra-et";
            for (var k = 0; k < units.Count; k++)
            {
                var u = units[k];
                if (u.Comm >= 0) continue;
                var ids = u.Nodes.Select(i => nodes[i].Id).ToHashSet();
                var part = u.Nodes.Select((i, local) => Copy(nodes[i], local, ids)).ToList();
                var name = string.Create(CultureInfo.InvariantCulture, $"{graphName} segment {k}");
                u.Graph = ChakraEtImporter.BuildGraph(metadata, part, file, options with { Name = name }, allowEmpty: true)?.Graph;
            }
            var comms = units.Where(u => u.Comm >= 0).Select(u => ToComm(nodes[u.Comm], u.Comm, file)).ToList();
            return new RankTrace { Rank = rank, File = file, Summary = whole?.Summary, Comms = comms, _units = units };
        }

        /// <summary>The units in dependency order, ties by the position of their first node (a unit's first node
        /// may come before a unit it waits for: the trace's nodes are grouped, not reordered).</summary>
        private static List<Unit> SortUnits(List<Unit> units)
        {
            var missing = units.Select(u => u.Deps.Count).ToArray();
            var users = units.Select(_ => new List<int>()).ToArray();
            for (var k = 0; k < units.Count; k++)
                foreach (var d in units[k].Deps) users[d].Add(k);
            var ready = new PriorityQueue<int, int>();
            for (var k = 0; k < units.Count; k++) if (missing[k] == 0) ready.Enqueue(k, units[k].First);
            var order = new List<int>();
            while (ready.TryDequeue(out var k, out _))
            {
                order.Add(k);
                foreach (var u in users[k]) if (--missing[u] == 0) ready.Enqueue(u, units[u].First);
            }
            if (order.Count != units.Count) throw new InvalidOperationException("segments of an acyclic trace form a cycle");
            var index = new int[units.Count];
            for (var p = 0; p < order.Count; p++) index[order[p]] = p;
            var sorted = order.Select(k => units[k]).ToList();
            foreach (var u in sorted) u.Deps = new SortedSet<int>(u.Deps.Select(d => index[d]));
            return sorted;
        }

        /// <summary>The rank's segments; a compute unit with no op (metadata only) is left out and its dependents
        /// wait for what it waited for.</summary>
        public List<RankSegment> Segments(Dictionary<(int Rank, int Node), (string Key, CommCall Call)> keys)
        {
            var segments = new List<RankSegment>();
            var segmentOf = new int[_units.Count];
            var through = new SortedSet<int>?[_units.Count];
            for (var k = 0; k < _units.Count; k++)
            {
                var u = _units[k];
                var afterSet = new SortedSet<int>();
                foreach (var d in u.Deps)
                {
                    if (segmentOf[d] >= 0) afterSet.Add(segmentOf[d]);
                    else afterSet.UnionWith(through[d]!);
                }
                if (u.Comm < 0 && u.Graph is null)
                {
                    segmentOf[k] = -1;
                    through[k] = afterSet;
                    continue;
                }
                segmentOf[k] = segments.Count;
                if (u.Graph is { } g)
                {
                    segments.Add(RankSegment.Run(string.Create(CultureInfo.InvariantCulture, $"compute {segments.Count}"), g, afterSet.ToArray()));
                }
                else
                {
                    var (key, call) = keys[(Rank, u.Comm)];
                    segments.Add(RankSegment.Collective(key, key, call, afterSet.ToArray()));
                }
            }
            return segments;
        }

        private static bool IsComm(ChakraNode n) => n.Type is (int)ChakraNodeType.CommColl or (int)ChakraNodeType.CommSend or (int)ChakraNodeType.CommRecv;

        /// <summary>A node of a compute unit, numbered within it, keeping only dependencies on nodes of <paramref name="ids"/>.</summary>
        private static ChakraNode Copy(ChakraNode n, int index, HashSet<ulong> ids)
        {
            var c = new ChakraNode
            {
                Index = index, Offset = n.Offset, Id = n.Id, HasId = n.HasId, Name = n.Name, Type = n.Type,
                StartMicros = n.StartMicros, DurationMicros = n.DurationMicros, Inputs = n.Inputs, Outputs = n.Outputs,
            };
            c.Attrs.AddRange(n.Attrs);
            c.DataDeps.AddRange(n.DataDeps.Where(ids.Contains));
            c.CtrlDeps.AddRange(n.CtrlDeps.Where(ids.Contains));
            return c;
        }

        private static Comm ToComm(ChakraNode n, int index, string file)
        {
            long Required(string attr, string what)
            {
                var a = n.Attr(attr);
                if (a is null) throw new InputException(file, n.Where, $"a {ChakraEtImporter.TypeName(n.Type)} needs the attribute '{attr}' ({what})");
                if (a.AsLong is not { } v || v < 0) throw new InputException(file, $"{n.Where}.attr '{attr}'", $"expected a whole number >= 0 ({what})");
                return v;
            }
            long Optional(string attr) => n.Attr(attr) is { } a ? a.AsLong is { } v && v >= 0 ? v
                : throw new InputException(file, $"{n.Where}.attr '{attr}'", "expected a whole number >= 0") : 0;
            var bytes = Required("comm_size", "bytes");
            if (n.Type == (int)ChakraNodeType.CommColl)
            {
                var type = Required("comm_type", "ALL_REDUCE 0, REDUCE 1, ALL_GATHER 2, BROADCAST 5, ALL_TO_ALL 6, REDUCE_SCATTER 7");
                CollectiveKind kind = type switch
                {
                    0 => CollectiveKind.AllReduce,
                    1 => CollectiveKind.Reduce,
                    2 => CollectiveKind.AllGather,
                    5 => CollectiveKind.Broadcast,
                    6 => CollectiveKind.AllToAll,
                    7 or 8 => CollectiveKind.ReduceScatter,
                    _ => throw new InputException(file, $"{n.Where}.attr 'comm_type'",
                        $"{ChakraEtImporter.CollectiveName(type)} is not simulated; expected ALL_REDUCE, REDUCE, ALL_GATHER, BROADCAST, ALL_TO_ALL or REDUCE_SCATTER"),
                };
                var pg = n.Attr("pg_name") is { } p ? p.String ?? (p.AsLong is { } id ? id.ToString(CultureInfo.InvariantCulture) : "") : "";
                return new Comm(index, n.Where, kind, bytes, pg, false, -1, 0);
            }
            var send = n.Type == (int)ChakraNodeType.CommSend;
            var peer = Required(send ? "comm_dst" : "comm_src", send ? "the receiving rank" : "the sending rank");
            if (peer > int.MaxValue) throw new InputException(file, $"{n.Where}.attr '{(send ? "comm_dst" : "comm_src")}'", $"rank {peer} is out of range");
            return new Comm(index, n.Where, null, bytes, "", send, (int)peer, Optional("comm_tag"));
        }
    }
}
