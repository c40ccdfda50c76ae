using AccelSim.Core.Config;
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
        Assert.Same(H100, H100.Capabilities.HostDispatch);
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

    private static Op WithHost(Op op, int views, int nested) =>
        new(op.Id, op.Name, op.Kind, op.Layer, op.Inputs, op.Outputs, op.Flops, op.ComputeDType, op.Gemm, op.Attention)
        { HostCalls = 1 + views + nested, HostViews = views, HostNested = nested };

    private static double ByKind(string kind) => GpuTestSupport.Load("h100").Number($"host.dispatch.by_kind.{kind}");

    [Fact]
    public void EveryKindHasAPositiveCostFromTheConfig()
    {
        foreach (var op in GpuConfigBindingTests.OneOfEach())
        {
            var cost = ByKind(op.Kind.Name());
            Assert.True(cost > 0, op.Kind.Name());
            Assert.Equal(Ps.FromSeconds(cost), H100.DispatchPs(op));
        }
        Assert.True(ByKind("view") > 0 && ByKind("nested") > 0);
        // A GEMM call costs the host more than an elementwise one, and a call that launches nothing less.
        Assert.True(ByKind("matmul") > ByKind("elementwise") && ByKind("elementwise") > ByKind("view") && ByKind("view") > ByKind("nested"));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 0)]
    [InlineData(0, 8)]
    [InlineData(7, 3)]
    public void DispatchIsTheKindPlusViewsPlusNestedCalls(int views, int nested)
    {
        foreach (var op in GpuConfigBindingTests.OneOfEach())
        {
            var expected = ByKind(op.Kind.Name()) + views * ByKind("view") + nested * ByKind("nested");
            Assert.Equal(Ps.FromSeconds(expected), H100.DispatchPs(WithHost(op, views, nested)));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(100)]
    public void NViewsCostNTimesTheViewCost(int n)
    {
        var ops = Enumerable.Range(0, n + 1).Select(i => Elementwise(i, 1)).ToArray();
        ops[^1] = WithHost(ops[^1], n, 0);
        var host = ops.Sum(o => Ps.ToSeconds(H100.DispatchPs(o)));
        var kinds = (n + 1) * ByKind("elementwise");
        Assert.Equal(n * ByKind("view"), host - kinds, 10);
    }

    [Fact]
    public void WithoutABreakdownEveryFurtherCallIsAView()
    {
        // Ops built before the breakdown existed (or by hand) carry only HostCalls.
        Assert.Equal(Ps.FromSeconds(ByKind("elementwise") + 6 * ByKind("view")), H100.DispatchPs(Elementwise(0, 7)));
    }

    [Fact]
    public void DispatchFollowsTheConfig()
    {
        var device = GpuTestSupport.Model(GpuTestSupport.Load("h100").With(
            ("host.dispatch.by_kind.elementwise", 1e-5), ("host.dispatch.by_kind.view", 2e-6), ("host.dispatch.by_kind.nested", 5e-7)));
        Assert.Equal(Ps.FromSeconds(1e-5 + 3 * 2e-6 + 4 * 5e-7), device.DispatchPs(WithHost(Elementwise(0, 1), 3, 4)));
    }

    [Fact]
    public void AnUnknownKindIsAnErrorNamingTheFileAndPath()
    {
        var config = GpuTestSupport.Load("h100");
        var bad = new HardwareConfig(config.Name, config.Kind, config.File,
            config.Values.Append(new KeyValuePair<string, ConfigValue>("host.dispatch.by_kind.matmull", ConfigValue.Of(1e-5))));
        var e = Assert.Throws<InputException>(() => GpuTestSupport.Model(bad));
        var p = Assert.Single(e.Problems, p => p.Path == "host.dispatch.by_kind.matmull");
        Assert.Equal(config.File, p.File);
        Assert.Contains("matmul", p.Message);
        Assert.Contains("expected one of", p.Message);
    }

    [Fact]
    public void AMissingKindIsAnError()
    {
        var e = Assert.Throws<InputException>(() => GpuTestSupport.Model(GpuTestSupport.Load("h100").Without("host.dispatch.by_kind.attention")));
        Assert.Contains(e.Problems, p => p.Path == "host.dispatch.by_kind.attention");
    }

    [Fact]
    public void EveryBundledGpuBindsTheSameHostCosts()
    {
        foreach (var name in GpuTestSupport.BundledGpus)
        {
            var m = GpuTestSupport.Model(name);
            foreach (var op in GpuConfigBindingTests.OneOfEach())
                Assert.Equal(H100.DispatchPs(op), m.DispatchPs(op));
        }
    }

    [Fact]
    public void AReadBackMakesTheHostWaitForTheDevice()
    {
        // A big GEMM whose result the host reads back, then 20 tiny ops: without the read-back the host
        // issues the tiny ops while the GEMM runs and they follow it at once; with it, the host issues
        // them only after the GEMM, so the run lasts the GEMM plus all their dispatches.
        var gemm = SingleOps.MatMul(8192, 8192, 8192, DType.Bf16).Ops[0];
        Op[] Build(bool sync)
        {
            var first = new Op(0, gemm.Name, gemm.Kind, 0, gemm.Inputs, gemm.Outputs, gemm.Flops, gemm.ComputeDType, gemm.Gemm) { HostSync = sync };
            var tiny = Enumerable.Range(1, 20).Select(i => new Op(i, $"add{i}", OpKind.Elementwise, 0,
                [new Tensor(100 + 2 * i, $"x{i}", [1024], DType.Bf16, TensorRole.Activation)],
                [new Tensor(101 + 2 * i, $"y{i}", [1024], DType.Bf16, TensorRole.Activation)], 1024, DType.Bf16));
            return [first, .. tiny];
        }
        double Run(bool sync)
        {
            var graph = new WorkloadGraph(new WorkloadInfo("sync", "op", 1, 1, 0, 1), Build(sync));
            return Ps.ToSeconds(new Simulator(new EagerSchedule().Map(graph, H100), H100).Run().MakespanPs);
        }
        var gemmS = GpuTestSupport.Seconds(SingleOps.MatMul(8192, 8192, 8192, DType.Bf16), H100);
        var dispatch = Ps.ToSeconds(H100.DispatchPs(Elementwise(1, 1)));
        var free = Run(sync: false);
        var synced = Run(sync: true);
        Assert.True(synced >= free + 10 * dispatch, $"read-back {synced} s vs free {free} s");
        Assert.True(free < gemmS + 10 * dispatch, $"without a read-back the host runs ahead: {free} s vs GEMM {gemmS} s");
        Assert.True(synced >= gemmS + 20 * dispatch, $"read-back {synced} s < GEMM {gemmS} s + dispatches");
    }

    [Fact]
    public void HostBoundAndDeviceBoundRunsBothComeOutRight()
    {
        // The same host work in front of short and of long kernels: eager latency is close to the larger
        // of the host's total and the device's total, never below either.
        foreach (var elements in new long[] { 1024, 1L << 28 })
        {
            var ops = Enumerable.Range(0, 40).Select(i => Elementwise(i, 4, elements)).ToArray();
            var graph = new WorkloadGraph(new WorkloadInfo("mix", "op", 1, 1, 0, 1), ops);
            var eager = Ps.ToSeconds(new Simulator(new EagerSchedule().Map(graph, H100), H100).Run().MakespanPs);
            var device = GpuTestSupport.Seconds(graph, H100);
            var host = ops.Sum(o => Ps.ToSeconds(H100.DispatchPs(o)));
            var first = Ps.ToSeconds(H100.DispatchPs(ops[0]));
            var last = device / ops.Length;
            Assert.True(eager >= Math.Max(host, device), $"{elements}: eager {eager} s below host {host} s or device {device} s");
            Assert.True(eager <= Math.Max(host + last, device + first) * 1.0001, $"{elements}: eager {eager} s, host {host} s, device {device} s");
        }
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
