using System.Globalization;
using System.Numerics;
using System.Text;
using AccelSim.Core.Config;
using DuckDB.NET.Data;

namespace AccelSim.Cli.Commands;

/// <summary>A column of a sweep's result table and its DuckDB type.</summary>
public sealed record SweepColumn(string Name, string Type)
{
    /// <summary>True for the integer, floating-point and decimal types.</summary>
    public bool IsNumeric =>
        Type is "TINYINT" or "SMALLINT" or "INTEGER" or "BIGINT" or "HUGEINT" or "UTINYINT" or "USMALLINT" or "UINTEGER"
            or "UBIGINT" or "UHUGEINT" or "FLOAT" or "DOUBLE"
        || Type.StartsWith("DECIMAL", StringComparison.Ordinal);
}

/// <summary>A query's result: column names and rows of values (null for SQL NULL).</summary>
public sealed record SweepRows(IReadOnlyList<string> Columns, IReadOnlyList<object?[]> Rows);

/// <summary>A sweep's DuckDB file opened for reading only, for <c>sweep plot</c>, <c>sweep pareto</c> and
/// <c>sweep query</c>: the file is opened read-only and the connection may not reach any other file (no
/// COPY TO, ATTACH or reading files), with its configuration locked, so no statement can write anything.</summary>
public sealed class SweepDatabase : IDisposable
{
    private readonly DuckDBConnection _db;

    public string Path { get; }

    /// <summary>The columns of table <c>points</c>, in table order.</summary>
    public IReadOnlyList<SweepColumn> Columns { get; }

    private SweepDatabase(string path, DuckDBConnection db, IReadOnlyList<SweepColumn> columns)
    {
        Path = path;
        _db = db;
        Columns = columns;
    }

    public static SweepDatabase Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new InputException(path, null, "--db: no such database");
        var db = new DuckDBConnection($"Data Source={path};ACCESS_MODE=READ_ONLY");
        try
        {
            db.Open();
            using (var cmd = db.CreateCommand())
            {
                cmd.CommandText = "SET enable_external_access = false; SET lock_configuration = true;";
                cmd.ExecuteNonQuery();
            }
            var columns = new List<SweepColumn>();
            using (var cmd = db.CreateCommand())
            {
                cmd.CommandText = $"SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() AND table_name = '{SweepStore.Table}' ORDER BY column_index";
                using var r = cmd.ExecuteReader();
                while (r.Read()) columns.Add(new SweepColumn(r.GetString(0), r.GetString(1)));
            }
            if (columns.Count == 0) throw new InputException(path, null, $"no '{SweepStore.Table}' table; expected a database written by accelsim sweep");
            return new SweepDatabase(path, db, columns);
        }
        catch (DuckDBException e)
        {
            db.Dispose();
            throw new InputException(path, null, $"--db: cannot open as a DuckDB database: {e.Message}");
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>The column named <paramref name="name"/> (as DuckDB matches names: ignoring case), or a
    /// bad-input error for <paramref name="option"/> that lists the columns there are.</summary>
    public SweepColumn Column(string name, string option, bool numeric)
    {
        ArgumentNullException.ThrowIfNull(name);
        var col = Columns.FirstOrDefault(c => c.Name == name) ?? Columns.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));
        if (col is null)
            throw new InputException(Path, null, $"{option}: unknown column '{name}'; table {SweepStore.Table} has {string.Join(", ", Columns.Select(c => c.Name))}");
        if (numeric && !col.IsNumeric)
            throw new InputException(Path, null, $"{option}: column '{col.Name}' is {col.Type}, not numeric; numeric columns: {string.Join(", ", Columns.Where(c => c.IsNumeric).Select(c => c.Name))}");
        return col;
    }

    /// <summary>The axis columns of the sweep: those between <c>point_hash</c> and <c>status</c>.</summary>
    public IReadOnlyList<SweepColumn> AxisColumns()
    {
        var names = Columns.Select(c => c.Name).ToList();
        var from = names.IndexOf("point_hash");
        var to = names.IndexOf("status");
        return from >= 0 && to > from ? [.. Columns.Skip(from + 1).Take(to - from - 1)] : [];
    }

    /// <summary>Runs <paramref name="sql"/> and reads every row. A statement DuckDB refuses (bad SQL, a
    /// write, a file) is bad input for <paramref name="option"/>.</summary>
    public SweepRows Query(string sql, string option)
    {
        try
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = sql;
            using var r = cmd.ExecuteReader();
            var columns = Enumerable.Range(0, r.FieldCount).Select(r.GetName).ToArray();
            var rows = new List<object?[]>();
            while (r.Read())
            {
                var row = new object?[r.FieldCount];
                for (var i = 0; i < r.FieldCount; i++) row[i] = r.IsDBNull(i) ? null : r.GetValue(i);
                rows.Add(row);
            }
            return new SweepRows(columns, rows);
        }
        catch (DuckDBException e)
        {
            throw new InputException(Path, null, $"{option}: {FirstLine(e.Message)}");
        }
    }

    /// <summary>SQL for a quoted identifier.</summary>
    public static string Ident(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>The WHERE clause for an optional <c>--where</c> condition.</summary>
    public static string Where(string? condition, params string[] notNull)
    {
        var parts = notNull.Select(c => $"{Ident(c)} IS NOT NULL").ToList();
        if (!string.IsNullOrWhiteSpace(condition)) parts.Insert(0, $"({condition})");
        return parts.Count == 0 ? "" : " WHERE " + string.Join(" AND ", parts);
    }

    /// <summary>A numeric value as a double.</summary>
    public static double ToDouble(object value) => value switch
    {
        BigInteger b => (double)b,
        _ => Convert.ToDouble(value, CultureInfo.InvariantCulture),
    };

    /// <summary>A value as text: invariant culture, doubles with <paramref name="doubleFormat"/> ("R" for
    /// the exact value), NULL as <paramref name="nullText"/>.</summary>
    public static string Text(object? value, string doubleFormat = "R", string nullText = "") => value switch
    {
        null => nullText,
        double d => d.ToString(doubleFormat, CultureInfo.InvariantCulture),
        float f => f.ToString(doubleFormat, CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        DateTime t => t.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>Writes rows as CSV (RFC 4180: a header, fields with a comma, a quote or a line break quoted).</summary>
    public static void WriteCsv(TextWriter w, SweepRows rows)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(rows);
        static string Field(string s) =>
            s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
        w.WriteLine(string.Join(',', rows.Columns.Select(Field)));
        foreach (var row in rows.Rows) w.WriteLine(string.Join(',', row.Select(v => Field(Text(v)))));
    }

    public void Dispose() => _db.Dispose();

    private static string FirstLine(string message)
    {
        var sb = new StringBuilder();
        foreach (var line in message.Split('\n'))
        {
            if (line.Trim().Length == 0) break;
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(line.Trim());
        }
        return sb.ToString();
    }
}
