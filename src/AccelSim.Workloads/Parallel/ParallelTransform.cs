using AccelSim.Core.Graph;
using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Systems;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Models.Internal;
using AccelSim.Workloads.Parallel.Internal;

namespace AccelSim.Workloads.Parallel;

/// <summary>Spreads a model's workload over the ranks of a parallelism plan (docs/parallelism.md): one
/// <see cref="RankProgram"/> per simulated rank, each a sequence of compute segments (slices of the rank's
/// graph) and its parts in collectives. The rank's graph is built once, by the model's own builder from the
/// tensor-parallel shard of the config (<see cref="ParallelPlan.MicrobatchSize"/> sequences), cut into
/// blocks at the points where communication goes, and every block's graph is shared by every microbatch,
/// every tensor-parallel rank and every data-parallel replica that runs it.</summary>
public static class ParallelTransform
{
    /// <summary>Optimizer state bytes per parameter (fp32 master weight and two moments).</summary>
    public const long OptimizerStateBytesPerParam = TrainingStep.OptimizerStateBytesPerParam;

    /// <param name="offload">ZeRO-Infinity on every rank (a ZeRO-3 training plan): parameters, gradients and
    /// optimizer state off the device (<see cref="ZeroInfinityOffload"/>); null: everything on the device.</param>
    public static SystemProgram Build(ModelConfig model, WorkloadRequest request, ParallelPlan plan, ModelBuilderRegistry? registry = null,
        ZeroInfinityOffload? offload = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(plan);
        registry ??= ModelBuilderRegistry.Default;
        var micro = request with { Batch = plan.MicrobatchSize, Recompute = plan.Recompute };
        var name = $"{model.Name} {request.Phase.Name()} {plan}";
        var train = request.Phase == Phase.Train;
        if (offload is not null && (!train || plan.Zero < 3))
            throw new ArgumentException($"ZeRO-Infinity offloads a ZeRO-3 training step; the plan is {request.Phase.Name()} {plan}", nameof(offload));

        var graph = registry.Build(ShardedConfig.Shard(model, plan.Tp), micro);
        var reference = plan.Tp > 1 ? registry.Build(model, micro) : graph;
        if (reference.Ops.Count != graph.Ops.Count)
            throw new InvalidOperationException($"the tensor-parallel shard of '{model.Name}' builds {graph.Ops.Count} ops against {reference.Ops.Count} unsharded");

        var layout = new Layout(model, plan, graph, reference, train) { Offload = offload };
        if (offload is null && plan.Ranks == 1 && plan.Microbatches == 1)
        {
            // Nothing to interleave: the rank runs the single-device graph itself.
            return new SystemProgram(name, [new RankProgram(0, [RankSegment.Run(train ? "step" : "forward", graph)], [])]);
        }

        var ranks = new List<RankProgram>();
        var dps = plan.Fold ? 1 : plan.Dp;
        for (var s = 0; s < plan.Pp; s++)
        {
            for (var d = 0; d < dps; d++)
            {
                // The ranks of a tensor-parallel group name their segments and collectives alike: one string each
                // for the group (a large plan has millions of segments).
                var names = new Dictionary<string, string>(StringComparer.Ordinal);
                for (var t = 0; t < plan.Tp; t++) ranks.Add(new RankEmitter(layout, t, d, s, names).Emit());
            }
        }
        ranks.Sort((a, b) => a.Rank.CompareTo(b.Rank));
        return new SystemProgram(name, ranks);
    }

    /// <summary>Which pass an op belongs to. (Its unit is 0 for the embedding, 1..L for the layers, L + 1 for the head.)</summary>
    internal enum Part { Forward, Backward, Optimizer }

    /// <summary>Communication after a block.</summary>
    internal enum CommKind { TensorParallel, ExpertAllToAll }

    internal sealed record Block(WorkloadGraph Graph, int Unit, string Label, IReadOnlyList<(CommKind Kind, long Bytes)> After);

    /// <summary>The rank's graph cut into blocks per virtual stage, and what each unit holds.</summary>
    internal sealed class Layout
    {
        public readonly ParallelPlan Plan;
        public readonly ModelConfig Model;
        public readonly bool Train;
        public readonly int Layers;
        public readonly int Units;
        public readonly List<Block>[] Forward;
        public readonly List<Block>[] Backward;
        public readonly WorkloadGraph?[] Optimizer;
        public readonly long[] WeightBytes, ExpertWeightBytes, Params, ExpertParams, Saved, KvCache;
        public readonly long ActivationBytes;
        public readonly long TiedTableBytes, TiedTableParams;
        private readonly WorkloadInfo _info;

        /// <summary>ZeRO-Infinity's offload on every rank, or null.</summary>
        public ZeroInfinityOffload? Offload { get; init; }

        private readonly Dictionary<(string, long, string, string), WorkloadGraph> _copies = [];
        private readonly Dictionary<(int, (string, string, string)), WorkloadGraph> _hostOptimizers = [];

