using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;

namespace AccelSim.Core.Memory;

public static class HostCompute
{
    /// <summary>The <see cref="Op.Transfer"/> of an op computed by the host CPU: it reads and writes
    /// host memory (from <paramref name="hostTier"/> to itself) instead of moving bytes between tiers.</summary>
    public static TierTransfer In(string hostTier) => new(hostTier, hostTier);
}

/// <summary>Training-time placements of a training-step graph (forward, <c>loss</c>, backward, one
/// <see cref="OpKind.Optimizer"/> op per layer). Both keep fp32 master weights, moments and gradients
/// off the GPU and run AdamW on the host CPU (<see cref="HostCompute.In"/>); parameters stay in
/// device memory when they fit beside the activations and otherwise stream in per layer, once for the
/// forward and once for the backward, through two staging buffers. Every move is a copy op on the
/// device's copy path, so overlap and contention come from the simulation:
/// <list type="bullet">
/// <item><see cref="PlacementPolicy.ZeroInfinity"/> (ZeRO-Offload / ZeRO-Infinity): gradients stream out
/// to the host as the backward produces them (<c>layerN.grad.offload</c>); the optimizer step starts
/// when the backward has ended and every gradient is on the host; optimizer states live in host memory,
/// the part that does not fit on the drives, swapped in and out per layer one after the other
/// (<c>layerN.optimizer.swap_in</c>, <c>.swap_out</c>); updated parameters are copied back to the GPU
/// (resident ones) or written back to the drive (ones kept there).</item>
/// <item><see cref="PlacementPolicy.SsdPipelined"/> (Fuyou): optimizer states live on the drives; the
/// optimizer of a layer starts as soon as that layer's gradients are on the host, overlapping the
/// backward of the layers below, and its states are read from the drives ahead of it (two host
/// buffers) and written back behind it, so drive, host link, CPU and GPU work at once.</item>
/// </list></summary>
public static class TrainingPlacement
{
    /// <summary>Places a training step under <paramref name="policy"/> (zero-infinity or ssd-pipelined).</summary>
    public static (WorkloadGraph Graph, PlacementReport Report) Apply(WorkloadGraph graph, IDeviceModel device, PlacementPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(device);
        if (policy is not (PlacementPolicy.ZeroInfinity or PlacementPolicy.SsdPipelined))
            throw new ArgumentOutOfRangeException(nameof(policy), $"{policy.Name()} is not a training placement");
        var name = policy.Name();
        var order = graph.TopologicalOrder();
        var loss = order.LastOrDefault(o => o.Name == "loss");
        var optimizers = order.Where(o => o.Kind == OpKind.Optimizer).ToArray();
        if (graph.Info.Phase != "train" || loss is null || optimizers.Length == 0)
            throw new InputException(null, RequestParameter.Placement, $"{name} places a training step (forward, loss, backward, optimizer); {graph.Info.Name} is a {graph.Info.Phase} graph: use phase=train");
        var host = Placement.TierOfKind(device, TierKind.Host);
        if (host is null)
            throw new InputException(null, RequestParameter.Placement, $"{name} offloads optimizer states to host memory, but {device.Name} describes none (host.memory_bytes)");
        if (device.Capabilities.HostCompute is not { HasHostCpu: true })
            throw new InputException(null, RequestParameter.Placement, $"{name} runs the optimizer on the host CPU, but {device.Name} describes none (host.cpu.peak_flops, host.cpu.memory_bandwidth_Bps)");
        var ssd = Placement.TierOfKind(device, TierKind.Storage);
        if (policy == PlacementPolicy.SsdPipelined && ssd is null)
            throw new InputException(null, RequestParameter.Placement, $"{name} keeps optimizer states on NVMe drives, but {device.Name} describes none (host.nvme.capacity_bytes, host.nvme.bandwidth_Bps)");
        return new Planner(graph, device, policy, order, loss, optimizers, Placement.Tiers(device)[0], host, ssd).Run();
    }

