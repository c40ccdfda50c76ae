using System.CommandLine;
using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Reports;
using Newtonsoft.Json.Linq;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim sweep</c>: many runs of a design space (docs/sweeps.md) into a DuckDB table, in
/// parallel, resumable, sliced into shards for a cluster's batch scheduler; <c>sweep merge</c> joins the
/// shards' databases and <c>sweep export</c> writes a table as CSV or Parquet.</summary>
public static class SweepCommand
{
    public static Command Create(CliContext cli)
    {
        var c = new Command("sweep", "Run every point of a design-space sweep (spec.json) and store one row per point in a DuckDB database");
        var spec = new Argument<string>("spec") { Description = "The sweep spec (JSON: base, axes, sampler, constraints; docs/sweeps.md)" };
        var db = new Option<string>("--db") { Description = "DuckDB database of results; points already in it are skipped (resume)", Required = true };
        var shard = new Option<string?>("--shard") { Description = "Run only slice i of N (i/N, 0 <= i < N): the points whose id modulo N is i" };
        var csv = new Option<string?>("--csv") { Description = "Also write the table (ordered by point id) to this CSV file" };
        var jobs = new Option<int?>("--jobs") { Description = "Points run at once (default: the processor count)" };
        c.Arguments.Add(spec);
        foreach (var o in new Option[] { db, shard, csv, jobs }) c.Options.Add(o);
        c.SetAction(p => Sweep(cli, p.GetValue(spec)!, p.GetValue(db)!, p.GetValue(shard), p.GetValue(csv), p.GetValue(jobs), p.GetValue(CommonOptions.Plugins)));
        c.Subcommands.Add(MergeCommand(cli));
        c.Subcommands.Add(ExportCommand(cli));
        foreach (var sub in SweepAnalysisCommands.Create(cli)) c.Subcommands.Add(sub);
        return c;
    }

    /// <summary>The option names <c>run</c> takes, without their dashes: what a spec may name.</summary>
    public static IReadOnlySet<string> RunOptionNames(CliContext cli) =>
        RunCommand.Create(cli).Options.Select(o => o.Name.TrimStart('-')).ToHashSet(StringComparer.Ordinal);

    /// <summary>Runs one point through the same path as <c>accelsim run --format json</c> and returns its
    /// outcome: the report, or the error <c>run</c> printed.</summary>
    public static SweepOutcome RunPoint(SweepPoint point, bool requireFits, string? plugins = null)
    {
        ArgumentNullException.ThrowIfNull(point);
        var args = new List<string>(point.Arguments) { "--format", "json" };
        if (plugins is not null) args.AddRange(["--plugins", plugins]);
        var stdout = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        var stderr = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        int code;
        try
        {
            code = AccelSimApp.Run([.. args], stdout, stderr);
        }
#pragma warning disable CA1031 // a point that fails in any way is recorded and the sweep goes on
        catch (Exception e)
#pragma warning restore CA1031
        {
            return new SweepOutcome("error", $"internal error: {e.GetType().Name}: {e.Message}", null);
        }
        if (code != 0)
        {
            var message = string.Join('\n', stderr.ToString().Trim().Split('\n').Select(l => l.StartsWith("error: ", StringComparison.Ordinal) ? l["error: ".Length..] : l));
            return new SweepOutcome("error", message.Length > 0 ? message : $"run exited with code {code}", null);
        }
        var report = JObject.Parse(stdout.ToString());
        if (requireFits && SweepStore.Fits(report) == false)
            return new SweepOutcome("skipped", "does not fit in memory (constraints.fits)", report);
        return new SweepOutcome("ok", null, report);
    }

