using System.Text;
using AccelSim.Core.Metrics;
using AccelSim.Core.Systems;
using AccelSim.Core.Time;
using Newtonsoft.Json.Linq;

namespace AccelSim.Reports;

/// <summary>The JSON report of a system run (<see cref="SystemResult"/>), schema <see cref="JsonReport.Schema"/>
/// with the system sections <c>devices</c> and <c>network</c>. Written with <see cref="JsonReport.Format"/>'s
/// conventions: fixed property order, maps sorted by key, shortest round-trip doubles, non-finite as null,
/// "\n" line ends; the same result gives byte-identical text. Every field is described in
/// docs/report-schema.md ("System run").</summary>
public static class SystemReport
{
    /// <summary>Writes the indented report followed by a newline. <paramref name="provenance"/> adds the
    /// inputs the run rests on (the system file and its hash, the hardware files, overrides).
    /// <paramref name="includeSegments"/> adds each device's segments.</summary>
    public static void Write(SystemResult result, TextWriter w, RunProvenance? provenance = null, bool includeSegments = false)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.Write(ToJsonString(result, provenance, includeSegments));
    }

    /// <summary>The report as text, exactly as <see cref="Write"/> writes it.</summary>
    public static string ToJsonString(SystemResult result, RunProvenance? provenance = null, bool includeSegments = false) =>
        JsonReport.Format(ToJson(result, provenance, includeSegments));

    public static JObject ToJson(SystemResult result, RunProvenance? provenance = null, bool includeSegments = false)
    {
        ArgumentNullException.ThrowIfNull(result);
        long comm = 0, exposed = 0;
        foreach (var r in result.Ranks)
        {
            comm += r.CommPs;
            exposed += r.ExposedCommPs;
        }
        var devices = new JArray();
        foreach (var r in result.Ranks) devices.Add(Device(r, includeSegments));
        var links = new JArray();
        long networkBytes = 0;
        foreach (var l in result.Links)
        {
            networkBytes = checked(networkBytes + l.Bytes);
            if (l.Bytes == 0) continue;
            links.Add(new JObject
            {
                ["name"] = l.Name,
                ["bandwidth_Bps"] = JsonReport.Num(l.Bandwidth_Bps),
                ["bytes"] = l.Bytes,
                ["busy_s"] = JsonReport.Num(Ps.ToSeconds(l.BusyPs)),
                ["utilisation"] = JsonReport.Num(l.Utilisation),
                ["energy_j"] = JsonReport.Num(l.EnergyJ),
            });
        }
        var collectives = new JArray();
        foreach (var c in result.Collectives)
        {
            collectives.Add(new JObject
            {
                ["key"] = c.Key,
                ["kind"] = Kebab(c.Kind.ToString()),
                ["algorithm"] = Kebab(c.Algorithm.ToString()),
                ["bytes"] = c.Bytes,
                ["ranks"] = c.Group.Count,
                ["group"] = new JArray(c.Group.Select(g => (object)g).ToArray()),
                ["bytes_on_wire"] = c.BytesOnWire,
                ["start_s"] = JsonReport.Num(Ps.ToSeconds(c.StartPs)),
                ["end_s"] = JsonReport.Num(Ps.ToSeconds(c.EndPs)),
                ["time_s"] = JsonReport.Num(Ps.ToSeconds(c.DurationPs)),
                ["algorithm_bandwidth_Bps"] = JsonReport.Num(c.AlgorithmBandwidth_Bps),
                ["bus_bandwidth_Bps"] = JsonReport.Num(c.BusBandwidth_Bps),
            });
        }
        var root = new JObject
        {
            ["schema"] = JsonReport.Schema,
            ["system"] = new JObject
            {
                ["name"] = result.SystemName,
                ["ranks"] = result.SystemRanks,
                ["simulated_ranks"] = result.Ranks.Count,
            },
            ["workload"] = new JObject { ["name"] = result.Name, ["phase"] = "system" },
            ["schedule"] = result.Schedule,
            ["latency_s"] = JsonReport.Num(result.MakespanS),
            ["flops"] = result.Flops,
            ["energy_j"] = JsonReport.Num(result.EnergyJ),
            ["energy_breakdown_j"] = new JObject
            {
                ["devices"] = JsonReport.Num(result.DeviceEnergyJ),
                ["network"] = JsonReport.Num(result.LinkEnergyJ),
            },
            ["devices"] = devices,
            ["network"] = new JObject
            {
                ["bytes"] = networkBytes,
                ["energy_j"] = JsonReport.Num(result.LinkEnergyJ),
                ["communication"] = new JObject
                {
                    ["time_s"] = JsonReport.Num(Ps.ToSeconds(comm)),
                    ["exposed_s"] = JsonReport.Num(Ps.ToSeconds(exposed)),
                    ["overlapped_s"] = JsonReport.Num(Ps.ToSeconds(comm - exposed)),
                },
                ["links"] = links,
                ["collectives"] = collectives,
            },
        };
        if (provenance is not null) root["provenance"] = JsonReport.ProvenanceJson(provenance);
        return root;
    }

    private static JObject Device(RankResult r, bool includeSegments)
    {
        var m = r.Metrics;
        var makespan = m.LatencyS;
        var capacity = new JObject();
        var peak = new JObject();
        var over = new JObject();
        foreach (var t in r.Memory.OrderBy(t => t.Tier, StringComparer.Ordinal))
        {
            capacity[t.Tier] = t.CapacityBytes;
            peak[t.Tier] = t.PeakBytes;
            over[t.Tier] = Math.Max(0, t.PeakBytes - t.CapacityBytes);
        }
        var memoryJ = new JObject();
        foreach (var (k, v) in m.Energy.MemoryJ.OrderBy(kv => kv.Key, StringComparer.Ordinal)) memoryJ[k] = JsonReport.Num(v);
        var o = new JObject
        {
            ["rank"] = r.Rank,
            ["name"] = r.DeviceName,
            ["kind"] = r.DeviceKind,
            ["ops"] = m.Ops.Count,
            ["flops"] = m.TotalFlops,
            ["busy_s"] = new JObject
            {
                ["compute"] = JsonReport.Num(Ps.ToSeconds(r.ComputeBusyPs)),
                ["main_memory"] = JsonReport.Num(Ps.ToSeconds(r.MainMemoryBusyPs)),
            },
            ["utilisation"] = new JObject
            {
                ["compute"] = JsonReport.Num(m.ComputeUtilisation),
                ["memory_bandwidth"] = JsonReport.Num(m.MemoryBandwidthUtilisation),
                ["busy"] = JsonReport.Num(makespan > 0 ? Ps.ToSeconds(r.ComputeBusyPs) / makespan : 0),
            },
            ["energy_j"] = JsonReport.Num(m.Energy.TotalJ),
            ["energy_breakdown_j"] = new JObject
            {
                ["compute"] = JsonReport.Num(m.Energy.ComputeJ),
                ["memory"] = memoryJ,
                ["static"] = JsonReport.Num(m.Energy.StaticJ),
            },
            ["memory"] = new JObject
            {
                ["held_bytes"] = r.HeldBytes,
                ["capacity_bytes"] = capacity,
                ["peak_bytes"] = peak,
                ["over_capacity_bytes"] = over,
                ["overflows"] = r.Memory.Any(t => t.Overflows),
            },
            ["memory_wall"] = new JObject
            {
                ["memory_bound_ops"] = m.MemoryWall.MemoryBoundOps,
                ["memory_bound_time_fraction"] = JsonReport.Num(m.MemoryWall.MemoryBoundTimeFraction),
                ["stall_s"] = JsonReport.Num(m.MemoryWall.StallS),
            },
            ["communication"] = new JObject
            {
                ["time_s"] = JsonReport.Num(Ps.ToSeconds(r.CommPs)),
                ["exposed_s"] = JsonReport.Num(Ps.ToSeconds(r.ExposedCommPs)),
                ["overlapped_s"] = JsonReport.Num(Ps.ToSeconds(r.HiddenCommPs)),
            },
        };
        if (includeSegments)
        {
            var segs = new JArray();
            foreach (var s in r.Segments)
            {
                segs.Add(new JObject
                {
                    ["label"] = s.Label,
                    ["kind"] = s.IsComm ? "communication" : "compute",
                    ["key"] = s.Key,
                    ["ready_s"] = JsonReport.Num(Ps.ToSeconds(s.ReadyPs)),
                    ["start_s"] = JsonReport.Num(Ps.ToSeconds(s.StartPs)),
                    ["end_s"] = JsonReport.Num(Ps.ToSeconds(s.EndPs)),
                });
            }
            o["segments"] = segs;
        }
        return o;
    }

    /// <summary>An enum name as the command line spells it: AllReduce → all-reduce.</summary>
    internal static string Kebab(string pascal)
    {
        var sb = new StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            var ch = pascal[i];
            if (char.IsUpper(ch))
            {
                if (i > 0) sb.Append('-');
                sb.Append(char.ToLowerInvariant(ch));
            }
            else sb.Append(ch);
        }
        return sb.ToString();
    }
}
