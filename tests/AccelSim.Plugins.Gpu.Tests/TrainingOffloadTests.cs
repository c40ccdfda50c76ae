using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using AccelSim.Workloads.Models;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Newtonsoft.Json.Linq;

namespace AccelSim.Plugins.Gpu.Tests;

/// <summary>Training offload on a GPU: the host CPU as an engine, the zero-infinity and ssd-pipelined
/// placements, and the capacity law.</summary>
public class TrainingOffloadTests
{
    private static ModelConfig Tiny(int layers, int width, int heads = 4) =>
        ModelConfigLoader.Parse(JObject.Parse(
            $$"""{"model_type": "gpt2", "activation_function": "gelu_new", "n_embd": {{width}}, "n_layer": {{layers}}, "n_head": {{heads}}, "n_positions": 512, "vocab_size": 1024, "layer_norm_epsilon": 1e-5, "torch_dtype": "float16"}"""),
            "tiny.json");

    private static WorkloadGraph Train(int layers, int width, int batch, int seq, bool recompute) =>
        ModelBuilderRegistry.Default.Build(Tiny(layers, width), WorkloadRequest.Train(batch, seq, recompute: recompute));

    private static (SimulationResult Result, SimProgram Program) Run(WorkloadGraph graph, GpuDeviceModel device)
    {
        var program = new SequentialSchedule().Map(graph, device);
        return (new Simulator(program, device).Run(), program);
    }

    [Fact]
    public void AnOptimizerStepInHostMemoryRunsOnTheCpuAtTheHostMemoryRate()
    {
        var d = GpuTestSupport.Model("v100");
        Assert.True(d.HasHostCpu);
        const long parameters = 1_000_000_000;
        var op = new Op(0, "optimizer.layer0", OpKind.Optimizer, 0, [], [], 13 * parameters, DType.Fp32,
            bytesRead: 14 * parameters, bytesWritten: 14 * parameters) { Transfer = HostCompute.In("host") };
        var cost = d.Cost(op);
        Assert.Equal(d.Topology.EngineIndex(GpuDeviceModel.CpuEngine), cost.Engine);
        var ddr = Assert.Single(cost.Transfers);
        Assert.Equal(d.Topology.ChannelIndex(GpuDeviceModel.HostMemoryChannel), ddr.Channel);
        Assert.Equal(28 * parameters, ddr.Bytes);
        // Memory-bound: 28 GB over 153.6 GB/s x 0.43 (DGX-1 DDR4, CPU-Adam's fraction), the simulator's closed form.
        var g = new WorkloadGraph(new WorkloadInfo("adam", "train", 1, 0, 0, 0), [op]);
        var seconds = Ps.ToSeconds(Run(g, d).Result.MakespanPs);
        Assert.Equal(28e9 / (153.6e9 * 0.43), seconds, 3);
        // The same op on the GPU (no transfer) runs on the SMs.
        var onGpu = new Op(0, "optimizer.layer0", OpKind.Optimizer, 0, [], [], 13 * parameters, DType.Fp32, bytesRead: 14 * parameters, bytesWritten: 14 * parameters);
        Assert.Equal(d.Topology.EngineIndex("sm"), d.Cost(onGpu).Engine);
    }

    [Fact]
    public void ACopyBetweenHostAndDriveRunsOnTheHostIoEngine()
    {
        var d = GpuTestSupport.Model("rtx4090");
        var t = new Tensor(0, "s", [1L << 30], DType.Int8, TensorRole.OptimizerState);
        var op = new Op(0, "swap", OpKind.Copy, 0, [t], [], 0, DType.Int8, bytesRead: 1L << 30, bytesWritten: 1L << 30) { Transfer = new TierTransfer("ssd", "host") };
        var cost = d.Cost(op);
        Assert.Equal(d.Topology.EngineIndex(GpuDeviceModel.SsdIoEngine), cost.Engine);
        Assert.Contains(cost.Transfers, x => x.Channel == d.Topology.ChannelIndex("nvme"));
        Assert.DoesNotContain(cost.Transfers, x => x.Channel == d.Topology.ChannelIndex("pcie"));
    }

    [Fact]
    public void AHostCpuNeedsBothRates()
    {
        var config = GpuTestSupport.Load("h100").Without("host.cpu.memory_bandwidth_Bps");
        var e = Assert.Throws<InputException>(() => GpuTestSupport.Model(config));
        Assert.Contains("host.cpu.memory_bandwidth_Bps", e.Message);
        var none = GpuTestSupport.Model(GpuTestSupport.Load("h100").Without("host.cpu.memory_bandwidth_Bps", "host.cpu.peak_flops"));
        Assert.False(none.HasHostCpu);
        var graph = Train(2, 256, 1, 64, recompute: true);
        var refused = Assert.Throws<InputException>(() => Placement.Apply(graph, none, PlacementPolicy.ZeroInfinity));
        Assert.Contains("host.cpu.peak_flops", refused.Message);
    }

