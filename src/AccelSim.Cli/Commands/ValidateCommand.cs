using System.CommandLine;
using AccelSim.Cli.Hosting;
using AccelSim.Cli.Validation;
using AccelSim.Core.Config;
using AccelSim.Core.Metrics;
using AccelSim.Reports;
using AccelSim.Reports.Plots;
using Newtonsoft.Json.Linq;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim validate</c>: predicted vs measured for every row of a measurement folder,
/// the error per file and overall, and the worst rows.</summary>
public static class ValidateCommand
{
    public const string DefaultData = "validation/h100";

    public static Command Create(CliContext cli)
    {
        var c = new Command("validate", "Compare predictions with measurements (default: the H100 calibration data)");
        var data = new Option<string?>("--data") { Description = $"Folder of measurement files (default: the bundled {DefaultData})" };
        var hardware = CommonOptions.Hardware(required: false);
        hardware.DefaultValueFactory = _ => "h100";
        var set = CommonOptions.Set();
        var format = CommonOptions.Format();
        var worst = new Option<int>("--worst") { DefaultValueFactory = _ => 5, Description = "How many worst rows to list" };
        var rows = new Option<bool>("--summary") { Description = "Only the per-file summary and the worst rows" };
        var plot = new Option<string?>("--plot") { Description = "Write a predicted-vs-measured scatter plot (PNG, log-log) to this file" };
        var errorModel = new Option<string?>("--write-error-model") { Description = "Write the error model (log residuals per op category, for the prediction intervals of run and compare) to this JSON file, e.g. configs/error-models/gpu.json" };
        foreach (var o in new Option[] { data, hardware, set, format, worst, rows, plot, errorModel }) c.Options.Add(o);
        c.SetAction(p =>
        {
            OutputFiles.Check((p.GetValue(plot), "--plot"));
            if (p.GetValue(rows) && p.GetValue(format) == "json")
                throw new InputException(null, "--summary", "applies to the table; --format json always carries the summary and every row");
            var folder = ResolveData(p.GetValue(data));
            using var services = Composition.Build(p.GetValue(CommonOptions.Plugins));
            var config = CommonOptions.LoadHardware(p.GetValue(hardware)!, p.GetValue(set));
            var device = services.Registry().Create(config);
            var report = CalibrationValidator.Validate(folder, device);
            // Kernel rows run the measured kernel alone; the end-to-end rows run the pytorch stack both ways.
            var provenance = Provenance.ProvenanceBuilder.Basic(config, "sequential") with
            {
                Stack = $"kernels as measured; {Validation.EndToEndValidation.Folder}/ rows: {Validation.EndToEndValidation.Stack}",
                Launch = "graph; end-to-end rows: graph and eager",
            };
            using var files = new OutputFiles();
            if (p.GetValue(errorModel) is { } modelPath)
            {
                using var w = files.Create(modelPath, "--write-error-model");
                w.Write(JsonReport.Format(ErrorModel.From(report, device.Kind).ToJson()));
            }
            if (p.GetValue(plot) is { } plotPath)
            {
                if (!string.Equals(Path.GetExtension(plotPath), ".png", StringComparison.OrdinalIgnoreCase))
                    throw new InputException(null, "--plot", $"expected a .png file name, got '{plotPath}'");
                if (report.Rows.Count == 0) throw new InputException(folder, null, "no measured rows to plot");
                var times = report.Rows.Where(r => r.Quantity == "ms").ToArray();
                ValidationPlot.SavePng(files.CreatePath(plotPath, "--plot"), report.Device,
                    times.Select(r => r.MeasuredMs).ToArray(), times.Select(r => r.PredictedMs).ToArray(),
                    times.Select(r => r.File).ToArray());
            }
            if (p.GetValue(format) == "json")
                cli.Out.WriteLine(JsonReport.Format(ToJson(report, p.GetValue(worst), provenance)));
            else
                Render(report, Execution.ConsoleFor(cli.Out), p.GetValue(worst), !p.GetValue(rows), provenance);
            files.Commit();
            return 0;
        });
        return c;
    }

    public static string ResolveData(string? given)
    {
        if (given is not null)
        {
            if (!Directory.Exists(given)) throw new InputException(null, "--data", $"folder '{given}' does not exist");
            return given;
        }
        var bundled = BundledData();
        if (bundled is not null) return bundled;
        throw new InputException(null, "--data", $"no measurement folder given and no bundled {DefaultData} next to the executable");
    }

