namespace AccelSim.Cli.Validation;

/// <summary>One measured kernel against the model's prediction. <see cref="Quantity"/> names what is
/// compared and its unit: "ms" (time per call; <see cref="MeasuredMs"/> and <see cref="PredictedMs"/>
/// are milliseconds), "mJ" (energy per call) or "W" (average power); for the last two the two values
/// hold that quantity in that unit.</summary>
public sealed record ValidationRow(string File, string Label, double MeasuredMs, double PredictedMs, string Quantity = "ms")
{
    /// <summary>Signed error of the prediction, percent of the measurement.</summary>
    public double ErrorPct => (PredictedMs - MeasuredMs) / MeasuredMs * 100.0;

    public double AbsErrorPct => Math.Abs(ErrorPct);
}

/// <summary>Error statistics of one calibration file.</summary>
public sealed record ValidationFileSummary(string File, int Rows, double MapePct, double MaxAbsErrorPct);

/// <summary>Predicted against measured times for a calibration folder: every row, per-file mean
/// absolute percentage error (MAPE) and maximum error, overall MAPE. Plain data; the command line
/// renders it.</summary>
public sealed class ValidationReport
{
    public ValidationReport(string device, string folder, IReadOnlyList<ValidationRow> rows)
    {
        Device = device;
        Folder = folder;
        Rows = rows.ToArray();
        Files = Rows.GroupBy(r => r.File, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ValidationFileSummary(g.Key, g.Count(), g.Average(r => r.AbsErrorPct), g.Max(r => r.AbsErrorPct)))
            .ToArray();
        OverallMapePct = Rows.Count == 0 ? 0 : Rows.Average(r => r.AbsErrorPct);
        MaxAbsErrorPct = Rows.Count == 0 ? 0 : Rows.Max(r => r.AbsErrorPct);
    }

    public string Device { get; }
    public string Folder { get; }
    public IReadOnlyList<ValidationRow> Rows { get; }
    public IReadOnlyList<ValidationFileSummary> Files { get; }
    public double OverallMapePct { get; }
    public double MaxAbsErrorPct { get; }

    /// <summary>The <paramref name="count"/> rows with the largest absolute error, worst first
    /// (ties in file and row order).</summary>
    public IReadOnlyList<ValidationRow> Worst(int count = 5) =>
        Rows.Select((r, i) => (r, i)).OrderByDescending(x => x.r.AbsErrorPct).ThenBy(x => x.i).Take(count).Select(x => x.r).ToArray();
}
