using System.CommandLine;
using System.Globalization;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Config;
using AccelSim.Core.Metrics;
using AccelSim.Reports;
using Newtonsoft.Json.Linq;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim compare</c>: the same workload on several devices and schedules, side by side.</summary>
public static class CompareCommand
{
    public static Command Create(CliContext cli)
    {
        var c = new Command("compare", "Run one workload on several devices and schedules and print them side by side");
        var hardware = new Option<string>("--hardware") { Required = true, Description = "Comma-separated hardware names or paths" };
        var workload = new WorkloadOptions(c);
        var schedules = new Option<string>("--schedule") { DefaultValueFactory = _ => "sequential", Description = "Comma-separated schedules: sequential, dataflow, auto (eager: alias of --launch eager)" };
        var launch = CommonOptions.Launch();
        var format = CommonOptions.Format();
        var outPath = CommonOptions.Out();
        foreach (var o in new Option[] { hardware, schedules, launch, format, outPath }) c.Options.Add(o);

        c.SetAction(p =>
        {
            var hardwareNames = Split(p.GetValue(hardware)!, "--hardware");
            var scheduleNames = Split(p.GetValue(schedules)!, "--schedule");
            var graph = workload.Build(p);
            var stack = workload.StackFor(p);

            using var services = Composition.Build(p.GetValue(CommonOptions.Plugins));
            var runs = new List<RunMetrics>();
            foreach (var hw in hardwareNames)
            {
                var device = CommonOptions.CreateDevice(services.Registry(), hw, null);
                foreach (var s in scheduleNames)
                {
                    var (sched, mode) = Execution.Launch(s, p.GetValue(launch), stack);
                    if (device is not Core.Simulation.IHostDispatchDevice) mode = "graph"; // no host model: kernel by kernel
                    runs.Add(Execution.Simulate(Execution.Named(graph, mode, stack), device, sched, services.Bus(), null, progress: false).Metrics);
                }
            }

            using var files = new OutputFiles();
            var json = new JObject
            {
                ["schema"] = "accelsim.compare/1",
                ["runs"] = new JArray(runs.Select(r => JsonReport.ToJson(r, includeOps: false))),
            };
            if (p.GetValue(outPath) is { } path)
            {
                using var w = files.Create(path, "--out");
                w.Write(JsonReport.Format(json));
            }
            if (p.GetValue(format) == "json") cli.Out.Write(JsonReport.Format(json));
            else Render(runs, Execution.ConsoleFor(cli.Out));
            files.Commit();
            return 0;
        });
        return c;
    }

    private static string[] Split(string list, string option)
    {
        var items = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (items.Length == 0) throw new InputException(null, option, "expected a comma-separated list");
        return items;
    }

    private static void Render(IReadOnlyList<RunMetrics> runs, IAnsiConsole console)
    {
        var first = runs[0].Workload;
        console.MarkupLine($"[bold]{Markup.Escape(first.Name)}[/] {Markup.Escape(first.Phase)} | batch {first.Batch} | seq {first.SeqLen} | context {first.Context} | {runs[0].OpCount} ops" +
            (first.Stack is null ? "" : $" | stack {Markup.Escape(first.Stack)}") +
            $" | launch {Markup.Escape(string.Join(",", runs.Select(r => r.Workload.Launch ?? "graph").Distinct()))}");
        var table = new Table().AddColumns("hardware", "schedule", "latency", "tokens/s", "compute util", "memory-bw util",
            "off-chip bytes", "memory-bound time", "energy", "tokens/J", "spilled");
        foreach (var col in table.Columns.Skip(2)) col.RightAligned();
        var best = runs.Min(r => r.LatencyS);
        foreach (var r in runs)
        {
            var offChip = r.OffChipBytes;
            var spilled = r.Memory.SpilledBytes.Values.Sum();
            table.AddRow(
                Markup.Escape(r.HardwareName), Markup.Escape(r.Schedule),
                (r.LatencyS == best ? "[bold green]" : "[default]") + Markup.Escape(Seconds(r.LatencyS)) + "[/]",
                r.TokensPerS.ToString("N0", CultureInfo.InvariantCulture),
                Pct(r.ComputeUtilisation), Pct(r.MemoryBandwidthUtilisation),
                Bytes(offChip), Pct(r.MemoryWall.MemoryBoundTimeFraction),
                r.Energy.TotalJ.ToString("0.###", CultureInfo.InvariantCulture) + " J",
                (r.Energy.TotalJ > 0 ? r.Workload.Tokens / r.Energy.TotalJ : 0).ToString("0.##", CultureInfo.InvariantCulture),
                spilled > 0 ? "[yellow]" + Bytes(spilled) + "[/]" : "0");
        }
        console.Write(table);
        console.MarkupLine($"fastest: [bold]{Markup.Escape(runs.First(r => r.LatencyS == best).HardwareName)}[/] ({Markup.Escape(runs.First(r => r.LatencyS == best).Schedule)})");
    }

    private static string Pct(double v) => (v * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";

    private static string Seconds(double s) => s >= 1 ? s.ToString("0.000", CultureInfo.InvariantCulture) + " s"
        : s >= 1e-3 ? (s * 1e3).ToString("0.000", CultureInfo.InvariantCulture) + " ms"
        : (s * 1e6).ToString("0.000", CultureInfo.InvariantCulture) + " us";

    private static string Bytes(long b) => b >= 1e9 ? (b / 1e9).ToString("0.00", CultureInfo.InvariantCulture) + " GB"
        : b >= 1e6 ? (b / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " MB"
        : b.ToString(CultureInfo.InvariantCulture) + " B";
}