    /// <param name="top">The device's main memory (the first placement tier).</param>
    /// <param name="host">The host-memory tier.</param>
    /// <param name="ssd">The drive tier, or null when the device describes none.</param>
    private sealed class Planner(WorkloadGraph graph, IDeviceModel device, PlacementPolicy policy, IReadOnlyList<Op> order, Op loss,
        Op[] optimizers, string top, string host, string? ssd)
    {
        private readonly bool _hasSsd = ssd is not null;

        /// <summary>The drive tier, where a decision has put something on it (only with a drive).</summary>
        private string Ssd => ssd ?? throw new InvalidOperationException("no drive tier to place on");

        private const int Start = -1;
        private readonly Dictionary<int, int> _pos = order.Select((o, i) => (o.Id, i)).ToDictionary(x => x.Id, x => x.i);
        private readonly Dictionary<int, string> _tierOf = new(graph.TierOf);
        private readonly Dictionary<int, List<Tensor>> _extraIn = [];
        private readonly Dictionary<int, List<Tensor>> _extraOut = [];
        private readonly Dictionary<int, List<int>> _children = []; // anchor item -> items emitted right after it
        private readonly Dictionary<int, Item> _items = [];
        private readonly HashSet<int> _moved = [];
        private readonly Dictionary<int, TierTransfer> _retarget = [];
        private int _nextTensor = graph.Tensors.Count == 0 ? 0 : graph.Tensors.Max(t => t.Id) + 1;
        private int _nextItem = 1 << 30;

        private sealed record Item(string Name, int Layer, TierTransfer Transfer, long Bytes, List<Tensor> Inputs, List<Tensor> Outputs);

        private bool Forward(Op op) => _pos[op.Id] <= _pos[loss.Id];
        private bool Backward(Op op) => _pos[op.Id] > _pos[loss.Id] && op.Kind != OpKind.Optimizer;

        public (WorkloadGraph, PlacementReport) Run()
        {
            var topo = device.Topology;
            var capacity = topo.Tiers[topo.TierIndex(top)].CapacityBytes;
            var hostCapacity = topo.Tiers[topo.TierIndex(host)].CapacityBytes;
            var name = policy.Name();
            var need = $"{graph.Info.Name} training step";

            // Weights by the layer of their first consumer (layer -1: embeddings, head, final norm, kept on the GPU).
            var weightLayer = new Dictionary<int, int>();
            foreach (var op in order)
                foreach (var t in op.Inputs)
                    if (t.Role == TensorRole.Weight && !graph.Producer.ContainsKey(t.Id)) weightLayer.TryAdd(t.Id, op.Layer);
            var byId = graph.Tensors.ToDictionary(t => t.Id);
            var layers = weightLayer.Where(kv => kv.Value >= 0).GroupBy(kv => kv.Value).OrderBy(g => g.Key)
                .Select(g => (Layer: g.Key, Weights: g.Select(kv => byId[kv.Key]).OrderBy(t => t.Id).ToArray())).ToArray();
            var layerBytes = layers.ToDictionary(l => l.Layer, l => l.Weights.Sum(t => t.Bytes));
            var fixedWeights = weightLayer.Where(kv => kv.Value < 0).Sum(kv => byId[kv.Key].Bytes);

            var grads = optimizers.ToDictionary(o => o.Id, o => o.Inputs.Where(t => t.Role != TensorRole.OptimizerState).DistinctBy(t => t.Id).ToArray());
            var states = optimizers.ToDictionary(o => o.Id, o => o.Inputs.Where(t => t.Role == TensorRole.OptimizerState).DistinctBy(t => t.Id).ToArray());
            var gradBytes = grads.Values.Sum(g => g.Sum(t => t.Bytes));
            var stateBytes = states.Values.Sum(s => s.Sum(t => t.Bytes));
            var maxGrad = grads.Values.Max(g => g.Sum(t => t.Bytes));

            // What the GPU holds besides the layer weights: the saved activations, the largest op's
            // working set, two layers' gradients on their way out and two staged layers.
            var saved = SavedActivations();
            var workingSet = Placement.WorkingSet(graph);
            var staging = layers.Length == 0 ? 0 : 2 * layerBytes.Values.Max();
            var rest = fixedWeights + saved + workingSet + 2 * maxGrad;
            var allWeights = layerBytes.Values.Sum();
            int keep;
            if (rest + allWeights <= capacity) keep = layers.Length;
            else
            {
                var budget = capacity - rest - staging;
                if (budget < 0)
                    throw new InputException(null, RequestParameter.Placement,
                        $"{need} under {name}: even streaming every layer's weights, {Placement.Gb(saved)} of saved activations, {Placement.Gb(workingSet)} working set, " +
                        $"{Placement.Gb(fixedWeights)} of embeddings and head, {Placement.Gb(2 * maxGrad)} of gradients in flight and {Placement.Gb(staging)} for two staged layers " +
                        $"exceed {device.Name}'s {Placement.Gb(capacity)} of {top}; try recompute=true or a smaller batch");
                keep = 0;
                long kept = 0;
                while (keep < layers.Length && kept + layerBytes[layers[keep].Layer] <= budget) kept += layerBytes[layers[keep++].Layer];
            }
            var streamed = layers.Skip(keep).ToArray();

            // Host memory: gradients first, then the streamed parameters, then (zero-infinity) optimizer
            // states while they fit; the rest on the drives.
            long hostUsed = gradBytes;
            var offloaded = new SortedDictionary<string, long>(StringComparer.Ordinal);
            void Put(Tensor t, string tier)
            {
                _tierOf[t.Id] = tier;
                offloaded[tier] = offloaded.GetValueOrDefault(tier) + t.Bytes;
            }
            foreach (var g in grads.Values.SelectMany(g => g).DistinctBy(t => t.Id)) Put(g, host);
            var weightHome = new Dictionary<int, string>();
            foreach (var (layer, weights) in streamed)
            {
                var tier = hostUsed + layerBytes[layer] <= hostCapacity || !_hasSsd ? host : Ssd;
                if (tier == host) hostUsed += layerBytes[layer];
                weightHome[layer] = tier;
                foreach (var w in weights) Put(w, tier);
            }
            var stateTier = new Dictionary<int, string>();
            foreach (var opt in optimizers)
            {
                var bytes = states[opt.Id].Sum(t => t.Bytes);
                var tier = policy == PlacementPolicy.SsdPipelined || (_hasSsd && hostUsed + bytes > hostCapacity) ? Ssd : host;
                if (tier == host) hostUsed += bytes;
                stateTier[opt.Id] = tier;
                foreach (var s in states[opt.Id]) Put(s, tier);
            }
            if (hostUsed > hostCapacity)
                throw new InputException(null, RequestParameter.Placement,
                    $"{need} under {name} needs {Placement.Gb(hostUsed)} of host memory ({Placement.Gb(gradBytes)} gradients, {Placement.Gb(stateBytes)} optimizer states), " +
                    $"but {device.Name} has {Placement.Gb(hostCapacity)} and no NVMe drive to hold the rest");

            StreamWeights(streamed);
            var gradReady = OffloadGradients(grads);
            var optimizerOrder = PlaceOptimizer(gradReady, stateTier, states);
            WriteBackWeights(optimizerOrder, weightLayer, layerBytes, fixedWeights, weightHome);

            var ops = Emit(order);
            var result = new WorkloadGraph(graph.Info, ops, _tierOf);
            var residentBytes = fixedWeights + layers.Take(keep).Sum(l => layerBytes[l.Layer]) + saved;
            var where = string.Join(", ", offloaded.Select(kv => $"{Placement.Gb(kv.Value)} in {kv.Key}"));
            var summary = $"{need}: {keep} of {layers.Length} layers' weights resident in {top}, {streamed.Length} streamed per layer for forward and backward; " +
                          $"gradients, optimizer states{(streamed.Length > 0 ? " and streamed weights" : "")} offloaded ({where}); AdamW on the host CPU " +
                          (policy == PlacementPolicy.ZeroInfinity ? "after the backward" : "per layer as its gradients arrive, states swapped with the drives in a pipeline");
            return (result, new PlacementReport(name, top, capacity, residentBytes, workingSet, offloaded, streamed.Length, summary));
        }

        /// <summary>Activation bytes written by the forward and read after the loss.</summary>
        private long SavedActivations()
        {
            var fwd = new HashSet<int>();
            foreach (var op in order.Where(Forward))
                foreach (var t in op.Outputs) if (t.Role == TensorRole.Activation) fwd.Add(t.Id);
            var saved = new Dictionary<int, long>();
            foreach (var op in order.Where(o => !Forward(o)))
                foreach (var t in op.Inputs) if (fwd.Contains(t.Id)) saved[t.Id] = t.Bytes;
            return saved.Values.Sum();
        }

        /// <summary>Each streamed layer is copied in before its forward and again before its backward;
        /// the k-th copy of the sequence waits until the last reader of the (k-2)-th has finished.</summary>
        private void StreamWeights((int Layer, Tensor[] Weights)[] streamed)
        {
            if (streamed.Length == 0) return;
            var ids = streamed.ToDictionary(s => s.Layer, s => s.Weights.Select(w => w.Id).ToHashSet());
            var sequence = new List<(int Layer, string Pass, Op[] Readers)>();
            foreach (var (layer, _) in streamed)
                sequence.Add((layer, "fwd", order.Where(o => Forward(o) && o.Layer == layer && o.Inputs.Any(t => ids[layer].Contains(t.Id))).ToArray()));
            foreach (var (layer, _) in streamed.Reverse())
                sequence.Add((layer, "bwd", order.Where(o => Backward(o) && o.Layer == layer && o.Inputs.Any(t => ids[layer].Contains(t.Id))).ToArray()));
            for (var k = 0; k < sequence.Count; k++)
            {
                var (layer, pass, readers) = sequence[k];
                if (readers.Length == 0) continue;
                var bytes = streamed.First(s => s.Layer == layer).Weights.Sum(t => t.Bytes);
                var home = _tierOf[ids[layer].First()];
                var stagedTensor = NewTensor($"layer{layer}.weights.{pass}.staged", bytes, staging: true);
                var inputs = streamed.First(s => s.Layer == layer).Weights.ToList();
                var anchor = Start;
                if (k >= 2 && sequence[k - 2].Readers.Length > 0)
                {
                    var releaser = sequence[k - 2].Readers.MaxBy(o => _pos[o.Id])!;
                    inputs.Add(Token(releaser.Id, $"layer{sequence[k - 2].Layer}.weights.{sequence[k - 2].Pass}.released"));
                    anchor = releaser.Id;
                }
                var copy = Add(anchor, new Item($"layer{layer}.weights.{pass}", layer, new TierTransfer(home, top), bytes, inputs, [stagedTensor]));
                _ = copy;
                foreach (var r in readers) ExtraIn(r.Id, stagedTensor);
            }
        }

        /// <summary>One device-to-host copy per optimizer group, right after the last op that writes one
        /// of its gradients; returns, per optimizer op, the copy's item and its "on the host" token.</summary>
        private Dictionary<int, (int Item, Tensor Ready)> OffloadGradients(Dictionary<int, Tensor[]> grads)
        {
            var ready = new Dictionary<int, (int, Tensor)>();
            foreach (var opt in optimizers)
            {
                var g = grads[opt.Id];
                var producers = g.Where(t => graph.Producer.ContainsKey(t.Id)).Select(t => graph.Producer[t.Id]).ToArray();
                var anchor = producers.Length == 0 ? Start : producers.MaxBy(o => _pos[o.Id])!.Id;
                var token = NewTensor($"{Group(opt)}.grad.on_host", 0);
                var item = Add(anchor, new Item($"{Group(opt)}.grad.offload", opt.Layer, new TierTransfer(top, host), g.Sum(t => t.Bytes), [.. g], [token]));
                ready[opt.Id] = (item, token);
            }
            return ready;
        }

        /// <summary>Moves every optimizer op to the host CPU, wires its gradients and states, and returns the
        /// optimizer ops in the order the CPU runs them.</summary>
        private Op[] PlaceOptimizer(Dictionary<int, (int Item, Tensor Ready)> gradReady, Dictionary<int, string> stateTier, Dictionary<int, Tensor[]> states)
        {
            foreach (var opt in optimizers)
            {
                _retarget[opt.Id] = HostCompute.In(host);
                ExtraIn(opt.Id, gradReady[opt.Id].Ready);
            }
            Op[] runOrder;
            if (policy == PlacementPolicy.ZeroInfinity)
            {
                // The step starts after the backward has ended and every gradient is on the host.
                var lastBackward = order.Last(Backward);
                var done = Token(lastBackward.Id, "backward.done");
                runOrder = optimizers;
                foreach (var opt in optimizers)
                {
                    ExtraIn(opt.Id, done);
                    foreach (var other in optimizers) ExtraIn(opt.Id, gradReady[other.Id].Ready);
                }
                // States on the drives: swapped in and out one group after another.
                var anchor = lastBackward.Id;
                foreach (var opt in runOrder.Where(o => stateTier[o.Id] == ssd))
                {
                    var bytes = states[opt.Id].Sum(t => t.Bytes);
                    var inToken = NewTensor($"{Group(opt)}.optimizer.states_in", 0);
                    Add(anchor, new Item($"{Group(opt)}.optimizer.swap_in", opt.Layer, new TierTransfer(Ssd, host), bytes, [.. states[opt.Id], done], [inToken]));
                    ExtraIn(opt.Id, inToken);
                    anchor = Add(opt.Id, new Item($"{Group(opt)}.optimizer.swap_out", opt.Layer, new TierTransfer(host, Ssd), bytes,
                        [Token(opt.Id, $"{Group(opt)}.optimizer.stepped")], [NewTensor($"{Group(opt)}.optimizer.states_out", 0)]));
                }
            }
            else
            {
                // Each group's step right after its gradients land, in the order the backward produces them.
                runOrder = optimizers.OrderBy(o => _pos.GetValueOrDefault(AnchorOp(gradReady[o.Id].Item), -1)).ThenBy(o => _pos[o.Id]).ToArray();
                foreach (var opt in runOrder)
                {
                    _moved.Add(opt.Id);
                    Child(gradReady[opt.Id].Item, opt.Id);
                }
                // States read ahead of the step (two host buffers), written back behind it.
                var onDrive = runOrder.Where(o => stateTier[o.Id] == ssd).ToArray();
                var outs = new int[onDrive.Length];
                for (var j = 0; j < onDrive.Length; j++)
                {
                    var opt = onDrive[j];
                    var bytes = states[opt.Id].Sum(t => t.Bytes);
                    var inToken = NewTensor($"{Group(opt)}.optimizer.states_in", 0);
                    var anchor = j < 2 ? Start : outs[j - 2];
                    Add(anchor, new Item($"{Group(opt)}.optimizer.swap_in", opt.Layer, new TierTransfer(Ssd, host), bytes, [.. states[opt.Id]], [inToken]));
                    ExtraIn(opt.Id, inToken);
                    outs[j] = Add(opt.Id, new Item($"{Group(opt)}.optimizer.swap_out", opt.Layer, new TierTransfer(host, Ssd), bytes,
                        [Token(opt.Id, $"{Group(opt)}.optimizer.stepped")], [NewTensor($"{Group(opt)}.optimizer.states_out", 0)]));
                }
            }
            return runOrder;
        }

        /// <summary>Updated parameters go back where they live: copied to the GPU for resident ones,
        /// written to the drive for ones kept there (host-kept ones were updated in place).</summary>
        private void WriteBackWeights(Op[] runOrder, Dictionary<int, int> weightLayer, Dictionary<int, long> layerBytes, long fixedWeights,
            Dictionary<int, string> weightHome)
        {
            foreach (var opt in runOrder)
            {
                var bytes = opt.Layer < 0 ? fixedWeights : layerBytes.GetValueOrDefault(opt.Layer);
                if (bytes == 0) continue;
                var home = opt.Layer >= 0 && weightHome.TryGetValue(opt.Layer, out var h) ? h : top;
                if (home == host) continue;
                var to = home == top ? new TierTransfer(host, top) : new TierTransfer(host, Ssd);
                Add(opt.Id, new Item($"{Group(opt)}.weights.{(home == top ? "upload" : "write_back")}", opt.Layer, to, bytes,
                    [Token(opt.Id, $"{Group(opt)}.weights.updated")], [NewTensor($"{Group(opt)}.weights.uploaded", 0)]));
            }
            _ = weightLayer;
        }

        private static string Group(Op opt) => opt.Layer >= 0 ? $"layer{opt.Layer}" : "global";

        private int AnchorOp(int item)
        {
            foreach (var (anchor, list) in _children)
                if (list.Contains(item)) return anchor;
            return Start;
        }

        private Tensor NewTensor(string name, long bytes, bool staging = false) =>
            new(_nextTensor++, name, [bytes], DType.Int8, TensorRole.Activation) { IsStagingBuffer = staging };

        /// <summary>A zero-byte output of original op <paramref name="opId"/> (one per name).</summary>
        private Tensor Token(int opId, string name)
        {
            if (!_extraOut.TryGetValue(opId, out var list)) _extraOut[opId] = list = [];
            var existing = list.FirstOrDefault(t => t.Name == name);
            if (existing is not null) return existing;
            var t = NewTensor(name, 0);
            list.Add(t);
            return t;
        }

        private void ExtraIn(int opId, Tensor t)
        {
            if (!_extraIn.TryGetValue(opId, out var list)) _extraIn[opId] = list = [];
            if (!list.Any(x => x.Id == t.Id)) list.Add(t);
        }

        private int Add(int anchor, Item item)
        {
            var id = _nextItem++;
            _items[id] = item;
            Child(anchor, id);
            return id;
        }

        private void Child(int anchor, int id)
        {
            if (!_children.TryGetValue(anchor, out var list)) _children[anchor] = list = [];
            list.Add(id);
        }

        private List<Op> Emit(IReadOnlyList<Op> ordered)
        {
            var ops = new List<Op>(ordered.Count + _items.Count);
            var byId = ordered.ToDictionary(o => o.Id);
            void EmitKey(int key)
            {
                if (_items.TryGetValue(key, out var it))
                {
                    ops.Add(new Op(ops.Count, it.Name, OpKind.Copy, it.Layer, it.Inputs, it.Outputs, 0, DType.Int8, bytesRead: it.Bytes, bytesWritten: it.Bytes)
                    { Transfer = it.Transfer });
                }
                else
                {
                    var op = byId[key];
                    var inputs = _extraIn.TryGetValue(key, out var xi) ? [.. op.Inputs, .. xi] : op.Inputs;
                    var outputs = _extraOut.TryGetValue(key, out var xo) ? [.. op.Outputs, .. xo] : op.Outputs;
                    var clone = Placement.Clone(op, ops.Count, inputs, outputs);
                    if (_retarget.TryGetValue(key, out var t))
                    {
                        clone = new Op(ops.Count, op.Name, op.Kind, op.Layer, inputs, outputs, op.Flops, op.ComputeDType, op.Gemm, op.Attention, op.BytesRead, op.BytesWritten)
                        {
                            HostCalls = op.HostCalls,
                            HostViews = op.HostViews,
                            HostNested = op.HostNested,
                            HostSync = op.HostSync,
                            Transfer = t,
                        };
                    }
                    ops.Add(clone);
                }
                if (_children.TryGetValue(key, out var kids))
                    foreach (var k in kids) EmitKey(k);
            }
            if (_children.TryGetValue(Start, out var first))
                foreach (var k in first) EmitKey(k);
            foreach (var op in ordered)
                if (!_moved.Contains(op.Id)) EmitKey(op.Id);
            return ops;
        }
    }
}
