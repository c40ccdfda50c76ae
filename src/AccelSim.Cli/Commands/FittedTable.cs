using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary>A table of runs that fits the console without cutting a header or a figure: every column is as wide
/// as its longest figure and the longest word of its header (a header wraps between words, never inside one).
/// Where the columns do not fit side by side, they are dealt into several tables in order, each led by the
/// key columns that name the run. Where even the key columns and one figure do not fit (long hardware names or
/// paths), the runs are numbered (#1, #2, ...) and a legend under the tables names each.</summary>
public sealed class FittedTable
{
    private readonly string[] _keyHeaders;
    private readonly (string Header, bool Right)[] _columns;
    private readonly List<(string[] Keys, string[] Cells)> _rows = [];

    /// <summary>A table whose rows are named by <paramref name="keyHeaders"/> (e.g. hardware and schedule)
    /// and that shows <paramref name="columns"/>.</summary>
    public FittedTable(IReadOnlyList<string> keyHeaders, IReadOnlyList<(string Header, bool Right)> columns)
    {
        ArgumentNullException.ThrowIfNull(keyHeaders);
        ArgumentNullException.ThrowIfNull(columns);
        _keyHeaders = [.. keyHeaders];
        _columns = [.. columns];
    }

    /// <summary>One run: its key values (plain text) and its cells (Spectre markup, one per column).</summary>
    public void AddRow(IReadOnlyList<string> keys, IReadOnlyList<string> cells)
    {
        if (keys.Count != _keyHeaders.Length || cells.Count != _columns.Length)
            throw new ArgumentException($"a row needs {_keyHeaders.Length} keys and {_columns.Length} cells");
        _rows.Add(([.. keys], [.. cells]));
    }

    /// <summary>Writes the table (or tables) to <paramref name="console"/>, at most its width wide.</summary>
    public void Write(IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        var width = console.Profile.Width;
        var widths = new int[_columns.Length];
        for (var c = 0; c < _columns.Length; c++)
            widths[c] = Math.Max(LongestWord(_columns[c].Header), _rows.Count == 0 ? 0 : _rows.Max(r => Markup.Remove(r.Cells[c]).Length));
        var keyWidths = new int[_keyHeaders.Length];
        for (var k = 0; k < _keyHeaders.Length; k++)
            keyWidths[k] = Math.Max(LongestWord(_keyHeaders[k]), _rows.Count == 0 ? 0 : _rows.Max(r => r.Keys[k].Length));

        // Numbered runs when the names leave no room for the widest figure beside them.
        var numbered = TableWidth(keyWidths) + Cell(widths.DefaultIfEmpty(0).Max()) > width;
        string[] keyHeaders = numbered ? ["run"] : _keyHeaders;
        var keys = numbered
            ? _rows.Select((r, i) => new[] { "#" + (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) }).ToArray()
            : _rows.Select(r => r.Keys).ToArray();
        if (numbered) keyWidths = [Math.Max(3, 1 + _rows.Count.ToString(System.Globalization.CultureInfo.InvariantCulture).Length)];

        // Deal the columns into tables that fit, in order; each holds at least one column.
        var start = 0;
        while (start < _columns.Length)
        {
            var used = TableWidth(keyWidths);
            var end = start;
            while (end < _columns.Length && (end == start || used + Cell(widths[end]) <= width))
                used += Cell(widths[end++]);
            var table = new Table().Border(TableBorder.Square);
            for (var k = 0; k < keyHeaders.Length; k++)
                table.AddColumn(new TableColumn(Markup.Escape(keyHeaders[k])).Width(keyWidths[k]));
            for (var c = start; c < end; c++)
            {
                var col = new TableColumn(Markup.Escape(_columns[c].Header)).Width(widths[c]);
                table.AddColumn(_columns[c].Right ? col.RightAligned() : col);
            }
            for (var i = 0; i < _rows.Count; i++)
                table.AddRow([.. keys[i].Select(Markup.Escape), .. _rows[i].Cells[start..end]]);
            console.Write(table);
            start = end;
        }
        if (numbered)
            for (var i = 0; i < _rows.Count; i++)
                console.WriteLine($"#{(i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)}: {string.Join(" ", _rows[i].Keys.Select((k, j) => j == 0 ? k : "(" + k + ")"))}");
    }

    /// <summary>A column's share of a table's width: its text, a space either side and a border.</summary>
    private static int Cell(int textWidth) => textWidth + 3;

    private static int TableWidth(int[] keyWidths) => 1 + keyWidths.Sum(Cell);

    private static int LongestWord(string header) =>
        header.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => w.Length).DefaultIfEmpty(0).Max();
}
