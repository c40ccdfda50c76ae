using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel;
using AccelSim.Workloads.Stacks;

namespace AccelSim.Workloads.Serving;

/// <summary>One sequence's share of an iteration: <see cref="Query"/> new tokens (a prefill chunk, or 1 for a
/// decode) attending to <see cref="Context"/> cached tokens plus themselves.</summary>
public readonly record struct SequenceWork(int Query, long Context);

/// <summary>What an iteration costs: time and energy on the device.</summary>
public readonly record struct IterationCost(long TimePs, double EnergyJ);

/// <summary>The cost of a ragged iteration (prefill chunks and decodes of different lengths and contexts),
/// from the model's own graphs simulated on the device, never padded to the longest sequence:
/// <list type="bullet">
/// <item>token-parallel work (embedding, norms, projections, MLP, cache writes, LM head) for all T new tokens
/// at once: the model's prefill graph of T tokens, simulated, less its attention ops;</item>
/// <item>attention per prefill chunk (q queries over c cached tokens plus themselves, causal) and one attention
/// op over every decode (n sequences at their mean context: the same FLOPs and cache bytes as the ragged set),
/// each an attention op of the model's heads simulated once and counted once per layer.</item>
/// </list>
/// Under the sequential schedule the device runs kernels one after another, so the iteration's time is the sum
/// of its parts. Every part is memoized by a signature whose sizes are rounded up to a grid with
/// <see cref="BucketBits"/> bits of resolution (sizes up to 2^(bits+1) are exact): a size is overstated by less
/// than 2^-bits of itself (<see cref="MaxRelativeRounding"/>), never understated.
/// <para>On a tensor-parallel replica (<see cref="TensorParallelReplica"/>) the token-parallel work is the model's
/// prefill graph spread over the group by the parallelism transform (each rank's shard, and the all-reduces after
/// attention and MLP) and simulated on the system (<see cref="SystemSimulator"/>): its makespan less rank 0's
/// attention ops; attention is a rank's share of the heads on rank 0's device. Energy counts every rank.</para></summary>
public sealed class IterationCostModel
{
    private readonly ModelConfig _model;
    private readonly IDeviceModel _device;
    private readonly DType? _dtype;
    private readonly SoftwareStack _stack;
    private readonly Dictionary<long, IterationCost> _dense = [];
    private readonly Dictionary<(long, long, long), IterationCost> _attention = [];
    private readonly long _maxPositions;
    private readonly TensorParallelReplica? _tp;
    private readonly ModelConfig _rank;

    public IterationCostModel(ModelConfig model, IDeviceModel device, DType? dtype = null, SoftwareStack? stack = null, int bucketBits = 5,
        TensorParallelReplica? tensorParallel = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(device);
        if (bucketBits is < 1 or > 20) throw new ArgumentOutOfRangeException(nameof(bucketBits), "expected 1 to 20");
        _model = model;
        _device = device;
        _dtype = dtype;
        _stack = stack ?? SoftwareStack.Fused;
        BucketBits = bucketBits;
        _maxPositions = model.MaxPositionEmbeddings ?? ModelLimits.MaxTokens;
        _tp = tensorParallel is { Tp: > 1 } ? tensorParallel : null;
        _rank = _tp is null ? model : TensorParallelReplica.RankModel(model, _tp.Tp);
    }

    /// <summary>Devices of the replica (the tensor-parallel group; 1 without one).</summary>
    public int Devices => _tp?.Tp ?? 1;

    /// <summary>Resolution of the memo grid in bits.</summary>
    public int BucketBits { get; }

    /// <summary>The bound on how much a size is rounded up: 2^-bits of itself.</summary>
    public double MaxRelativeRounding => Math.Pow(2, -BucketBits);

    /// <summary>Distinct signatures simulated so far.</summary>
    public int Signatures => _dense.Count + _attention.Count;

    /// <summary>The largest relative rounding of a size seen so far (at most <see cref="MaxRelativeRounding"/>).</summary>
    public double ObservedRounding { get; private set; }

    /// <summary><paramref name="x"/> rounded up to the grid: exact up to 2^(bits+1), then a step of
    /// 2^(floor(log2 x) - bits).</summary>
    public static long Bucket(long x, int bits)
    {
        if (x <= 2L << bits) return x;
        var e = 63 - (int)long.LeadingZeroCount(x);
        var step = 1L << (e - bits);
        return (x + step - 1) / step * step;
    }

    private long Round(long x)
    {
        var b = Bucket(x, BucketBits);
        if (b != x) ObservedRounding = Math.Max(ObservedRounding, (b - x) / (double)x);
        return b;
    }

