using System.Globalization;
using AccelSim.Core.Devices;
using AccelSim.Core.Metrics;
using AccelSim.Core.Time;
using AccelSim.Reports.Internal;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace AccelSim.Reports;

/// <summary>The human summary of a run (<c>--format table</c>): what ran where, the key figures, the
/// memory wall with a verdict, memory per tier (with a warning for any tier over capacity), the
/// energy breakdown, time by op kind and the longest ops. Units are scaled for reading (ms/us, GB,
/// TFLOP/s); every number is formatted with the invariant culture.</summary>
public static class TableReport
{
    public const int DefaultTopOps = 10;

    /// <summary>Renders the summary. <paramref name="allOps"/> lists every op instead of the
    /// <paramref name="topOps"/> longest. <paramref name="perTokenFigures"/> false leaves out tokens/s and
    /// tokens/J (a single kernel processes no tokens of its own).</summary>
    public static void Render(RunMetrics m, IAnsiConsole console, bool allOps = false, int topOps = DefaultTopOps, bool perTokenFigures = true)
    {
        ArgumentNullException.ThrowIfNull(m);
        ArgumentNullException.ThrowIfNull(console);
        var facts = ReportFacts.From(m);

        Header(m, console, perTokenFigures);
        console.Write(KeyFigures(m, perTokenFigures, facts));
        if (m.Interval is { Note: { } note }) console.WriteLine("Interval: " + note);
        console.WriteLine();
        console.Write(MemoryWall(m, facts));
        console.MarkupLine(VerdictLine(m, facts));
        if (m.HostDispatchS > 0)
        {
            var idle = m.LatencyS > 0 ? m.DeviceIdleS / m.LatencyS : 0;
            console.MarkupLine(JsonReport.LaunchBound(m)
                ? $"[bold yellow]Launch-bound:[/] the device is idle {Units.Percent(idle)} of the run, waiting for the host to issue work ({Units.Time(m.HostDispatchS)} of host dispatch)."
                : $"Host dispatch {Units.Time(m.HostDispatchS)}; the device is idle {Units.Percent(idle)} of the run.");
        }
        console.WriteLine();
        console.Write(Memory(m));
        if (m.Memory.BytesMovedByChannel.Count > 0) console.Write(Links(m));
        foreach (var warning in CapacityWarnings(m)) console.MarkupLine("[bold red]WARNING[/] " + Markup.Escape(warning));
        console.WriteLine();
        console.Write(Energy(m));
        if (m.Carbon is not null) console.Write(CarbonTable(m));
        console.WriteLine();
        console.Write(TimeByKind(facts));
        console.WriteLine();
        console.Write(Ops(m, facts, allOps ? int.MaxValue : Math.Max(0, topOps)));
    }

    /// <summary>Renders to a plain-text string (no colour, no ANSI codes), <paramref name="width"/> columns wide.</summary>
    public static string RenderToString(RunMetrics m, bool allOps = false, int width = 120)
    {
        using var sw = new StringWriter(System.Globalization.CultureInfo.InvariantCulture) { NewLine = "\n" };
        var console = PlainConsole(sw, width);
        Render(m, console, allOps);
        return sw.ToString();
    }