        public Layout(ModelConfig model, ParallelPlan plan, WorkloadGraph g, WorkloadGraph reference, bool train)
        {
            Plan = plan;
            Model = model;
            Train = train;
            Layers = model.NumHiddenLayers;
            Units = Layers + 2;
            _info = g.Info;
            var ops = g.Ops;
            var chunks = plan.PipelineChunks;
            Forward = new List<Block>[chunks];
            Backward = new List<Block>[chunks];
            for (var c = 0; c < chunks; c++) { Forward[c] = []; Backward[c] = []; }
            Optimizer = new WorkloadGraph?[Units];
            WeightBytes = new long[Units];
            ExpertWeightBytes = new long[Units];
            Params = new long[Units];
            ExpertParams = new long[Units];
            Saved = new long[Units];
            KvCache = new long[Units];

            var loss = train ? ops.Single(o => o.Name == "loss").Id : ops.Count - 1;
            var part = new Part[ops.Count];
            var unit = new int[ops.Count];
            var seenLayer = false;
            for (var i = 0; i < ops.Count; i++)
            {
                var op = ops[i];
                part[i] = i <= loss ? Part.Forward : op.Kind == OpKind.Optimizer ? Part.Optimizer : Part.Backward;
                if (i == loss + 1) seenLayer = false;
                if (op.Layer >= 0) { seenLayer = true; unit[i] = op.Layer + 1; }
                else if (part[i] == Part.Forward) unit[i] = seenLayer ? Units - 1 : 0;
                else unit[i] = seenLayer ? 0 : Units - 1;
            }

            // Weights per unit: the unit of the first forward op that reads each weight (a tied table: the embedding).
            var expertWeight = new HashSet<int>();
            var weightUnit = new Dictionary<int, int>();
            var tableUnits = new Dictionary<int, HashSet<int>>();
            for (var i = 0; i <= loss; i++)
            {
                foreach (var t in ops[i].Inputs)
                {
                    if (t.Role != TensorRole.Weight) continue;
                    if (!tableUnits.TryGetValue(t.Id, out var us)) tableUnits[t.Id] = us = [];
                    us.Add(unit[i]);
                    if (weightUnit.TryAdd(t.Id, unit[i]))
                    {
                        var expert = plan.Ep > 1 && IsExpertWeight(ops[i], t);
                        if (expert) expertWeight.Add(t.Id);
                        (expert ? ExpertWeightBytes : WeightBytes)[unit[i]] += t.Bytes;
                        (expert ? ExpertParams : Params)[unit[i]] += t.Elements;
                    }
                }
            }
            foreach (var (id, us) in tableUnits)
            {
                if (us.Contains(0) && us.Contains(Units - 1) && model.TieWordEmbeddings)
                {
                    var table = g.Tensors.First(t => t.Id == id);
                    TiedTableBytes = table.Bytes;
                    TiedTableParams = table.Elements;
                }
            }

            // A microbatch's KV cache (inference), by unit: the caches a decode reads (graph inputs, the new
            // token's slot included), else the caches a prefill writes.
            var seenCache = new HashSet<int>();
            var written = new long[Units];
            for (var i = 0; i < ops.Count; i++)
            {
                foreach (var t in ops[i].Inputs.Concat(ops[i].Outputs))
                {
                    if (t.Role != TensorRole.KvCache || !seenCache.Add(t.Id)) continue;
                    if (g.Producer.ContainsKey(t.Id)) written[unit[i]] += t.Bytes;
                    else KvCache[unit[i]] += t.Bytes;
                }
            }
            for (var u = 0; u < Units; u++) if (KvCache[u] == 0) KvCache[u] = written[u];

            // Activations a microbatch's backward reads from its forward, by the unit that wrote them.
            if (train)
            {
                var readAfter = new HashSet<int>();
                for (var i = loss + 1; i < ops.Count; i++) foreach (var t in ops[i].Inputs) readAfter.Add(t.Id);
                for (var i = 0; i <= loss; i++)
                {
                    var replicated = plan.SequenceParallel && plan.Tp > 1 && IsReplicated(ops[i], reference.Ops[i]);
                    foreach (var t in ops[i].Outputs)
                    {
                        if (t.Role == TensorRole.Activation && readAfter.Contains(t.Id))
                            Saved[unit[i]] += replicated ? t.Bytes / plan.Tp : t.Bytes;
                    }
                }
            }

            // The activation handed from stage to stage: the input of the first layer (microbatch x tokens x hidden).
            var firstLayer = ops.First(o => o.Layer == 0);
            ActivationBytes = firstLayer.Inputs.Where(t => t.Role == TensorRole.Activation).Select(t => t.Bytes).DefaultIfEmpty(0).Max();
            // With sequence parallelism a stage hands on its 1/tp of the tokens.
            if (plan.SequenceParallel) ActivationBytes = (ActivationBytes + plan.Tp - 1) / plan.Tp;

            var expertOp = plan.Ep > 1 ? ExpertRegions(ops, part, unit) : new bool[ops.Count];
            var work = plan.ExpertHotShare * plan.Ep;
            var weightShare = 1.0 / plan.Ep;
            var perStage = Layers / chunks;
            int ChunkOf(int u) => u == 0 ? 0 : u == Units - 1 ? chunks - 1 : (u - 1) / perStage;

            var current = new List<Op>();
            var currentUnit = -1;
            var currentPart = Part.Forward;
            var comms = new List<(CommKind, long)>();
            var counter = 0;
            void Flush()
            {
                if (current.Count == 0)
                {
                    var list = currentPart == Part.Forward ? Forward : Backward;
                    if (comms.Count > 0 && currentUnit >= 0 && list[ChunkOf(currentUnit)] is { Count: > 0 } l)
                    {
                        var last = l[^1];
                        l[^1] = last with { After = [.. last.After, .. comms] };
                    }
                    comms.Clear();
                    return;
                }
                var c = ChunkOf(currentUnit);
                var label = $"{(currentPart == Part.Forward ? "fwd" : "bwd")} {UnitName(currentUnit)}#{counter++}";
                var block = new Block(GraphSlices.Slice(_info, current.ToArray()), currentUnit, label, comms.ToArray());
                (currentPart == Part.Forward ? Forward : Backward)[c].Add(block);
                current.Clear();
                comms.Clear();
            }

            for (var i = 0; i < ops.Count; i++)
            {
                if (part[i] == Part.Optimizer) continue;
                var op = ops[i];
                if (unit[i] != currentUnit || part[i] != currentPart)
                {
                    Flush();
                    currentUnit = unit[i];
                    currentPart = part[i];
                    counter = 0;
                }
                var inRegion = expertOp[i];
                if (inRegion && (i == 0 || !expertOp[i - 1]))
                {
                    comms.Add((CommKind.ExpertAllToAll, Scale(ActivationIn(op), work)));
                    Flush();
                }
                if (inRegion && (work != 1.0 || weightShare != 1.0)) op = GraphSlices.Renumber(op, 0, work, weightShare, null);
                else if (plan.SequenceParallel && plan.Tp > 1 && IsSequenceSplit(op, reference.Ops[i])) op = GraphSlices.Renumber(op, 0, 1.0 / plan.Tp, 1.0, null);
                current.Add(op);
                if (plan.Tp > 1 && IsTpCut(op, reference.Ops[i], part[i]))
                {
                    comms.Add((CommKind.TensorParallel, Scale(op.Outputs.Sum(t => t.Bytes), inRegion ? work : 1)));
                    Flush();
                }
                if (inRegion && (i + 1 >= ops.Count || !expertOp[i + 1]))
                {
                    comms.Add((CommKind.ExpertAllToAll, Scale(ActivationIn(FirstOfRegion(ops, expertOp, i)), work)));
                    Flush();
                }
            }
            Flush();

            // Optimizer per unit: the layer's op, or the unit's share of the global op (embedding, final norm, head).
            if (train)
            {
                var zeroShard = plan.Zero >= 1 ? 1.0 / plan.Dp : 1.0;
                foreach (var op in ops.Where(o => o.Kind == OpKind.Optimizer))
                {
                    if (op.Layer >= 0)
                    {
                        var u = op.Layer + 1;
                        var total = Params[u] + ExpertParams[u];
                        var held = plan.Zero >= 1 ? total / (double)plan.Dp : Params[u] + ExpertParams[u] / (double)plan.Ep;
                        Optimizer[u] = GraphSlices.ScaledOptimizer(_info, op, total == 0 ? 1 : held / total, op.Name);
                    }
                    else
                    {
                        var all = Params[0] + Params[Units - 1];
                        foreach (var u in new[] { 0, Units - 1 })
                        {
                            if (Params[u] == 0) continue;
                            Optimizer[u] = GraphSlices.ScaledOptimizer(_info, op, Params[u] / (double)all * zeroShard, $"{op.Name}.{UnitName(u)}");
                        }
                    }
                }
            }
        }

