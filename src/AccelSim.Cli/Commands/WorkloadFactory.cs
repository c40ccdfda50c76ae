using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Traces;

namespace AccelSim.Cli.Commands;

/// <summary>Builds the workload graph a command asked for: a model config or a native trace.</summary>
public static class WorkloadFactory
{
    public static WorkloadGraph FromModel(string model, string phase, long batch, long seq, long context, string? dtype)
    {
        if (!Phases.TryParse(phase, out var p))
            throw new InputException(null, "--phase", $"expected {Phases.Expected}, got '{phase}'");
        DType? d = dtype is null ? null : CommonOptions.ParseDType(dtype, "--dtype");
        var config = ModelConfigLoader.LoadNamed(model);
        return ModelBuilderRegistry.Default.Build(config, new WorkloadRequest(p, batch, seq, context, d));
    }

    public static WorkloadGraph FromTrace(string path)
    {
        if (!File.Exists(path)) throw new InputException(path, null, "no such trace file");
        return NativeTraceReader.Read(path);
    }
}