    /// <summary>The cost of one iteration over <paramref name="work"/> (at least one sequence).</summary>
    public IterationCost Cost(ReadOnlySpan<SequenceWork> work)
    {
        if (work.IsEmpty) throw new ArgumentException("an iteration holds at least one sequence", nameof(work));
        long tokens = 0, decodes = 0, decodeContext = 0;
        long time = 0;
        double energy = 0;
        foreach (var w in work)
        {
            tokens += w.Query;
            if (w.Query == 1 && w.Context > 0)
            {
                decodes++;
                decodeContext += w.Context;
            }
            else
            {
                var a = Attention(1, w.Query, w.Context);
                time += a.TimePs;
                energy += a.EnergyJ;
            }
        }
        if (decodes > 0)
        {
            var a = Attention(decodes, 1, (decodeContext + decodes - 1) / decodes);
            time += a.TimePs;
            energy += a.EnergyJ;
        }
        var d = Dense(tokens);
        return new IterationCost(time + d.TimePs, energy + d.EnergyJ);
    }

    /// <summary>The token-parallel work of <paramref name="tokens"/> new tokens.</summary>
    public IterationCost Dense(long tokens)
    {
        var t = Round(tokens);
        if (_dense.TryGetValue(t, out var c)) return c;
        // One sequence of t tokens when the model's positions allow it, else as few equal sequences as do.
        var sequences = (t + _maxPositions - 1) / _maxPositions;
        var seq = (t + sequences - 1) / sequences;
        if (_tp is not null)
        {
            c = DenseOnGroup(WorkloadRequest.Prefill(sequences, seq, _dtype) with { Stack = _stack });
            _dense[t] = c;
            return c;
        }
        var graph = ModelBuilderRegistry.Default.Build(_model, WorkloadRequest.Prefill(sequences, seq, _dtype) with { Stack = _stack });
        var (metrics, result) = Simulate(graph);
        long attnPs = 0;
        double attnJ = 0;
        foreach (var op in metrics.Ops)
        {
            if (op.Kind != OpKind.Attention.Name()) continue;
            attnPs += op.EndPs - op.StartPs;
            attnJ += op.EnergyJ;
        }
        c = new IterationCost(result.MakespanPs - attnPs, metrics.Energy.TotalJ - attnJ);
        _dense[t] = c;
        return c;
    }

    /// <summary>Attention of <paramref name="batch"/> sequences of <paramref name="query"/> new tokens over
    /// <paramref name="context"/> cached tokens, all layers.</summary>
    public IterationCost Attention(long batch, long query, long context)
    {
        var key = (Round(batch), Round(query), Round(context));
        if (_attention.TryGetValue(key, out var c)) return c;
        var kv = key.Item3;
        // A sliding window bounds what a token attends to (the model's graphs model it for mistral).
        if (_model.ModelType == "mistral" && _model.SlidingWindow is { } w) kv = Math.Min(kv, Math.Max(0, w - key.Item2));
        var graph = SingleOps.Attention(key.Item1, _rank.NumAttentionHeads, _rank.NumKeyValueHeads, _model.HeadDim, key.Item2, kv,
            _dtype ?? _model.DefaultDType);
        var (metrics, result) = Simulate(graph);
        var layers = _model.NumHiddenLayers;
        // Every rank of a tensor-parallel group runs its share of the heads at once: the time is one rank's, the energy all of theirs.
        c = new IterationCost(result.MakespanPs * layers, metrics.Energy.TotalJ * layers * Devices);
        _attention[key] = c;
        return c;
    }

    /// <summary>The token-parallel work of <paramref name="request"/> on the tensor-parallel group: the system's
    /// makespan less rank 0's attention ops; energy of every rank and link less every rank's attention.</summary>
    private IterationCost DenseOnGroup(WorkloadRequest request)
    {
        var plan = ParallelPlan.Bind(new ParallelismOptions { Tp = _tp!.Tp }, _model, request);
        var program = ParallelTransform.Build(_model, request, plan);
        var result = SystemSimulator.Run(program, _tp.Fabric(), _tp.DeviceOf, new SequentialSchedule());
        long attnPs = 0;
        double attnJ = 0;
        foreach (var rank in result.Ranks)
        {
            foreach (var op in rank.Metrics.Ops)
            {
                if (op.Kind != OpKind.Attention.Name()) continue;
                if (rank.Rank == 0) attnPs += op.EndPs - op.StartPs;
                attnJ += op.EnergyJ;
            }
        }
        return new IterationCost(result.MakespanPs - attnPs, result.EnergyJ - attnJ);
    }

    private (RunMetrics, SimulationResult) Simulate(WorkloadGraph graph)
    {
        var placed = Placement.Apply(graph, _device, PlacementPolicy.Resident).Graph;
        var result = new Simulator(new SequentialSchedule().Map(placed, _device), _device).Run();
        return (MetricsCalculator.Compute(result, _device), result);
    }
}