    /// <summary>Parses <c>--shard i/N</c>.</summary>
    public static (int Index, int Count) ParseShard(string? text)
    {
        if (text is null) return (0, 1);
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && n >= 1 && i < n)
            return (i, n);
        throw new InputException(null, "--shard", $"expected i/N with 0 <= i < N (e.g. 3/16), got '{text}'");
    }

    private static int Sweep(CliContext cli, string specPath, string dbPath, string? shardText, string? csv, int? jobs, string? plugins)
    {
        var (shardIndex, shardCount) = ParseShard(shardText);
        if (jobs is < 1) throw new InputException(null, "--jobs", $"expected at least 1, got {jobs}");
        Hosting.OutputFiles.Check((csv, "--csv"));
        var spec = SweepSpec.Load(specPath, RunOptionNames(cli));
        var points = spec.Enumerate();
        using var store = SweepStore.Open(dbPath, "--db");
        store.Create(spec);
        var done = store.Done();
        var todo = new List<SweepPoint>();
        var resumed = 0;
        foreach (var pt in points)
        {
            if (pt.Id % shardCount != shardIndex) continue;
            if (done.TryGetValue(pt.Id, out var hash))
            {
                if (hash != pt.Hash)
                {
                    throw new InputException(dbPath, null,
                        $"point {pt.Id} in the database has other inputs than the spec's point {pt.Id}; it holds another sweep (use a new --db)");
                }
                resumed++;
                continue;
            }
            todo.Add(pt);
        }

        var gate = new object();
        var failed = 0;
        void Work(Action<SweepPoint>? finished) =>
            Parallel.ForEach(todo, new ParallelOptions { MaxDegreeOfParallelism = jobs ?? Environment.ProcessorCount }, pt =>
            {
                ProgressReporter.QuietOnThisThread = true;
                try
                {
                    var outcome = RunPoint(pt, spec.RequireFits, plugins);
                    lock (gate)
                    {
                        store.Insert(spec, pt, outcome);
                        if (outcome.Status == "error") failed++;
                        finished?.Invoke(pt);
                    }
                }
                finally
                {
                    ProgressReporter.QuietOnThisThread = false;
                }
            });

        var console = Console.IsErrorRedirected ? null : AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        if (console is not null && console.Profile.Capabilities.Interactive && todo.Count > 0)
        {
            console.Progress().AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("sweep", maxValue: todo.Count);
                    Work(_ => task.Increment(1));
                });
        }
        else
        {
            Work(null);
        }

        if (csv is not null) store.Export(csv, "csv");
        var counts = store.CountByStatus();
        var shardNote = shardCount > 1 ? $" ({todo.Count + resumed} in shard {shardIndex}/{shardCount})" : "";
        cli.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sweep: {points.Count} points{shardNote}: ran {todo.Count}, {resumed} already in {Path.GetFileName(dbPath)}; "
            + $"table {SweepStore.Table}: {string.Join(", ", counts.Select(kv => $"{kv.Value} {kv.Key}"))}"));
        if (failed > 0) cli.Error.WriteLine($"note: {failed} point(s) failed; their errors are in the error column (SELECT point_id, error FROM {SweepStore.Table} WHERE status = 'error')");
        return 0;
    }

    private static Command MergeCommand(CliContext cli)
    {
        var c = new Command("merge", "Merge the databases of a sweep's shards into one");
        var parts = new Argument<string[]>("parts") { Description = "The shards' databases (part-*.duckdb)", Arity = ArgumentArity.OneOrMore };
        var db = new Option<string>("--db") { Description = "The database to merge into (created if needed)", Required = true };
        c.Arguments.Add(parts);
        c.Options.Add(db);
        c.SetAction(p =>
        {
            var files = p.GetValue(parts)!;
            using var store = SweepStore.Open(p.GetValue(db)!, "--db");
            var added = store.Merge(files);
            cli.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sweep merge: {files.Length} part(s), {added} row(s) added to {Path.GetFileName(p.GetValue(db)!)}"));
            return 0;
        });
        return c;
    }

    private static Command ExportCommand(CliContext cli)
    {
        var c = new Command("export", "Write a sweep's result table, ordered by point id, as CSV or Parquet");
        var db = new Option<string>("--db") { Description = "The sweep's database", Required = true };
        var csv = new Option<string?>("--csv") { Description = "Write the table to this CSV file" };
        var parquet = new Option<string?>("--parquet") { Description = "Write the table to this Parquet file" };
        foreach (var o in new Option[] { db, csv, parquet }) c.Options.Add(o);
        c.SetAction(p =>
        {
            if (p.GetValue(csv) is null && p.GetValue(parquet) is null)
                throw new InputException(null, "--csv/--parquet", "give --csv, --parquet or both");
            Hosting.OutputFiles.Check((p.GetValue(csv), "--csv"), (p.GetValue(parquet), "--parquet"));
            using var store = SweepStore.Open(p.GetValue(db)!, "--db", readOnly: true);
            if (!store.HasTable()) throw new InputException(p.GetValue(db), null, $"no '{SweepStore.Table}' table; expected a database written by accelsim sweep");
            if (p.GetValue(csv) is { } c1) store.Export(c1, "csv");
            if (p.GetValue(parquet) is { } p1) store.Export(p1, "parquet");
            cli.Out.WriteLine($"sweep export: {string.Join(", ", new[] { p.GetValue(csv), p.GetValue(parquet) }.Where(x => x is not null))}");
            return 0;
        });
        return c;
    }
}
