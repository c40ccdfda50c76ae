using System.CommandLine;
using System.Globalization;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Config;
using AccelSim.Core.Metrics;
using AccelSim.Reports;
using AccelSim.Workloads.Models;
using Newtonsoft.Json.Linq;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim compare</c>: the same workload on several devices and schedules, side by side.</summary>
public static class CompareCommand
{
    public static Command Create(CliContext cli)
    {
        var c = new Command("compare", "Run one workload on several devices and schedules and print them side by side");
        var hardware = new Option<string>("--hardware") { Description = "Comma-separated hardware names or paths" };
        var workload = new WorkloadOptions(c);
        var system = new SystemOptions(c);
        foreach (var o in system.Listable) o.Description += "; a comma list compares each";
        var placement = new PlacementOptions(c);
        var schedules = new Option<string?>("--schedule") { Description = "Comma-separated schedules: sequential, dataflow, auto, eager (eager: alias of --launch eager; default: sequential, or eager where the trace or the stack launches eagerly)" };
        var launch = CommonOptions.Launch();
        var set = CommonOptions.Set();
        set.Description = "Override a hardware field on every device: --set memory.hbm.bandwidth_Bps=6.4e12 (repeatable; each device must have the field)";
        var format = CommonOptions.Format();
        var outPath = CommonOptions.Out();
        var html = HtmlOption.Create();
        foreach (var o in new Option[] { hardware, schedules, launch, set, format, outPath, html }) c.Options.Add(o);
        var opsCsv = CommonOptions.OpsCsv();
        opsCsv.Description += "; one block per run, led by hardware and schedule (with --system: plan, schedule and rank)";
        c.Options.Add(opsCsv);

        c.SetAction(p =>
        {
            if (system.OnSystem(p, hardware))
            {
                SystemRun.Refuse(p, [launch, workload.Weights, workload.Sparsity, workload.Trace, html]);
                return CompareSystem(cli, p, workload, system, p.GetValue(schedules), p.GetValue(set), p.GetValue(format)!, p.GetValue(outPath), p.GetValue(opsCsv), placement);
            }
            var hardwareNames = Split(p.GetValue(hardware)!, "--hardware");
            var configs = LoadAll(hardwareNames, p.GetValue(set));
            OutputFiles.Check((p.GetValue(outPath), "--out"), (p.GetValue(opsCsv), "--ops-csv"), (p.GetValue(html), "--html"));
            var graph = workload.Build(p);
            var stack = workload.StackFor(p);
            var explicitSchedules = p.GetValue(schedules);
            var scheduleNames = explicitSchedules is null ? [null] : Split(explicitSchedules, "--schedule").Select(x => (string?)x).ToArray();

            using var services = Composition.Build(p.GetValue(CommonOptions.Plugins));
            var runs = new List<RunMetrics>();
            var rooflines = new List<RooflineData>();
            foreach (var config in configs)
            {
                var device = services.Registry().Create(config);
                var placed = placement.Apply(p, graph, device);
                foreach (var s in scheduleNames)
                {
                    var plan = Execution.PlanLaunch(placed, device, s, p.GetValue(launch), stack);
                    var metrics = Execution.Simulate(plan.Graph, device, plan.Schedule, services.Bus(), null, progress: true).Metrics;
                    runs.Add(Execution.Annotate(metrics with { Launch = plan.Reported },
                        plan.Graph, device, plan.Schedule, new HardwareContext(config, services.Registry(), plan.ScheduleName)));
                    if (p.GetValue(html) is not null) rooflines.Add(Roofline.Build(runs[^1], device));
                }
            }
            var comparison = new Comparison(runs);
            var fastest = comparison.Fastest;

            using var files = new OutputFiles();
            var json = new JObject
            {
                ["schema"] = "accelsim.compare/1",
                ["runs"] = new JArray(comparison.Runs.Select(r =>
                {
                    var o = JsonReport.ToJson(r.Run, includeOps: false);
                    o["fits"] = r.Fits;
                    return o;
                })),
                ["fastest"] = fastest is null ? JValue.CreateNull() : new JObject
                {
                    ["hardware"] = fastest.HardwareName,
                    ["schedule"] = fastest.Schedule,
                },
            };
            if (p.GetValue(outPath) is { } path)
            {
                using var w = files.Create(path, "--out");
                w.Write(JsonReport.Format(json));
            }
            if (p.GetValue(opsCsv) is { } csvPath)
            {
                using var w = files.Create(csvPath, "--ops-csv");
                OpsCsv.Write(w, ["hardware", "schedule"], runs.Select(r => ((IReadOnlyList<string>)[r.DisplayName, r.Schedule], r)));
            }
            if (p.GetValue(html) is { } htmlPath)
            {
                using var w = files.Create(htmlPath, "--html");
                w.Write(Reports.Html.HtmlReport.Compare(runs.Select((r, i) => new Reports.Html.ComparedHtmlRun(r, rooflines[i])).ToArray()));
            }
            if (p.GetValue(format) == "json") cli.Out.Write(JsonReport.Format(json));
            else Render(comparison, Execution.ConsoleFor(cli.Out, width: 180));
            files.Commit();
            return 0;
        });
        return c;
    }