        public string UnitName(int u) => u == 0 ? "embed" : u == Units - 1 ? "head" : $"layer{u - 1}";

        /// <summary>Units of virtual stage <paramref name="chunk"/>.</summary>
        public IEnumerable<int> UnitsOf(int chunk)
        {
            var per = Layers / Plan.PipelineChunks;
            if (chunk == 0) yield return 0;
            for (var l = chunk * per; l < (chunk + 1) * per; l++) yield return l + 1;
            if (chunk == Plan.PipelineChunks - 1) yield return Units - 1;
        }

        /// <summary>Weight, gradient, optimizer and stashed-activation bytes of pipeline rank <paramref name="stage"/>.</summary>
        public IReadOnlyList<RankMemory> Memory(int stage, long inFlightBytes)
        {
            var (weights, parameters, expertParams, cache) = Held(stage);
            var dp = Plan.Dp;
            if (Offload is { } o && Train)
            {
                // ZeRO-Infinity: the rank's shards live off the device; the device keeps the stashed activations.
                var (w, g, _) = OffloadedShards(stage);
                var homes = Homes(stage);
                var held = new List<RankMemory> { new("weights", w, homes.Weights), new("gradients", g, homes.Gradients) };
                // The optimizer state, unit by unit where it lives: in host memory, then on the drives.
                foreach (var tier in new[] { o.Host, o.Ssd }.OfType<string>())
                {
                    var bytes = homes.States.Where(kv => kv.Value == tier).Sum(kv => StateBytes(kv.Key));
                    if (bytes > 0 || (tier == o.Host && homes.States.Count == 0)) held.Add(new("optimizer state", bytes, tier));
                }
                held.Add(new("stashed activations", inFlightBytes));
                if (Gathered(stage) is > 0 and var gatheredOff) held.Add(new("gathered parameters", gatheredOff));
                return held;
            }
            var list = new List<RankMemory> { new("weights", Plan.Zero >= 3 ? Ceil(weights, dp) : weights) };
            if (Gathered(stage) is > 0 and var gathered) list.Add(new("gathered parameters", gathered));
            if (cache > 0) list.Add(new("kv cache", cache * Plan.Microbatches));
            if (!Train) return list;
            list.Add(new("gradients", Plan.Zero >= 2 ? Ceil(weights, dp) : weights));
            var state = (parameters + expertParams) * OptimizerStateBytesPerParam;
            list.Add(new("optimizer state", Plan.Zero >= 1 ? Ceil(state, dp) : state));
            list.Add(new("stashed activations", inFlightBytes));
            return list;
        }

