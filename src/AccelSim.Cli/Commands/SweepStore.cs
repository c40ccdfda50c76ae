using System.Globalization;
using System.Text;
using AccelSim.Core.Config;
using DuckDB.NET.Data;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Commands;

/// <summary>What one point of a sweep gave: <c>ok</c> with its JSON report, <c>skipped</c> (a constraint
/// ruled it out, report kept) or <c>error</c> with the message <c>run</c> printed.</summary>
public sealed record SweepOutcome(string Status, string? Error, JObject? Report);

/// <summary>A sweep's results in a DuckDB file: table <c>points</c>, one row per point (docs/sweeps.md,
/// "Result table"). Not thread-safe: callers serialise writes.</summary>
public sealed class SweepStore : IDisposable
{
    public const string Table = "points";

    /// <summary>The report figures every row carries, with their DuckDB types, and where each comes from.</summary>
    private static readonly (string Column, string Type, Func<JObject, object?> Read)[] Figures =
    [
        ("hardware_name", "VARCHAR", r => Str(r.SelectToken("hardware.name") ?? r.SelectToken("system.name"))),
        ("workload_name", "VARCHAR", r => Str(r.SelectToken("workload.name"))),
        ("workload_phase", "VARCHAR", r => Str(r.SelectToken("workload.phase"))),
        ("tokens", "BIGINT", r => Long(r.SelectToken("workload.tokens"))),
        ("latency_s", "DOUBLE", r => Dbl(r["latency_s"])),
        ("tokens_per_s", "DOUBLE", r => Dbl(r["tokens_per_s"])),
        ("energy_j", "DOUBLE", r => Dbl(r["energy_j"])),
        ("flops", "BIGINT", r => Long(r["flops"])),
        ("bytes_moved", "BIGINT", r => Sum(r.SelectToken("memory.bytes_moved_by_channel"))),
        ("utilisation_compute", "DOUBLE", r => Dbl(r.SelectToken("utilisation.compute"))),
        ("utilisation_memory_bandwidth", "DOUBLE", r => Dbl(r.SelectToken("utilisation.memory_bandwidth"))),
        ("memory_peak_bytes", "BIGINT", r => Max(r.SelectToken("memory.peak_bytes"))),
        ("over_capacity_bytes", "BIGINT", r => Sum(r.SelectToken("memory.over_capacity_bytes"))),
        ("fits", "BOOLEAN", r => Fits(r)),
        ("memory_bound_ops", "BIGINT", r => Long(r.SelectToken("memory_wall.memory_bound_ops"))),
        ("memory_bound_time_fraction", "DOUBLE", r => Dbl(r.SelectToken("memory_wall.memory_bound_time_fraction"))),
        ("arithmetic_intensity_flop_per_byte", "DOUBLE", r => Dbl(r.SelectToken("memory_wall.arithmetic_intensity_flop_per_byte"))),
        ("compute_bound_s", "DOUBLE", r => Dbl(r.SelectToken("memory_wall.time_by_bound_s.compute"))),
        ("memory_bound_s", "DOUBLE", r => Dbl(r.SelectToken("memory_wall.time_by_bound_s.memory"))),
        ("latency_bound_s", "DOUBLE", r => Dbl(r.SelectToken("memory_wall.time_by_bound_s.latency"))),
        ("power_bound_s", "DOUBLE", r => Dbl(r.SelectToken("memory_wall.time_by_bound_s.power"))),
        ("verdict", "VARCHAR", r => Str(r.SelectToken("memory_wall.verdict"))),
    ];

    private readonly DuckDBConnection _db;
    private readonly string _path;

    private SweepStore(string path, DuckDBConnection db)
    {
        _path = path;
        _db = db;
    }

