using AccelSim.Core.Devices;
using AccelSim.Core.Graph;

namespace AccelSim.Core.Simulation;

/// <summary>Runs a static program (a schedule's <see cref="SimProgram"/>) on one device: the program is
/// a <see cref="TaskGraphProcess"/> on the open-world <see cref="Kernel"/>. Each task holds one unit of
/// its engine; its transfers share channel bandwidth max-min fairly; its ops' tensors occupy their
/// tiers. Resident tensors (weights, caches, graph inputs) occupy their tier all run; a produced
/// activation lives from its producer's start to its last consumer's end, and a tensor only its own
/// task reads (a fused region's intermediate) is freed when that task ends.</summary>
public sealed class Simulator
{
    private readonly SimProgram _program;
    private readonly Kernel _kernel;
    private readonly TaskGraphProcess _graph;

    public Simulator(SimProgram program, IDeviceModel device, SimulationEventBus? bus = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(device);
        _program = program;
        var topology = device.Topology;
        var tasks = program.Tasks;
        var n = tasks.Count;
        _kernel = new Kernel(topology, network: null, bus, expectedTasks: n);
        _graph = new TaskGraphProcess(_kernel);

        var engines = topology.Engines.Count;
        var channels = topology.Channels.Count;
        for (var i = 0; i < n; i++)
        {
            var c = tasks[i].Cost;
            if (c.Engine < 0 || c.Engine >= engines) throw new ArgumentException($"task '{tasks[i].Name}' uses unknown engine {c.Engine}");
            foreach (var t in c.Transfers)
                if (t.Channel < 0 || t.Channel >= channels) throw new ArgumentException($"task '{tasks[i].Name}' uses unknown channel {t.Channel}");
        }

        // Tensors: one buffer each, held by the tasks that read it (and, for a fused region's
        // intermediate, by its own task).
        var tiers = topology.Tiers.Count;
        var graph = program.Graph;
        var maxTensorId = graph.Tensors.Count == 0 ? -1 : graph.Tensors.Max(t => t.Id);
        var tensorTier = new int[maxTensorId + 1];
        var tensorBytes = new long[maxTensorId + 1];
        var resident = new bool[maxTensorId + 1];
        var refs = new int[maxTensorId + 1];
        foreach (var t in graph.Tensors)
        {
            var tier = graph.TierOf.TryGetValue(t.Id, out var named) ? TierIndexOrThrow(topology, named, t) : device.PlaceTensor(t);
            if (tier < 0 || tier >= tiers) throw new ArgumentException($"tensor '{t.Name}' placed in unknown tier {tier}");
            tensorTier[t.Id] = tier;
            tensorBytes[t.Id] = t.Bytes;
            resident[t.Id] = t.Role != TensorRole.Activation || !graph.Producer.ContainsKey(t.Id);
            if (resident[t.Id]) _kernel.Reserve(tier, t.Bytes);
        }
        var ins = new List<int>[n];
        var outs = new List<int>[n];
        for (var i = 0; i < n; i++)
        {
            var produced = new HashSet<int>();
            foreach (var op in tasks[i].Ops) foreach (var t in op.Outputs) produced.Add(t.Id);
            var seen = new HashSet<int>();
            ins[i] = [];
            foreach (var op in tasks[i].Ops)
                foreach (var t in op.Inputs)
                    if (!produced.Contains(t.Id) && seen.Add(t.Id)) ins[i].Add(t.Id);
            outs[i] = produced.Order().ToList();
            foreach (var id in ins[i]) refs[id]++;
        }
        var locals = new List<int>[n];
        for (var i = 0; i < n; i++)
        {
            var consumed = new HashSet<int>();
            foreach (var op in tasks[i].Ops) foreach (var t in op.Inputs) consumed.Add(t.Id);
            locals[i] = outs[i].Where(id => refs[id] == 0 && consumed.Contains(id) && !resident[id]).ToList();
        }
        var buffer = new int[maxTensorId + 1];
        Array.Fill(buffer, -1);
        int BufferOf(int id) => buffer[id] >= 0 ? buffer[id] : buffer[id] = _kernel.NewBuffer(tensorTier[id], tensorBytes[id], refs[id] == 0 ? 1 : refs[id]);

        for (var i = 0; i < n; i++)
        {
            var c = tasks[i].Cost;
            var preds = program.Predecessors[i];
            var predSpan = preds is int[] array ? array : preds.ToArray();
            _graph.Add(c.Engine, c.LatencyPs, c.ComputePs, predSpan);
            var k = _graph.TaskOf(i);
            foreach (var t in c.Transfers) _kernel.AddTransfer(k, t.Channel, t.Bytes, t.RateCap_Bps);
            foreach (var id in outs[i])
                if (!resident[id]) _kernel.AllocateOnStart(k, BufferOf(id));
            foreach (var id in ins[i])
                if (!resident[id]) _kernel.ReleaseOnEnd(k, BufferOf(id));
            foreach (var id in locals[i]) _kernel.ReleaseOnEnd(k, BufferOf(id));
        }
        _graph.Seal();

        // The result's arrays, sized now so that the run itself allocates nothing per task.
        _ready = new long[n];
        _start = new long[n];
        _launch = new long[n];
        _computeEnd = new long[n];
        _end = new long[n];
        var transfers = _kernel.TransferCount;
        _trTask = new int[transfers];
        _trChannel = new int[transfers];
        _trBytes = new long[transfers];
        _trStart = new long[transfers];
        _trEnd = new long[transfers];
    }

    private readonly long[] _ready, _start, _launch, _computeEnd, _end, _trBytes, _trStart, _trEnd;
    private readonly int[] _trTask, _trChannel;

    /// <summary>Runs the program to completion. A simulator runs once.</summary>
    public SimulationResult Run()
    {
        if (_ran) throw new InvalidOperationException("a simulator runs once; create another for another run");
        _ran = true;
        _kernel.Run();
        var stuck = _graph.FirstUnfinished();
        if (stuck >= 0) throw new InvalidOperationException($"task {stuck} never finished: the program has a dependency it cannot satisfy");
        _kernel.ExportTasks(_ready, _start, _launch, _computeEnd, _end);
        _kernel.ExportTransfers(_trTask, _trChannel, _trBytes, _trStart, _trEnd);
        return new SimulationResult(_program, _kernel.Now, _kernel.EventCount,
            _ready, _start, _launch, _computeEnd, _end,
            _trTask, _trChannel, _trBytes, _trStart, _trEnd,
            _kernel.ChannelBytesArray(), _kernel.ChannelBusyArray(), _kernel.EngineBusyArray(), _kernel.TierPeakArray(), _kernel.TierResidentArray());
    }

    private bool _ran;

    private static int TierIndexOrThrow(DeviceTopology topology, string name, Tensor t)
    {
        for (var i = 0; i < topology.Tiers.Count; i++)
            if (topology.Tiers[i].Name == name) return i;
        throw new ArgumentException($"tensor '{t.Name}' is placed in tier '{name}', which this device does not have");
    }
}
