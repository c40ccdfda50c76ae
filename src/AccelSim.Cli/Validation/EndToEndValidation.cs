using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Stacks;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Validation;

/// <summary>End-to-end rows (<c>e2e/*.json</c> of a measurement folder): whole forward passes of a model
/// as plain PyTorch runs them (validation/h100/e2e/reference_llama.py), timed replayed from a CUDA graph
/// (<c>graph_ms</c>) and launched eagerly (<c>eager_ms</c>). Each row is predicted with the bundled
/// <c>pytorch</c> stack twice: under the sequential schedule (graph launch) and under the eager schedule
/// (the host model of eager launch), and reported as two rows of files <c>e2e/NAME (graph)</c> and
/// <c>e2e/NAME (eager)</c>.</summary>
public static class EndToEndValidation
{
    /// <summary>The sub-folder of a measurement folder with end-to-end rows.</summary>
    public const string Folder = "e2e";

    /// <summary>The stack the measured implementation corresponds to.</summary>
    public const string Stack = "pytorch";

    public static IEnumerable<ValidationRow> Rows(string folder, IDeviceModel device)
    {
        var dir = Path.Combine(folder, Folder);
        if (!Directory.Exists(dir)) yield break;
        var stack = StackLoader.LoadNamed(Stack);
        foreach (var path in Directory.GetFiles(dir, "*.json").Order(StringComparer.Ordinal))
        {
            var file = Folder + "/" + Path.GetFileName(path);
            var root = JsonInput.LoadObject(path);
            if (root["rows"] is not JArray items)
                throw new InputException(path, "rows", "missing; expected an array of measurements");
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i] is not JObject row) throw new InputException(path, $"rows[{i}]", "expected an object");
                var (graph, label) = Build(path, i, row, stack);
                yield return new ValidationRow(file + " (graph)", label + " graph",
                    CalibrationValidator.Num(path, i, row, "graph_ms"), PredictMs(graph, device, new SequentialSchedule()));
                yield return new ValidationRow(file + " (eager)", label + " eager",
                    CalibrationValidator.Num(path, i, row, "eager_ms"), PredictMs(graph, device, new EagerSchedule(stack.HostCostFactor)));
            }
        }
    }

    private static (WorkloadGraph Graph, string Label) Build(string path, int i, JObject row, SoftwareStack stack)
    {
        var model = CalibrationValidator.Text(path, i, row, "model");
        var mode = CalibrationValidator.Text(path, i, row, "mode");
        var batch = (long)CalibrationValidator.Num(path, i, row, "batch");
        var seq = (long)CalibrationValidator.Num(path, i, row, "new_tokens_per_seq");
        var context = row["context_before"] is { Type: JTokenType.Integer } c ? c.Value<long>() : 0;
        WorkloadRequest request = mode switch
        {
            "prefill" => WorkloadRequest.Prefill(batch, seq),
            "decode" => WorkloadRequest.Decode(batch, context),
            _ => throw new InputException(path, $"rows[{i}].mode", $"expected \"prefill\" or \"decode\", got '{mode}'"),
        };
        var config = ModelConfigLoader.LoadNamed(model);
        var graph = ModelBuilderRegistry.Default.Build(config, request with { Stack = stack });
        var label = mode == "prefill"
            ? string.Create(CultureInfo.InvariantCulture, $"{model} prefill b{batch} s{seq}")
            : string.Create(CultureInfo.InvariantCulture, $"{model} decode b{batch} ctx{context}");
        return (graph, label);
    }

    private static double PredictMs(WorkloadGraph graph, IDeviceModel device, ISchedule schedule)
    {
        var program = schedule.Map(graph, device);
        var result = new Simulator(program, device).Run();
        return Ps.ToSeconds(result.MakespanPs) * 1e3;
    }
}
