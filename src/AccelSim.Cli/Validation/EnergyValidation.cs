using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using AccelSim.Workloads;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Validation;

/// <summary>Predicted energy per call and average power of one kernel replayed back to back, as
/// <c>energy.json</c> measured them: the kernel as a single-op graph through the sequential schedule
/// and the simulator; energy per call = the run's energy (dynamic energy of the kernel at the clock
/// the power model gives it + static power x time per call); average power = energy per call / time
/// per call.</summary>
public static class EnergyValidation
{
    /// <summary>Prediction for one kernel.</summary>
    /// <param name="TimeS">Time per call, s.</param>
    /// <param name="EnergyJ">Energy per call, J.</param>
    /// <param name="Note">The device model's note on the kernel (tile, power cap).</param>
    public sealed record Prediction(double TimeS, double EnergyJ, string? Note)
    {
        public double AveragePowerW => TimeS > 0 ? EnergyJ / TimeS : 0;
    }

    public static Prediction Predict(WorkloadGraph graph, IDeviceModel device)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(device);
        var program = new SequentialSchedule().Map(graph, device);
        var result = new Simulator(program, device).Run();
        var metrics = MetricsCalculator.Compute(result, device);
        var note = program.Tasks.Count == 1 ? program.Tasks[0].Cost.Note : null;
        return new Prediction(Ps.ToSeconds(result.MakespanPs), metrics.Energy.TotalJ, note);
    }

    /// <summary>The graph a row of energy.json measured: a GEMM (<c>kind</c> gemm, M, N, K, dtype) or
    /// a device-to-device copy (<c>kind</c> copy, bytes_moved_per_call = bytes read + written).</summary>
    public static WorkloadGraph Graph(string path, int i, JObject row)
    {
        var kind = CalibrationValidator.Text(path, i, row, "kind");
        switch (kind)
        {
            case "gemm":
            {
                var dt = CalibrationValidator.DTypeOf(path, i, row);
                return SingleOps.MatMul(CalibrationValidator.Long(path, i, row, "M"), CalibrationValidator.Long(path, i, row, "N"),
                    CalibrationValidator.Long(path, i, row, "K"), dt, outDType: dt == DType.Fp8 ? DType.Bf16 : dt);
            }
            case "copy":
                return SingleOps.Copy(CalibrationValidator.Long(path, i, row, "bytes_moved_per_call") / 2);
            default:
                throw new InputException(path, $"rows[{i}].kind", $"expected gemm or copy, got '{kind}'");
        }
    }

    /// <summary>Two rows per measurement: energy per call (mJ) and average power (W).</summary>
    public static IReadOnlyList<ValidationRow> Rows(string path, int i, JObject row, IDeviceModel device)
    {
        var label = CalibrationValidator.Text(path, i, row, "label");
        var p = Predict(Graph(path, i, row), device);
        var clock = row["sm_clock_MHz_median"] is { Type: JTokenType.Float or JTokenType.Integer } c
            ? string.Create(CultureInfo.InvariantCulture, $" [measured {c.Value<double>():0} MHz; model {ModelClock(p.Note, device)}]")
            : "";
        return
        [
            new ValidationRow("", label + " energy/call", CalibrationValidator.Num(path, i, row, "mJ_per_call"), p.EnergyJ * 1e3, "mJ"),
            new ValidationRow("", label + " avg power" + clock, CalibrationValidator.Num(path, i, row, "avg_power_W"), p.AveragePowerW, "W"),
        ];
    }

    /// <summary>The clock the device model ran the kernel at, from its note ("power-capped at N MHz"),
    /// or "full clock".</summary>
    private static string ModelClock(string? note, IDeviceModel device)
    {
        const string marker = "power-capped at ";
        if (note is not null && note.IndexOf(marker, StringComparison.Ordinal) is var k and >= 0)
            return note[(k + marker.Length)..].Split(';')[0].Trim();
        return "full clock";
    }
}
