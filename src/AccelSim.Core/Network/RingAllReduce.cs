using AccelSim.Core.Simulation;

namespace AccelSim.Core.Network;

/// <summary>A ring all-reduce as a kernel process: N ranks in a ring, the data cut into N chunks,
/// 2(N-1) steps (N-1 of reduce-scatter, N-1 of all-gather). In step s every rank sends one chunk to the
/// next rank over its route; a rank sends step s+1 once its own step-s send has left and the step-s
/// chunk from the previous rank has arrived. Steps are not in lock-step: each send starts the moment
/// its two conditions hold, so a slow link delays only what depends on it, and flows of different
/// steps share links where they meet (max-min fair, <see cref="FlowNetwork"/>).
///
/// <para>Each send is a kernel task without an engine carrying one flow, created when the first of
/// its conditions is met: the kernel holds only what has been issued.</para></summary>
public sealed class RingAllReduce : KernelProcess
{
    private readonly Kernel _kernel;
    private readonly int[] _route;
    private readonly int[] _task; // rank * steps + step -> kernel task, or -1 until created
    private readonly int _ranks, _steps;
    private readonly long _chunk;
    private readonly double _cap;

    /// <param name="kernel">A kernel with a network.</param>
    /// <param name="ringRoutes">Route from rank r to rank r+1 (mod N), one per rank.</param>
    /// <param name="bytes">The buffer every rank reduces.</param>
    /// <param name="cap_Bps">Each send's own rate cap (what one rank can push), or infinity.</param>
    public RingAllReduce(Kernel kernel, IReadOnlyList<int> ringRoutes, long bytes, double cap_Bps = double.PositiveInfinity)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(ringRoutes);
        if (kernel.Network is null) throw new ArgumentException("a ring all-reduce needs a kernel with a network", nameof(kernel));
        if (ringRoutes.Count < 2) throw new ArgumentException("a ring all-reduce needs at least two ranks", nameof(ringRoutes));
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes), "bytes must not be negative");
        _kernel = kernel;
        _ranks = ringRoutes.Count;
        _steps = 2 * (_ranks - 1);
        _route = ringRoutes.ToArray();
        _chunk = (bytes + _ranks - 1) / _ranks;
        _cap = cap_Bps;
        if ((long)_ranks * _steps > Kernel.MaxIndex) throw new ArgumentException($"a ring of {_ranks} ranks has more sends than a kernel holds", nameof(ringRoutes));
        _task = new int[_ranks * _steps];
        Array.Fill(_task, -1);
        kernel.Attach(this);
    }

    public int Ranks => _ranks;
    public int Steps => _steps;

    /// <summary>Bytes each send moves.</summary>
    public long ChunkBytes => _chunk;

    /// <summary>Sends (flows) issued so far.</summary>
    public long Flows { get; private set; }

    /// <summary>When the last chunk arrived (ps); -1 until then.</summary>
    public long EndPs { get; private set; } = -1;

    protected override void OnStart(Kernel kernel)
    {
        for (var r = 0; r < _ranks; r++) kernel.Ready(Send(r, 0));
    }

    protected override void OnTaskEnd(Kernel kernel, int task)
    {
        var tag = kernel.Tag(task);
        int rank = tag / _steps, step = tag % _steps;
        if (step + 1 == _steps)
        {
            EndPs = Math.Max(EndPs, kernel.Now);
            return;
        }
        kernel.Signal(Send(rank, step + 1));
        kernel.Signal(Send(rank + 1 == _ranks ? 0 : rank + 1, step + 1));
    }

    /// <summary>Rank <paramref name="rank"/>'s send of step <paramref name="step"/>, created on first use.</summary>
    private int Send(int rank, int step)
    {
        var key = rank * _steps + step;
        if (_task[key] >= 0) return _task[key];
        var t = _kernel.NewTask(this, Kernel.NoEngine, 0, 0, tag: key, prerequisites: step == 0 ? 0 : 2);
        _kernel.AddFlow(t, _route[rank], _chunk, _cap);
        Flows++;
        return _task[key] = t;
    }
}
