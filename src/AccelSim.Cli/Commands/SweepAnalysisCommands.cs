using System.CommandLine;
using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Reports.Plots;
using AccelSim.Reports.Sweeps;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary>The analysis half of a sweep (docs/sweeps.md): <c>sweep plot</c> draws two columns of the result
/// table, <c>sweep pareto</c> lists its non-dominated points, <c>sweep query</c> runs read-only SQL on it.</summary>
public static class SweepAnalysisCommands
{
    /// <summary>One objective of a Pareto front: a numeric column, minimised unless written <c>max:column</c>.</summary>
    public sealed record Objective(string Column, bool Maximise)
    {
        public override string ToString() => Maximise ? "max:" + Column : Column;
    }

    public static IEnumerable<Command> Create(CliContext cli) => [Plot(cli), Pareto(cli), Query(cli)];

    private static Option<string> DbOption() => new("--db") { Description = "The sweep's database", Required = true };

    private static Option<string?> WhereOption() => new("--where")
    {
        Description = "Only the rows this SQL condition selects (e.g. \"status = 'ok' AND phase = 'decode'\")",
    };

    private static Command Plot(CliContext cli)
    {
        var c = new Command("plot", "Plot one column of a sweep's table against another (PNG or SVG), one series per value of --color");
        var db = DbOption();
        var x = new Option<string>("--x") { Description = "The numeric column on the x axis", Required = true };
        var y = new Option<string>("--y") { Description = "The numeric column on the y axis", Required = true };
        var color = new Option<string?>("--color") { Description = "One series (colour) per distinct value of this column" };
        var where = WhereOption();
        var logX = new Option<bool>("--log-x") { Description = "Logarithmic x axis (every x must be positive)" };
        var logY = new Option<bool>("--log-y") { Description = "Logarithmic y axis (every y must be positive)" };
        var title = new Option<string?>("--title") { Description = "The plot's title (default: y against x)" };
        var pareto = new Option<string?>("--pareto")
        {
            Description = "Draw the Pareto front of these numeric columns (two or more, comma-separated, each minimised; max:column maximises it)",
        };
        var out_ = new Option<string>("--out") { Description = "The image to write: .png or .svg", Required = true };
        foreach (var o in new Option[] { db, x, y, color, where, logX, logY, title, pareto, out_ }) c.Options.Add(o);
        c.SetAction(p => PlotCommand(cli, p.GetValue(db)!, p.GetValue(x)!, p.GetValue(y)!, p.GetValue(color), p.GetValue(where),
            p.GetValue(logX), p.GetValue(logY), p.GetValue(title), p.GetValue(pareto), p.GetValue(out_)!));
        return c;
    }

    private static int PlotCommand(CliContext cli, string dbPath, string xName, string yName, string? colorName, string? where,
        bool logX, bool logY, string? title, string? paretoText, string outPath)
    {
        var format = Path.GetExtension(outPath).TrimStart('.').ToLowerInvariant();
        if (!SweepPlot.Formats.Contains(format))
            throw new InputException(null, "--out", $"'{outPath}': unknown image format '{Path.GetExtension(outPath)}'; expected a file ending in .png or .svg");
        Hosting.OutputFiles.Check((outPath, "--out"));
        var objectives = paretoText is null ? null : ParseObjectives(paretoText, "--pareto");

        using var db = SweepDatabase.Open(dbPath);
        var xCol = db.Column(xName, "--x", numeric: true);
        var yCol = db.Column(yName, "--y", numeric: true);
        var colorCol = colorName is null ? null : db.Column(colorName, "--color", numeric: false);
        var objCols = objectives?.Select(o => db.Column(o.Column, "--pareto", numeric: true)).ToArray() ?? [];

        var select = new List<string> { SweepDatabase.Ident(xCol.Name), SweepDatabase.Ident(yCol.Name), colorCol is null ? "NULL" : SweepDatabase.Ident(colorCol.Name) };
        select.AddRange(objCols.Select(o => SweepDatabase.Ident(o.Name)));
        var notNull = new[] { xCol.Name, yCol.Name }.Concat(objCols.Select(o => o.Name)).ToArray();
        var order = colorCol is null ? "point_id" : $"{SweepDatabase.Ident(colorCol.Name)} NULLS LAST, point_id";
        var rows = db.Query($"SELECT {string.Join(", ", select)} FROM {SweepStore.Table}{SweepDatabase.Where(where, notNull)} ORDER BY {order}", "--where").Rows;
        if (rows.Count == 0)
        {
            throw new InputException(dbPath, null,
                $"no rows to plot: {(where is null ? "" : $"--where \"{where}\" with ")}non-NULL {string.Join(", ", notNull.Distinct(StringComparer.Ordinal))} selects none of the rows of table {SweepStore.Table}");
        }
        var xs = rows.Select(r => SweepDatabase.ToDouble(r[0]!)).ToArray();
        var ys = rows.Select(r => SweepDatabase.ToDouble(r[1]!)).ToArray();
        if (logX && xs.Any(v => v <= 0)) throw new InputException(dbPath, null, $"--log-x: column '{xCol.Name}' has {xs.Count(v => v <= 0)} value(s) <= 0 among the selected rows; a log axis needs positive values");
        if (logY && ys.Any(v => v <= 0)) throw new InputException(dbPath, null, $"--log-y: column '{yCol.Name}' has {ys.Count(v => v <= 0)} value(s) <= 0 among the selected rows; a log axis needs positive values");