    [Fact]
    public void ZeroInfinityStepsTheOptimizerAfterTheBackwardSsdPipelinedDuringIt()
    {
        // A drive fast enough that the backward, not the state swaps, is the longer stream of work.
        var device = GpuTestSupport.Model(GpuTestSupport.Load("rtx4090").With(("host.nvme.bandwidth_Bps", 1e12)));
        var graph = Train(6, 1024, 8, 512, recompute: true);
        double OptimizerStartVsBackwardEnd(PlacementPolicy policy, out SimulationResult result, out WorkloadGraph placed)
        {
            placed = Placement.Apply(graph, device, policy).Graph;
            var (r, program) = Run(placed, device);
            result = r;
            long backwardEnd = 0, firstOptimizer = long.MaxValue;
            var cpu = device.Topology.EngineIndex(GpuDeviceModel.CpuEngine);
            var seenLoss = false;
            for (var i = 0; i < program.Tasks.Count; i++)
            {
                var op = program.Tasks[i].Ops[0];
                if (op.Name == "loss") seenLoss = true;
                if (op.Kind == OpKind.Optimizer)
                {
                    Assert.Equal(cpu, program.Tasks[i].Cost.Engine);
                    firstOptimizer = Math.Min(firstOptimizer, r.TaskStartPs[i]);
                }
                else if (seenLoss && op.Transfer is null) backwardEnd = Math.Max(backwardEnd, r.TaskEndPs[i]);
            }
            return Ps.ToSeconds(firstOptimizer - backwardEnd);
        }
        Assert.True(OptimizerStartVsBackwardEnd(PlacementPolicy.ZeroInfinity, out var zi, out var ziGraph) >= 0, "zero-infinity's optimizer overlapped the backward");
        Assert.True(OptimizerStartVsBackwardEnd(PlacementPolicy.SsdPipelined, out var sp, out var spGraph) < 0, "ssd-pipelined's optimizer did not overlap the backward");
        // Every gradient goes to the host once; ssd-pipelined reads and writes every optimizer state on the drives.
        var grads = graph.Tensors.Where(t => t.Role == TensorRole.Gradient).Sum(t => t.Bytes);
        var states = graph.Tensors.Where(t => t.Role == TensorRole.OptimizerState).Sum(t => t.Bytes);
        var d2h = device.Topology.ChannelIndex("pcie_d2h");
        var nvme = device.Topology.ChannelIndex("nvme");
        Assert.Equal(grads, zi.ChannelBytes[d2h]);
        Assert.Equal(grads, sp.ChannelBytes[d2h]);
        Assert.Equal(2 * states, sp.ChannelBytes[nvme]);
        Assert.Equal(0, zi.ChannelBytes[nvme]); // host memory holds them
        Assert.All(spGraph.Tensors.Where(t => t.Role == TensorRole.OptimizerState), t => Assert.Equal("ssd", spGraph.TierOf[t.Id]));
        Assert.All(ziGraph.Tensors.Where(t => t.Role == TensorRole.OptimizerState), t => Assert.Equal("host", ziGraph.TierOf[t.Id]));
        Assert.Equal(graph.TotalFlops, ziGraph.TotalFlops);
    }

    [Fact]
    public void TrainingPoliciesRefuseInferenceGraphs()
    {
        var device = GpuTestSupport.Model("rtx4090");
        var prefill = ModelBuilderRegistry.Default.Build(Tiny(2, 256), WorkloadRequest.Prefill(1, 64));
        var e = Assert.Throws<InputException>(() => Placement.Apply(prefill, device, PlacementPolicy.SsdPipelined));
        Assert.Contains("phase=train", e.Message);
    }

    /// <summary>Law: more capacity in any tier (HBM, host memory, drives) never makes a training step
    /// slower under either training placement (random small GPT-2-like models and capacities).</summary>
    [Property(MaxTest = 20)]
    public Property MoreCapacityNeverMakesATrainingStepSlower() =>
        Prop.ForAll(
            Gen.Choose(2, 6).SelectMany(l => Gen.Choose(1, 4).SelectMany(w =>
                Gen.Elements(PlacementPolicy.ZeroInfinity, PlacementPolicy.SsdPipelined).Select(p => (Layers: l, Width: 256 * w, Policy: p)))).ToArbitrary(),
            Gen.Choose(0, 100).ToArbitrary(),
            Gen.Choose(0, 100).ToArbitrary(),
            (shape, a, b) =>
            {
                var policy = shape.Policy;
                var graph = Train(shape.Layers, shape.Width, 2, 128, recompute: true);
                var weights = graph.Tensors.Where(t => t.Role == TensorRole.Weight).Sum(t => t.Bytes);
                var states = graph.Tensors.Where(t => t.Role == TensorRole.OptimizerState).Sum(t => t.Bytes);
                var (lo, hi) = (Math.Min(a, b), Math.Max(a, b));
                double? Time(int hbmPct, int hostPct, int ssdPct)
                {
                    var hbm = 256L * 1024 * 1024 + 2 * weights * hbmPct / 100;
                    var host = 2 * weights + states * hostPct / 100 + 1;
                    var ssd = states * ssdPct / 100 + 2 * states + 1;
                    var device = GpuTestSupport.Model(GpuTestSupport.Load("rtx4090").With(
                        ("memory.hbm.capacity_bytes", hbm), ("host.memory_bytes", host), ("host.nvme.capacity_bytes", ssd)));
                    try
                    {
                        return Ps.ToSeconds(Run(Placement.Apply(graph, device, policy).Graph, device).Result.MakespanPs);
                    }
                    catch (InputException)
                    {
                        return null;
                    }
                }
                static bool NotSlower(double? before, double? after) => before is null || (after is { } x && x <= before.Value * (1 + 1e-9));
                var h1 = Time(lo, 50, 50);
                var h2 = Time(hi, 50, 50);
                var m1 = Time(100, lo, 50);
                var m2 = Time(100, hi, 50);
                var s1 = Time(100, 50, lo);
                var s2 = Time(100, 50, hi);
                return NotSlower(h1, h2).Label($"{policy.Name()} hbm {lo}% -> {hi}%: {h1} -> {h2} s")
                    .And(NotSlower(m1, m2).Label($"{policy.Name()} host {lo}% -> {hi}%: {m1} -> {m2} s"))
                    .And(NotSlower(s1, s2).Label($"{policy.Name()} ssd {lo}% -> {hi}%: {s1} -> {s2} s"));
            });
}
