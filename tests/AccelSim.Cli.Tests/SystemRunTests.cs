using AccelSim.Core.Graph;
using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Plugins.Gpu;
using AccelSim.Reports;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;
using Xunit.Abstractions;

namespace AccelSim.Cli.Tests;

/// <summary>A system program on a bundled system with the GPU plugin's device model: eight H100s of a DGX
/// node each run a Llama-2-7B decode step, then all-reduce 1 GiB over the node's NVSwitch.</summary>
public class SystemRunTests(ITestOutputHelper output)
{
    private static (SystemProgram Program, SystemFabric Fabric, Core.Devices.IDeviceModel Device, WorkloadGraph Graph) Setup(int simulated)
    {
        var spec = SystemConfigLoader.LoadNamed("dgx-h100");
        var fabric = SystemFabric.Build(spec, 1);
        var device = new GpuPlugin().Create(HardwareConfigLoader.LoadNamed(spec.Node.Device));
        var graph = ModelBuilderRegistry.Default.Build(ModelConfigLoader.LoadNamed("llama2-7b"), WorkloadRequest.Decode(8, 2048));
        var call = new CommCall(CollectiveKind.AllReduce, 1L << 30, [.. Enumerable.Range(0, 8)], CollectiveAlgorithm.Ring);
        var ranks = Enumerable.Range(0, simulated).Select(r => new RankProgram(r,
            [RankSegment.Run("decode", graph), RankSegment.Collective("all-reduce", "ar", call, [0])],
            [new RankMemory("optimizer state", 4L << 30)])).ToArray();
        return (new SystemProgram("llama2-7b decode x8", ranks), fabric, device, graph);
    }

    [Fact]
    public void Eight_gpus_compute_as_one_and_all_reduce_as_the_collective_alone()
    {
        var (program, fabric, device, graph) = Setup(8);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var result = SystemSimulator.Run(program, fabric, _ => device, new SequentialSchedule());
        watch.Stop();

        var single = new Simulator(new SequentialSchedule().Map(graph, device), device).Run();
        Assert.All(result.Ranks, r => Assert.Equal(single.MakespanPs, r.Segments[0].EndPs));
        var ar = Assert.Single(result.Collectives);
        Assert.Equal(single.MakespanPs, ar.StartPs);

        // The same all-reduce alone on a fresh fabric takes the same time.
        var alone = SystemFabric.Build(fabric.Spec, 1);
        var kernel = new Kernel(alone.Network);
        var c = Collective.Issue(kernel, alone, CollectiveKind.AllReduce, CollectiveAlgorithm.Ring, 1L << 30);
        kernel.Run();
        Assert.Equal(c.DurationPs, ar.DurationPs);
        Assert.InRange(ar.BusBandwidth_Bps, 300e9, 400e9);
        Assert.All(result.Ranks, r => Assert.Equal(ar.DurationPs, r.ExposedCommPs));
        Assert.All(result.Ranks, r => Assert.Equal(4L << 30, r.HeldBytes));
        Assert.Equal(8 * single.Program.Tasks.Count, result.Ranks.Sum(r => r.Result.Program.Tasks.Count));
        output.WriteLine($"8 x {single.Program.Tasks.Count} tasks + {ar.Key}: makespan {result.MakespanS * 1e3:F3} ms, " +
            $"all-reduce {ar.DurationPs / 1e9:F3} ms ({ar.BusBandwidth_Bps / 1e9:F1} GB/s bus), {result.EventCount} events, {watch.ElapsedMilliseconds} ms wall");

        // Folded to one simulated replica: the same collective and makespan, an eighth of the compute.
        var (one, fabric1, _, _) = Setup(1);
        var folded = SystemSimulator.Run(one, fabric1, _ => device, new SequentialSchedule());
        Assert.Equal(ar.StartPs, folded.Collectives[0].StartPs);
        Assert.Equal(ar.EndPs, folded.Collectives[0].EndPs);
        Assert.Equal(result.MakespanPs, folded.MakespanPs);
        Assert.Equal(result.Ranks[0].Metrics.Energy.TotalJ, folded.Ranks[0].Metrics.Energy.TotalJ);
        Assert.Equal(SystemReport.ToJsonString(result), SystemReport.ToJsonString(SystemSimulator.Run(program, SystemFabric.Build(fabric.Spec, 1), _ => device, new SequentialSchedule())));
    }
}
