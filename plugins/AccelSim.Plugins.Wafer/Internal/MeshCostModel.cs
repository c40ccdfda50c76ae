using AccelSim.Core.Graph;

namespace AccelSim.Plugins.Wafer.Internal;

/// <summary>What an op asks of the mesh once its tensors are placed: FLOPs in a data type, bytes
/// read and written in local SRAM, bytes over the external store (streamed weights and spilled
/// activations), bytes that must stay resident in the region's SRAM, and its communication pattern.</summary>
internal readonly record struct OpWork(
    long Flops, DType DType, long SramBytes, long MemoryXBytes, long SpillBytes, long ResidentBytes, long ActivationBytes, MeshPattern Pattern);

/// <summary>How a partition over <c>rows x cols</c> cores communicates. All sizes in bytes.
/// <list type="bullet">
/// <item><c>Gemm</c>: C (M x N) = A (M x K) B (K x N), B block-partitioned (K over rows, N over
/// columns). Each row of cores receives its K-slice of A by a multicast along the row; each column
/// reduces its partial C slice down the column with a binary tree (MeshGEMV's K-tree).</item>
/// <item><c>Attention</c>: heads over rows, cached tokens over columns; the query is multicast along
/// the row, softmax statistics and partial outputs are reduced along it (three passes).</item>
/// <item><c>RowReduce</c>: norms and softmax: tokens over rows, features over columns; an all-reduce
/// of one fp32 statistic per token along the row.</item>
/// <item><c>Local</c>: elementwise work on data already distributed; no communication.</item>
/// </list></summary>
internal sealed record MeshPattern(string Name, PatternKind Kind, long MaxRows, long MaxCols, long MaxCores,
    double BroadcastBytes, double ReduceBytes, int ReducePasses, int HopPasses, long RowGroups = 1, double RowReduceBytes = 0)
{
    public static MeshPattern For(Op op, DType dt)
    {
        var e = Math.Max(1, dt.Bits() / 8.0);
        switch (op.Kind)
        {
            case OpKind.MatMul when op.Gemm is { } g && g.M > 0 && g.N > 0 && g.K > 0 && g.Batch > 0:
            {
                var a = g.Batch * g.M * g.K * e;
                var c = g.Batch * g.M * g.N * e;
                var name = g.M * g.Batch <= 16 ? "MeshGEMV" : "MeshGEMM";
                return new MeshPattern(name, PatternKind.Gemm, g.K, g.N, long.MaxValue, a, c, 1, 1);
            }
            case OpKind.Attention when op.Attention is { } s && s.Batch > 0 && s.HeadsQ > 0 && s.KvLen > 0 && s.QueryLen > 0:
            {
                var q = s.Batch * s.QueryLen * s.HeadsQ * s.HeadDim * e;
                var stats = s.Batch * s.QueryLen * s.HeadsQ * 2 * 4.0;
                // Heads (and, past one row per head, slices of the head dimension) over rows: a head split
                // over several rows reduces its fp32 partial scores along them before the softmax.
                var groups = s.Batch * Math.Max(1, s.HeadsKv);
                var scores = s.Batch * s.HeadsQ * s.QueryLen * (double)s.KvLen * 4;
                return new MeshPattern("distributed attention", PatternKind.Attention,
                    groups * s.HeadDim, s.KvLen, long.MaxValue, q, q + stats, 1, 3, groups, scores);
            }
            case OpKind.Norm or OpKind.Softmax or OpKind.Reduction:
            {
                var (rows, features) = RowsAndFeatures(op);
                return new MeshPattern("row all-reduce", PatternKind.RowReduce, rows, features, long.MaxValue, rows * 4.0, rows * 4.0, 1, 2);
            }
            default:
            {
                var elements = Math.Max(1, op.Outputs.Count > 0 ? op.Outputs.Max(t => t.Elements) : op.Bytes / (long)e);
                return new MeshPattern("local " + op.Kind.Name(), PatternKind.Local, long.MaxValue, long.MaxValue, elements, 0, 0, 0, 0);
            }
        }
    }

    private static (long Rows, long Features) RowsAndFeatures(Op op)
    {
        var t = op.Outputs.Count > 0 ? op.Outputs[0] : op.Inputs.Count > 0 ? op.Inputs[0] : null;
        if (t is null || t.Shape.Count == 0) return (1, 1);
        var features = Math.Max(1, t.Shape[^1]);
        return (Math.Max(1, t.Elements / features), features);
    }
}

