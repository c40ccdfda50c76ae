using AccelSim.Core.Metrics;

namespace AccelSim.Reports.Html;

/// <summary>How a figure of an HTML report is written.</summary>
public enum HtmlUnit
{
    /// <summary>Seconds, in the unit that keeps the figure below 1000 (ms, us, ...).</summary>
    Seconds,
    Joules,
    /// <summary>A fraction, shown as a percentage.</summary>
    Fraction,
    /// <summary>A count with thousands separators.</summary>
    Count,
    /// <summary>A number to four significant digits.</summary>
    Number,
    Bytes,
    /// <summary>FLOP/s, scaled (TFLOP/s, ...).</summary>
    FlopRate,
    /// <summary>US dollars, to four significant digits and never in exponent notation ($0.00007089).</summary>
    Usd,
}

/// <summary>One key figure: <paramref name="Json"/> is its JSON pointer in the command's JSON report (the page
/// carries it, so a reader or a test can match the two), <paramref name="Suffix"/> follows the value
/// ("tokens/s"), <paramref name="Meaning"/> says in one sentence what it means.</summary>
public sealed record HtmlFigure(string Json, string Label, double Value, HtmlUnit Unit, string Meaning, string Suffix = "");

/// <summary>A latency distribution of a serving run (seconds).</summary>
public sealed record HtmlDistribution(string Json, string Label, double Mean, double P50, double P90, double P99, double Max, string Meaning);

/// <summary>A quantity sampled over a run (one sample per iteration): times in seconds, values.</summary>
public sealed record HtmlSeries(string Label, string Unit, IReadOnlyList<double> TimesS, IReadOnlyList<double> Values, string Meaning);

/// <summary>What the HTML report of <c>accelsim serve</c> shows: the workload, the latency distributions, the key
/// figures, the series (queue, batch, KV cache) and the provenance. <paramref name="Details"/>: further
/// (label, text) lines such as the KV cache's size or the decode pool of a disaggregated run.</summary>
public sealed record ServeHtml(
    string Hardware,
    string Kind,
    string Model,
    string Scheduler,
    string Arrivals,
    IReadOnlyList<HtmlDistribution> Distributions,
    IReadOnlyList<HtmlFigure> Figures,
    IReadOnlyList<HtmlSeries> Series,
    IReadOnlyList<KeyValuePair<string, string>> Details,
    double DurationS,
    RunProvenance? Provenance);

/// <summary>One run of a comparison with its roofline (the device's roofs and the run's ops on them).</summary>
public sealed record ComparedHtmlRun(RunMetrics Run, RooflineData Roofline);
