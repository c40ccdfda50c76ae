using System.CommandLine;
using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Plugins;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Core.Time;
using AccelSim.Reports;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Import;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel;
using Newtonsoft.Json.Linq;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary>A workload spread over a system's ranks: the program, and for a model the plan and the figures
/// throughput is measured against. <see cref="ModelFlops"/>: FLOPs of the single-device graph of the global
/// batch without recomputation (Megatron's model FLOPs); <see cref="DType"/>: the data type most of them run
/// in (the device peak they are set against).</summary>
public sealed record SystemWorkload(SystemProgram Program, ParallelPlan? Plan, ModelConfig? Model, WorkloadRequest? Request,
    double? ModelFlops, DType DType, string? Trace)
{
    /// <summary>ZeRO-Infinity's offload on every rank (<c>--placement zero-infinity</c>), or null.</summary>
    public ZeroInfinityOffload? Offload { get; init; }

    /// <summary>Devices the workload occupies: the plan's tp × pp × dp, or the trace's ranks.</summary>
    public int DevicesUsed => Plan?.Ranks ?? Program.Ranks.Count;

    /// <summary>Sequences per step (the plan's global batch); null for a trace.</summary>
    public long? Samples => Plan?.GlobalBatch;

    /// <summary>Tokens per step: global batch × sequence length (prefill, train) or × 1 (decode); null for a trace.</summary>
    public long? Tokens => Plan is null || Request is null ? null
        : checked(Plan.GlobalBatch * (Request.Phase == Phase.Decode ? 1 : Request.Seq));
}

/// <summary>A simulated system run and what its report needs besides the simulator's result.</summary>
public sealed record SystemRunOutcome(SystemResult Result, SystemSpec Spec, int Nodes, SystemWorkload Workload,
    string ScheduleName, double PeakFlopsPerDevice, RunProvenance Provenance)
{
    public double IterationS => Result.MakespanS;

    /// <summary>Energy of a step on every device the workload occupies: the simulated devices' energy scaled
    /// to the devices used (a folded replica costs what replica 0 does) plus the network's.</summary>
    public double StepEnergyJ => Result.Ranks.Count == 0 ? Result.LinkEnergyJ
        : Result.DeviceEnergyJ * Workload.DevicesUsed / Result.Ranks.Count + Result.LinkEnergyJ;

    /// <summary>Every simulated device's memory fits its capacity on every tier.</summary>
    public bool Fits => Result.Ranks.All(r => r.Memory.All(t => !t.Overflows));

    public double? ModelFlopsPerDevicePerS => Workload.ModelFlops is { } f && IterationS > 0 ? f / IterationS / Workload.DevicesUsed : null;

    /// <summary>FLOPs the simulated devices ran (recomputation and replicated ops included) per device per second.</summary>
    public double HardwareFlopsPerDevicePerS => Result.Ranks.Count == 0 || IterationS <= 0 ? 0 : Result.Flops / IterationS / Result.Ranks.Count;

    public double MeanExposedCommS => Result.Ranks.Count == 0 ? 0 : Ps.ToSeconds(Result.Ranks.Sum(r => r.ExposedCommPs)) / Result.Ranks.Count;
    public double MeanOverlappedCommS => Result.Ranks.Count == 0 ? 0 : Ps.ToSeconds(Result.Ranks.Sum(r => r.HiddenCommPs)) / Result.Ranks.Count;
    public double MeanComputeBusyS => Result.Ranks.Count == 0 ? 0 : Ps.ToSeconds(Result.Ranks.Sum(r => r.ComputeBusyPs)) / Result.Ranks.Count;
}

/// <summary>The path of <c>run</c> and <c>compare</c> with <c>--system</c>: load the system and build its fabric,
/// spread the workload over its ranks (a parallelism plan for <c>--model</c>, a directory of per-rank Chakra
/// traces for <c>--trace</c>), give each rank the device model of its hardware config (one model per distinct
/// config), simulate with <see cref="SystemSimulator"/> and report (docs/systems.md, "Command line").</summary>
public static class SystemRun
{
    /// <summary>Devices shown one by one in the table; more are grouped by pipeline stage (or device).</summary>
    public const int RanksShownOneByOne = 16;

