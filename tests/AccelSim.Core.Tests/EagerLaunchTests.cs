using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;

namespace AccelSim.Core.Tests;

/// <summary>The launch decision (option, else what the workload records, else graph replay) and the
/// eager schedule's queue: the host issues in order, the device runs each kernel once it is issued and
/// the previous one is done, and a read-back makes the host wait.</summary>
public class EagerLaunchTests
{
    private static readonly WorkloadInfo Built = new("w", "prefill", 1, 1, 0, 1);
    private static readonly WorkloadInfo Recorded = Built with { Recorded = new RecordedProgram(LaunchMode.Eager, "PyTorch") };

    [Fact]
    public void TheOptionWinsThenTheRecordingThenGraphReplay()
    {
        Assert.Equal(new LaunchDecision(LaunchMode.Graph, LaunchSource.Default), LaunchDecision.Resolve(null, Built));
        Assert.Equal(new LaunchDecision(LaunchMode.Eager, LaunchSource.Workload), LaunchDecision.Resolve(null, Recorded));
        Assert.Equal(new LaunchDecision(LaunchMode.Graph, LaunchSource.Option), LaunchDecision.Resolve(LaunchMode.Graph, Recorded));
        Assert.Equal(new LaunchDecision(LaunchMode.Eager, LaunchSource.Option), LaunchDecision.Resolve(LaunchMode.Eager, Built));
    }

    [Fact]
    public void OnlyAWorkloadsDecisionHasANote()
    {
        Assert.Equal("launch eager: the trace records an eager PyTorch program", LaunchDecision.Resolve(null, Recorded).Note(Recorded));
        Assert.Null(LaunchDecision.Resolve(LaunchMode.Eager, Recorded).Note(Recorded));
        Assert.Null(LaunchDecision.Resolve(null, Built).Note(Built));
        Assert.True(LaunchModes.TryParse("EAGER", out var m) && m == LaunchMode.Eager);
        Assert.False(LaunchModes.TryParse("lazy", out _));
    }

    /// <summary>A device with a host engine: each op's kernel takes <c>kernelPs</c> and its dispatch <c>hostPs</c>.</summary>
    private sealed class HostDevice(long kernelPs, long hostPs) : IDeviceModel, IHostDispatchDevice
    {
        public string Name => "host-fake";
        public string Kind => "fake";
        public DeviceTopology Topology { get; } = new([new EngineSpec("pe", 1), new EngineSpec("host", 1)],
            [new ChannelSpec("hbm", 1e12, 0, "hbm", OffChip: true)], [new TierSpec("hbm", long.MaxValue / 4, OffChip: true)]);
        public int MainMemoryChannel => 0;
        public double StaticPowerW => 0;
        public int HostEngine => 1;
        public DeviceCapabilities Capabilities => new() { HostDispatch = this };
        public double PeakFlops(DType dtype) => 1e12;
        public int PlaceTensor(Tensor tensor) => 0;
        public OpCost Cost(Op op) => new(0, 0, kernelPs, [], 0);
        public long DispatchPs(Op op) => hostPs;
    }

    private static WorkloadGraph Chain(int n, int syncAt = -1)
    {
        var ops = new List<Op>();
        for (var i = 0; i < n; i++)
        {
            var x = new Tensor(2 * i, $"x{i}", [1], DType.Bf16, TensorRole.Activation);
            var y = new Tensor(2 * i + 1, $"y{i}", [1], DType.Bf16, TensorRole.Activation);
            ops.Add(new Op(i, $"op{i}", OpKind.Elementwise, 0, [x], [y], 0, DType.Bf16, bytesRead: 0, bytesWritten: 0) { HostSync = i == syncAt });
        }
        return new WorkloadGraph(Built, ops);
    }

    private static long Run(WorkloadGraph g, long kernelPs, long hostPs)
    {
        var d = new HostDevice(kernelPs, hostPs);
        return new Simulator(new EagerSchedule().Map(g, d), d).Run().MakespanPs;
    }

    [Theory]
    [InlineData(10, 1_000_000, 5_000_000)]   // host-bound: n dispatches, then the last kernel
    [InlineData(10, 5_000_000, 1_000_000)]   // device-bound: the first dispatch, then n kernels
    [InlineData(7, 3_000_000, 3_000_000)]
    public void TheQueueGivesTheLargerOfHostAndDevicePlusOneStepOfTheOther(int n, long kernel, long host)
    {
        var expected = Math.Max(n * host + kernel, host + n * kernel);
        Assert.Equal(expected, Run(Chain(n), kernel, host));
    }

    [Fact]
    public void AReadBackDrainsTheQueue()
    {
        // Device-bound: without a read-back the host runs ahead and the run is the first dispatch plus the
        // kernels; a read-back at op 4 makes the host wait for kernels 0..4, so the next dispatch is
        // exposed again before the device-bound chain goes on.
        const long kernel = 5_000_000, host = 1_000_000;
        const int n = 10;
        Assert.Equal(host + n * kernel, Run(Chain(n), kernel, host));
        var synced = Run(Chain(n, syncAt: 4), kernel, host);
        Assert.Equal(host + 5 * kernel + host + (n - 5) * kernel, synced);
        // Host-bound, a read-back also exposes the kernel it waits for.
        const long shortKernel = 1_000_000, slowHost = 5_000_000;
        Assert.Equal(n * slowHost + shortKernel, Run(Chain(n), shortKernel, slowHost));
        Assert.Equal(n * slowHost + 2 * shortKernel, Run(Chain(n, syncAt: 4), shortKernel, slowHost));
    }

    [Fact]
    public void AHostCostFactorScalesEveryDispatchAndOnlyThat()
    {
        // Host-bound chain: the makespan is n scaled dispatches plus the last kernel.
        const long kernel = 1_000_000, host = 5_000_000;
        const int n = 10;
        var d = new HostDevice(kernel, host);
        var scaled = new Simulator(new EagerSchedule(0.62).Map(Chain(n), d), d).Run().MakespanPs;
        Assert.Equal(n * 3_100_000 + kernel, scaled);
        // Device-bound: the factor only shortens the first exposed dispatch.
        var dev = new HostDevice(host, kernel);
        Assert.Equal(620_000 + n * host, new Simulator(new EagerSchedule(0.62).Map(Chain(n), dev), dev).Run().MakespanPs);
        Assert.Throws<ArgumentOutOfRangeException>(() => new EagerSchedule(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EagerSchedule(double.NaN));
    }

    [Fact]
    public void TheStackDecidesAfterTheOptionAndTheRecordedProgram()
    {
        Assert.Equal(new LaunchDecision(LaunchMode.Eager, LaunchSource.Stack), LaunchDecision.Resolve(null, Built, LaunchMode.Eager));
        Assert.Equal(new LaunchDecision(LaunchMode.Graph, LaunchSource.Default), LaunchDecision.Resolve(null, Built, LaunchMode.Graph));
        Assert.Equal(new LaunchDecision(LaunchMode.Graph, LaunchSource.Option), LaunchDecision.Resolve(LaunchMode.Graph, Built, LaunchMode.Eager));
        var graphRecorded = Built with { Recorded = new RecordedProgram(LaunchMode.Graph, "PyTorch") };
        Assert.Equal(new LaunchDecision(LaunchMode.Graph, LaunchSource.Workload), LaunchDecision.Resolve(null, graphRecorded, LaunchMode.Eager));
        Assert.Contains("stack 'pytorch'", LaunchDecision.Resolve(null, Built with { Stack = "pytorch" }, LaunchMode.Eager).Note(Built with { Stack = "pytorch" }));
    }
}
