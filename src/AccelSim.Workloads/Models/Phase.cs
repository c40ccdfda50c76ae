using AccelSim.Core.Config;

namespace AccelSim.Workloads.Models;

/// <summary>What part of inference (or training) a workload graph models.</summary>
public enum Phase
{
    /// <summary>A prompt of <c>seq</c> new tokens per sequence, no cache; logits for the last token only.</summary>
    Prefill,

    /// <summary>One new token per sequence attending to <c>context</c> cached tokens plus itself.</summary>
    Decode,

    /// <summary>One training step over <c>batch</c> sequences of <c>seq</c> tokens: forward with a
    /// loss over every position, backward, and an AdamW update of every parameter.</summary>
    Train,
}

public static class Phases
{
    public static string Name(this Phase p) => p switch
    {
        Phase.Prefill => "prefill",
        Phase.Decode => "decode",
        Phase.Train => "train",
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };

    public static string Expected => "one of " + string.Join(", ", Enum.GetValues<Phase>().Select(p => p.Name()));

    public static bool TryParse(string? text, out Phase phase)
    {
        foreach (var p in Enum.GetValues<Phase>())
        {
            if (string.Equals(p.Name(), text?.Trim(), StringComparison.OrdinalIgnoreCase)) { phase = p; return true; }
        }
        phase = default;
        return false;
    }

    /// <summary>Parses a phase name; <paramref name="path"/> names the option or field for the error.</summary>
    public static Phase Parse(string? text, string? path = RequestParameter.Phase) =>
        TryParse(text, out var p) ? p : throw new InputException(null, path, $"unknown phase '{text}'; expected {Expected}");
}