internal enum PatternKind
{
    Gemm,
    Attention,
    RowReduce,
    Local,
}

/// <summary>An op costed on one region: its shape, hop latency, body time (the longest of compute,
/// SRAM and fabric) and the caps its transfers run at.</summary>
internal readonly record struct Stage(
    int Rows, int Cols, long Hops, double HopLatencyS, double ComputeS, double SramS, double FabricS, double MemoryXS,
    long LinkBytes, double SramCapBps, double FabricCapBps, double TotalS)
{
    /// <summary>Time the stage keeps its cores busy once started (no hop latency).</summary>
    public double BodyS => Math.Max(ComputeS, Math.Max(SramS, FabricS));
}

/// <summary>Chooses and costs regions. Pure: the same work on the same spec always gives the same stage.</summary>
internal sealed class MeshCostModel
{
    private readonly WaferSpec _spec;
    private readonly int[] _sides;

    public MeshCostModel(WaferSpec spec)
    {
        _spec = spec;
        var side = Math.Max(spec.MeshWidth, spec.MeshHeight);
        var list = new SortedSet<int>();
        for (var v = 1; v <= Math.Min(16, side); v++) list.Add(v);
        for (double v = 16; v < side; v *= 1.125) list.Add((int)Math.Ceiling(v));
        list.Add(spec.MeshWidth);
        list.Add(spec.MeshHeight);
        _sides = list.Where(v => v <= side).ToArray();
    }

    /// <summary>Fewest cores whose SRAM (its resident part) holds the op's resident bytes.</summary>
    public long MinCores(OpWork w)
    {
        var perCore = _spec.SramPerCoreBytes * _spec.SramResidentFraction;
        return Math.Clamp((long)Math.Ceiling(w.ResidentBytes / perCore), 1, _spec.MeshCores);
    }

    /// <summary>The fastest region of at most <paramref name="maxCores"/> cores that holds the op's
    /// resident bytes (ties: fewer cores). Smaller regions pay fewer hops; larger ones compute faster.</summary>
    public Stage Best(OpWork w, long maxCores)
    {
        // Pure in its arguments, and the ops of a model's layers ask the same: search each once.
        var key = (w, maxCores, -1);
        lock (_cache) if (_cache.TryGetValue(key, out var hit)) return hit;
        var stage = SearchBest(w, maxCores);
        lock (_cache) _cache.TryAdd(key, stage);
        return stage;
    }

    private readonly Dictionary<(OpWork Work, long MaxCores, int Rule), Stage> _cache = [];

    /// <summary>The regions an op may take: every rows x cols of the side ladder that its structure
    /// allows, within <paramref name="maxCores"/> (or the fewest cores its resident bytes need, when
    /// more) and holding those bytes; in order of rows, then columns.</summary>
    private IEnumerable<(int Rows, int Cols, long Cores)> Candidates(OpWork w, long maxCores)
    {
        var p = w.Pattern;
        var min = MinCores(w);
        var limit = Math.Min(maxCores, p.MaxCores);
        if (limit < min) limit = min;
        foreach (var r in _sides)
        {
            if (r > _spec.MeshHeight || r > p.MaxRows) continue;
            foreach (var c in _sides)
            {
                if (c > _spec.MeshWidth || c > p.MaxCols) continue;
                var n = (long)r * c;
                if (n > limit) break;
                if (n >= min) yield return (r, c, n);
            }
        }
    }