    /// <summary><c>compare --system</c>: the model on one system under every plan of the comma lists of <c>--tp</c>,
    /// <c>--pp</c>, <c>--dp</c> and <c>--pp-schedule</c> (their product) and every <c>--schedule</c>, side by side;
    /// the fastest of the runs that fit is named.</summary>
    private static int CompareSystem(CliContext cli, ParseResult p, WorkloadOptions workload, SystemOptions system,
        string? schedules, IReadOnlyList<string>? sets, string format, string? outPath, string? opsCsvPath = null, PlacementOptions? placementOptions = null)
    {
        OutputFiles.Check((outPath, "--out"), (opsCsvPath, "--ops-csv"));
        var spec = Workloads.Configs.SystemConfigLoader.LoadNamed(p.GetValue(system.System)!);
        var nodes = p.GetValue(system.Nodes);
        var (model, request) = workload.ModelRequest(p);
        var fabric = SystemRun.Fabric(spec, nodes);
        var plans = system.Plans(p, lists: true);
        var scheduleNames = schedules is null ? [null] : Split(schedules, "--schedule").Select(x => (string?)x).ToArray();

        // The placement applies per rank of every plan (docs/systems.md, "Memory placement per rank"); a run that
        // does not fit is shown as such, as without it.
        using var services = Composition.Build(p.GetValue(CommonOptions.Plugins));
        var placement = placementOptions is null ? null : SystemPlacement.Of(p, placementOptions, spec, services.Registry(), sets);

        // Every plan is bound before anything runs, so a bad one is reported at once with the others.
        var workloads = new List<SystemWorkload>();
        var problems = new List<InputProblem>();
        foreach (var plan in plans)
        {
            try
            {
                workloads.Add(SystemRun.FromModel(model, request, plan, fabric, placement));
            }
            catch (InputException e)
            {
                problems.AddRange(e.Problems.Select(q => q with { Message = $"{Describe(plan)}: {q.Message}" }));
            }
        }
        if (problems.Count > 0) throw new InputException(problems);

        var runs = new List<SystemRunOutcome>();
        foreach (var w in workloads)
            foreach (var s in scheduleNames)
                runs.Add(SystemRun.Simulate(spec, nodes, w, services.Registry(), sets, s));
        var fastest = runs.Where(r => r.Fits).OrderBy(r => r.Result.MakespanPs).FirstOrDefault();

        using var files = new OutputFiles();
        var json = new JObject
        {
            ["schema"] = "accelsim.compare/1",
            ["system"] = spec.Name,
            ["runs"] = new JArray(runs.Select(r => SystemRun.ToJson(r, includeSegments: false))),
            ["fastest"] = fastest is null ? JValue.CreateNull() : new JObject
            {
                ["plan"] = fastest.Workload.Plan!.ToString(),
                ["schedule"] = fastest.ScheduleName,
            },
        };
        if (outPath is not null)
        {
            using var w = files.Create(outPath, "--out");
            w.Write(JsonReport.Format(json));
        }
        if (opsCsvPath is not null)
        {
            using var w = files.Create(opsCsvPath, "--ops-csv");
            OpsCsv.Write(w, ["plan", "schedule", "rank"], runs.SelectMany(r => r.Result.Ranks.Select(k =>
                ((IReadOnlyList<string>)[r.Workload.Plan!.ToString(), r.ScheduleName, k.Rank.ToString(CultureInfo.InvariantCulture)], k.Metrics))));
        }
        if (format == "json") cli.Out.Write(JsonReport.Format(json));
        else RenderSystem(runs, fastest, Execution.ConsoleFor(cli.Out, width: 220));
        files.Commit();
        return 0;
    }

    private static string Describe(Workloads.Parallel.ParallelismOptions o) =>
        $"tp{o.Tp} pp{o.Pp} dp{o.Dp} {Workloads.Parallel.ParallelPlan.Name(o.Schedule)}";

