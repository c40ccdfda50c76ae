using System.CommandLine;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;

namespace AccelSim.Cli.Commands;

/// <summary>The options that say where a workload's tensors live on a device (placement policy, KV-cache
/// policy, expert switching), shared by run and compare, and the graph transform they ask for.</summary>
public sealed class PlacementOptions
{
    public Option<string> Placement { get; } = new("--placement")
    {
        DefaultValueFactory = _ => "resident",
        Description = "resident (all in device memory; over-capacity is reported), fit (error if it does not fit), offload (stream what does not fit from the next tier); training: zero-infinity (gradients and optimizer states on the host, AdamW on the host CPU after the backward) or ssd-pipelined (optimizer states on NVMe, swapped in a pipeline with a per-layer CPU AdamW that overlaps the backward)",
    };

    public Option<string> KvPolicy { get; } = new("--kv-policy")
    {
        DefaultValueFactory = _ => "fit",
        Description = "fit (the KV cache stays in device memory) or swap (KV that does not fit lives in the next tier and is swapped in layer by layer)",
    };

    public Option<int> Experts { get; } = new("--experts")
    {
        DefaultValueFactory = _ => 0,
        Description = "Composition of Experts: switch this many expert models (each the size of the model's weights) from the tier below device memory before the step",
    };

    public PlacementOptions(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (var o in new Option[] { Placement, KvPolicy, Experts }) command.Options.Add(o);
    }

    /// <summary>The graph as it runs on <paramref name="device"/>: experts composed in, then placed.</summary>
    public WorkloadGraph Apply(ParseResult p, WorkloadGraph graph, IDeviceModel device)
    {
        ArgumentNullException.ThrowIfNull(p);
        var switches = p.GetValue(Experts);
        if (switches != 0) graph = ExpertSwitching.Compose(graph, switches, device);
        return Execution.Place(graph, device, p.GetValue(Placement)!, p.GetValue(KvPolicy)!);
    }
}