        /// <summary>Under ZeRO-3 (training, over more than one data-parallel rank or offloaded) a unit's parameters are gathered
        /// whole before it runs and dropped after it; with one unit of prefetch (the gather of the next unit is
        /// issued when the unit before it starts) a rank holds at most two units gathered at once: the two largest of
        /// its units bound it. 0 otherwise. Memory-centric tiling (ZeRO-Infinity's splitting of a layer's operators
        /// so that only a tile is gathered at once) is not modelled.</summary>
        public long Gathered(int stage)
        {
            // Without data parallelism an offloaded rank still fetches each unit whole before it runs.
            if (!Train || Plan.Zero < 3 || (Plan.Dp <= 1 && Offload is null)) return 0;
            long first = 0, second = 0;
            for (var c = stage; c < Plan.PipelineChunks; c += Plan.Pp)
                foreach (var u in UnitsOf(c))
                {
                    var b = WeightBytes[u];
                    if (b > first) (first, second) = (b, first);
                    else if (b > second) second = b;
                }
            return first + second;
        }

        /// <summary>ZeRO-3's shards of pipeline rank <paramref name="stage"/>: parameters, gradients, optimizer state.</summary>
        public (long Weights, long Gradients, long States) OffloadedShards(int stage)
        {
            var (weights, parameters, expertParams, _) = Held(stage);
            var shard = Ceil(weights, Plan.Dp);
            return (shard, shard, Ceil((parameters + expertParams) * OptimizerStateBytesPerParam, Plan.Dp));
        }

        /// <summary>Where pipeline rank <paramref name="stage"/> keeps its shards under <see cref="Offload"/>.</summary>
        public (string Weights, string Gradients, IReadOnlyDictionary<int, string> States) Homes(int stage)
        {
            if (_homes.TryGetValue(stage, out var h)) return h;
            var (w, g, _) = OffloadedShards(stage);
            var units = new List<int>();
            for (var c = stage; c < Plan.PipelineChunks; c += Plan.Pp)
                foreach (var u in UnitsOf(c))
                    if (Optimizer[u] is not null) units.Add(u);
            var (wh, gh, states) = Offload!.Homes(w, g, units.Select(StateBytes).ToArray());
            var byUnit = new Dictionary<int, string>();
            for (var i = 0; i < units.Count; i++) byUnit[units[i]] = states[i];
            return _homes[stage] = (wh, gh, byUnit);
        }

        private readonly Dictionary<int, (string, string, IReadOnlyDictionary<int, string>)> _homes = [];

        /// <summary>The optimizer state of unit <paramref name="u"/> the rank holds (its optimizer step's state inputs).</summary>
        public long StateBytes(int u) =>
            Optimizer[u] is { } g ? g.Ops.Single().Inputs.Where(t => t.Role == TensorRole.OptimizerState).Sum(t => t.Bytes) : 0;

        /// <summary>The rank's shard of unit <paramref name="u"/>'s parameters (and of its gradients) under ZeRO-3.</summary>
        public long UnitShard(int u) => Ceil(WeightBytes[u] + ExpertWeightBytes[u] / Plan.Ep, Plan.Dp);

