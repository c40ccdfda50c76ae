using System.CommandLine;
using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Workloads.Parallel;

namespace AccelSim.Cli.Commands;

/// <summary>The options of a run on a system (<c>--system</c>, <c>--nodes</c>) and of its parallelism plan
/// (docs/parallelism.md), shared by run and compare. <c>--recompute</c> is the workload's
/// (<see cref="WorkloadOptions.Recompute"/>). The plan's numbers are read as text so that compare can take
/// comma lists (<c>--tp 1,2,4,8</c>) and every error names its flag.</summary>
public sealed class SystemOptions
{
    public Option<string?> System { get; } = new("--system") { Description = "Run on a system: a bundled system name (configs/systems, see docs/systems.md) or a path to a system JSON; excludes --hardware" };
    public Option<int?> Nodes { get; } = new("--nodes") { Description = "Nodes of the system (default: the system file's count)" };
    public Option<string?> Tp { get; } = new("--tp") { Description = "Tensor parallelism (Megatron), default 1" };
    public Option<string?> Pp { get; } = new("--pp") { Description = "Pipeline stages, default 1" };
    public Option<string?> Dp { get; } = new("--dp") { Description = "Data-parallel replicas, default 1" };
    public Option<string?> Ep { get; } = new("--ep") { Description = "Expert parallelism (mixture-of-experts models; divides --dp), default 1" };
    public Option<string?> Zero { get; } = new("--zero") { Description = "ZeRO stage 0-3 (train), default 0" };
    public Option<string?> Microbatch { get; } = new("--microbatch") { Description = "Sequences per microbatch (default: the whole per-replica batch)" };
    public Option<string?> GlobalBatch { get; } = new("--global-batch") { Description = "Sequences per step over all replicas (default: --batch)" };
    public Option<string?> PpSchedule { get; } = new("--pp-schedule") { Description = "Pipeline schedule: gpipe, 1f1b (the default) or interleaved" };
    public Option<string?> VirtualStages { get; } = new("--virtual-stages") { Description = "Model chunks per pipeline rank with --pp-schedule interleaved (default 2 there, else 1)" };
    public Option<bool> SequenceParallel { get; } = new("--sequence-parallel") { Description = "Megatron sequence parallelism: tensor-parallel all-reduces become reduce-scatter + all-gather" };
    public Option<string?> EpHotShare { get; } = new("--ep-hot-share") { Description = "Share of a layer's routed tokens on the busiest expert-parallel rank, in [1/ep, 1] (default 1/ep)" };
    public Option<bool> NoFold { get; } = new("--no-fold") { Description = "Simulate every data-parallel replica (by default replica 0 is simulated and the others mirror it)" };

    /// <summary>The options that describe the plan (they apply to --model on a system only).</summary>
    public IReadOnlyList<Option> PlanOptions => [Tp, Pp, Dp, Ep, Zero, Microbatch, GlobalBatch, PpSchedule, VirtualStages, SequenceParallel, EpHotShare, NoFold];

    /// <summary>The options that may list several values in compare.</summary>
    public IReadOnlyList<Option<string?>> Listable => [Tp, Pp, Dp, PpSchedule];

    public SystemOptions(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(System);
        command.Options.Add(Nodes);
        foreach (var o in PlanOptions) command.Options.Add(o);
    }

    /// <summary>Whether the run is on a system; checks that exactly one of <c>--system</c> and
    /// <paramref name="hardware"/> is given and that the system's options are not given without it.</summary>
    public bool OnSystem(ParseResult p, Option hardware)
    {
        ArgumentNullException.ThrowIfNull(p);
        var system = p.GetResult(System) is { Implicit: false };
        var device = p.GetResult(hardware) is { Implicit: false };
        if (system && device)
            throw new InputException(null, "--system", "--system and --hardware exclude each other: a system names its own devices (give one of them)");
        if (!system && !device)
            throw new InputException(null, "--hardware", "give --hardware (one device) or --system (devices and their network)");
        if (!system)
        {
            var stray = new[] { (Option)Nodes }.Concat(PlanOptions).Where(o => WorkloadOptions.IsGiven(p, o))
                .Select(o => new InputProblem(null, o.Name, "applies to a run on a system; give --system instead of --hardware"))
                .ToArray();
            if (stray.Length > 0) throw new InputException(stray);
        }
        return system;
    }

