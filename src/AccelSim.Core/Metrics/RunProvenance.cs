namespace AccelSim.Core.Metrics;

/// <summary>What a report's figures rest on: the hardware files and their hashes, every override, the
/// software stack and launch mode, and how much of the run's time depends on parameters tagged
/// <c>estimate</c> (docs/report-schema.md, "provenance").</summary>
public sealed record RunProvenance(
    IReadOnlyList<Config.ConfigFileInfo> Files,
    IReadOnlyList<KeyValuePair<string, string>> Overrides,
    string Stack,
    string Launch)
{
    /// <summary>True when <c>--set</c> overrides changed the hardware (the header shows <c>name*</c>).</summary>
    public bool Modified => Overrides.Count > 0;

    /// <summary>Numeric hardware fields by tag (datasheet, measured, fitted, estimate, untagged).</summary>
    public IReadOnlyDictionary<string, int> ParameterCounts { get; init; } = new Dictionary<string, int>();

    /// <summary>Share of the busy time of ops whose duration changes when every estimate-tagged parameter is
    /// perturbed; null when not computed.</summary>
    public double? EstimateTimeShare { get; init; }

    /// <summary>Relative latency change of the run under that perturbation (signed); null when not computed.</summary>
    public double? EstimateLatencyChange { get; init; }

    /// <summary>The factor the perturbation multiplies each estimate-tagged parameter by.</summary>
    public double EstimatePerturbation { get; init; }
}

/// <summary>A prediction interval for a run's latency and energy from the validation residuals of its
/// device family (docs/validation.md, "Error bars"). When the device has no measurements,
/// <see cref="Note"/> says so and the bounds are null.</summary>
public sealed record PredictionInterval(
    double Level,
    double? LatencyLowS,
    double? LatencyHighS,
    double? EnergyLowJ,
    double? EnergyHighJ,
    string Source,
    string? Note)
{
    public bool HasBounds => LatencyLowS is not null;
}