        /// <summary>A copy of <paramref name="bytes"/> between two tiers, one graph per shape (shared by every segment that makes it).</summary>
        public WorkloadGraph Copy(string name, long bytes, string from, string to, TensorRole role)
        {
            if (!_copies.TryGetValue((name, bytes, from, to), out var g))
                _copies[(name, bytes, from, to)] = g = Offload!.Copy(_info, name, bytes, from, to, role);
            return g;
        }

        /// <summary>Unit <paramref name="u"/>'s optimizer step on the host CPU (one graph per unit and homes).</summary>
        public WorkloadGraph HostOptimizer(int u, (string Weights, string Gradients, string States) homes)
        {
            if (!_hostOptimizers.TryGetValue((u, homes), out var g))
                _hostOptimizers[(u, homes)] = g = Offload!.Optimizer(Optimizer[u]!, homes.States, homes.Weights, homes.Gradients, UnitShard(u));
            return g;
        }

        private (long Weights, long Parameters, long ExpertParams, long Cache) Held(int stage)
        {
            long weights = 0, parameters = 0, expertParams = 0, cache = 0;
            for (var c = stage; c < Plan.PipelineChunks; c += Plan.Pp)
            {
                foreach (var u in UnitsOf(c))
                {
                    weights += WeightBytes[u] + ExpertWeightBytes[u] / Plan.Ep;
                    parameters += Params[u];
                    expertParams += ExpertParams[u] / Plan.Ep;
                    cache += KvCache[u];
                }
            }
            // A tied table's copy on the last stage (Megatron keeps one on the first and one on the last).
            if (Plan.PipelineChunks > 1 && TiedTableBytes > 0 && stage == (Plan.PipelineChunks - 1) % Plan.Pp && stage != 0)
            {
                weights += TiedTableBytes;
                parameters += TiedTableParams;
            }
            return (weights, parameters, expertParams, cache);
        }

        /// <summary>Activation bytes a microbatch of virtual stage <paramref name="chunk"/> keeps until its backward.</summary>
        public long SavedOf(int chunk) => UnitsOf(chunk).Sum(u => Saved[u]);

        private static long Ceil(long v, long n) => (v + n - 1) / n;

        private static long Scale(long v, double f) => GraphSlices.Scale(v, f);

        private static bool IsExpertWeight(Op op, Tensor t) => op.Kind == OpKind.MatMul && t.Shape.Count == 3;

        /// <summary>A matmul whose contraction dimension tensor parallelism split (a row-parallel projection in
        /// the forward or its recomputation, the data gradient of a column-parallel one in the backward, the
        /// vocabulary-parallel head's data gradient) leaves each rank a partial sum: an all-reduce follows. So
        /// does the vocabulary-parallel embedding's gather.</summary>
        private static bool IsTpCut(Op op, Op reference, Part part)
        {
            if (op.Kind == OpKind.MatMul && op.Gemm is { } a && reference.Gemm is { } b) return a.K != b.K;
            return op.Kind == OpKind.Embedding && part == Part.Forward && op.Inputs.Count > 0 && reference.Inputs.Count > 0
                && op.Inputs[0].Role == TensorRole.Weight && op.Inputs[0].Shape[0] != reference.Inputs[0].Shape[0];
        }

        /// <summary>Under sequence parallelism, the norms (forward, recomputed and backward) and the element-wise
        /// ops of the layers that tensor parallelism would replicate (residual adds, gradient sums of the residual
        /// stream) run on the rank's 1/tp of the tokens.</summary>
        private static bool IsSequenceSplit(Op op, Op reference) =>
            (op.Kind == OpKind.Norm || (op.Kind == OpKind.Elementwise && op.Layer >= 0)) && op.Flops == reference.Flops && op.Flops > 0;

        /// <summary>An op that tensor parallelism runs whole on every rank (norms, residual adds): its FLOPs are
        /// those of the unsharded op.</summary>
        private static bool IsReplicated(Op op, Op reference) => op.Kind is not (OpKind.MatMul or OpKind.Attention) && op.Flops == reference.Flops && op.Flops > 0;

        private static long ActivationIn(Op op) => op.Inputs.Where(t => t.Role == TensorRole.Activation).Sum(t => t.Bytes);

        private static Op FirstOfRegion(IReadOnlyList<Op> ops, bool[] region, int i)
        {
            while (i > 0 && region[i - 1]) i--;
            return ops[i];
        }

