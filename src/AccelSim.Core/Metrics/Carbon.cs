namespace AccelSim.Core.Metrics;

/// <summary>The numbers carbon accounting needs, filled by the caller from the hardware config
/// (<c>carbon.*</c> keys) and the site config (grid intensity, PUE). Device-independent.</summary>
/// <param name="GridIntensityGPerKWh">Grid carbon intensity, gCO2e per kWh drawn from the grid.</param>
/// <param name="Pue">Power usage effectiveness of the site (facility energy / IT energy, >= 1).</param>
/// <param name="EmbodiedKgCO2e">Embodied (manufacturing, cradle-to-gate) emissions of the device, kgCO2e.</param>
/// <param name="LifetimeYears">Service life the embodied emissions are amortised over, years.</param>
/// <param name="GridSource">Where the grid intensity and PUE come from.</param>
/// <param name="EmbodiedSource">Where the embodied figure and lifetime come from.</param>
public sealed record CarbonInputs(
    double GridIntensityGPerKWh,
    double Pue,
    double EmbodiedKgCO2e,
    double LifetimeYears,
    string GridSource,
    string EmbodiedSource);

/// <summary>Emissions of one run. Operational: energy x PUE x grid intensity. Embodied: the device's
/// embodied emissions x run time / lifetime (wall-clock amortisation: the device is charged for the
/// time the run holds it).</summary>
public sealed record CarbonMetrics(
    double OperationalG,
    double EmbodiedG,
    double TokensPerRun,
    CarbonInputs Inputs)
{
    public double TotalG => OperationalG + EmbodiedG;

    /// <summary>Total emissions per million tokens processed, gCO2e (0 when the run has no tokens).</summary>
    public double GPerMillionTokens => TokensPerRun > 0 ? TotalG / TokensPerRun * 1e6 : 0;

    public double OperationalGPerMillionTokens => TokensPerRun > 0 ? OperationalG / TokensPerRun * 1e6 : 0;

    public double EmbodiedGPerMillionTokens => TokensPerRun > 0 ? EmbodiedG / TokensPerRun * 1e6 : 0;
}

/// <summary>Carbon accounting of a run: pure arithmetic on its energy and latency.</summary>
public static class Carbon
{
    /// <summary>The optional hardware-config keys of carbon accounting, common to every device family.</summary>
    public static readonly IReadOnlyList<Plugins.PluginParameter> Parameters =
    [
        new("carbon.embodied_kgCO2e", "kgCO2e", "embodied (cradle-to-gate) emissions of the device, amortised over its lifetime in carbon reports", Required: false),
        new("carbon.lifetime_years", "years", "service life the embodied emissions are spread over", Required: false),
    ];

    public const double JoulesPerKWh = 3.6e6;
    public const double SecondsPerYear = 365.25 * 24 * 3600;

    public static CarbonMetrics Compute(RunMetrics run, CarbonInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(inputs);
        if (!(inputs.GridIntensityGPerKWh >= 0) || !(inputs.Pue >= 1) || !(inputs.EmbodiedKgCO2e >= 0) || !(inputs.LifetimeYears > 0))
            throw new ArgumentOutOfRangeException(nameof(inputs), "expected grid intensity >= 0, PUE >= 1, embodied >= 0 and lifetime > 0");
        var operational = run.Energy.TotalJ / JoulesPerKWh * inputs.Pue * inputs.GridIntensityGPerKWh;
        var embodied = inputs.EmbodiedKgCO2e * 1e3 * run.LatencyS / (inputs.LifetimeYears * SecondsPerYear);
        return new CarbonMetrics(operational, embodied, run.Workload.Tokens, inputs);
    }
}