    private static void RenderSystem(IReadOnlyList<SystemRunOutcome> runs, SystemRunOutcome? fastest, IAnsiConsole console)
    {
        var first = runs[0];
        var req = first.Workload.Request!;
        console.MarkupLine($"[bold]{Markup.Escape(first.Workload.Model!.Name)}[/] {Markup.Escape(req.Phase.Name())} | global batch {first.Workload.Plan!.GlobalBatch} | seq {req.Seq} | context {req.Context} " +
            $"on [bold]{Markup.Escape(first.Spec.Name)}[/] | {first.Nodes} node{(first.Nodes == 1 ? "" : "s")}, {first.Result.SystemRanks} devices");
        var table = new FittedTable(["plan", "schedule"], [.. new[] { "devices", "iteration", "tokens/s", "model FLOP/s per device", "% of peak",
            "compute busy", "comm exposed", "memory peak / capacity", "fits", "energy per step", "tokens/J" }.Select(h => (h, true))]);
        foreach (var r in runs)
        {
            var worst = SystemRun.Fullest(r.Result.Ranks);
            var tokens = r.Workload.Tokens ?? 0;
            table.AddRow([r.Workload.Plan!.ToString(), r.ScheduleName], [
                r.Workload.DevicesUsed.ToString(CultureInfo.InvariantCulture),
                (ReferenceEquals(r, fastest) ? "[bold green]" : "[default]") + Markup.Escape(SystemRun.Seconds(r.IterationS)) + "[/]",
                SystemRun.Num(r.IterationS > 0 ? tokens / r.IterationS : 0, 1),
                SystemRun.Scaled(r.ModelFlopsPerDevicePerS ?? 0, "FLOP/s"),
                SystemRun.Pct(r.PeakFlopsPerDevice > 0 ? (r.ModelFlopsPerDevicePerS ?? 0) / r.PeakFlopsPerDevice : 0),
                SystemRun.Pct(r.IterationS > 0 ? r.MeanComputeBusyS / r.IterationS : 0),
                SystemRun.Seconds(r.MeanExposedCommS),
                worst is null ? "n/a" : Markup.Escape($"{worst.Tier} {SystemRun.Scaled(worst.PeakBytes, "B")} / {SystemRun.Scaled(worst.CapacityBytes, "B")}"),
                r.Fits ? "yes" : "[bold red]no[/]",
                SystemRun.Joules(r.StepEnergyJ),
                SystemRun.Num(r.StepEnergyJ > 0 ? tokens / r.StepEnergyJ : 0, 2)]);
        }
        table.Write(console);
        console.WriteLine("model FLOP/s: the unsharded model's FLOPs of the step (no recomputation) / iteration time / devices; compute busy and comm exposed: mean of the simulated devices");
        console.WriteLine("Inputs: " + string.Join(", ", first.Provenance.Files.Select(f => $"{f.Name} (sha256 {f.Sha256[..8]})")));
        if (fastest is not null)
            console.MarkupLine($"fastest: [bold]{Markup.Escape(fastest.Workload.Plan!.ToString())}[/] ({Markup.Escape(fastest.ScheduleName)})" + (runs.Any(r => !r.Fits) ? " of the runs that fit" : ""));
        else
            console.MarkupLine("fastest: [bold red]none[/]: no plan fits in its devices' memory");
    }

    /// <summary>Every device's config with the --set overrides applied; a key some device lacks is
    /// reported for each such device, all at once.</summary>
    private static List<HardwareConfig> LoadAll(IEnumerable<string> names, IReadOnlyList<string>? sets)
    {
        var configs = new List<HardwareConfig>();
        var problems = new List<InputProblem>();
        foreach (var name in names)
        {
            try
            {
                configs.Add(CommonOptions.LoadHardware(name, sets));
            }
            catch (InputException e)
            {
                problems.AddRange(e.Problems);
            }
        }
        if (problems.Count > 0) throw new InputException(problems);
        return configs;
    }

    /// <summary>"does not fit: needs X of hbm, has Y" for every tier the run overflows.</summary>
    private static string DoesNotFit(ComparedRun run) =>
        "does not fit: " + string.Join("; ", run.Overflows.Select(o => $"needs {Bytes(o.PeakBytes)} of {o.Tier}, has {Bytes(o.CapacityBytes)}"));

    private static string[] Split(string list, string option)
    {
        var items = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (items.Length == 0) throw new InputException(null, option, "expected a comma-separated list");
        return items;
    }