    /// <summary>When no region satisfies both bounds (the op's structure is smaller than its resident
    /// bytes need): the smallest square holding them, clipped to the mesh.</summary>
    private Stage Fallback(OpWork w)
    {
        var min = MinCores(w);
        return Evaluate(w, (int)Math.Min(_spec.MeshHeight, Math.Ceiling(Math.Sqrt(min))),
            (int)Math.Min(_spec.MeshWidth, Math.Ceiling(min / Math.Ceiling(Math.Sqrt(min)))));
    }

    private Stage SearchBest(OpWork w, long maxCores)
    {
        Stage? best = null;
        foreach (var (r, c, n) in Candidates(w, maxCores))
        {
            var s = Evaluate(w, r, c);
            if (best is null || s.TotalS < best.Value.TotalS * (1 - 1e-12)
                || (Math.Abs(s.TotalS - best.Value.TotalS) <= best.Value.TotalS * 1e-12 && n < (long)best.Value.Rows * best.Value.Cols))
                best = s;
        }
        return best ?? Fallback(w);
    }

    /// <summary>A region of at most <paramref name="maxCores"/> cores chosen by <paramref name="rule"/>
    /// from the op's structure alone: 0, the largest (most square on ties); 1, among those with at least
    /// half the largest's cores, the one whose communication crosses the fewest link-bytes; 2, the one
    /// with the fewest hops. Bytes and hops do not depend on any rate, so a faster wafer never changes it.</summary>
    public Stage Shaped(OpWork w, long maxCores, int rule)
    {
        if (rule == 0) return Shaped(w, maxCores);
        var key = (w, maxCores, rule);
        lock (_cache) if (_cache.TryGetValue(key, out var hit)) return hit;
        var stage = SearchShaped(w, maxCores, rule);
        lock (_cache) _cache.TryAdd(key, stage);
        return stage;
    }

    private Stage SearchShaped(OpWork w, long maxCores, int rule)
    {
        var largest = Shaped(w, maxCores);
        var floor = (long)largest.Rows * largest.Cols / 2;
        Stage? best = null;
        foreach (var (r, c, n) in Candidates(w, maxCores))
        {
            if (n < floor) continue;
            var s = Evaluate(w, r, c);
            if (best is not { } b) { best = s; continue; }
            var key = rule == 1 ? s.LinkBytes : s.Hops;
            var bestKey = rule == 1 ? b.LinkBytes : b.Hops;
            if (key < bestKey || (key == bestKey && n > (long)b.Rows * b.Cols)) best = s;
        }
        return best ?? largest;
    }

    /// <summary>The largest region of at most <paramref name="maxCores"/> cores the op's structure allows
    /// (most square on ties), chosen without looking at any rate, so that a faster wafer never changes it.</summary>
    public Stage Shaped(OpWork w, long maxCores)
    {
        int bestR = 0, bestC = 0;
        long bestN = 0;
        foreach (var (r, c, n) in Candidates(w, maxCores))
        {
            if (n > bestN || (n == bestN && Math.Abs(r - c) < Math.Abs(bestR - bestC)))
            {
                bestN = n;
                bestR = r;
                bestC = c;
            }
        }
        return bestN > 0 ? Evaluate(w, bestR, bestC) : Fallback(w);
    }