    /// <summary>A console that writes plain text to <paramref name="writer"/>: no colour, no ANSI
    /// escapes, not interactive, fixed width. For files, pipes and tests.</summary>
    public static IAnsiConsole PlainConsole(TextWriter writer, int width = 120)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = width;
        return console;
    }

    /// <summary>One line per tier whose peak occupancy exceeded its capacity.</summary>
    public static IReadOnlyList<string> CapacityWarnings(RunMetrics m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var list = new List<string>();
        foreach (var tier in m.Memory.OverCapacityBytes.Keys.Order(StringComparer.Ordinal))
        {
            var spilled = m.Memory.OverCapacityBytes[tier];
            if (spilled <= 0) continue;
            var cap = m.Memory.CapacityBytes.GetValueOrDefault(tier);
            var peak = m.Memory.PeakBytes.GetValueOrDefault(tier);
            list.Add($"tier '{tier}' is over capacity: peak {Units.Bytes(peak)} > capacity {Units.Bytes(cap)} " +
                     $"({Units.Bytes(spilled)} do not fit: use --placement offload to stream them from a slower tier)");
        }
        return list;
    }

    private static void Header(RunMetrics m, IAnsiConsole console, bool perTokenFigures = true)
    {
        var w = m.Workload;
        var line = $"[bold]{Markup.Escape(m.DisplayName)}[/] ({Markup.Escape(m.HardwareKind)}) | " +
                   $"[bold]{Markup.Escape(w.Name)}[/] | phase {Markup.Escape(w.Phase)} | " +
                   (perTokenFigures ? $"batch {w.Batch} | seq {w.SeqLen} | context {w.Context} | {Units.Count(w.Tokens)} tokens | " : "") +
                   $"{m.OpCount} ops | schedule {Markup.Escape(m.Schedule)}";
        console.Write(new Rule("[bold]AccelSim run[/]").LeftJustified());
        console.MarkupLine(line);
        // The software stack and launch mode, for workloads built from a model (docs/stacks.md); the
        // provenance lines name them when the run has provenance.
        var stack = new List<string>();
        if (w.Stack is not null) stack.Add($"stack {Markup.Escape(w.Stack)}");
        if (w.Launch is not null) stack.Add($"launch {Markup.Escape(w.Launch)}");
        if (stack.Count > 0 && m.Provenance is null) console.MarkupLine(string.Join(" | ", stack));
        if (m.Launch?.Note(w) is { } note) console.MarkupLine(Markup.Escape(note));
        if (m.Provenance is { } p)
            foreach (var l in ProvenanceLines(p)) console.WriteLine(l);
        console.WriteLine();
    }

    /// <summary>The inputs of a report as plain lines: files and hashes (first 8 hex digits), overrides,
    /// stack and launch mode, parameters by tag and the estimate share.</summary>
    public static IReadOnlyList<string> ProvenanceLines(RunProvenance p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var lines = new List<string>
        {
            "Inputs: " + string.Join(", ", p.Files.Select(f => $"{f.Name} (sha256 {f.Sha256[..Math.Min(8, f.Sha256.Length)]})"))
                + $" | stack {p.Stack}, launch {p.Launch}",
        };
        if (p.Overrides.Count > 0)
            lines.Add("Overrides: " + string.Join(", ", p.Overrides.Select(o => $"{o.Key}={o.Value}")));
        var counts = string.Join(", ", p.ParameterCounts.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Value} {k.Key}"));
        var share = p.EstimateTimeShare is { } s
            ? $"; {Units.Percent(s)} of busy time depends on estimates (latency {SignedPercent(p.EstimateLatencyChange ?? 0)} with estimates x{Units.Num(p.EstimatePerturbation, 3)})"
            : "";
        lines.Add($"Parameters: {counts}{share}");
        return lines;
    }

    private static string SignedPercent(double fraction) => (fraction >= 0 ? "+" : "") + Units.Percent(fraction);

    /// <summary>"48.872 ms (90% interval 43.671-54.627 ms)", or the figure with the reason there is no interval.</summary>
    public static string WithInterval(double value, double? low, double? high, Func<double, string> format, PredictionInterval? iv)
    {
        ArgumentNullException.ThrowIfNull(format);
        var text = format(value);
        if (iv is null || low is null || high is null) return text;
        var lo = format(low.Value);
        var hi = format(high.Value);
        var loUnit = lo.LastIndexOf(' ');
        var hiUnit = hi.LastIndexOf(' ');
        // One unit for both bounds when they share it: "43.671-54.627 ms".
        var range = loUnit > 0 && hiUnit > 0 && lo[loUnit..] == hi[hiUnit..] ? lo[..loUnit] + "-" + hi : lo + " - " + hi;
        return $"{text} ({Units.Num(iv.Level * 100, 0)}% interval {range})";
    }

    private static Table KeyFigures(RunMetrics m, bool perTokenFigures, ReportFacts facts)
    {
        var t = NewTable("Key figures", ("Figure", false), ("Value", true), ("What it means", false));
        var tokensPerJ = m.Energy.TotalJ > 0 ? m.Workload.Tokens / m.Energy.TotalJ : 0;
        Row(t, "Latency", WithInterval(m.LatencyS, m.Interval?.LatencyLowS, m.Interval?.LatencyHighS, Units.Time, m.Interval), "first op start to last op end");
        if (perTokenFigures) Row(t, "Throughput", Units.Count(m.TokensPerS) + " tokens/s", "tokens processed / latency");
        Row(t, "Work", Units.Flops(m.TotalFlops), "floating-point operations of the workload");
        Row(t, "Achieved rate", Units.FlopRate(m.LatencyS > 0 ? m.TotalFlops / m.LatencyS : 0), "FLOPs / latency");
        Row(t, "Compute utilisation", Units.Percent(m.ComputeUtilisation), "time the math needs at peak / latency");
        Row(t, "Memory-bandwidth utilisation", Units.Percent(m.MemoryBandwidthUtilisation), "main-memory bytes / (bandwidth x latency)");
        Row(t, "Energy", WithInterval(m.Energy.TotalJ, m.Interval?.EnergyLowJ, m.Interval?.EnergyHighJ, Units.Energy, m.Interval), "dynamic (compute + memory) + static");
        Row(t, "Average power", Num(m.LatencyS > 0 ? m.Energy.TotalJ / m.LatencyS : 0, 1) + " W", "energy / latency");
        Row(t, "Peak power", Num(m.PeakPowerW, 1) + " W", "static + dynamic power of the ops running at once, highest");
        if (perTokenFigures) Row(t, "Energy efficiency", Units.Count(tokensPerJ) + " tokens/J", "tokens processed / energy");
        else
        {
            // A single kernel: what it moves and what limits it, in place of per-token figures.
            Row(t, "Off-chip bytes", Units.Bytes(m.OffChipBytes), "bytes moved over off-chip channels");
            Row(t, "Achieved bandwidth", Units.Rate(m.LatencyS > 0 ? m.OffChipBytes / m.LatencyS : 0), "off-chip bytes / latency");
            Row(t, "Arithmetic intensity", Units.Intensity(m.MemoryWall.ArithmeticIntensity), "FLOPs per off-chip byte");
            Row(t, "Bound", facts.Dominant.Name(), "what limits the kernel: compute, memory, latency or power");
        }
        return t;
    }

    private static Table MemoryWall(RunMetrics m, ReportFacts facts)
    {
        var mw = m.MemoryWall;
        var t = NewTable("Memory wall", ("Figure", false), ("Value", true), ("What it means", false));
        Row(t, "Memory-bound ops", $"{mw.MemoryBoundOps} of {m.Ops.Count}", "ops whose bytes take longer than their math");
        Row(t, "Time in memory-bound ops", Units.Percent(mw.MemoryBoundTimeFraction), "share of the latency");
        Row(t, "Time by bound", $"{Units.Time(facts.ComputeBoundS)} / {Units.Time(facts.MemoryBoundS)} / {Units.Time(facts.LatencyBoundS)} / {Units.Time(facts.PowerBoundS)}",
            "busy time in compute- / memory- / latency- / power-bound ops");
        Row(t, "Stall time", Units.Time(mw.StallS), "time ops waited for data after their math was done");
        Row(t, "Arithmetic intensity", Units.Intensity(mw.ArithmeticIntensity), "FLOPs per off-chip byte, whole run");
        Row(t, "Ridge point", Units.Intensity(mw.RidgePoint), "peak FLOP/s / main-memory bandwidth");
        return t;
    }

    private static string VerdictLine(RunMetrics m, ReportFacts facts)
    {
        var mw = m.MemoryWall;
        var verdict = JsonReport.Verdict(facts);
        var share = facts.TotalOpTimeS > 0 ? facts.TimeS(facts.Dominant) / facts.TotalOpTimeS : 0;
        var cmp = mw.ArithmeticIntensity < mw.RidgePoint ? "below" : "at or above";
        var intensity = double.IsPositiveInfinity(mw.ArithmeticIntensity)
            ? "no byte leaves the chip (arithmetic intensity unbounded)"
            : $"arithmetic intensity {Units.Intensity(mw.ArithmeticIntensity)} is {cmp} the ridge point {Units.Intensity(mw.RidgePoint)}";
        var colour = facts.Dominant switch { Bound.Memory => "yellow", Bound.Compute => "green", Bound.Power => "red", _ => "blue" };
        // Which link the bytes wait on: on a device whose traffic stays on chip (a wafer's fabric), the
        // memory wall is not its main memory.
        var waitingOn = "";
        if (facts.Dominant == Bound.Memory && m.Memory.StallSByChannel.Count > 0)
        {
            var (channel, stall) = m.Memory.StallSByChannel.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).First();
            if (stall > 0) waitingOn = $", most of the wait on {channel.EscapeMarkup()}";
        }
        // Power-bound: the limit and the clock it held (time-weighted over the power-bound ops).
        var held = facts.Dominant == Bound.Power && facts.Power is { } p
            ? string.Create(CultureInfo.InvariantCulture, $"the {p.CapW:#,0} W cap holds the {p.Clock.EscapeMarkup()} at {p.ClockHz / 1e6:#,0} MHz; ")
            : "";
        return $"Verdict: [bold {colour}]{verdict} overall[/]: {held}{Units.Percent(share)} of busy time in {facts.Dominant.Name()}-bound ops{waitingOn}; " +
               intensity + ".";
    }

    private static Table Memory(RunMetrics m)
    {
        var t = NewTable("Memory per tier", ("Tier", false), ("Capacity", true), ("Peak", true), ("Peak / capacity", true),
            ("Spilled here", true), ("Over capacity", true), ("Bytes moved", true));
        var mem = m.Memory;
        var tiers = mem.CapacityBytes.Keys.Concat(mem.PeakBytes.Keys).Concat(mem.SpilledBytes.Keys).Concat(mem.BytesMoved.Keys)
            .Distinct().Order(StringComparer.Ordinal);
        foreach (var tier in tiers)
        {
            var cap = mem.CapacityBytes.GetValueOrDefault(tier);
            var peak = mem.PeakBytes.GetValueOrDefault(tier);
            var spilled = mem.OverCapacityBytes.GetValueOrDefault(tier);
            var placedHere = mem.SpilledBytes.GetValueOrDefault(tier);
            var fill = cap > 0 ? Units.Percent(peak / (double)cap) : "n/a";
            t.AddRow(
                new Text(tier),
                new Text(Units.Bytes(cap)),
                new Text(Units.Bytes(peak)),
                spilled > 0 ? new Markup("[bold red]" + Markup.Escape(fill) + "[/]") : new Text(fill),
                new Text(Units.Bytes(placedHere)),
                spilled > 0 ? new Markup("[bold red]" + Markup.Escape(Units.Bytes(spilled)) + "[/]") : new Text(Units.Bytes(spilled)),
                new Text(Units.Bytes(mem.BytesMoved.GetValueOrDefault(tier))));
        }
        return t;
    }

    private static Table Links(RunMetrics m)
    {
        var t = NewTable("Memory per link", ("Channel", false), ("Bytes moved", true), ("Engines stalled on it", true), ("Share of latency", true));
        var mem = m.Memory;
        foreach (var ch in mem.BytesMovedByChannel.Keys.Concat(mem.StallSByChannel.Keys).Distinct().Order(StringComparer.Ordinal))
        {
            var stall = mem.StallSByChannel.GetValueOrDefault(ch);
            Row(t, ch, Units.Bytes(mem.BytesMovedByChannel.GetValueOrDefault(ch)), Units.Time(stall),
                Units.Percent(m.LatencyS > 0 ? stall / m.LatencyS : 0));
        }
        return t;
    }

    private static Table CarbonTable(RunMetrics m)
    {
        var c = m.Carbon!;
        var t = NewTable("Carbon", ("Part", false), ("Per run", true), ("Per million tokens", true), ("How", false));
        Row(t, "operational", Grams(c.OperationalG), Grams(c.OperationalGPerMillionTokens),
            $"energy x PUE {Num(c.Inputs.Pue, 2)} x {Num(c.Inputs.GridIntensityGPerKWh, 0)} gCO2e/kWh");
        Row(t, "embodied", Grams(c.EmbodiedG), Grams(c.EmbodiedGPerMillionTokens),
            $"{Num(c.Inputs.EmbodiedKgCO2e, 0)} kgCO2e over {Num(c.Inputs.LifetimeYears, 1)} years, x latency");
        Row(t, "total", Grams(c.TotalG), Grams(c.GPerMillionTokens), "");
        return t;
    }

    private static string Grams(double g) => Quantities.CarbonGrams(g);

    private static Table Energy(RunMetrics m)
    {
        var e = m.Energy;
        var t = NewTable("Energy breakdown", ("Part", false), ("Energy", true), ("Share", true));
        void Add(string name, double j) => Row(t, name, Units.Energy(j), Units.Percent(e.TotalJ > 0 ? j / e.TotalJ : 0));
        Add("compute", e.ComputeJ);
        foreach (var tier in e.MemoryJ.Keys.Order(StringComparer.Ordinal)) Add("memory " + tier, e.MemoryJ[tier]);
        Add("static", e.StaticJ);
        Add("total", e.TotalJ);
        return t;
    }

    private static Table TimeByKind(ReportFacts facts)
    {
        var t = NewTable("Time by op kind", ("Kind", false), ("Ops", true), ("Time", true), ("% of busy time", true), ("Mostly", false));
        foreach (var k in facts.ByKind)
            Row(t, k.Kind, k.Ops.ToString(System.Globalization.CultureInfo.InvariantCulture), Units.Time(k.TimeS),
                Units.Percent(k.Fraction), k.DominantBound.Name() + "-bound");
        return t;
    }

    private static Table Ops(RunMetrics m, ReportFacts facts, int limit)
    {
        var order = facts.OpsByTime(m);
        var shown = Math.Min(limit, order.Length);
        var title = shown == order.Length ? $"All {order.Length} ops by time" : $"Top {shown} of {order.Length} ops by time";
        // The engine column appears only when the device has several engines in use.
        var engines = m.Ops.Select(o => o.Engine).Distinct().Count() > 1;
        var columns = new List<(string, bool)> { ("#", true), ("Op", false), ("Kind", false) };
        if (engines) columns.Add(("Engine", false));
        columns.AddRange([("Time", true), ("% busy", true), ("Achieved", true), ("FLOP/B", true), ("Bound", false), ("Energy", true)]);
        var t = NewTable(title, columns.ToArray());
        // Only the op name wraps; figures stay on one line.
        for (var c = 0; c < t.Columns.Count; c++)
            if (c != 1) t.Columns[c].NoWrap();
        var cells = new List<string>(columns.Count);
        for (var r = 0; r < shown; r++)
        {
            var i = order[r];
            var o = m.Ops[i];
            var time = facts.OpTimeS[i];
            cells.Clear();
            cells.AddRange([o.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), o.Name, o.Kind]);
            if (engines) cells.Add(o.Engine);
            cells.AddRange([
                Units.Time(time),
                Units.Percent(facts.TotalOpTimeS > 0 ? time / facts.TotalOpTimeS : 0),
                Units.FlopRate(time > 0 ? o.Flops / time : 0),
                Units.Num(o.ArithmeticIntensity, o.ArithmeticIntensity >= 100 ? 1 : 2),
                o.Bound.Name(),
                Units.Energy(o.EnergyJ),
            ]);
            Row(t, cells.ToArray());
        }
        return t;
    }

    /// <summary>A rounded table with a bold title and one column per (name, right-aligned) pair: the look of
    /// every table the command line prints.</summary>
    public static Table NewTable(string title, params (string Name, bool Right)[] columns)
    {
        var t = new Table().Border(TableBorder.Rounded).Title("[bold]" + Markup.Escape(title) + "[/]");
        foreach (var (name, right) in columns)
        {
            var c = new TableColumn(new Text(name));
            if (right) c.RightAligned();
            t.AddColumn(c);
        }
        return t;
    }

    private static void Row(Table t, params string[] cells)
    {
        var items = new IRenderable[cells.Length];
        for (var i = 0; i < cells.Length; i++) items[i] = new Text(cells[i]);
        t.AddRow(items);
    }

    private static string Num(double v, int decimals) => Units.Num(v, decimals);
}