    private static void Render(Comparison comparison, IAnsiConsole console)
    {
        var runs = comparison.Runs.Select(r => r.Run).ToArray();
        var fastest = comparison.Fastest;
        var first = runs[0].Workload;
        console.MarkupLine($"[bold]{Markup.Escape(first.Name)}[/] {Markup.Escape(first.Phase)} | batch {first.Batch} | seq {first.SeqLen} | context {first.Context} | {runs[0].OpCount} ops" +
            (first.Stack is null ? "" : $" | stack {Markup.Escape(first.Stack)}") +
            $" | launch {Markup.Escape(string.Join(",", runs.Select(r => r.Workload.Launch ?? "graph").Distinct()))}");
        if (runs[0].Launch?.Note(first) is { } note) console.MarkupLine(Markup.Escape(note));
        var table = new FittedTable(["hardware", "schedule"], [.. new[] { "latency", "tokens/s", "compute util", "memory-bw util",
            "off-chip bytes", "memory-bound time", "energy", "tokens/J", "spilled", "over capacity", "on estimates" }.Select(h => (h, true))]);
        foreach (var c in comparison.Runs)
        {
            var r = c.Run;
            var spilled = c.SpilledBytes;
            var over = c.Overflows.Select(o => $"{o.Tier} {Bytes(o.OverBytes)}").ToList();
            table.AddRow([r.DisplayName, r.Schedule], [
                (ReferenceEquals(r, fastest) ? "[bold green]" : "[default]") + Markup.Escape(Seconds(r.LatencyS)) + "[/]",
                r.TokensPerS.ToString("N0", CultureInfo.InvariantCulture),
                Pct(r.ComputeUtilisation), Pct(r.MemoryBandwidthUtilisation),
                Bytes(r.OffChipBytes), Pct(r.MemoryWall.MemoryBoundTimeFraction),
                Quantities.Energy(r.Energy.TotalJ),
                c.TokensPerJ.ToString("0.##", CultureInfo.InvariantCulture),
                spilled > 0 ? "[yellow]" + Bytes(spilled) + "[/]" : "0",
                over.Count > 0 ? "[bold red]" + Markup.Escape(string.Join(", ", over)) + "[/]" : "0",
                r.Provenance?.EstimateTimeShare is { } share ? Pct(share) : "n/a"]);
        }
        table.Write(console);
        foreach (var r in runs)
        {
            if (r.Interval is not { HasBounds: true } iv) continue;
            var energy = iv.EnergyLowJ is { } lo && iv.EnergyHighJ is { } hi
                ? $", energy {Quantities.Energy(lo)}-{Quantities.Energy(hi)}" : "";
            console.WriteLine($"{r.DisplayName} {r.Schedule}: {(iv.Level * 100).ToString("0", CultureInfo.InvariantCulture)}% interval latency {Seconds(iv.LatencyLowS!.Value)}-{Seconds(iv.LatencyHighS!.Value)}{energy}");
        }
        var without = runs.Where(r => r.Interval is { HasBounds: false }).Select(r => r.DisplayName).Distinct().ToArray();
        if (without.Length > 0)
            console.WriteLine($"no interval for {string.Join(", ", without)}: no measurements (docs/validation.md, error bars)");
        console.WriteLine("on estimates: share of busy time whose duration changes when every estimate-tagged parameter moves 10% (x1.1, or 1/1.1 where x1.1 breaks a constraint)");
        foreach (var r in runs.DistinctBy(r => r.HardwareName))
            if (r.Provenance is { } p)
                console.WriteLine($"{r.DisplayName}: " + string.Join(", ", p.Files.Select(f => $"{f.Name} (sha256 {f.Sha256[..8]})")) + $" | stack {p.Stack}");
        foreach (var c in comparison.Runs.Where(c => !c.Fits))
            console.MarkupLine($"[bold red]{Markup.Escape(c.Run.HardwareName)} ({Markup.Escape(c.Run.Schedule)}) {Markup.Escape(DoesNotFit(c))}[/]");
        if (fastest is not null)
        {
            var excluded = comparison.AnyDoesNotFit ? " of the runs that fit" : "";
            console.MarkupLine($"fastest: [bold]{Markup.Escape(fastest.HardwareName)}[/] ({Markup.Escape(fastest.Schedule)}){excluded}");
        }
        else
        {
            console.MarkupLine("fastest: [bold red]none[/]: no run fits in its device's memory (--placement offload streams what does not fit from a slower tier)");
        }
    }

    private static string Pct(double v) => Quantities.Percent(v);

    private static string Seconds(double s) => Quantities.Time(s);

    private static string Bytes(long b) => Quantities.Bytes(b);
}
