using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Core.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Core.Tests;

/// <summary>The <c>auto</c> dataflow schedule's choice per region among op by op, the spatial pipeline
/// and the reconfigured sequence (<see cref="IReconfigurableDevice"/>), on a device whose three costs
/// the test sets directly.</summary>
public class ReconfiguredScheduleTests
{
    /// <summary>Compute-only costs: each op <see cref="OpPs"/>[id]; a region (one layer) as a pipeline
    /// <see cref="FusedPs"/>[layer], reconfigured <see cref="ReconfiguredPs"/>[layer]. The note names
    /// the mode.</summary>
    private sealed class ModeDevice(long[] opPs, long[] fusedPs, long[] reconfiguredPs) : IDeviceModel, IDataflowDevice, IReconfigurableDevice
    {
        public long[] OpPs { get; } = opPs;
        public long[] FusedPs { get; } = fusedPs;
        public long[] ReconfiguredPs { get; } = reconfiguredPs;

        public string Name => "modes";
        public string Kind => "fake";
        public DeviceTopology Topology { get; } = FakeDevice.Simple();
        public int MainMemoryChannel => 0;
        public double StaticPowerW => 1;
        public DeviceCapabilities Capabilities => new() { Dataflow = this, Reconfiguration = this };

        public double PeakFlops(DType dtype) => 1e12;

        public int PlaceTensor(Tensor tensor) => 0;

        public OpCost Cost(Op op) => new(0, 0, OpPs[op.Id], [], 0, "sequential");

        public OpCost CostRegion(Region region) => new(0, 0, FusedPs[region.Ops[0].Layer], [], 0, "dataflow");

        public OpCost CostRegionReconfigured(Region region) => new(0, 0, ReconfiguredPs[region.Ops[0].Layer], [], 0, "reconfigured");
    }

    /// <summary>A chain of <paramref name="perLayer"/>[l] ops in each layer l, each op feeding the next.</summary>
    private static WorkloadGraph Chain(int[] perLayer)
    {
        var ops = new List<Op>();
        var x = new Tensor(0, "x", [4, 4], DType.Bf16, TensorRole.Activation);
        for (var layer = 0; layer < perLayer.Length; layer++)
            for (var i = 0; i < perLayer[layer]; i++)
            {
                var y = new Tensor(ops.Count + 1, $"y{ops.Count}", [4, 4], DType.Bf16, TensorRole.Activation);
                ops.Add(new Op(ops.Count, $"op{ops.Count}", OpKind.Elementwise, layer, [x], [y], 16, DType.Bf16));
                x = y;
            }
        return new WorkloadGraph(new WorkloadInfo("chain", "kernel", 1, 4, 0, 4), ops);
    }

    /// <summary>The mode each layer ran in and the program's makespan.</summary>
    private static (string[] Modes, long MakespanPs) Run(WorkloadGraph graph, ModeDevice device, bool auto)
    {
        var program = new DataflowSchedule(auto).Map(graph, device);
        var modes = new string[graph.Ops.Max(o => o.Layer) + 1];
        foreach (var task in program.Tasks)
        {
            var mode = task.Cost.Note!;
            Assert.True(modes[task.Ops[0].Layer] is null || modes[task.Ops[0].Layer] == mode, "a region ran in two modes");
            modes[task.Ops[0].Layer] = mode;
        }
        return (modes, new Simulator(program, device).Run().MakespanPs);
    }

    [Fact]
    public void Auto_picks_the_reconfigured_region_when_it_is_fastest()
    {
        // Layer 0: ops 100 + 100 + 100, pipeline 250, reconfigured 180 -> reconfigured.
        // Layer 1: ops 50 + 50, pipeline 60, reconfigured 90 -> pipeline.
        // Layer 2: ops 10 + 10, pipeline 30, reconfigured 25 -> op by op.
        var graph = Chain([3, 2, 2]);
        var device = new ModeDevice([100, 100, 100, 50, 50, 10, 10], [250, 60, 30], [180, 90, 25]);
        var (modes, makespan) = Run(graph, device, auto: true);
        Assert.Equal(["reconfigured", "dataflow", "sequential"], modes);
        Assert.Equal(180 + 60 + 20, makespan);

        // The plain dataflow schedule ignores the reconfigured mode: every region as a pipeline.
        var (dfModes, dfMakespan) = Run(graph, device, auto: false);
        Assert.Equal(["dataflow", "dataflow", "dataflow"], dfModes);
        Assert.Equal(250 + 60 + 30, dfMakespan);
    }

    [Fact]
    public void Ties_keep_op_by_op_then_the_pipeline()
    {
        var graph = Chain([2, 2]);
        // Layer 0: all three 200 -> op by op. Layer 1: pipeline and reconfigured 150 < 200 -> pipeline.
        var device = new ModeDevice([100, 100, 100, 100], [200, 150], [200, 150]);
        Assert.Equal(["sequential", "dataflow"], Run(graph, device, auto: true).Modes);
    }

    [Fact]
    public void A_single_op_region_runs_op_by_op()
    {
        var graph = Chain([1]);
        var device = new ModeDevice([100], [1], [1]);
        Assert.Equal(["sequential"], Run(graph, device, auto: true).Modes);
    }

    [Property(MaxTest = 200)]
    public Property Auto_never_picks_a_slower_candidate_and_breaks_ties_in_order()
    {
        var gen =
            from layers in Gen.Choose(1, 4)
            from perLayer in Gen.ArrayOf(Gen.Choose(2, 4), layers)
            from opPs in Gen.ArrayOf(Gen.Choose(0, 40), perLayer.Sum())
            from fused in Gen.ArrayOf(Gen.Choose(0, 120), layers)
            from reconf in Gen.ArrayOf(Gen.Choose(0, 120), layers)
            select (perLayer, opPs, fused, reconf);
        return Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var (perLayer, opPs, fused, reconf) = x;
            var graph = Chain(perLayer);
            var device = new ModeDevice(opPs.Select(v => (long)v).ToArray(), fused.Select(v => (long)v).ToArray(), reconf.Select(v => (long)v).ToArray());
            var (modes, makespan) = Run(graph, device, auto: true);
            long expected = 0, first = 0;
            for (var l = 0; l < perLayer.Length; l++)
            {
                long seq = opPs.Skip((int)first).Take(perLayer[l]).Sum();
                first += perLayer[l];
                var best = Math.Min(seq, Math.Min(fused[l], reconf[l]));
                var mode = seq == best ? "sequential" : fused[l] == best ? "dataflow" : "reconfigured";
                if (modes[l] != mode) return false;
                expected += best;
            }
            return makespan == expected;
        });
    }
}
