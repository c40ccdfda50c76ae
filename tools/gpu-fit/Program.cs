// gpu-fit: fits the named GPU calibration parameters of a hardware config to measured kernel times.
//
// Method: the objective is the mean over calibration files of the file's mean absolute percentage
// error, plus a penalty on rows off by more than 20%. Every prediction runs the real model through
// CalibrationValidator (single-op graph -> sequential schedule -> simulator). The parameters are
// fitted by coordinate descent in log space within bounds: each parameter in turn is multiplied by
// (1 +- step); improvements are kept; the step halves when a full sweep finds none. Deterministic.
//
// The end-to-end rows (e2e/*.json, whole forward passes with the pytorch stack) are not part of the
// objective: they depend on the host model and on the stream.* parameters of framework element-wise
// kernels, which are fitted in closed form from the Kineto profiles (docs/stacks.md). They are printed
// at the end as a check of the kernel fit.
//
// Fitted values that describe the architecture go into the family file (configs/hardware/families),
// never into the product file, which holds datasheet numbers only.
//
// usage: dotnet run --project tools/gpu-fit -- [calibration folder] [hardware] [rounds]
using System.Globalization;
using AccelSim.Cli.Validation;
using AccelSim.Core.Config;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Configs;

var folder = args.Length > 0 ? args[0] : "validation/h100";
var hardware = args.Length > 1 ? args[1] : "h100";
var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 12;
var baseConfig = HardwareConfigLoader.LoadNamed(hardware);
var plugin = new GpuPlugin();

var fitted = new List<(string Path, double Min, double Max)>
{
    ("compute.dtype_efficiency.fp32", 0.2, 1),
    ("energy.pJ_per_flop.bf16", 0.5, 4),
    ("energy.pJ_per_flop.fp16", 0.5, 4),
    ("energy.pJ_per_flop.tf32", 0.5, 8),
    ("energy.pJ_per_flop.fp8", 0.2, 3),
    ("power.dvfs.alpha", 1, 3),
    ("compute.dtype_efficiency.tf32", 0.2, 1),
    ("compute.dtype_efficiency.fp16", 0.2, 1),
    ("compute.dtype_efficiency.fp8", 0.2, 1),
    ("gemm.tile_overhead_s", 1e-8, 5e-6),
    ("gemm.split_k_overhead_s", 1e-8, 2e-5),
    ("gemm.bandwidth_efficiency", 0.5, 1),
    ("attention.efficiency", 0.2, 1),
    ("attention.cta_overhead_s", 1e-8, 2e-5),
    ("attention.decode_bandwidth_efficiency", 0.3, 1),
    ("memory.hbm.achievable_fraction", 0.5, 1),
    ("memory.hbm.fill_bytes", 1e4, 2e7),
    ("memory.hbm.write_efficiency", 0.4, 1),
    ("memory.l2.bytes_per_clock_per_sm", 5, 80),
    ("launch.kernel_start_s", 1e-7, 6e-6),
    ("launch.min_kernel_s", 1e-7, 8e-6),
    ("launch.copy_min_s", 1e-7, 1e-5),
    ("host.pcie.latency_s", 1e-7, 1e-4),
    ("host.pcie.pinned_efficiency", 0.1, 1),
    ("host.pcie.pageable_h2d_efficiency", 0.05, 1),
    ("host.pcie.pageable_d2h_efficiency", 0.05, 1),
};
for (var i = 0; i < baseConfig.ArrayLength("gemm.tiles"); i++) fitted.Add(($"gemm.tiles[{i}].efficiency", 0.2, 1));

var x = fitted.Select(p => baseConfig.TryGet(p.Path, out var v) && v.Number is { } d ? d : throw new InvalidOperationException($"{p.Path} missing")).ToArray();

ValidationReport Run(double[] values)
{
    var cfg = baseConfig.With(fitted.Select((p, i) => new KeyValuePair<string, string>(p.Path, values[i].ToString("R", CultureInfo.InvariantCulture))));
    return CalibrationValidator.Validate(folder, plugin.Create(cfg));
}

double Objective(double[] values)
{
    try
    {
        var all = Run(values);
        var r = new ValidationReport(all.Device, all.Folder, all.Rows.Where(row => !IsEndToEnd(row)).ToArray());
        var penalty = r.Rows.Sum(row => Math.Max(0, row.AbsErrorPct - 20) * 0.2);
        return r.Files.Average(f => f.MapePct) + penalty / r.Rows.Count + 0.02 * r.MaxAbsErrorPct;
    }
    catch (InputException)
    {
        return double.MaxValue;
    }
}

static bool IsEndToEnd(ValidationRow row) => row.File.StartsWith(EndToEndValidation.Folder + "/", StringComparison.Ordinal);

var best = Objective(x);
Console.WriteLine($"start objective {best:F3}");
var step = 0.2;
for (var round = 0; round < rounds && step > 0.002; round++)
{
    var improved = false;
    for (var i = 0; i < x.Length; i++)
    {
        foreach (var dir in new[] { 1 + step, 1 / (1 + step) })
        {
            var trial = (double[])x.Clone();
            trial[i] = Math.Clamp(x[i] * dir, fitted[i].Min, fitted[i].Max);
            var o = Objective(trial);
            if (o < best - 1e-9)
            {
                best = o;
                x = trial;
                improved = true;
                break;
            }
        }
    }
    Console.WriteLine($"round {round} step {step:F4} objective {best:F3}");
    if (!improved || round % 6 == 5) step /= 2;
}

for (var i = 0; i < x.Length; i++)
    Console.WriteLine($"{fitted[i].Path} = {x[i].ToString("G4", CultureInfo.InvariantCulture)}");
var report = Run(x);
foreach (var f in report.Files) Console.WriteLine($"{f.File}: MAPE {f.MapePct:F2}%  max {f.MaxAbsErrorPct:F2}%  ({f.Rows} rows)");
Console.WriteLine($"overall MAPE {report.OverallMapePct:F2}%");
foreach (var r in report.Rows) Console.WriteLine($"  {r.File,-15} {r.Label,-40} meas {r.MeasuredMs,10:F5} pred {r.PredictedMs,10:F5} err {r.ErrorPct,7:F1}%");