        /// <summary>The expert regions: runs of routed-expert matmuls (a weight or weight gradient of rank 3)
        /// and the activations between them, in the forward, the recomputation and the backward. Tokens move
        /// to their experts' ranks before a region and back after it.</summary>
        private static bool[] ExpertRegions(IReadOnlyList<Op> ops, Part[] part, int[] unit)
        {
            var mark = new bool[ops.Count];
            for (var i = 0; i < ops.Count; i++)
            {
                var op = ops[i];
                if (op.Kind != OpKind.MatMul || part[i] == Part.Optimizer) continue;
                mark[i] = op.Inputs.Any(t => t.Role == TensorRole.Weight && t.Shape.Count == 3)
                    || op.Outputs.Any(t => t.Role == TensorRole.Gradient && t.Shape.Count == 3);
            }
            var last = -1;
            for (var i = 0; i < ops.Count; i++)
            {
                if (!mark[i]) continue;
                if (last >= 0 && unit[last] == unit[i] && part[last] == part[i])
                {
                    var gapOnlyActivations = true;
                    for (var j = last + 1; j < i; j++) gapOnlyActivations &= ops[j].Kind == OpKind.Activation;
                    if (gapOnlyActivations) for (var j = last + 1; j < i; j++) mark[j] = true;
                }
                last = i;
            }
            return mark;
        }
    }

    /// <summary>Writes one rank's program.</summary>
    private sealed class RankEmitter(Layout layout, int t, int d, int s, Dictionary<string, string> names)
    {
        private readonly ParallelPlan _plan = layout.Plan;
        private readonly List<RankSegment> _segs = [];
        private int _lastCompute = -1;
        private readonly List<int> _pending = [];
        private readonly int _rank = layout.Plan.RankOf(t, d, s);
        private readonly Dictionary<int, List<int>> _gradComm = [];
        private int _unitGate = -1;
        private (string Weights, string Gradients, IReadOnlyDictionary<int, string> States)? _homes;

        /// <summary>Where this rank keeps its shards under ZeRO-Infinity.</summary>
        private (string Weights, string Gradients, IReadOnlyDictionary<int, string> States) Homes => _homes ??= layout.Homes(s);

        public RankProgram Emit()
        {
            var plan = _plan;
            var m = plan.Microbatches;
            var chunks = plan.VirtualStages;
            var steps = PipelineSchedule.Steps(plan.Schedule, plan.Pp, chunks, m, s, layout.Train);
            long live = 0, peak = 0;
            foreach (var step in steps)
            {
                var vs = step.Chunk * plan.Pp + s;
                if (step.Forward) Forward(vs, step.Microbatch);
                else Backward(vs, step.Microbatch);
                live += (step.Forward ? 1 : -1) * layout.SavedOf(vs);
                peak = Math.Max(peak, live);
            }
            if (layout.Train) Update();
            _segs.TrimExcess();
            return new RankProgram(_rank, _segs, layout.Memory(s, peak));
        }

        private int Add(RankSegment seg)
        {
            if (t > 0) seg = seg.IsComm ? RankSegment.Collective(Name(seg.Label), Name(seg.Key!), seg.Comm!, seg.After) : RankSegment.Run(Name(seg.Label), seg.Compute!, seg.After);
            else
            {
                names.TryAdd(seg.Label, seg.Label);
                if (seg.Key is { } key) names.TryAdd(key, key);
            }
            _segs.Add(seg);
            return _segs.Count - 1;
        }

        /// <summary>The group's string equal to <paramref name="name"/>, when its first rank made one.</summary>
        private string Name(string name) => names.TryGetValue(name, out var known) ? known : name;

        private int Compute(string label, WorkloadGraph g)
        {
            // An exact array: a large plan has millions of segments.
            var first = _lastCompute >= 0 ? 1 : 0;
            var after = new int[first + _pending.Count];
            if (first > 0) after[0] = _lastCompute;
            _pending.CopyTo(after, first);
            _pending.Clear();
            _lastCompute = Add(RankSegment.Run(label, g, after));
            return _lastCompute;
        }

        // Calls are immutable: one per (kind, bytes, group) is shared by every segment of this rank that makes it,
        // and each group's array by every call over it.
        private readonly Dictionary<(CollectiveKind, long, int), CommCall> _calls = [];
        private int[]? _tpGroup, _epGroup, _dpGroup, _dpExpertGroup;

        private const int Tp = 0, Ep = 1, Dp = 2, DpExperts = 3;

        private CommCall Call(CollectiveKind kind, long bytes, int group)
        {
            if (!_calls.TryGetValue((kind, bytes, group), out var call))
                _calls[(kind, bytes, group)] = call = new CommCall(kind, bytes, group switch
                {
                    Tp => _tpGroup ??= TpGroup(),
                    Ep => _epGroup ??= EpGroup(),
                    Dp => _dpGroup ??= DpGroup(false),
                    _ => _dpExpertGroup ??= DpGroup(true),
                });
            return call;
        }

        private int[] TpGroup()
        {
            var g = new int[_plan.Tp];
            for (var i = 0; i < g.Length; i++) g[i] = _plan.RankOf(i, d, s);
            return g;
        }

        private int[] DpGroup(bool experts)
        {
            var plan = _plan;
            if (!experts) return Enumerable.Range(0, plan.Dp).Select(x => plan.RankOf(t, x, s)).ToArray();
            // Expert weights are replicated over the dp / ep ranks that hold the same experts.
            return Enumerable.Range(0, plan.Dp).Where(x => x % plan.Ep == d % plan.Ep).Select(x => plan.RankOf(t, x, s)).ToArray();
        }