    /// <summary>The op on exactly <paramref name="rows"/> x <paramref name="cols"/> cores. Its time
    /// mirrors what the simulator does with the resulting cost when the op runs alone: overhead and
    /// hop latency, then the longest of compute, SRAM traffic, fabric traffic (after one hop) and
    /// external-store traffic (after its latency).</summary>
    public Stage Evaluate(OpWork w, int rows, int cols)
    {
        rows = Math.Clamp(rows, 1, _spec.MeshHeight);
        cols = Math.Clamp(cols, 1, _spec.MeshWidth);
        var n = (double)rows * cols;
        var p = w.Pattern;
        var peak = _spec.PeakFlops.TryGetValue(w.DType, out var pk) && pk > 0 ? pk : _spec.PeakFlops[DType.Fp32];
        var computeS = w.Flops / (n * peak / _spec.Cores * _spec.ComputeEfficiency);
        var sramCap = Math.Min(n * _spec.SramPerCoreBps, _spec.SramBandwidthBps);
        var sramS = w.SramBytes > 0 ? w.SramBytes / sramCap : 0;
        var link = _spec.LinkBandwidthBps;

        double linkBytes = 0, fabricS = 0;
        long hops = 0, levels = 0;
        switch (p.Kind)
        {
            case PatternKind.Gemm:
                if (cols > 1)
                {
                    // Multicast of each row's K-slice of A along the row: cols - 1 links per byte,
                    // pipelined, so a row takes its slice over one link.
                    linkBytes += p.BroadcastBytes * (cols - 1);
                    fabricS += p.BroadcastBytes / rows / link;
                    hops += cols - 1;
                }
                if (rows > 1)
                {
                    // Tree reduction of each column's partial C slice: log2(rows) rounds.
                    linkBytes += p.ReduceBytes * (rows - 1);
                    fabricS += Log2Ceil(rows) * (p.ReduceBytes / cols) / link;
                    hops += rows - 1;
                    levels += Log2Ceil(rows);
                }
                break;
            case PatternKind.Attention:
                if (cols > 1)
                {
                    linkBytes += (p.BroadcastBytes + p.ReduceBytes) * (cols - 1);
                    fabricS += p.BroadcastBytes / rows / link + Log2Ceil(cols) * (p.ReduceBytes / rows) / link;
                    hops += p.HopPasses * (long)(cols - 1);
                    levels += (p.HopPasses - 1) * Log2Ceil(cols);
                }
                if (rows > p.RowGroups)
                {
                    var split = (rows + p.RowGroups - 1) / p.RowGroups;
                    linkBytes += p.RowReduceBytes * (split - 1);
                    fabricS += Log2Ceil(split) * (p.RowReduceBytes / cols / p.RowGroups) / link;
                    hops += split - 1;
                    levels += Log2Ceil(split);
                }
                break;
            case PatternKind.RowReduce:
                if (cols > 1)
                {
                    linkBytes += 2 * p.ReduceBytes * (cols - 1);
                    fabricS += 2 * Log2Ceil(cols) * (p.ReduceBytes / rows) / link;
                    hops += p.HopPasses * (long)(cols - 1);
                    levels += 2 * Log2Ceil(cols);
                }
                break;
            case PatternKind.Local:
                break;
        }
        var lb = (long)Math.Ceiling(linkBytes);
        var fabricCap = lb > 0 && fabricS > 0 ? Math.Min(lb / fabricS, _spec.FabricBandwidthBps) : _spec.FabricBandwidthBps;
        var fabricAlone = lb > 0 ? Math.Max(lb / _spec.FabricBandwidthBps, lb / fabricCap) : 0;
        var mxS = w.MemoryXBytes > 0 ? w.MemoryXBytes / _spec.MemoryXBandwidthBps + _spec.MemoryXLatencyS : 0;
        // Hops in flight plus, per reduction-tree level, a core receiving, adding and forwarding
        // (few routes per core: PLMR's R makes reductions store-and-forward through cores).
        var hopLatency = hops * _spec.HopLatencyS + levels * _spec.ReduceStepLatencyS;
        var total = _spec.OpOverheadS + hopLatency
            + Math.Max(Math.Max(computeS, sramS), Math.Max(lb > 0 ? fabricAlone + _spec.HopLatencyS : 0, mxS));
        return new Stage(rows, cols, hops, hopLatency, computeS, sramS, fabricAlone, mxS, lb, sramCap, fabricCap, total);
    }

    private static int Log2Ceil(long v)
    {
        var k = 0;
        while ((1L << k) < v) k++;
        return Math.Max(1, k);
    }
}