    /// <summary>Links shown in the table, busiest first.</summary>
    public const int LinksShown = 5;

    /// <summary>The fabric of <paramref name="spec"/> for <c>--nodes</c>; a node count it cannot be built with names the flag.</summary>
    public static SystemFabric Fabric(SystemSpec spec, int? nodes)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (nodes is < 1) throw new InputException(null, "--nodes", $"expected at least one node, got {nodes}");
        try
        {
            return SystemFabric.Build(spec, nodes);
        }
        catch (InputException e) when (nodes is not null)
        {
            throw new InputException(e.Problems.Select(q => new InputProblem(null, "--nodes", q.Message)).ToArray());
        }
    }

    /// <summary>The schedule of every device (<c>--schedule</c>: sequential, dataflow or auto).</summary>
    public static (ISchedule Schedule, string Name) Schedule(string? name)
    {
        var n = name ?? "sequential";
        if (n == "eager")
            throw new InputException(null, "--schedule", "eager launch is modelled for one device; a run on a system takes sequential, dataflow or auto");
        return (Execution.Schedule(n), n);
    }

    /// <summary>The options of a single-device run that a system run does not take; each one given is a problem.</summary>
    public static void Refuse(ParseResult p, IEnumerable<Option> options) =>
        Refuse(p, options, "applies to a run on one device (--hardware); a run on a system does not take it");

    /// <summary>The model's workload spread over the first tp × pp × dp ranks of <paramref name="fabric"/>.</summary>
    /// <param name="placement">The single-device placement options, applied per rank (<see cref="SystemPlacement"/>); null: none.</param>
    public static SystemWorkload FromModel(ModelConfig model, WorkloadRequest request, ParallelismOptions options, SystemFabric fabric,
        SystemPlacement? placement = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(fabric);
        var plan = ParallelPlan.Bind(options, model, request);
        if (plan.Ranks > fabric.Ranks)
        {
            var perNode = Math.Max(1, fabric.RanksPerNode);
            var hint = fabric.Spec.IsMixed ? "its node groups are fixed" : $"--nodes {(plan.Ranks + perNode - 1) / perNode} holds them";
            throw new InputException(null, "--nodes",
                $"the plan needs tp x pp x dp = {plan.Tp} x {plan.Pp} x {plan.Dp} = {plan.Ranks} devices; {fabric.Spec.Name} has {fabric.Ranks} on {fabric.Nodes} node{(fabric.Nodes == 1 ? "" : "s")} ({hint})");
        }
        var single = placement is not null && SystemPlacement.IsSingleDevice(plan);
        var offload = placement is null || single ? null : placement.OffloadFor(plan, request);
        var program = ParallelTransform.Build(model, request, plan, offload: offload);
        if (single)
        {
            // One rank, one microbatch: the single-device graph, placed as a run on --hardware places it.
            var only = program.Ranks.Single().Segments.Single();
            program = program with { Ranks = [new RankProgram(0, [RankSegment.Run(only.Label, placement!.PlaceSingle(only.Compute!))], [])] };
        }

        // Model FLOPs: one microbatch of the unsharded model without recomputation, times the step's
        // microbatches over every replica, plus one optimizer step.
        var micro = ModelBuilderRegistry.Default.Build(model, request with { Batch = plan.MicrobatchSize, Recompute = false });
        double perMicro = 0, optimizer = 0;
        var byType = new Dictionary<DType, double>();
        foreach (var op in micro.Ops)
        {
            if (op.Kind == OpKind.Optimizer) optimizer += op.Flops;
            else perMicro += op.Flops;
            byType[op.ComputeDType] = byType.GetValueOrDefault(op.ComputeDType) + op.Flops;
        }
        var dtype = byType.Count == 0 ? model.DefaultDType : byType.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).First().Key;
        var flops = perMicro * (plan.GlobalBatch / plan.MicrobatchSize) + optimizer;
        return new SystemWorkload(program, plan, model, request, flops, dtype, null) { Offload = offload };
    }

    /// <summary>A directory of per-rank Chakra traces (<c>workload.&lt;rank&gt;.et</c>, docs/chakra-et.md) or one
    /// native trace file (a one-rank program).</summary>
    public static SystemWorkload FromTrace(ParseResult p, WorkloadOptions workload, string trace)
    {
        ArgumentNullException.ThrowIfNull(workload);
        if (!Directory.Exists(trace))
        {
            var graph = workload.Build(p);
            return new SystemWorkload(new SystemProgram(graph.Info.Name, [new RankProgram(0, [RankSegment.Run("trace", graph)], [])]),
                null, null, null, null, MainDType(graph), trace);
        }
        var shaping = new Option[] { workload.Phase, workload.Batch, workload.Seq, workload.Context, workload.DType, workload.ExpertSkew, workload.Recompute, workload.Stack };
        Refuse(p, shaping, "applies to --model workloads only; per-rank traces fix their own phase, shapes and data types");
        var import = ChakraEtSystemImporter.ImportDirectory(trace);
        var first = import.Program.Ranks.SelectMany(r => r.Segments).FirstOrDefault(s => s.Compute is not null)?.Compute;
        return new SystemWorkload(import.Program, null, null, null, null, first is null ? DType.Bf16 : MainDType(first), trace);
    }

    /// <summary>Each of <paramref name="options"/> given is a problem, <paramref name="why"/>.</summary>
    public static void Refuse(ParseResult p, IEnumerable<Option> options, string why)
    {
        ArgumentNullException.ThrowIfNull(p);
        var given = options.Where(o => WorkloadOptions.IsGiven(p, o)).Select(o => new InputProblem(null, o.Name, why)).ToArray();
        if (given.Length > 0) throw new InputException(given);
    }

    private static DType MainDType(WorkloadGraph g)
    {
        var byType = new Dictionary<DType, double>();
        foreach (var op in g.Ops) byType[op.ComputeDType] = byType.GetValueOrDefault(op.ComputeDType) + op.Flops;
        return byType.Count == 0 ? DType.Bf16 : byType.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).First().Key;
    }

    /// <summary>Checks the program against the fabric, gives each rank its device (one model per distinct
    /// hardware config, <c>--set</c> applied to each) and simulates.</summary>
    public static SystemRunOutcome Simulate(SystemSpec spec, int? nodes, SystemWorkload workload, PluginRegistry registry,
        IReadOnlyList<string>? sets, string? scheduleName)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(registry);
        var (schedule, name) = Schedule(scheduleName);
        var fabric = Fabric(spec, nodes);
        try
        {
            SystemSimulator.Validate(workload.Program, fabric);
        }
        catch (ArgumentException e)
        {
            // A program the system cannot run (a trace with more ranks than the system, a collective that never
            // meets): the input's fault, reported with the engine's message.
            throw new InputException(workload.Trace, workload.Trace is null ? "--system" : null, e.Message.Split(" (Parameter")[0]);
        }

        var configs = new Dictionary<string, (HardwareConfig Config, IDeviceModel Device)>(StringComparer.Ordinal);
        (HardwareConfig Config, IDeviceModel Device) Of(int rank)
        {
            var n = fabric.DeviceOf(rank);
            if (!configs.TryGetValue(n, out var d))
            {
                var config = CommonOptions.LoadHardware(n, sets);
                configs[n] = d = (config, registry.Create(config));
            }
            return d;
        }
        var models = new IDeviceModel[fabric.Ranks];
        foreach (var r in workload.Program.Ranks) models[r.Rank] = Of(r.Rank).Device;
        double peak = 0;
        for (var r = 0; r < workload.DevicesUsed && r < fabric.Ranks; r++) peak += Of(r).Device.PeakFlops(workload.DType);
        peak /= Math.Max(1, Math.Min(workload.DevicesUsed, fabric.Ranks));

        var result = SystemSimulator.Run(workload.Program, fabric, rank => models[rank], schedule);
        return new SystemRunOutcome(result, spec, fabric.Nodes, workload, name, peak, BuildProvenance(spec, configs.Values.Select(c => c.Config), name, workload, sets));
    }

    private static RunProvenance BuildProvenance(SystemSpec spec, IEnumerable<HardwareConfig> configs, string schedule, SystemWorkload workload, IReadOnlyList<string>? sets)
    {
        var info = workload.Program.Ranks.SelectMany(r => r.Segments).FirstOrDefault(s => s.Compute is not null)?.Compute?.Info;
        // A model's graphs were built under the request's stack (--stack): the report names it.
        if (info is not null && info.Stack is null && workload.Request is { } request) info = info with { Stack = request.Stack.Name };
        var files = new List<ConfigFileInfo>(spec.Files);
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var tag in spec.Tags.Values)
            counts[tag.Name()] = counts.GetValueOrDefault(tag.Name()) + 1;
        RunProvenance? first = null;
        foreach (var config in configs.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            var basic = global::AccelSim.Cli.Provenance.ProvenanceBuilder.Basic(config, schedule, info);
            first ??= basic;
            foreach (var f in basic.Files)
                if (!files.Any(x => x.Name == f.Name && x.Sha256 == f.Sha256)) files.Add(f);
            foreach (var (k, v) in basic.ParameterCounts) counts[k] = counts.GetValueOrDefault(k) + v;
        }
        var overrides = sets is { Count: > 0 } ? CommonOptions.ParseSets(sets) : [];
        return new RunProvenance(files, overrides, first?.Stack ?? "fused", first?.Launch ?? "graph")
        {
            ParameterCounts = counts,
            EstimatePerturbation = global::AccelSim.Cli.Provenance.ProvenanceBuilder.EstimateFactor,
        };
    }

    /// <summary>The JSON report: <see cref="SystemReport"/>'s fields plus <c>system.nodes</c>,
    /// <c>system.devices_used</c>, <c>plan</c>, <c>throughput</c> and <c>fits</c> (docs/report-schema.md, "System run").</summary>
    public static JObject ToJson(SystemRunOutcome o, bool includeSegments)
    {
        ArgumentNullException.ThrowIfNull(o);
        var root = SystemReport.ToJson(o.Result, o.Provenance, includeSegments);
        var system = (JObject)root["system"]!;
        system.Property("ranks")!.AddBeforeSelf(new JProperty("nodes", o.Nodes));
        system.Property("simulated_ranks")!.AddBeforeSelf(new JProperty("devices_used", o.Workload.DevicesUsed));
        root.Property("workload")!.AddAfterSelf(new JProperty("plan", PlanJson(o.Workload)));
        root.Property("plan")!.AddAfterSelf(new JProperty("throughput", ThroughputJson(o)));
        root.Property("energy_breakdown_j")!.AddAfterSelf(new JProperty("fits", o.Fits));
        return root;
    }

    private static JToken PlanJson(SystemWorkload w)
    {
        if (w.Plan is not { } plan || w.Request is not { } request || w.Model is null)
            return w.Trace is null ? JValue.CreateNull() : new JObject { ["trace"] = Path.GetFileName(Path.TrimEndingDirectorySeparator(w.Trace)), ["ranks"] = w.Program.Ranks.Count };
        var json = new JObject
        {
            ["name"] = plan.ToString(),
            ["model"] = w.Model.Name,
            ["phase"] = request.Phase.Name(),
            ["seq"] = request.Seq,
            ["context"] = request.Context,
            ["tp"] = plan.Tp,
            ["pp"] = plan.Pp,
            ["dp"] = plan.Dp,
            ["ep"] = plan.Ep,
            ["zero"] = plan.Zero,
            ["pp_schedule"] = ParallelPlan.Name(plan.Schedule),
            ["virtual_stages"] = plan.VirtualStages,
            ["sequence_parallel"] = plan.SequenceParallel,
            ["recompute"] = plan.Recompute,
            ["fold"] = plan.Fold,
            ["global_batch"] = plan.GlobalBatch,
            ["microbatch"] = plan.MicrobatchSize,
            ["microbatches"] = plan.Microbatches,
            ["ranks"] = plan.Ranks,
        };
        if (w.Offload is { } o)
        {
            // Only when ZeRO-Infinity changed the program: a placement that leaves it as it is leaves the report so.
            json["placement"] = new JObject
            {
                ["policy"] = "zero-infinity",
                ["host_tier"] = o.Host,
                ["ssd_tier"] = o.Ssd is null ? JValue.CreateNull() : o.Ssd,
            };
        }
        return json;
    }

    private static JObject ThroughputJson(SystemRunOutcome o)
    {
        var t = o.IterationS;
        JToken Opt(double? v) => v is { } x ? Number(x) : JValue.CreateNull();
        var model = o.ModelFlopsPerDevicePerS;
        return new JObject
        {
            ["iteration_s"] = Number(t),
            ["samples"] = o.Workload.Samples is { } s ? s : JValue.CreateNull(),
            ["tokens"] = o.Workload.Tokens is { } k ? k : JValue.CreateNull(),
            ["samples_per_s"] = Opt(o.Workload.Samples is { } s2 && t > 0 ? s2 / t : null),
            ["tokens_per_s"] = Opt(o.Workload.Tokens is { } k2 && t > 0 ? k2 / t : null),
            ["model_flops"] = Opt(o.Workload.ModelFlops),
            ["model_flops_per_s_per_device"] = Opt(model),
            ["hardware_flops_per_s_per_device"] = Number(o.HardwareFlopsPerDevicePerS),
            ["peak_flops_per_device"] = Number(o.PeakFlopsPerDevice),
            ["peak_dtype"] = o.Workload.DType.ToString().ToLowerInvariant(),
            ["model_flops_utilisation"] = Opt(model is { } m && o.PeakFlopsPerDevice > 0 ? m / o.PeakFlopsPerDevice : null),
            ["hardware_flops_utilisation"] = Number(o.PeakFlopsPerDevice > 0 ? o.HardwareFlopsPerDevicePerS / o.PeakFlopsPerDevice : 0),
            ["step_energy_j"] = Number(o.StepEnergyJ),
            ["tokens_per_j"] = Opt(o.Workload.Tokens is { } k3 && o.StepEnergyJ > 0 ? k3 / o.StepEnergyJ : null),
        };
    }

    /// <summary>A number as the reports write it: non-finite as null, no negative zero.</summary>
    private static JToken Number(double v) => !double.IsFinite(v) ? JValue.CreateNull() : new JValue(v == 0 ? 0.0 : v);

    /// <summary>Runs <c>run --system</c>: simulate, then write every requested output; files appear only if everything succeeded.</summary>
    public static int RunAndReport(CliContext cli, SystemRunOutcome outcome, string format, string? outPath, string? timelinePath, bool segments,
        string? opsCsvPath = null, string? htmlPath = null)
    {
        ArgumentNullException.ThrowIfNull(cli);
        ArgumentNullException.ThrowIfNull(outcome);
        using var files = new Hosting.OutputFiles();
        var json = format == "json" || outPath is not null ? JsonReport.Format(ToJson(outcome, segments)) : null;
        if (outPath is not null)
        {
            using var w = files.Create(outPath, "--out");
            w.Write(json);
        }
        if (timelinePath is not null)
        {
            using var w = files.Create(timelinePath, "--timeline");
            SystemTimeline.Write(w, outcome.Result);
        }
        if (opsCsvPath is not null)
        {
            // One block of ops per simulated rank, each line led by its rank.
            using var w = files.Create(opsCsvPath, "--ops-csv");
            OpsCsv.Write(w, ["rank"], outcome.Result.Ranks.Select(r => ((IReadOnlyList<string>)[r.Rank.ToString(CultureInfo.InvariantCulture)], r.Metrics)));
        }
        if (htmlPath is not null)
        {
            using var w = files.Create(htmlPath, "--html");
            w.Write(Reports.Html.SystemHtmlReport.Write(outcome.ToHtml()));
        }
        if (format == "json") cli.Out.Write(json);
        else Render(outcome, Execution.ConsoleFor(cli.Out, width: 200));
        files.Commit();
        return 0;
    }

    // ---- console ----

    /// <summary>The console summary: header, inputs, key figures, devices (grouped beyond
    /// <see cref="RanksShownOneByOne"/>), the busiest links, collectives by kind and a warning per device over capacity.</summary>
    public static void Render(SystemRunOutcome o, IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(console);
        var r = o.Result;
        var w = o.Workload;
        console.Write(new Rule("[bold]AccelSim system run[/]").LeftJustified());
        var what = w.Plan is { } plan && w.Request is { } req && w.Model is { } model
            ? $"{model.Name} | phase {req.Phase.Name()} | global batch {plan.GlobalBatch} | seq {req.Seq} | context {req.Context} | {plan}"
            : $"{r.Name} (trace, {w.Program.Ranks.Count} ranks)";
        console.MarkupLine($"[bold]{Markup.Escape(o.Spec.Name)}[/] | {o.Nodes} node{(o.Nodes == 1 ? "" : "s")}, {r.SystemRanks} devices, " +
            $"{w.DevicesUsed} used, {r.Ranks.Count} simulated | schedule {Markup.Escape(o.ScheduleName)}");
        console.MarkupLine(Markup.Escape(what));
        if (w.DevicesUsed < r.SystemRanks)
            console.WriteLine($"The workload occupies {(w.DevicesUsed == 1 ? "rank 0" : $"ranks 0-{w.DevicesUsed - 1}")}; the other {r.SystemRanks - w.DevicesUsed} devices stay idle and are not counted.");
        if (w.Offload is not null && w.Program.Ranks.Count > 0)
        {
            var held = w.Program.Ranks[0].Memory.Where(m => m.Tier is not null).Select(m => $"{m.What} {Scaled(m.Bytes, "B")} in {m.Tier}");
            console.WriteLine($"Placement: zero-infinity on every rank (rank {w.Program.Ranks[0].Rank}: {string.Join(", ", held)}; optimizer on the host CPU).");
        }
        if (w.Plan is { Fold: true } p && p.Dp > 1)
            console.WriteLine($"Folded: data-parallel replica 0 is simulated, replicas 1-{p.Dp - 1} mirror it (their traffic is on the network; --no-fold simulates them).");
        var pv = o.Provenance;
        console.WriteLine("Inputs: " + string.Join(", ", pv.Files.Select(f => $"{f.Name} (sha256 {f.Sha256[..8]})")));
        if (w.Request is not null) console.WriteLine($"Stack: {pv.Stack} | launch {pv.Launch}");
        if (pv.Overrides.Count > 0) console.WriteLine("Overrides: " + string.Join(", ", pv.Overrides.Select(kv => $"{kv.Key}={kv.Value}")));

        var key = Table("Key figures", ("figure", false), ("value", true));
        key.AddRow("iteration time", Seconds(o.IterationS));
        if (w.Samples is { } samples && o.IterationS > 0) key.AddRow("samples/s", Num(samples / o.IterationS, 2));
        if (w.Tokens is { } tokens && o.IterationS > 0) key.AddRow("tokens/s", Num(tokens / o.IterationS, 1));
        var peakText = $"peak {Scaled(o.PeakFlopsPerDevice, "FLOP/s")} {w.DType.ToString().ToLowerInvariant()}";
        if (o.ModelFlopsPerDevicePerS is { } mf)
            key.AddRow("model FLOP/s per device", $"{Scaled(mf, "FLOP/s")} ({Pct(o.PeakFlopsPerDevice > 0 ? mf / o.PeakFlopsPerDevice : 0)} of {peakText})");
        key.AddRow("hardware FLOP/s per device", $"{Scaled(o.HardwareFlopsPerDevicePerS, "FLOP/s")} ({Pct(o.PeakFlopsPerDevice > 0 ? o.HardwareFlopsPerDevicePerS / o.PeakFlopsPerDevice : 0)}; recomputation and replicated ops included)");
        key.AddRow("compute busy per device", $"{Seconds(o.MeanComputeBusyS)} ({Pct(o.IterationS > 0 ? o.MeanComputeBusyS / o.IterationS : 0)} of the step; mean of simulated devices)");
        key.AddRow("communication per device", $"{Seconds(o.MeanExposedCommS)} exposed, {Seconds(o.MeanOverlappedCommS)} overlapped (mean)");
        key.AddRow("network", $"{Scaled(r.Links.Sum(l => (double)l.Bytes), "B")} over links, {r.Collectives.Count} collectives and sends");
        key.AddRow("energy per step", $"{Joules(o.StepEnergyJ)} (devices {Joules(o.StepEnergyJ - r.LinkEnergyJ)}, network {Joules(r.LinkEnergyJ)})");
        if (w.Tokens is { } t2 && o.StepEnergyJ > 0) key.AddRow("tokens/J", Num(t2 / o.StepEnergyJ, 2));
        key.AddRow("memory", o.Fits ? "fits on every device" : "DOES NOT FIT on some device (below)");
        console.Write(key);

        console.Write(DeviceTable(o));
        console.Write(LinkTable(r));
        if (r.Collectives.Count > 0) console.Write(CollectiveTable(r));
        // One warning per tier and row of the device table (a rank, or a stage's ranks).
        foreach (var (label, ranks) in Groups(o))
        {
            foreach (var tier in ranks.SelectMany(x => x.Memory).Where(t => t.Overflows).GroupBy(t => t.Tier).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var worst = tier.MaxBy(t => t.PeakBytes - t.CapacityBytes)!;
                var who = ranks.Length == 1 ? $"rank {label}" : label;
                console.MarkupLine($"[bold red]WARNING[/] {Markup.Escape(who)} ({Markup.Escape(string.Join(",", ranks.Select(x => x.DeviceName).Distinct()))}): " +
                    $"{Markup.Escape(tier.Key)} needs {(ranks.Length == 1 ? "" : "up to ")}{Scaled(worst.PeakBytes, "B")}, has {Scaled(worst.CapacityBytes, "B")} (over by {Scaled(worst.PeakBytes - worst.CapacityBytes, "B")})");
            }
        }
    }

    /// <summary>The simulated ranks as the table shows them: one by one up to <see cref="RanksShownOneByOne"/>,
    /// else by pipeline stage (a plan; a stage's simulated ranks are consecutive) or by device (a trace).</summary>
    private static IReadOnlyList<(string Label, RankResult[] Ranks)> Groups(SystemRunOutcome o)
    {
        var r = o.Result;
        if (r.Ranks.Count <= RanksShownOneByOne)
            return [.. r.Ranks.Select(x => (x.Rank.ToString(CultureInfo.InvariantCulture), new[] { x }))];
        if (o.Workload.Plan is { } plan)
        {
            return [.. r.Ranks.GroupBy(x => plan.Coordinates(x.Rank).Pp).OrderBy(g => g.Key)
                .Select(g => ($"stage {g.Key}: ranks {g.Min(x => x.Rank)}-{g.Max(x => x.Rank)}", g.ToArray()))];
        }
        return [.. r.Ranks.GroupBy(x => x.DeviceName).Select(g => ($"{g.Count()} ranks {g.Min(x => x.Rank)}-{g.Max(x => x.Rank)}", g.ToArray()))];
    }

    private static Table DeviceTable(SystemRunOutcome o)
    {
        var grouped = o.Result.Ranks.Count > RanksShownOneByOne;
        var t = Table("Devices", ("ranks", false), ("device", false), (grouped ? "compute busy (mean)" : "compute busy", true), ("compute util", true),
            (grouped ? "comm exposed (max)" : "comm exposed", true), ("comm overlapped", true), (grouped ? "memory peak (max) / capacity" : "memory peak / capacity", true),
            ("over capacity", true), ("energy", true));
        foreach (var (label, ranks) in Groups(o))
        {
            var busy = ranks.Average(x => Ps.ToSeconds(x.ComputeBusyPs));
            var util = ranks.Average(x => x.Metrics.ComputeUtilisation);
            var exposed = ranks.Max(x => Ps.ToSeconds(x.ExposedCommPs));
            var overlapped = ranks.Average(x => Ps.ToSeconds(x.HiddenCommPs));
            var worst = Fullest(ranks);
            var over = ranks.SelectMany(x => x.Memory).Where(m => m.Overflows).GroupBy(m => m.Tier).Select(g => $"{g.Key} +{Scaled(g.Max(m => m.PeakBytes - m.CapacityBytes), "B")}").ToArray();
            t.AddRow(
                Markup.Escape(label),
                Markup.Escape(string.Join(",", ranks.Select(x => x.DeviceName).Distinct())),
                Seconds(busy),
                Pct(util),
                Seconds(exposed),
                Seconds(overlapped),
                worst is null ? "n/a" : $"{Markup.Escape(worst.Tier)} {Scaled(worst.PeakBytes, "B")} / {Scaled(worst.CapacityBytes, "B")}",
                over.Length == 0 ? "0" : "[bold red]" + Markup.Escape(string.Join(", ", over)) + "[/]",
                Joules(ranks.Sum(x => x.Metrics.Energy.TotalJ)));
        }
        return t;
    }

    /// <summary>The tier closest to (or furthest past) its capacity over <paramref name="ranks"/>.</summary>
    internal static TierUse? Fullest(IEnumerable<RankResult> ranks) =>
        ranks.SelectMany(x => x.Memory).OrderByDescending(m => m.CapacityBytes > 0 ? (double)m.PeakBytes / m.CapacityBytes : 0)
            .ThenBy(m => m.Tier, StringComparer.Ordinal).FirstOrDefault();

    private static Table LinkTable(SystemResult r)
    {
        var used = r.Links.Where(l => l.Bytes > 0).ToArray();
        var t = Table($"Network: {used.Length} of {r.Links.Count} links carried bytes; the {Math.Min(LinksShown, used.Length)} busiest", ("link", false),
            ("bandwidth", true), ("bytes", true), ("busy", true), ("utilisation", true), ("energy", true));
        foreach (var l in used.OrderByDescending(l => l.BusyPs).ThenByDescending(l => l.Bytes).ThenBy(l => l.Link).Take(LinksShown))
            t.AddRow(Markup.Escape(l.Name), Scaled(l.Bandwidth_Bps, "B/s"), Scaled(l.Bytes, "B"), Seconds(Ps.ToSeconds(l.BusyPs)), Pct(l.Utilisation), Joules(l.EnergyJ));
        return t;
    }

    private static Table CollectiveTable(SystemResult r)
    {
        var t = Table("Collectives by kind", ("kind", false), ("algorithm", false), ("calls", true), ("bytes (sum)", true),
            ("time (sum)", true), ("bus bandwidth (mean)", true));
        foreach (var g in r.Collectives.GroupBy(c => (Kind: SystemReportKebab(c.Kind.ToString()), Algorithm: SystemReportKebab(c.Algorithm.ToString())))
                     .OrderBy(g => g.Key.Kind, StringComparer.Ordinal).ThenBy(g => g.Key.Algorithm, StringComparer.Ordinal))
        {
            t.AddRow(g.Key.Kind, g.Key.Algorithm, g.Count().ToString(CultureInfo.InvariantCulture), Scaled(g.Sum(c => (double)c.Bytes), "B"),
                Seconds(Ps.ToSeconds(g.Sum(c => c.DurationPs))), Scaled(g.Average(c => c.BusBandwidth_Bps), "B/s"));
        }
        return t;
    }

    /// <summary>An enum name as the command line spells it: AllReduce → all-reduce.</summary>
    internal static string SystemReportKebab(string pascal) =>
        string.Concat(pascal.Select((ch, i) => char.IsUpper(ch) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(ch) : ch.ToString()));

    internal static Table Table(string title, params (string Name, bool Right)[] columns) => TableReport.NewTable(title, columns);

    // The system tables print through the reports' one formatter of quantities.
    internal static string Num(double v, int decimals) => v.ToString("N" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    internal static string Pct(double fraction) => Quantities.Percent(fraction);

    internal static string Seconds(double s) => Quantities.Time(s);

    internal static string Joules(double j) => Quantities.Energy(j);

    internal static string Scaled(double v, string unit) => Quantities.Scaled(v, unit);
}
