using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads;
using AccelSim.Workloads.Configs;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Validation;

/// <summary>Checks a device model against measured single-kernel times (the calibration folder's
/// <c>gemm.json</c>, <c>attention.json</c>, <c>bandwidth.json</c>, <c>energy.json</c>) and whole forward
/// passes (<c>e2e/*.json</c>, <see cref="EndToEndValidation"/>). Every prediction goes through the
/// normal path: a single-op graph, the sequential schedule, the simulator, the makespan.</summary>
public static class CalibrationValidator
{
    public static readonly string[] KnownFiles = ["gemm.json", "attention.json", "bandwidth.json", EnergyFile];

    /// <summary>Energy measurements: kernels replayed back to back, energy per call and average power.</summary>
    public const string EnergyFile = "energy.json";

    public static ValidationReport Validate(string folder, IDeviceModel device)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(device);
        if (!Directory.Exists(folder))
            throw new InputException(folder, null, "no such calibration folder; expected a folder with gemm.json, attention.json and/or bandwidth.json");
        var rows = new List<ValidationRow>();
        var found = 0;
        foreach (var name in KnownFiles)
        {
            var path = Path.Combine(folder, name);
            if (!File.Exists(path)) continue;
            found++;
            var root = JsonInput.LoadObject(path);
            if (root["rows"] is not JArray items)
                throw new InputException(path, "rows", "missing; expected an array of measurements");
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i] is not JObject row) throw new InputException(path, $"rows[{i}]", "expected an object");
                if (name == EnergyFile)
                {
                    foreach (var er in EnergyValidation.Rows(path, i, row, device)) rows.Add(er with { File = name });
                    continue;
                }
                var r = name switch
                {
                    "gemm.json" => Gemm(path, i, row, device),
                    "attention.json" => Attention(path, i, row, device),
                    _ => Bandwidth(path, i, row, device),
                };
                if (r is not null) rows.Add(r with { File = name });
            }
        }
        var e2e = rows.Count;
        rows.AddRange(EndToEndValidation.Rows(folder, device));
        if (rows.Count > e2e) found++;
        if (found == 0)
            throw new InputException(folder, null, $"no calibration files; expected one of {string.Join(", ", KnownFiles)} or {EndToEndValidation.Folder}/*.json");
        // An error rather than a mean error of 0 % over nothing.
        if (rows.Count == 0)
            throw new InputException(folder, null, $"the calibration files ({found} found) hold no measurement rows; nothing to validate");
        return new ValidationReport(device.Name, folder, rows);
    }

    /// <summary>Predicted makespan of <paramref name="graph"/> under the sequential schedule, ms.</summary>
    public static double PredictMs(WorkloadGraph graph, IDeviceModel device)
    {
        var program = new SequentialSchedule().Map(graph, device);
        var result = new Simulator(program, device).Run();
        return Ps.ToSeconds(result.MakespanPs) * 1e3;
    }

    private static ValidationRow Gemm(string path, int i, JObject row, IDeviceModel device)
    {
        var m = Long(path, i, row, "M");
        var n = Long(path, i, row, "N");
        var k = Long(path, i, row, "K");
        var dt = DTypeOf(path, i, row);
        // fp8 rows are torch._scaled_mm with a bf16 output.
        var graph = SingleOps.MatMul(m, n, k, dt, outDType: dt == DType.Fp8 ? DType.Bf16 : dt);
        var tag = row["tag"]?.ToString() ?? "gemm";
        var label = $"{tag} {dt.Name()} {m}x{n}x{k}";
        return new ValidationRow("", label, Num(path, i, row, "ms"), PredictMs(graph, device));
    }

    private static ValidationRow Attention(string path, int i, JObject row, IDeviceModel device)
    {
        var kind = Text(path, i, row, "kind");
        var b = Long(path, i, row, "B");
        var hq = Long(path, i, row, "Hq");
        var hkv = Long(path, i, row, "Hkv");
        var d = Long(path, i, row, "head_dim");
        var dt = DTypeOf(path, i, row);
        WorkloadGraph graph;
        string label;
        switch (kind)
        {
            case "prefill_causal":
            {
                var s = Long(path, i, row, "S");
                graph = SingleOps.Attention(b, hq, hkv, d, s, 0, dt);
                label = $"prefill B{b} H{hq}/{hkv} d{d} S{s}";
                break;
            }
            case "decode":
            {
                // One new token attending to L cached tokens: the cache holds L - 1 earlier tokens
                // plus the new one, so K and V span L tokens as in the measurement.
                var l = Long(path, i, row, "L");
                graph = SingleOps.Attention(b, hq, hkv, d, 1, l - 1, dt);
                label = $"decode B{b} H{hq}/{hkv} d{d} L{l}";
                break;
            }
            default:
                throw new InputException(path, $"rows[{i}].kind", $"expected prefill_causal or decode, got '{kind}'");
        }
        return new ValidationRow("", label, Num(path, i, row, "ms"), PredictMs(graph, device));
    }

    private static ValidationRow Bandwidth(string path, int i, JObject row, IDeviceModel device)
    {
        var kind = Text(path, i, row, "kind");
        var bytes = Long(path, i, row, "bytes");
        var measured = Num(path, i, row, "ms");
        var label = $"{kind} {Size(bytes)}";
        if (kind == "d2d_copy")
            return new ValidationRow("", label, measured, PredictMs(SingleOps.Copy(bytes), device));

        var parts = kind.Split('_');
        if (parts.Length != 2 || parts[0] is not ("h2d" or "d2h") || parts[1] is not ("pinned" or "pageable"))
            throw new InputException(path, $"rows[{i}].kind", $"expected d2d_copy or (h2d|d2h)_(pinned|pageable), got '{kind}'");
        var direction = parts[0] == "h2d" ? HostDirection.HostToDevice : HostDirection.DeviceToHost;
        var memory = parts[1] == "pinned" ? HostMemory.Pinned : HostMemory.Pageable;

        // The copy is one task on the host link: same graph, with the cost of a host transfer.
        var graph = SingleOps.Copy(bytes);
        var cost = device is GpuDeviceModel gpu
            ? gpu.HostCopy(bytes, direction, memory)
            : GenericHostCopy(device, bytes);
        var program = new SimProgram("sequential", graph, [new SimTask(0, graph.Ops, cost)], [Array.Empty<int>()]);
        var result = new Simulator(program, device).Run();
        return new ValidationRow("", label, measured, Ps.ToSeconds(result.MakespanPs) * 1e3);
    }

    private static OpCost GenericHostCopy(IDeviceModel device, long bytes)
    {
        var channels = device.Topology.Channels;
        var index = -1;
        for (var c = 0; c < channels.Count; c++) if (channels[c].Name == "pcie") index = c;
        if (index < 0) throw new InputException(null, null, $"device '{device.Name}' has no 'pcie' channel for host-device copies");
        return new OpCost(0, 0, 0, [new TransferDemand(index, bytes, channels[index].Bandwidth_Bps, 0)], 0);
    }

    private static string Size(long bytes) =>
        bytes >= 1L << 30 && bytes % (1L << 30) == 0 ? $"{bytes >> 30} GiB"
        : bytes >= 1L << 20 && bytes % (1L << 20) == 0 ? $"{bytes >> 20} MiB"
        : $"{bytes} B";

    internal static DType DTypeOf(string path, int i, JObject row)
    {
        var text = Text(path, i, row, "dtype");
        if (!DTypes.TryParse(text, out var dt))
            throw new InputException(path, $"rows[{i}].dtype", $"expected {DTypes.Expected}, got '{text}'");
        return dt;
    }

    internal static string Text(string path, int i, JObject row, string key) =>
        row[key] is { Type: JTokenType.String } t ? (string)t! : throw new InputException(path, $"rows[{i}].{key}", "missing; expected a string");

    internal static double Num(string path, int i, JObject row, string key)
    {
        if (row[key] is { Type: JTokenType.Float or JTokenType.Integer } t)
        {
            var d = JsonInput.ToDouble(t);
            if (double.IsFinite(d) && d > 0) return d;
        }
        throw new InputException(path, $"rows[{i}].{key}", "missing or not positive; expected a number > 0");
    }

    internal static long Long(string path, int i, JObject row, string key)
    {
        var d = Num(path, i, row, key);
        if (d != Math.Floor(d) || d > long.MaxValue) throw new InputException(path, $"rows[{i}].{key}", $"expected a whole number, got {d.ToString(CultureInfo.InvariantCulture)}");
        return (long)d;
    }
}
