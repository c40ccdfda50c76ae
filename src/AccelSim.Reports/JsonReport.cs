using AccelSim.Core.Devices;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Reports.Internal;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace AccelSim.Reports;

/// <summary>The machine-readable run report (<c>--format json</c>), schema <see cref="Schema"/>.
/// Deterministic: identical metrics give byte-identical text. Property order is fixed, maps are
/// sorted by key (ordinal), doubles are written in the shortest round-trip form with the invariant
/// culture, integers as integers, non-finite numbers as <c>null</c>, lines end with "\n".
/// Every field is described in docs/report-schema.md.</summary>
public static class JsonReport
{
    public const string Schema = "accelsim.report/1";

    /// <summary>Writes the indented report followed by a newline. <paramref name="includeOps"/> adds the
    /// per-op array (<c>--ops</c>).</summary>
    public static void Write(RunMetrics m, TextWriter w, bool includeOps)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.Write(ToJsonString(m, includeOps));
    }

    /// <summary>The report as text, exactly as <see cref="Write"/> writes it.</summary>
    public static string ToJsonString(RunMetrics m, bool includeOps) => Format(ToJson(m, includeOps));

    /// <summary>Formats any report token the way reports are written (indent 2, "\n", trailing newline).</summary>
    public static string Format(JToken token)
    {
        ArgumentNullException.ThrowIfNull(token);
        using var sw = new StringWriter(System.Globalization.CultureInfo.InvariantCulture) { NewLine = "\n" };
        using (var jw = new JsonTextWriter(sw)
        {
            Formatting = Formatting.Indented,
            Indentation = 2,
            IndentChar = ' ',
            Culture = System.Globalization.CultureInfo.InvariantCulture,
            FloatFormatHandling = FloatFormatHandling.DefaultValue,
            CloseOutput = false,
        })
        {
            token.WriteTo(jw);
        }
        sw.Write('\n');
        return sw.ToString();
    }

    /// <summary>True when the device sat idle, waiting for the host to issue work, for more than half the run.</summary>
    public static bool LaunchBound(RunMetrics m) => m.LatencyS > 0 && m.HostDispatchS > 0 && m.DeviceIdleS / m.LatencyS > 0.5;

    public static JObject ToJson(RunMetrics m, bool includeOps)
    {
        ArgumentNullException.ThrowIfNull(m);
        var facts = ReportFacts.From(m);
        var wl = m.Workload;
        var mw = m.MemoryWall;
        var root = new JObject
        {
            ["schema"] = Schema,
            ["hardware"] = new JObject { ["name"] = m.HardwareName, ["kind"] = m.HardwareKind },
            ["workload"] = new JObject
            {
                ["name"] = wl.Name,
                ["phase"] = wl.Phase,
                ["batch"] = wl.Batch,
                ["seq"] = wl.SeqLen,
                ["context"] = wl.Context,
                ["tokens"] = wl.Tokens,
                ["ops"] = m.OpCount,
            },
            ["schedule"] = m.Schedule,
            ["latency_s"] = Num(m.LatencyS),
            // A single kernel processes no tokens: its rate is null and its own figures are under "kernel".
            ["tokens_per_s"] = IsKernel(m) ? JValue.CreateNull() : Num(m.TokensPerS),
            ["utilisation"] = new JObject
            {
                ["compute"] = Num(m.ComputeUtilisation),
                ["memory_bandwidth"] = Num(m.MemoryBandwidthUtilisation),
            },
            ["flops"] = m.TotalFlops,
            ["off_chip_bytes"] = m.OffChipBytes,
            ["host"] = new JObject
            {
                ["dispatch_s"] = Num(m.HostDispatchS),
                ["device_idle_s"] = Num(m.DeviceIdleS),
                ["launch_bound"] = LaunchBound(m),
            },
            ["energy_j"] = Num(m.Energy.TotalJ),
            ["energy_breakdown_j"] = new JObject
            {
                ["compute"] = Num(m.Energy.ComputeJ),
                ["memory"] = Map(m.Energy.MemoryJ),
                ["static"] = Num(m.Energy.StaticJ),
            },
            ["memory"] = new JObject
            {
                ["capacity_bytes"] = Map(m.Memory.CapacityBytes),
                ["peak_bytes"] = Map(m.Memory.PeakBytes),
                ["spilled_bytes"] = Map(m.Memory.SpilledBytes),
                ["over_capacity_bytes"] = Map(m.Memory.OverCapacityBytes),
                ["bytes_moved"] = Map(m.Memory.BytesMoved),
                ["bytes_moved_by_channel"] = Map(m.Memory.BytesMovedByChannel),
                ["stall_s_by_channel"] = Map(m.Memory.StallSByChannel),
            },
            ["memory_wall"] = new JObject
            {
                ["memory_bound_ops"] = mw.MemoryBoundOps,
                ["memory_bound_time_fraction"] = Num(mw.MemoryBoundTimeFraction),
                ["stall_s"] = Num(mw.StallS),
                ["arithmetic_intensity_flop_per_byte"] = Num(mw.ArithmeticIntensity),
                ["ridge_point_flop_per_byte"] = Num(mw.RidgePoint),
                ["time_by_bound_s"] = new JObject
                {
                    ["compute"] = Num(facts.ComputeBoundS),
                    ["memory"] = Num(facts.MemoryBoundS),
                    ["latency"] = Num(facts.LatencyBoundS),
                    ["power"] = Num(facts.PowerBoundS),
                },
                ["verdict"] = Verdict(facts),
            },
            ["time_by_kind_s"] = ByKind(facts),
        };
        if (IsKernel(m))
        {
            root["kernel"] = new JObject
            {
                ["flops_per_s"] = Num(m.LatencyS > 0 ? m.TotalFlops / m.LatencyS : 0),
                ["bytes_per_s"] = Num(m.LatencyS > 0 ? m.OffChipBytes / m.LatencyS : 0),
                ["arithmetic_intensity_flop_per_byte"] = Num(mw.ArithmeticIntensity),
                ["bound"] = facts.Dominant.Name(),
            };
        }
        if (facts.Power is { } limit)
        {
            // Present when some op's pace was set by the device's power limit (docs/report-schema.md).
            ((JObject)root["memory_wall"]!)["power_bound"] = new JObject
            {
                ["cap_w"] = Num(limit.CapW),
                ["clock_hz"] = Num(limit.ClockHz),
                ["clock"] = limit.Clock,
            };
        }
        // Power and energy efficiency (added after energy_breakdown_j; see docs/energy.md).
        // The software stack and launch mode, for workloads built from a model (docs/stacks.md).
        var workload = (JObject)root["workload"]!;
        if (wl.Stack is not null) workload["stack"] = wl.Stack;
        if (wl.Launch is not null) workload["launch"] = wl.Launch;
        root["power_w"] = new JObject { ["average"] = Num(m.AveragePowerW), ["peak"] = Num(m.PeakPowerW) };
        root["tokens_per_j"] = Num(m.TokensPerJ);
        if (m.Carbon is { } c) root["carbon"] = CarbonJson(c);
        if (m.Cost is { } ct)
        {
            root["cost"] = new JObject
            {
                ["usd_per_hour"] = Num(ct.UsdPerHour),
                ["run_usd"] = Num(ct.RunUsd),
                ["usd_per_million_tokens"] = ct.UsdPerMillionTokens is { } pm ? Num(pm) : null,
            };
        }
        if (m.Interval is { } iv) root["interval"] = IntervalJson(iv);
        if (m.Provenance is { } pv)
        {
            root["hardware"]!["modified"] = pv.Modified;
            root["provenance"] = ProvenanceJson(pv);
        }
        if (includeOps)
        {
            var arr = new JArray();
            foreach (var o in m.Ops) arr.Add(Op(o));
            root["ops"] = arr;
        }
        if (m.Launch is { } launch)
        {
            root.Property("schedule")!.AddAfterSelf(new JProperty("launch", new JObject
            {
                ["mode"] = launch.Mode.Name(),
                ["from"] = launch.Source.Name(),
                ["note"] = launch.Note(wl) is { } note ? note : JValue.CreateNull(),
            }));
        }
        return root;
    }

    /// <summary>The <c>provenance</c> object: hardware files and hashes, overrides, stack, launch mode,
    /// parameters by tag and the estimate share (docs/report-schema.md).</summary>
    public static JObject ProvenanceJson(RunProvenance p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var files = new JArray();
        foreach (var f in p.Files) files.Add(new JObject { ["role"] = f.Role, ["file"] = f.Name, ["sha256"] = f.Sha256 });
        var sets = new JArray();
        foreach (var (path, value) in p.Overrides) sets.Add(new JObject { ["path"] = path, ["value"] = value });
        var counts = new JObject();
        foreach (var k in p.ParameterCounts.Keys.Order(StringComparer.Ordinal)) counts[k] = p.ParameterCounts[k];
        return new JObject
        {
            ["files"] = files,
            ["overrides"] = sets,
            ["stack"] = p.Stack,
            ["launch"] = p.Launch,
            ["parameters_by_tag"] = counts,
            ["estimate_time_share"] = p.EstimateTimeShare is { } s ? Num(s) : JValue.CreateNull(),
            ["estimate_latency_change"] = p.EstimateLatencyChange is { } l ? Num(l) : JValue.CreateNull(),
            ["estimate_perturbation"] = Num(p.EstimatePerturbation),
        };
    }

    /// <summary>The <c>interval</c> object: bounds of latency and energy at <c>level</c>, or nulls and a note.</summary>
    public static JObject IntervalJson(PredictionInterval iv)
    {
        ArgumentNullException.ThrowIfNull(iv);
        static JToken N(double? v) => v is { } d ? Num(d) : JValue.CreateNull();
        return new JObject
        {
            ["level"] = Num(iv.Level),
            ["latency_s"] = new JObject { ["low"] = N(iv.LatencyLowS), ["high"] = N(iv.LatencyHighS) },
            ["energy_j"] = new JObject { ["low"] = N(iv.EnergyLowJ), ["high"] = N(iv.EnergyHighJ) },
            ["source"] = iv.Source,
            ["note"] = iv.Note is null ? JValue.CreateNull() : iv.Note,
        };
    }

    private static JObject CarbonJson(CarbonMetrics c) => new()
    {
        ["operational_g"] = Num(c.OperationalG),
        ["embodied_g"] = Num(c.EmbodiedG),
        ["total_g"] = Num(c.TotalG),
        ["g_per_million_tokens"] = new JObject
        {
            ["operational"] = Num(c.OperationalGPerMillionTokens),
            ["embodied"] = Num(c.EmbodiedGPerMillionTokens),
            ["total"] = Num(c.GPerMillionTokens),
        },
        ["inputs"] = new JObject
        {
            ["grid_intensity_g_per_kwh"] = Num(c.Inputs.GridIntensityGPerKWh),
            ["pue"] = Num(c.Inputs.Pue),
            ["embodied_kgco2e"] = Num(c.Inputs.EmbodiedKgCO2e),
            ["lifetime_years"] = Num(c.Inputs.LifetimeYears),
            ["grid_source"] = c.Inputs.GridSource,
            ["embodied_source"] = c.Inputs.EmbodiedSource,
        },
    };

    /// <summary>"memory-bound", "compute-bound", "latency-bound" or "power-bound": the bound that held for most of the busy time.</summary>
    /// <summary>Whether the run is a single kernel (<c>accelsim op</c>, phase <c>op</c>): no tokens, figures of its own.</summary>
    internal static bool IsKernel(RunMetrics m) => m.Workload.Phase == "op";

    internal static string Verdict(ReportFacts facts) => facts.Dominant.Name() + "-bound";

    private static JObject ByKind(ReportFacts facts)
    {
        // Sorted by kind name for a stable shape; the table orders by time.
        var o = new JObject();
        var kinds = facts.ByKind.OrderBy(k => k.Kind, StringComparer.Ordinal);
        foreach (var k in kinds) o[k.Kind] = Num(k.TimeS);
        return o;
    }

    private static JObject Op(OpMetrics o)
    {
        var j = new JObject
        {
            ["id"] = o.Id,
            ["name"] = o.Name,
            ["kind"] = o.Kind,
            ["layer"] = o.Layer,
            ["engine"] = o.Engine,
            ["task"] = o.Task,
            ["start_s"] = Num(Core.Time.Ps.ToSeconds(o.StartPs)),
            ["end_s"] = Num(Core.Time.Ps.ToSeconds(o.EndPs)),
            ["duration_s"] = Num(o.DurationS),
            ["flops"] = o.Flops,
            ["dtype"] = o.DType,
            ["bytes"] = Map(o.BytesByTier),
            ["arithmetic_intensity"] = Num(o.ArithmeticIntensity),
            ["achieved_flops_per_s"] = Num(o.AchievedFlops),
            ["bound"] = o.Bound.Name(),
            ["isolated_s"] = new JObject
            {
                ["compute"] = Num(o.ComputeTimeS),
                ["memory"] = Num(o.MemoryTimeS),
                ["latency"] = Num(o.LatencyS),
            },
            ["energy_j"] = Num(o.EnergyJ),
            ["note"] = o.Note is null ? JValue.CreateNull() : o.Note,
        };
        if (o.PowerLimit is { } p) j["power_limit"] = new JObject { ["cap_w"] = Num(p.CapW), ["clock_hz"] = Num(p.ClockHz), ["clock"] = p.Clock };
        return j;
    }

    private static JObject Map(IReadOnlyDictionary<string, long> map)
    {
        var o = new JObject();
        foreach (var k in map.Keys.Order(StringComparer.Ordinal)) o[k] = map[k];
        return o;
    }

    private static JObject Map(IReadOnlyDictionary<string, double> map)
    {
        var o = new JObject();
        foreach (var k in map.Keys.Order(StringComparer.Ordinal)) o[k] = Num(map[k]);
        return o;
    }

    /// <summary>A double as JSON: non-finite becomes null, negative zero becomes zero.</summary>
    internal static JToken Num(double v)
    {
        if (!double.IsFinite(v)) return JValue.CreateNull();
        return new JValue(v == 0 ? 0.0 : v);
    }
}