        private int[] EpGroup()
        {
            var first = d - d % _plan.Ep;
            return Enumerable.Range(first, _plan.Ep).Select(x => _plan.RankOf(t, x, s)).ToArray();
        }

        private int StageRank(int virtualStage) => _plan.RankOf(t, d, virtualStage % _plan.Pp);

        private void Blocks(List<Block> blocks, string phase, int vs, int mb)
        {
            var plan = _plan;
            var unit = -1;
            for (var i = 0; i < blocks.Count; i++)
            {
                var b = blocks[i];
                if (b.Unit != unit)
                {
                    unit = b.Unit;
                    if (layout.Train && (layout.Offload is not null || (plan.Zero >= 3 && plan.Dp > 1))) GatherParams(unit, phase, mb);
                }
                var seg = Compute($"{b.Label} mb{mb}", b.Graph);
                var prev = seg;
                for (var k = 0; k < b.After.Count; k++)
                {
                    var (kind, bytes) = b.After[k];
                    var key = $"{phase}/v{vs}/mb{mb}/{i}.{k}";
                    if (kind == CommKind.TensorParallel && plan.SequenceParallel)
                    {
                        var rs = Add(RankSegment.Collective($"sp rs {b.Label} mb{mb}", $"tp/{key}/d{d}/rs", Call(CollectiveKind.ReduceScatter, bytes, Tp), [prev]));
                        prev = Add(RankSegment.Collective($"sp ag {b.Label} mb{mb}", $"tp/{key}/d{d}/ag", Call(CollectiveKind.AllGather, bytes, Tp), [rs]));
                    }
                    else if (kind == CommKind.TensorParallel)
                    {
                        prev = Add(RankSegment.Collective($"tp ar {b.Label} mb{mb}", $"tp/{key}/d{d}", Call(CollectiveKind.AllReduce, bytes, Tp), [prev]));
                    }
                    else
                    {
                        prev = Add(RankSegment.Collective($"ep a2a {b.Label} mb{mb}", $"ep/{key}/e{d - d % plan.Ep}/t{t}", Call(CollectiveKind.AllToAll, bytes, Ep), [prev]));
                    }
                }
                if (prev != seg) _pending.Add(prev);
                var last = i + 1 == blocks.Count || blocks[i + 1].Unit != unit;
                if (last && phase == "b") GradSync(unit, mb);
            }
        }

        private void Forward(int vs, int mb)
        {
            if (vs > 0)
            {
                var from = StageRank(vs - 1);
                _pending.Add(Add(RankSegment.Collective($"recv act v{vs} mb{mb}", $"pp/f/v{vs}/mb{mb}/t{t}/d{d}", CommCall.Send(from, _rank, layout.ActivationBytes))));
            }
            Blocks(layout.Forward[vs], "f", vs, mb);
            if (vs < _plan.PipelineChunks - 1)
            {
                var to = StageRank(vs + 1);
                Add(RankSegment.Collective($"send act v{vs} mb{mb}", $"pp/f/v{vs + 1}/mb{mb}/t{t}/d{d}", CommCall.Send(_rank, to, layout.ActivationBytes), Ready()));
            }
        }

        /// <summary>What the data produced so far waits for: the last compute and the collectives after it.</summary>
        private int[] Ready() => _lastCompute >= 0 ? [_lastCompute, .. _pending] : [.. _pending];

        private void Backward(int vs, int mb)
        {
            if (vs < _plan.PipelineChunks - 1)
            {
                var from = StageRank(vs + 1);
                _pending.Add(Add(RankSegment.Collective($"recv grad v{vs} mb{mb}", $"pp/b/v{vs}/mb{mb}/t{t}/d{d}", CommCall.Send(from, _rank, layout.ActivationBytes))));
            }
            Blocks(layout.Backward[vs], "b", vs, mb);
            if (vs > 0)
            {
                var to = StageRank(vs - 1);
                Add(RankSegment.Collective($"send grad v{vs} mb{mb}", $"pp/b/v{vs - 1}/mb{mb}/t{t}/d{d}", CommCall.Send(_rank, to, layout.ActivationBytes), Ready()));
            }
        }

