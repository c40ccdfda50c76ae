using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using FsCheck;
using FsCheck.Fluent;

namespace AccelSim.Core.Tests.Support;

/// <summary>One op of a generated graph: its FLOPs, the earlier ops whose outputs it reads, the size
/// of its own output and of a weight it reads (0 = none).</summary>
public sealed record DagNode(long Flops, int[] Inputs, long OutputBytes, long WeightBytes)
{
    public override string ToString() =>
        $"(flops {Flops}, in [{string.Join(",", Inputs)}], out {OutputBytes}B, w {WeightBytes}B)";
}

/// <summary>A generated graph and the fake device it runs on.</summary>
public sealed record DagCase(
    DagNode[] Nodes,
    long InputBytes,
    int Units,
    double ReadBandwidth,
    double WriteBandwidth,
    long ChannelLatencyPs,
    long OpLatencyPs,
    double RateCapFraction,
    double FlopsPerUnit)
{
    public override string ToString() =>
        $"DagCase(units {Units}, read {ReadBandwidth:G6} B/s, write {WriteBandwidth:G6} B/s, chLat {ChannelLatencyPs} ps, " +
        $"opLat {OpLatencyPs} ps, cap {RateCapFraction:G3}, {FlopsPerUnit:G6} FLOP/s/unit, input {InputBytes}B, nodes [{string.Join(" ", Nodes.Select((n, i) => $"{i}:{n}"))}])";

    public WorkloadGraph Graph()
    {
        var n = Nodes.Length;
        var input = new Tensor(0, "x", [InputBytes], DType.Int8, TensorRole.Activation);
        var outputs = new Tensor[n];
        for (var i = 0; i < n; i++)
            outputs[i] = new Tensor(1 + i, $"a{i}", [Nodes[i].OutputBytes], DType.Int8, TensorRole.Activation);
        var ops = new Op[n];
        for (var i = 0; i < n; i++)
        {
            var ins = new List<Tensor>();
            if (Nodes[i].Inputs.Length == 0) ins.Add(input);
            foreach (var p in Nodes[i].Inputs) ins.Add(outputs[p]);
            if (Nodes[i].WeightBytes > 0)
                ins.Add(new Tensor(1 + n + i, $"w{i}", [Nodes[i].WeightBytes], DType.Int8, TensorRole.Weight));
            ops[i] = new Op(i, $"op{i}", OpKind.Generic, -1, ins, [outputs[i]], Nodes[i].Flops, DType.Bf16);
        }
        return new WorkloadGraph(new WorkloadInfo("random", "prefill", 1, n, 0, n), ops);
    }

    public DeviceTopology Topology(double bandwidthScale = 1) =>
        new([new EngineSpec("pe", Units)],
            [
                new ChannelSpec("rd", ReadBandwidth * bandwidthScale, ChannelLatencyPs, "hbm", OffChip: true),
                new ChannelSpec("wr", WriteBandwidth * bandwidthScale, ChannelLatencyPs, "hbm", OffChip: true),
            ],
            [new TierSpec("hbm", 1L << 40, OffChip: true)]);

    public FakeDevice Device(double bandwidthScale = 1, double computeScale = 1) =>
        new(Topology(bandwidthScale))
        {
            ReadChannel = 0,
            WriteChannel = 1,
            MainMemoryChannel = 0,
            FlopsPerUnit = FlopsPerUnit,
            ComputeScale = computeScale,
            LatencyPs = OpLatencyPs,
            RateCapFraction = RateCapFraction,
        };
}

public static class DagGen
{
    /// <summary>Graphs of 1..maxOps ops with random fan-in, sizes, costs and device parameters.</summary>
    public static Gen<DagCase> Cases(int maxOps = 24) =>
        from n in Gen.Choose(1, maxOps)
        from nodes in Gen.CollectToArray(Enumerable.Range(0, n), Node)
        from input in Gen.Choose(0, 1 << 20)
        from units in Gen.Choose(1, 3)
        from rd in Gen.Choose(1, 4000)
        from wr in Gen.Choose(1, 4000)
        from chLat in Gen.Choose(0, 2000)
        from opLat in Gen.Choose(0, 5000)
        from cap in Gen.Elements(1.0, 1.0, 0.5, 0.3)
        from flops in Gen.Choose(1, 1000)
        select new DagCase(nodes, input, units, rd * 1e8, wr * 1e8, chLat * 1000L, opLat * 1000L, cap, flops * 1e10);

    private static Gen<DagNode> Node(int index) =>
        from flops in Gen.Frequency((1, Gen.Constant(0)), (4, Gen.Choose(1, 1 << 24)))
        from fanIn in Gen.Choose(0, Math.Min(3, index))
        from inputs in Gen.Shuffle(Enumerable.Range(0, index).ToArray()).Select(a => a.Take(fanIn).Order().ToArray())
        from output in Gen.Choose(0, 1 << 22)
        from weight in Gen.Frequency((1, Gen.Constant(0)), (1, Gen.Choose(1, 1 << 24)))
        select new DagNode(flops * 64L, inputs, output, weight);

    public static Arbitrary<DagCase> Arbitrary(int maxOps = 24) => Cases(maxOps).ToArbitrary();

    /// <summary>A factor &gt; 1 for monotonicity laws.</summary>
    public static Gen<double> Factor => Gen.Elements(1.25, 1.5, 2.0, 3.0, 10.0);
}