    /// <summary>The plans the options describe: one for run, the product of the comma lists of
    /// <see cref="Listable"/> for compare (<paramref name="lists"/>), in the order tp, pp, dp, schedule.</summary>
    public IReadOnlyList<ParallelismOptions> Plans(ParseResult p, bool lists)
    {
        ArgumentNullException.ThrowIfNull(p);
        var problems = new List<InputProblem>();
        int[] Ints(Option<string?> o, int fallback)
        {
            var text = p.GetValue(o);
            if (text is null) return [fallback];
            var items = lists ? text.Split(',', StringSplitOptions.TrimEntries) : [text.Trim()];
            var values = new List<int>();
            foreach (var item in items)
            {
                if (int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var v)) values.Add(v);
                else problems.Add(new InputProblem(null, o.Name, lists ? $"expected whole numbers separated by commas, got '{text}'" : $"expected a whole number, got '{text}'"));
            }
            return [.. values.Distinct()];
        }
        long? Long(Option<string?> o)
        {
            var text = p.GetValue(o);
            if (text is null) return null;
            if (long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v)) return v;
            problems.Add(new InputProblem(null, o.Name, $"expected a whole number, got '{text}'"));
            return null;
        }
        var tp = Ints(Tp, 1);
        var pp = Ints(Pp, 1);
        var dp = Ints(Dp, 1);
        var ep = Ints(Ep, 1);
        var zero = Ints(Zero, 0);
        var vs = p.GetValue(VirtualStages) is null ? (int?)null : Ints(VirtualStages, 1).FirstOrDefault();
        var micro = Long(Microbatch);
        var global = Long(GlobalBatch);
        double? hot = null;
        if (p.GetValue(EpHotShare) is { } hotText)
        {
            if (double.TryParse(hotText, NumberStyles.Float, CultureInfo.InvariantCulture, out var h)) hot = h;
            else problems.Add(new InputProblem(null, EpHotShare.Name, $"expected a number in [1/ep, 1], got '{hotText}'"));
        }
        var schedules = new List<PipelineScheduleKind>();
        var scheduleText = p.GetValue(PpSchedule);
        foreach (var s in scheduleText is null ? ["1f1b"] : lists ? scheduleText.Split(',', StringSplitOptions.TrimEntries) : [scheduleText])
        {
            try
            {
                schedules.Add(ParallelPlan.ParseSchedule(s));
            }
            catch (InputException e)
            {
                problems.AddRange(e.Problems);
            }
        }
        if (problems.Count > 0) throw new InputException(problems);
        if (ep.Length != 1 || zero.Length != 1) throw new InputException(null, ep.Length != 1 ? Ep.Name : Zero.Name, "expected one value");

        var plans = new List<ParallelismOptions>();
        foreach (var t in tp)
            foreach (var q in pp)
                foreach (var d in dp)
                    foreach (var s in schedules.Distinct())
                    {
                        plans.Add(new ParallelismOptions
                        {
                            Tp = t, Pp = q, Dp = d, Ep = ep[0], Zero = zero[0],
                            Microbatch = micro, GlobalBatch = global, Schedule = s,
                            // Interleaving needs chunks: two per rank unless told (Megatron's smallest).
                            VirtualStages = vs ?? (s == PipelineScheduleKind.Interleaved ? 2 : 1),
                            SequenceParallel = p.GetValue(SequenceParallel),
                            ExpertHotShare = hot,
                            Fold = !p.GetValue(NoFold),
                        });
                    }
        return plans;
    }
}