        /// <summary>ZeRO-3: the unit's parameters gathered from the data-parallel group before it runs, issued
        /// when the unit before it started (one unit of prefetch, as DeepSpeed's prefetch of the next module).</summary>
        private void GatherParams(int unit, string phase, int mb)
        {
            var gate = _unitGate;
            _unitGate = _lastCompute;
            var bytes = layout.WeightBytes[unit];
            var after = gate >= 0 ? new[] { gate } : [];
            if (layout.Offload is { } o && layout.UnitShard(unit) is > 0 and var shard)
            {
                // ZeRO-Infinity: the rank's shard comes over the host link (or from the drive) before the gather.
                var fetch = Add(RankSegment.Run($"zinf fetch {layout.UnitName(unit)} {phase} mb{mb}",
                    layout.Copy("params.fetch", shard, Homes.Weights, o.Device, TensorRole.Weight), after));
                after = [fetch];
                if (bytes == 0 || _plan.Dp == 1)
                {
                    _pending.Add(fetch);
                    return;
                }
            }
            if (bytes == 0) return;
            _pending.Add(Add(RankSegment.Collective($"zero3 ag {layout.UnitName(unit)} {phase} mb{mb}", $"dp/ag/{phase}/u{unit}/mb{mb}/t{t}/s{s}",
                Call(CollectiveKind.AllGather, bytes, Dp), after)));
        }

        /// <summary>Gradients of a unit, once its backward has run: all-reduced (ZeRO 0) or reduce-scattered
        /// (ZeRO 1) over the data-parallel group on the last microbatch, reduce-scattered on every microbatch
        /// under ZeRO 2 and 3 (the gradients are kept sharded).</summary>
        private void GradSync(int unit, int mb)
        {
            var plan = _plan;
            if (!layout.Train) return;
            var lastMb = mb == plan.Microbatches - 1;
            if (plan.Zero < 2 && !lastMb) return;
            var kind = plan.Zero == 0 ? CollectiveKind.AllReduce : CollectiveKind.ReduceScatter;
            var ids = new List<int>();
            if (plan.Dp > 1 && layout.WeightBytes[unit] > 0)
            {
                ids.Add(Add(RankSegment.Collective($"dp grads {layout.UnitName(unit)} mb{mb}", $"dp/g/u{unit}/mb{mb}/t{t}/s{s}",
                    Call(kind, layout.WeightBytes[unit], Dp), [_lastCompute])));
            }
            var expertReplicas = plan.Dp / plan.Ep;
            if (expertReplicas > 1 && layout.ExpertWeightBytes[unit] > 0)
            {
                ids.Add(Add(RankSegment.Collective($"dp expert grads {layout.UnitName(unit)} mb{mb}", $"dp/ge/u{unit}/mb{mb}/t{t}/s{s}/e{d % plan.Ep}",
                    Call(kind, layout.ExpertWeightBytes[unit] / plan.Ep, DpExperts), [_lastCompute])));
            }
            if (lastMb && layout.TiedTableBytes > 0 && plan.PipelineChunks > 1 && (unit == 0 || unit == layout.Units - 1))
            {
                // Megatron: the first and the last stage each hold the tied table and sum their gradients.
                int first = plan.RankOf(t, d, 0), lastStage = plan.RankOf(t, d, (plan.PipelineChunks - 1) % plan.Pp);
                if (first != lastStage)
                {
                    ids.Add(Add(RankSegment.Collective($"tied embedding grads", $"emb/t{t}/d{d}",
                        new CommCall(CollectiveKind.AllReduce, layout.TiedTableBytes, [first, lastStage]), [_lastCompute])));
                }
            }
            if (layout.Offload is { } o && layout.UnitShard(unit) is > 0 and var shard)
            {
                // ZeRO-Infinity: the rank's reduced gradient shard leaves for the host once the reductions are done.
                var before = ids.Count > 0 ? ids.ToArray() : [_lastCompute];
                ids.Add(Add(RankSegment.Run($"zinf grads {layout.UnitName(unit)} mb{mb}",
                    layout.Copy("grads.offload", shard, o.Device, Homes.Gradients, TensorRole.Gradient), before)));
            }
            if (ids.Count == 0) return;
            if (!_gradComm.TryGetValue(unit, out var list)) _gradComm[unit] = list = [];
            list.AddRange(ids);
        }

        /// <summary>The optimizer step of every unit the rank holds, each once its gradients are reduced; under
        /// ZeRO 1 and 2 the updated parameter shards are then all-gathered.</summary>
        private void Update()
        {
            var plan = _plan;
            for (var c = s; c < plan.PipelineChunks; c += plan.Pp)
            {
                foreach (var u in layout.UnitsOf(c))
                {
                    if (layout.Optimizer[u] is not { } opt) continue;
                    if (_gradComm.TryGetValue(u, out var g)) _pending.AddRange(g);
                    var seg = Compute($"optimizer {layout.UnitName(u)}", layout.Offload is null ? opt : layout.HostOptimizer(u, (Homes.Weights, Homes.Gradients, Homes.States[u])));
                    if (plan.Zero is 1 or 2 && plan.Dp > 1 && layout.WeightBytes[u] > 0)
                    {
                        Add(RankSegment.Collective($"zero ag params {layout.UnitName(u)}", $"dp/p/u{u}/t{t}/s{s}",
                            Call(CollectiveKind.AllGather, layout.WeightBytes[u], Dp), [seg]));
                    }
                }
            }
        }
    }
}
