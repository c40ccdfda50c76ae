using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;

namespace AccelSim.Core.Tests.Support;

/// <summary>A test-only device: engines, channels and tiers as given, and a cost per op that is
/// either supplied by the test or derived from the op's FLOPs and bytes:
/// compute = FLOPs / <see cref="FlopsPerUnit"/> x <see cref="ComputeScale"/> on engine 0, reads on
/// channel <see cref="ReadChannel"/> and writes on channel <see cref="WriteChannel"/>, each transfer
/// capped at <see cref="RateCapFraction"/> of its channel's bandwidth.</summary>
public sealed class FakeDevice : IDeviceModel
{
    public FakeDevice(DeviceTopology topology, Func<Op, OpCost>? cost = null)
    {
        Topology = topology;
        _cost = cost;
    }

    private readonly Func<Op, OpCost>? _cost;

    public string Name { get; init; } = "fake";
    public string Kind => "fake";
    public DeviceTopology Topology { get; }
    public int MainMemoryChannel { get; init; }
    public double StaticPowerW { get; init; } = 10;

    /// <summary>FLOP/s of one engine unit; the device peak is this times the units of engine 0.</summary>
    public double FlopsPerUnit { get; init; } = 1e12;

    /// <summary>Multiplies every compute time (1 = peak rate); must be &gt;= 1 for utilisation to stay in [0, 1].</summary>
    public double ComputeScale { get; init; } = 1;

    public long LatencyPs { get; init; }
    public int ReadChannel { get; init; }
    public int WriteChannel { get; init; }
    public double RateCapFraction { get; init; } = 1;
    public double PjPerFlop { get; init; } = 0.5;
    public double PjPerByte { get; init; } = 10;
    public Func<Tensor, int>? Placement { get; init; }

    public double PeakFlops(DType dtype) => FlopsPerUnit * Topology.Engines[0].Units;

    public int PlaceTensor(Tensor tensor) => Placement?.Invoke(tensor) ?? 0;

    public OpCost Cost(Op op)
    {
        if (_cost is not null) return _cost(op);
        var compute = (long)Math.Ceiling(op.Flops / FlopsPerUnit * ComputeScale * Time.Ps.PerSecond);
        var transfers = new List<TransferDemand>(2);
        if (op.BytesRead > 0) transfers.Add(Demand(ReadChannel, op.BytesRead));
        if (op.BytesWritten > 0) transfers.Add(Demand(WriteChannel, op.BytesWritten));
        return new OpCost(0, LatencyPs, compute, transfers, op.Flops * PjPerFlop);
    }

    private TransferDemand Demand(int channel, long bytes) =>
        new(channel, bytes, Topology.Channels[channel].Bandwidth_Bps * RateCapFraction, bytes * PjPerByte);

    /// <summary>One engine, one channel to one tier: the simplest device.</summary>
    public static DeviceTopology Simple(int units = 1, double bandwidth = 1e9, long channelLatencyPs = 0, long capacity = long.MaxValue / 4) =>
        new([new EngineSpec("pe", units)],
            [new ChannelSpec("hbm", bandwidth, channelLatencyPs, "hbm", OffChip: true)],
            [new TierSpec("hbm", capacity, OffChip: true)]);
}

/// <summary>Builds programs directly from task costs, for oracles that need exact control of the
/// simulator's input. Each task carries one op with no tensors.</summary>
public static class Programs
{
    public static SimProgram From(IReadOnlyList<OpCost> costs, IReadOnlyList<int[]>? predecessors = null, long flopsPerOp = 0)
    {
        var ops = new Op[costs.Count];
        for (var i = 0; i < ops.Length; i++)
            ops[i] = new Op(i, $"t{i}", OpKind.Generic, -1, [], [], flopsPerOp, DType.Bf16);
        var graph = new WorkloadGraph(new WorkloadInfo("synthetic", "op", 1, 0, 0, 0), ops);
        var tasks = new SimTask[ops.Length];
        var preds = new IReadOnlyList<int>[ops.Length];
        for (var i = 0; i < ops.Length; i++)
        {
            tasks[i] = new SimTask(i, [ops[i]], costs[i]);
            preds[i] = predecessors is null ? [] : predecessors[i];
        }
        return new SimProgram("test", graph, tasks, preds);
    }

    public static OpCost Cost(int engine = 0, long latencyPs = 0, long computePs = 0, params TransferDemand[] transfers) =>
        new(engine, latencyPs, computePs, transfers, 0);

    public static TransferDemand Transfer(int channel, long bytes, double cap = double.MaxValue) => new(channel, bytes, cap, 0);

    public static SimulationResult Run(SimProgram program, IDeviceModel device, SimulationEventBus? bus = null) =>
        new Simulator(program, device, bus).Run();
}

/// <summary>Each op is a task and waits only for the ops that produce its inputs, so independent ops
/// run concurrently on a multi-unit engine and share channels.</summary>
public sealed class DataflowTestSchedule : ISchedule
{
    public string Name => "dag";

    public SimProgram Map(WorkloadGraph graph, IDeviceModel device)
    {
        var order = graph.TopologicalOrder();
        var index = new int[order.Count];
        for (var i = 0; i < order.Count; i++) index[order[i].Id] = i;
        var tasks = new SimTask[order.Count];
        var preds = new IReadOnlyList<int>[order.Count];
        for (var i = 0; i < order.Count; i++)
        {
            tasks[i] = new SimTask(i, [order[i]], device.Cost(order[i]));
            preds[i] = graph.Predecessors(order[i]).Select(p => index[p.Id]).ToArray();
        }
        return new SimProgram(Name, graph, tasks, preds);
    }
}

/// <summary>Groups runs of <see cref="GroupSize"/> consecutive ops (in topological order) into one
/// task whose cost is the sum of its ops' costs: exercises multi-op tasks in the metrics.</summary>
public sealed class ChunkTestSchedule(int groupSize) : ISchedule
{
    public int GroupSize { get; } = groupSize;
    public string Name => "chunk";

    public SimProgram Map(WorkloadGraph graph, IDeviceModel device)
    {
        var order = graph.TopologicalOrder();
        var tasks = new List<SimTask>();
        var preds = new List<IReadOnlyList<int>>();
        for (var s = 0; s < order.Count; s += GroupSize)
        {
            var ops = order.Skip(s).Take(GroupSize).ToArray();
            var costs = ops.Select(device.Cost).ToArray();
            var cost = new OpCost(costs[0].Engine, costs.Max(c => c.LatencyPs), costs.Sum(c => c.ComputePs),
                costs.SelectMany(c => c.Transfers).ToArray(), costs.Sum(c => c.ComputeEnergyPj));
            preds.Add(tasks.Count == 0 ? [] : [tasks.Count - 1]);
            tasks.Add(new SimTask(tasks.Count, ops, cost));
        }
        return new SimProgram(Name, graph, tasks, preds);
    }
}