    /// <summary>The bundled H100 measurements: next to the executable (the build copies <c>validation/</c>
    /// there), else in the nearest <c>validation/h100</c> above the working directory.</summary>
    public static string? BundledData()
    {
        var here = Path.Combine(AppContext.BaseDirectory, "validation", "h100");
        if (Directory.Exists(here)) return here;
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "validation", "h100");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static void Render(ValidationReport report, IAnsiConsole console, int worst, bool allRows, RunProvenance provenance)
    {
        console.MarkupLine($"[bold]Validation[/] of [bold]{Markup.Escape(report.Device)}{(provenance.Modified ? "*" : "")}[/] against {Markup.Escape(DataName(report.Folder))}");
        foreach (var line in TableReport.ProvenanceLines(provenance)) console.WriteLine(line);
        if (allRows)
        {
            var table = new Table().AddColumns("file", "row", "measured", "predicted", "error %");
            foreach (var r in report.Rows)
                table.AddRow(Markup.Escape(r.File), Markup.Escape(r.Label), Value(r.MeasuredMs, r.Quantity), Value(r.PredictedMs, r.Quantity), Pct(r.ErrorPct));
            console.Write(table);
        }
        var files = new Table().AddColumns("file", "rows", "MAPE %", "max |error| %");
        foreach (var f in report.Files)
            files.AddRow(Markup.Escape(f.File), f.Rows.ToString(System.Globalization.CultureInfo.InvariantCulture), Pct(f.MapePct, signed: false), Pct(f.MaxAbsErrorPct, signed: false));
        files.AddRow("[bold]overall[/]", report.Rows.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), Pct(report.OverallMapePct, signed: false), Pct(report.MaxAbsErrorPct, signed: false));
        console.Write(files);
        var w = new Table().Title($"worst {worst} rows").AddColumns("file", "row", "measured", "predicted", "error %");
        foreach (var r in report.Worst(worst))
            w.AddRow(Markup.Escape(r.File), Markup.Escape(r.Label), Value(r.MeasuredMs, r.Quantity), Value(r.PredictedMs, r.Quantity), Pct(r.ErrorPct));
        console.Write(w);
    }

    /// <summary>How a report names a measurement folder: the bundled one by its repository path, so that
    /// reports do not depend on where the project lives; another as given.</summary>
    private static string DataName(string folder) =>
        BundledData() is { } bundled && Path.GetFullPath(bundled) == Path.GetFullPath(folder) ? DefaultData + " (bundled)" : folder;

    private static JObject ToJson(ValidationReport report, int worst, RunProvenance provenance) => new()
    {
        ["schema"] = "accelsim.validation/1",
        ["device"] = report.Device,
        ["folder"] = DataName(report.Folder),
        ["provenance"] = JsonReport.ProvenanceJson(provenance),
        ["overall_mape_pct"] = report.OverallMapePct,
        ["max_abs_error_pct"] = report.MaxAbsErrorPct,
        ["files"] = new JArray(report.Files.Select(f => new JObject
        {
            ["file"] = f.File, ["rows"] = f.Rows, ["mape_pct"] = f.MapePct, ["max_abs_error_pct"] = f.MaxAbsErrorPct,
        })),
        ["rows"] = new JArray(report.Rows.Select(Row)),
        ["worst"] = new JArray(report.Worst(worst).Select(Row)),
    };

    private static JObject Row(ValidationRow r) => new()
    {
        ["file"] = r.File, ["label"] = r.Label, ["quantity"] = r.Quantity, ["measured_ms"] = r.MeasuredMs, ["predicted_ms"] = r.PredictedMs, ["error_pct"] = r.ErrorPct,
    };

    /// <summary>A measured or predicted figure in the unit the shared formatter picks (rows in ms are times,
    /// in mJ energies); another quantity keeps its own unit.</summary>
    private static string Value(double v, string quantity) => quantity switch
    {
        "ms" => Quantities.Time(v * 1e-3),
        "mJ" => Quantities.Energy(v * 1e-3),
        _ => Quantities.Num(v, 1) + " " + quantity,
    };

    private static string Pct(double v, bool signed = true) =>
        v.ToString(signed ? "+0.0;-0.0;0.0" : "0.0", System.Globalization.CultureInfo.InvariantCulture);
}
