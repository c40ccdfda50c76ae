using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using AccelSim.Workloads;

namespace AccelSim.Plugins.Gpu.Tests;

public class GpuHostDispatchTests
{
    private static readonly GpuDeviceModel H100 = GpuTestSupport.Model("h100");

    private static Op Elementwise(int id, int hostCalls, long elements = 1024) =>
        new(id, $"add{id}", OpKind.Elementwise, 0,
            [new Tensor(2 * id, $"x{id}", [elements], DType.Bf16, TensorRole.Activation)],
            [new Tensor(2 * id + 1, $"y{id}", [elements], DType.Bf16, TensorRole.Activation)],
            elements, DType.Bf16) { HostCalls = hostCalls };

    [Fact]
    public void TheHostIsItsOwnEngine()
    {
        Assert.IsAssignableFrom<IHostDispatchDevice>(H100);
        Assert.Equal("host", H100.Topology.Engines[H100.HostEngine].Name);
        Assert.Equal(1, H100.Topology.Engines[H100.HostEngine].Units);
        Assert.NotEqual(H100.Topology.EngineIndex("sm"), H100.HostEngine);
    }

    [Fact]
    public void NoOpCostRunsOnTheHostEngine()
    {
        foreach (var op in GpuConfigBindingTests.OneOfEach())
            Assert.NotEqual(H100.HostEngine, H100.Cost(op).Engine);
        Assert.NotEqual(H100.HostEngine, H100.HostCopy(1 << 20, HostDirection.HostToDevice, HostMemory.Pinned).Engine);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    public void DispatchIsPerOpPlusPerFurtherCall(int calls)
    {
        var config = GpuTestSupport.Load("h100");
        var perOp = config.Number("host.dispatch_s_per_op");
        var perCall = config.Number("host.dispatch_s_per_call");
        Assert.True(perOp > 0 && perCall > 0);
        Assert.Equal(Ps.FromSeconds(perOp + (calls - 1) * perCall), H100.DispatchPs(Elementwise(0, calls)));
    }

    [Fact]
    public void DispatchFollowsTheConfig()
    {
        var device = GpuTestSupport.Model(GpuTestSupport.Load("h100").With(("host.dispatch_s_per_op", 1e-5), ("host.dispatch_s_per_call", 2e-6)));
        Assert.Equal(Ps.FromSeconds(1e-5 + 3 * 2e-6), device.DispatchPs(Elementwise(0, 4)));
    }

    [Fact]
    public void TinyEagerOpsAreLaunchBound()
    {
        // 50 tiny kernels: each runs for microseconds, each dispatch takes tens of microseconds, so the
        // eager run lasts about the sum of the dispatches, far longer than the kernels back to back.
        const int n = 50;
        var ops = Enumerable.Range(0, n).Select(i => Elementwise(i, 3)).ToArray();
        var graph = new WorkloadGraph(new WorkloadInfo("tiny", "op", 1, 1, 0, 1), ops);
        var eager = Ps.ToSeconds(new Simulator(new EagerSchedule().Map(graph, H100), H100).Run().MakespanPs);
        var graphed = GpuTestSupport.Seconds(graph, H100);
        var dispatch = n * Ps.ToSeconds(H100.DispatchPs(ops[0]));
        Assert.True(eager >= dispatch, $"eager {eager} s < dispatch sum {dispatch} s");
        Assert.True(eager <= dispatch + graphed, $"eager {eager} s > dispatch {dispatch} s + kernels {graphed} s");
        Assert.True(eager > 2 * graphed, $"eager {eager} s should be launch-bound against {graphed} s");
    }

    [Fact]
    public void LargeEagerKernelsHideTheHost()
    {
        // Big GEMMs: the host runs ahead, and the run lasts the kernels plus the first dispatch.
        var graph = SingleOps.MatMul(8192, 8192, 8192, DType.Bf16);
        var eager = Ps.ToSeconds(new Simulator(new EagerSchedule().Map(graph, H100), H100).Run().MakespanPs);
        var graphed = GpuTestSupport.Seconds(graph, H100);
        Assert.Equal(graphed + Ps.ToSeconds(H100.DispatchPs(graph.Ops[0])), eager, 9);
    }
}