        var series = new List<SweepSeries>();
        var start = 0;
        for (var i = 1; i <= rows.Count; i++)
        {
            if (i < rows.Count && Equals(rows[i][2], rows[start][2])) continue;
            var name = colorCol is null ? yCol.Name : $"{colorCol.Name} = {SweepDatabase.Text(rows[start][2], "G6", "NULL")}";
            series.Add(new SweepSeries(name, xs[start..i], ys[start..i]));
            start = i;
        }
        SweepSeries? front = null;
        if (objectives is not null)
        {
            var idx = ParetoFront.Indices([.. rows.Select(r => ObjectiveVector(r, 3, objectives))]);
            front = new SweepSeries($"Pareto front of {string.Join(", ", objectives)}", [.. idx.Select(i => xs[i])], [.. idx.Select(i => ys[i])]);
        }
        var spec = new SweepPlotSpec(
            title ?? $"{yCol.Name} against {xCol.Name}{(where is null ? "" : $" ({where})")}",
            SweepPlot.Label(xCol.Name), SweepPlot.Label(yCol.Name), series, logX, logY, front);

        using var files = new Hosting.OutputFiles();
        SweepPlot.Save(files.CreatePath(outPath, "--out"), format, spec);
        files.Commit();
        cli.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sweep plot: {outPath}: {rows.Count} points, {series.Count} series{(front is null ? "" : $", {front.Xs.Count} on the Pareto front")}"));
        return 0;
    }

    private static Command Pareto(CliContext cli)
    {
        var c = new Command("pareto", "List the points of a sweep that no other point beats in every objective (the Pareto front)");
        var db = DbOption();
        var objectives = new Option<string>("--objectives")
        {
            Description = "Two or more numeric columns, comma-separated, each minimised (max:column maximises it), e.g. latency_s,energy_j",
            Required = true,
        };
        var where = WhereOption();
        var csv = new Option<string?>("--csv") { Description = "Write the front to this CSV file instead of printing a table" };
        foreach (var o in new Option[] { db, objectives, where, csv }) c.Options.Add(o);
        c.SetAction(p => ParetoCommand(cli, p.GetValue(db)!, p.GetValue(objectives)!, p.GetValue(where), p.GetValue(csv)));
        return c;
    }

    private static int ParetoCommand(CliContext cli, string dbPath, string objectivesText, string? where, string? csv)
    {
        var objectives = ParseObjectives(objectivesText, "--objectives");
        Hosting.OutputFiles.Check((csv, "--csv"));
        using var db = SweepDatabase.Open(dbPath);
        var objCols = objectives.Select(o => db.Column(o.Column, "--objectives", numeric: true)).ToArray();
        objectives = [.. objectives.Zip(objCols, (o, col) => o with { Column = col.Name })];
        var columns = new List<string> { "point_id" };
        foreach (var a in db.AxisColumns()) if (!columns.Contains(a.Name)) columns.Add(a.Name);
        foreach (var o in objCols) if (!columns.Contains(o.Name)) columns.Add(o.Name);
        var rows = db.Query(
            $"SELECT {string.Join(", ", columns.Select(SweepDatabase.Ident))}, {string.Join(", ", objCols.Select(o => SweepDatabase.Ident(o.Name)))} FROM {SweepStore.Table}"
            + $"{SweepDatabase.Where(where, [.. objCols.Select(o => o.Name)])} ORDER BY point_id", "--where").Rows;
        if (rows.Count == 0)
            throw new InputException(dbPath, null, $"no rows: {(where is null ? "" : $"--where \"{where}\" with ")}non-NULL {string.Join(", ", objCols.Select(o => o.Name))} selects none of the rows of table {SweepStore.Table}");
        var vectors = rows.Select(r => ObjectiveVector(r, columns.Count, objectives)).ToArray();
        var front = ParetoFront.Indices(vectors)
            .OrderBy(i => vectors[i], Comparer<double[]>.Create((a, b) =>
            {
                for (var k = 0; k < a.Length; k++)
                {
                    var cmp = a[k].CompareTo(b[k]);
                    if (cmp != 0) return cmp;
                }
                return 0;
            }))
            .ThenBy(i => i)
            .ToArray();
        var result = new SweepRows(columns, [.. front.Select(i => rows[i][..columns.Count])]);
        var caption = string.Create(CultureInfo.InvariantCulture,
            $"Pareto front of {string.Join(", ", objectives)}: {front.Length} of {rows.Count} points");
        if (csv is not null)
        {
            using var files = new Hosting.OutputFiles();
            using (var w = files.Create(csv, "--csv")) SweepDatabase.WriteCsv(w, result);
            files.Commit();
            cli.Out.WriteLine($"sweep pareto: {caption}; {csv}");
        }
        else
        {
            cli.Out.WriteLine(caption);
            WriteTable(cli.Out, result);
        }
        return 0;
    }

    private static Command Query(CliContext cli)
    {
        var c = new Command("query", "Run a read-only SQL query (SELECT ...) on a sweep's database and print its result");
        var db = DbOption();
        var sql = new Argument<string>("sql") { Description = "The query: SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE or EXPLAIN; table points (docs/sweeps.md)" };
        var csv = new Option<string?>("--csv") { Description = "Write the result to this CSV file instead of printing a table" };
        c.Arguments.Add(sql);
        foreach (var o in new Option[] { db, csv }) c.Options.Add(o);
        c.SetAction(p => QueryCommand(cli, p.GetValue(db)!, p.GetValue(sql)!, p.GetValue(csv)));
        return c;
    }

    /// <summary>The statements <c>sweep query</c> runs: those that read.</summary>
    private static readonly string[] Readers = ["SELECT", "WITH", "FROM", "VALUES", "TABLE", "DESCRIBE", "SHOW", "SUMMARIZE", "EXPLAIN", "PIVOT", "UNPIVOT"];

    private static int QueryCommand(CliContext cli, string dbPath, string sql, string? csv)
    {
        var keyword = FirstKeyword(sql);
        if (!Readers.Contains(keyword, StringComparer.OrdinalIgnoreCase))
        {
            throw new InputException(null, "sql", keyword.Length == 0
                ? "empty query; expected a SELECT statement"
                : $"sweep query only reads: expected a statement starting with {string.Join(", ", Readers)}, got '{keyword}'");
        }
        if (HasSecondStatement(sql)) throw new InputException(null, "sql", "one statement at a time; remove what follows the ';'");
        Hosting.OutputFiles.Check((csv, "--csv"));
        using var db = SweepDatabase.Open(dbPath);
        var rows = db.Query(sql, "sql");
        if (csv is not null)
        {
            using var files = new Hosting.OutputFiles();
            using (var w = files.Create(csv, "--csv")) SweepDatabase.WriteCsv(w, rows);
            files.Commit();
            cli.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sweep query: {rows.Rows.Count} row(s) to {csv}"));
        }
        else
        {
            WriteTable(cli.Out, rows);
            cli.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rows.Rows.Count} row(s)"));
        }
        return 0;
    }

    /// <summary>Parses <c>a,b,max:c</c>: two or more objectives, no column twice.</summary>
    public static IReadOnlyList<Objective> ParseObjectives(string text, string option)
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = new List<Objective>();
        foreach (var raw in text.Split(','))
        {
            var item = raw.Trim();
            var max = false;
            if (item.StartsWith("max:", StringComparison.OrdinalIgnoreCase)) (item, max) = (item[4..].Trim(), true);
            else if (item.StartsWith("min:", StringComparison.OrdinalIgnoreCase)) item = item[4..].Trim();
            if (item.Length == 0) throw new InputException(null, option, $"expected comma-separated columns (column, min:column or max:column), got '{text}'");
            if (list.Any(o => string.Equals(o.Column, item, StringComparison.OrdinalIgnoreCase)))
                throw new InputException(null, option, $"column '{item}' is named twice");
            list.Add(new Objective(item, max));
        }
        if (list.Count < 2) throw new InputException(null, option, $"expected two or more objectives (e.g. latency_s,energy_j), got '{text}'");
        return list;
    }

    /// <summary>The objectives of a row, read from <paramref name="first"/> on, each to be minimised.</summary>
    private static double[] ObjectiveVector(object?[] row, int first, IReadOnlyList<Objective> objectives)
    {
        var v = new double[objectives.Count];
        for (var k = 0; k < v.Length; k++)
        {
            var d = SweepDatabase.ToDouble(row[first + k]!);
            v[k] = objectives[k].Maximise ? -d : d;
        }
        return v;
    }

    /// <summary>Prints rows as a plain-text table: numbers right-aligned, doubles to 6 significant digits.</summary>
    private static void WriteTable(TextWriter writer, SweepRows rows)
    {
        var table = new Table().Border(TableBorder.Rounded);
        for (var c = 0; c < rows.Columns.Count; c++)
        {
            var numeric = rows.Rows.Any(r => r[c] is not null) && rows.Rows.All(r => r[c] is null or sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal or System.Numerics.BigInteger);
            var col = new TableColumn(Markup.Escape(rows.Columns[c]));
            table.AddColumn(numeric ? col.RightAligned() : col);
        }
        foreach (var r in rows.Rows) table.AddRow([.. r.Select(v => (Spectre.Console.Rendering.IRenderable)new Text(SweepDatabase.Text(v, "G6", "NULL")))]);
        var console = Execution.ConsoleFor(writer, width: 200);
        console.Write(table);
    }

    /// <summary>True when text other than blanks and comments follows a ';' outside quotes.</summary>
    private static bool HasSecondStatement(string sql)
    {
        var ended = false;
        for (var i = 0; i < sql.Length; i++)
        {
            var ch = sql[i];
            if (ch is '\'' or '"')
            {
                if (ended) return true;
                var close = sql.IndexOf(ch, i + 1);
                while (close >= 0 && close + 1 < sql.Length && sql[close + 1] == ch) close = sql.IndexOf(ch, close + 2);
                if (close < 0) return false;
                i = close;
            }
            else if (sql.AsSpan(i).StartsWith("--"))
            {
                var nl = sql.IndexOf('\n', i);
                i = nl < 0 ? sql.Length : nl;
            }
            else if (sql.AsSpan(i).StartsWith("/*"))
            {
                var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? sql.Length : end + 1;
            }
            else if (ch == ';') ended = true;
            else if (ended && !char.IsWhiteSpace(ch)) return true;
        }
        return false;
    }

    /// <summary>The first word of a statement, after blanks, comments and opening parentheses.</summary>
    private static string FirstKeyword(string sql)
    {
        var i = 0;
        while (i < sql.Length)
        {
            if (char.IsWhiteSpace(sql[i]) || sql[i] == '(') i++;
            else if (sql.AsSpan(i).StartsWith("--"))
            {
                var nl = sql.IndexOf('\n', i);
                i = nl < 0 ? sql.Length : nl + 1;
            }
            else if (sql.AsSpan(i).StartsWith("/*"))
            {
                var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? sql.Length : end + 2;
            }
            else break;
        }
        var j = i;
        while (j < sql.Length && char.IsAsciiLetter(sql[j])) j++;
        return sql[i..j];
    }
}