    /// <summary>Opens (creating if needed) the DuckDB file at <paramref name="path"/>.</summary>
    public static SweepStore Open(string path, string option, bool readOnly = false)
    {
        if (readOnly && !File.Exists(path)) throw new InputException(path, null, $"{option}: no such database");
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null && !Directory.Exists(dir)) throw new InputException(path, null, $"{option}: folder '{dir}' does not exist");
        var db = new DuckDBConnection($"Data Source={path}{(readOnly ? ";ACCESS_MODE=READ_ONLY" : "")}");
        try
        {
            db.Open();
        }
        catch (DuckDBException e)
        {
            db.Dispose();
            throw new InputException(path, null, $"{option}: cannot open as a DuckDB database: {e.Message}");
        }
        return new SweepStore(path, db);
    }

    /// <summary>True when the file has a result table.</summary>
    public bool HasTable(string? database = null) =>
        Convert.ToInt64(Scalar($"SELECT count(*) FROM duckdb_tables() WHERE database_name = {(database is null ? "current_database()" : Quote(database))} AND table_name = '{Table}'"), CultureInfo.InvariantCulture) > 0;

    /// <summary>Creates the result table for <paramref name="spec"/>'s axes if it is not there.</summary>
    public void Create(SweepSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string[] fixedColumns = ["point_id", "point_hash", "status", "error", "run_args", "report", .. Figures.Select(f => f.Column)];
        var clashes = spec.Axes.Where(a => fixedColumns.Contains(SweepSpec.Column(a.Key), StringComparer.OrdinalIgnoreCase))
            .Select(a => new InputProblem(spec.File, $"$.axes['{a.Key}']", $"its column '{SweepSpec.Column(a.Key)}' is one the result table has already; rename the axis"))
            .ToList();
        if (clashes.Count > 0) throw new InputException(clashes);
        var sb = new StringBuilder($"CREATE TABLE IF NOT EXISTS {Table} (point_id INTEGER PRIMARY KEY, point_hash VARCHAR NOT NULL");
        foreach (var axis in spec.Axes) sb.Append($", \"{SweepSpec.Column(axis.Key)}\" {AxisType(axis.Value)}");
        sb.Append(", status VARCHAR NOT NULL, error VARCHAR");
        foreach (var f in Figures) sb.Append($", {f.Column} {f.Type}");
        sb.Append(", run_args VARCHAR NOT NULL, report VARCHAR)");
        Execute(sb.ToString());
    }

    /// <summary>The points already stored: id to hash. A stored id whose hash is not the spec's means the
    /// database holds another sweep; that is refused rather than mixed.</summary>
    public Dictionary<int, string> Done()
    {
        var done = new Dictionary<int, string>();
        using var cmd = _db.CreateCommand();
        cmd.CommandText = $"SELECT point_id, point_hash FROM {Table}";
        using var r = cmd.ExecuteReader();
        while (r.Read()) done[r.GetInt32(0)] = r.GetString(1);
        return done;
    }

    /// <summary>Rows held before they are appended in one go: appending a row at a time costs more than
    /// a point's run. A row waits at most <see cref="FlushRows"/> rows or <see cref="FlushSeconds"/>
    /// seconds; an interrupted sweep loses only those, and reruns them on resume (the same rows).</summary>
    public const int FlushRows = 256;

    /// <summary>The longest a finished point's row waits before it is written.</summary>
    public const double FlushSeconds = 2;

    private readonly List<Dictionary<string, object?>> _pending = [];
    private readonly System.Diagnostics.Stopwatch _sinceFlush = System.Diagnostics.Stopwatch.StartNew();
    private (string Name, string Type)[]? _tableColumns;

    /// <summary>Stores one point's row (written with the next <see cref="Flush"/>, at the latest after
    /// <see cref="FlushRows"/> rows or <see cref="FlushSeconds"/> seconds).</summary>
    public void Insert(SweepSpec spec, SweepPoint point, SweepOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(point);
        ArgumentNullException.ThrowIfNull(outcome);
        var row = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase) { ["point_id"] = point.Id, ["point_hash"] = point.Hash };
        for (var a = 0; a < spec.Axes.Count; a++) row[SweepSpec.Column(spec.Axes[a].Key)] = AxisValue(point.Values[a]);
        row["status"] = outcome.Status;
        row["error"] = outcome.Error;
        foreach (var f in Figures) row[f.Column] = outcome.Report is null ? null : f.Read(outcome.Report);
        row["run_args"] = string.Join(' ', point.Arguments);
        row["report"] = outcome.Report?.ToString(Newtonsoft.Json.Formatting.None);
        _pending.Add(row);
        if (_pending.Count >= FlushRows || _sinceFlush.Elapsed.TotalSeconds >= FlushSeconds) Flush();
    }

    /// <summary>Writes the rows <see cref="Insert"/> holds, in one append.</summary>
    public void Flush()
    {
        _sinceFlush.Restart();
        if (_pending.Count == 0) return;
        _tableColumns ??= Columns();
        using (var appender = _db.CreateAppender(Table))
        {
            foreach (var row in _pending)
            {
                var r = appender.CreateRow();
                foreach (var (name, type) in _tableColumns)
                {
                    var v = row.GetValueOrDefault(name);
                    if (v is null) r.AppendNullValue();
                    else if (type == "INTEGER") r.AppendValue((int?)Convert.ToInt32(v, CultureInfo.InvariantCulture));
                    else if (type == "BIGINT") r.AppendValue((long?)Convert.ToInt64(v, CultureInfo.InvariantCulture));
                    else if (type == "DOUBLE") r.AppendValue((double?)Convert.ToDouble(v, CultureInfo.InvariantCulture));
                    else if (type == "BOOLEAN") r.AppendValue((bool?)Convert.ToBoolean(v, CultureInfo.InvariantCulture));
                    else r.AppendValue(Convert.ToString(v, CultureInfo.InvariantCulture));
                }
                r.EndRow();
            }
        }
        _pending.Clear();
    }

    private (string Name, string Type)[] Columns()
    {
        var list = new List<(string, string)>();
        using var cmd = _db.CreateCommand();
        cmd.CommandText = $"SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() AND table_name = '{Table}' ORDER BY column_index";
        using var r = cmd.ExecuteReader();
        while (r.Read()) list.Add((r.GetString(0), r.GetString(1)));
        return [.. list];
    }

    /// <summary>Adds the rows of each part database to this one: the first part's table defines the columns;
    /// a point id already present with the same hash is kept once, with another hash it is refused. All
    /// parts go in one transaction: a refused merge leaves the database as it was.</summary>
    public int Merge(IReadOnlyList<string> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        for (var i = 0; i < parts.Count; i++)
        {
            if (!File.Exists(parts[i])) throw new InputException(parts[i], null, "sweep merge: no such database");
            if (Path.GetFullPath(parts[i]) == Path.GetFullPath(_path)) throw new InputException(parts[i], null, "sweep merge: a part is also the --db it merges into");
        }
        var attached = 0;
        try
        {
            for (; attached < parts.Count; attached++)
            {
                try
                {
                    Execute($"ATTACH {Quote(parts[attached])} AS part{attached} (READ_ONLY)");
                }
                catch (DuckDBException e)
                {
                    throw new InputException(parts[attached], null, $"sweep merge: cannot open as a DuckDB database: {e.Message}");
                }
                if (!HasTable($"part{attached}"))
                    throw new InputException(parts[attached], null, $"sweep merge: no '{Table}' table; expected a database written by accelsim sweep");
            }
            Execute("BEGIN TRANSACTION");
            var added = 0;
            try
            {
                for (var i = 0; i < parts.Count; i++)
                {
                    var part = $"part{i}.{Table}";
                    if (i == 0 && !HasTable()) Execute($"CREATE TABLE {Table} AS SELECT * FROM {part} WHERE false");
                    var clash = Scalar($"SELECT min(a.point_id) FROM {Table} a JOIN {part} b ON a.point_id = b.point_id WHERE a.point_hash <> b.point_hash");
                    if (clash is not null and not DBNull)
                        throw new InputException(parts[i], null, $"sweep merge: point {clash} has other inputs than the same point in the database or an earlier part; the parts come from different sweeps");
                    try
                    {
                        added += Execute($"INSERT INTO {Table} BY NAME SELECT * FROM {part} WHERE point_id NOT IN (SELECT point_id FROM {Table})");
                    }
                    catch (DuckDBException e)
                    {
                        throw new InputException(parts[i], null, $"sweep merge: {e.Message}");
                    }
                }
                Execute("COMMIT");
                return added;
            }
            catch
            {
                Execute("ROLLBACK");
                throw;
            }
        }
        finally
        {
            for (var i = 0; i < attached; i++) Execute($"DETACH part{i}");
        }
    }

    /// <summary>Writes the table, ordered by point id, as CSV (with a header) or Parquet.</summary>
    public void Export(string path, string format)
    {
        Flush();
        var options = format == "parquet" ? "(FORMAT parquet)" : "(FORMAT csv, HEADER)";
        Execute($"COPY (SELECT * FROM {Table} ORDER BY point_id) TO {Quote(path)} {options}");
    }

    /// <summary>Rows by status, for the summary line.</summary>
    public IReadOnlyDictionary<string, long> CountByStatus()
    {
        Flush();
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        using var cmd = _db.CreateCommand();
        cmd.CommandText = $"SELECT status, count(*) FROM {Table} GROUP BY status";
        using var r = cmd.ExecuteReader();
        while (r.Read()) counts[r.GetString(0)] = r.GetInt64(1);
        return counts;
    }

    /// <summary>Writes the rows still held (a sweep cut short by an error keeps the points it finished) and closes the file.</summary>
    public void Dispose()
    {
        try
        {
            Flush();
        }
        catch (DuckDBException)
        {
            // the database refused the rows; the points are missing and a resumed sweep runs them again
        }
        _db.Dispose();
    }

    private int Execute(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    private static string Quote(string path) => "'" + path.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string AxisType(IReadOnlyList<SweepValue> values) =>
        values.All(v => v.Type == JTokenType.Integer) ? "BIGINT"
        : values.All(v => v.Type is JTokenType.Integer or JTokenType.Float) ? "DOUBLE"
        : values.All(v => v.Type == JTokenType.Boolean) ? "BOOLEAN"
        : "VARCHAR";

    private static object AxisValue(SweepValue v) => v.Type switch
    {
        JTokenType.Integer => long.Parse(v.Text, CultureInfo.InvariantCulture),
        JTokenType.Float => double.Parse(v.Text, CultureInfo.InvariantCulture),
        JTokenType.Boolean => v.Text == "true",
        _ => v.Text,
    };

    private static string? Str(JToken? t) => t is null || t.Type == JTokenType.Null ? null : (string?)t;
    private static long? Long(JToken? t) => t is null || t.Type != JTokenType.Integer ? null : (long)t;
    private static double? Dbl(JToken? t) => t is null || t.Type is not (JTokenType.Float or JTokenType.Integer) ? null : (double)t;

    private static long? Sum(JToken? t) => t is JObject o ? o.Properties().Sum(p => Long(p.Value) ?? 0) : null;
    private static long? Max(JToken? t) => t is JObject o && o.HasValues ? o.Properties().Max(p => Long(p.Value) ?? 0) : null;

    /// <summary>Whether the run fit in memory: no tier over capacity (for a system run, on no device).</summary>
    public static bool? Fits(JObject r)
    {
        if (r.SelectToken("memory.over_capacity_bytes") is JObject o) return o.Properties().All(p => (Long(p.Value) ?? 0) == 0);
        if (r["devices"] is JArray devices)
            return devices.All(d => d.SelectToken("memory.over_capacity_bytes") is not JObject m || m.Properties().All(p => (Long(p.Value) ?? 0) == 0));
        return null;
    }
}
