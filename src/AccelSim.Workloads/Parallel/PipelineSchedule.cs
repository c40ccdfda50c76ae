namespace AccelSim.Workloads.Parallel;

/// <summary>One step of a pipeline rank: the forward or backward pass of one microbatch through one of its
/// model chunks (chunk c of pipeline rank s is virtual stage c × pp + s).</summary>
public readonly record struct PipelineStep(bool Forward, int Microbatch, int Chunk)
{
    public override string ToString() => $"{(Forward ? "F" : "B")}{Microbatch}" + (Chunk > 0 ? $".{Chunk}" : "");
}

/// <summary>The order in which a pipeline rank runs its steps. Only the order is given: when each step runs
/// (and so the bubble) comes out of the simulation, from the steps' durations and the sends between stages.</summary>
public static class PipelineSchedule
{
    /// <summary>The steps of pipeline rank <paramref name="stage"/> (0-based) of <paramref name="pp"/> over
    /// <paramref name="microbatches"/> microbatches with <paramref name="chunks"/> model chunks per rank
    /// (1 unless interleaved). <paramref name="backward"/> false: forward passes only (inference), in order.</summary>
    public static IReadOnlyList<PipelineStep> Steps(PipelineScheduleKind kind, int pp, int chunks, int microbatches, int stage, bool backward = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pp, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(microbatches, 1);
        if (stage < 0 || stage >= pp) throw new ArgumentOutOfRangeException(nameof(stage));
        var steps = new List<PipelineStep>((backward ? 2 : 1) * microbatches * chunks);
        if (!backward)
        {
            // Forward only: each microbatch through the rank's chunks in pipeline order, microbatches in order.
            if (chunks == 1)
            {
                for (var j = 0; j < microbatches; j++) steps.Add(new(true, j, 0));
                return steps;
            }
            for (var k = 0; k < microbatches * chunks; k++) steps.Add(Interleaved(k, true, pp, chunks));
            return steps;
        }
        switch (kind)
        {
            case PipelineScheduleKind.GPipe:
                if (chunks != 1) throw new ArgumentException("GPipe runs one chunk per rank", nameof(chunks));
                for (var j = 0; j < microbatches; j++) steps.Add(new(true, j, 0));
                for (var j = 0; j < microbatches; j++) steps.Add(new(false, j, 0));
                return steps;
            case PipelineScheduleKind.OneFOneB:
            {
                if (chunks != 1) throw new ArgumentException("1F1B runs one chunk per rank", nameof(chunks));
                var warmup = Math.Min(pp - stage - 1, microbatches);
                int f = 0, b = 0;
                for (; f < warmup; f++) steps.Add(new(true, f, 0));
                while (f < microbatches)
                {
                    steps.Add(new(true, f++, 0));
                    steps.Add(new(false, b++, 0));
                }
                while (b < microbatches) steps.Add(new(false, b++, 0));
                return steps;
            }
            case PipelineScheduleKind.Interleaved:
            {
                // Megatron-LM's interleaved 1F1B (schedules.py, forward_backward_pipelining_with_interleaving).
                var total = microbatches * chunks;
                var warmup = Math.Min((pp - stage - 1) * 2 + (chunks - 1) * pp, total);
                int f = 0, b = 0;
                for (; f < warmup; f++) steps.Add(Interleaved(f, true, pp, chunks));
                while (f < total)
                {
                    steps.Add(Interleaved(f++, true, pp, chunks));
                    steps.Add(Interleaved(b++, false, pp, chunks));
                }
                while (b < total) steps.Add(Interleaved(b++, false, pp, chunks));
                return steps;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    /// <summary>The k-th forward (or backward) of a rank under the interleaved schedule: microbatches go
    /// through the chunks in groups of pp; backwards visit the chunks in reverse.</summary>
    private static PipelineStep Interleaved(int k, bool forward, int pp, int chunks)
    {
        var inGroup = k % (pp * chunks);
        var chunk = inGroup / pp;
        if (!forward) chunk = chunks - 1 - chunk;
        var microbatch = k / (pp * chunks) * pp + inGroup % pp;
        return new(forward, microbatch, chunk);
    }

    /// <summary>The most microbatch-chunks whose forward has run and whose backward has not, over the steps:
    /// how many sets of stashed activations the rank holds at once.</summary>
    public static int MaxInFlight(IReadOnlyList<PipelineStep> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        int live = 0, max = 0;
        foreach (var s in steps)
        {
            live += s.Forward ? 1 : -1;
            max = Math.Max(max, live);
        }
        return max;
    }
}
