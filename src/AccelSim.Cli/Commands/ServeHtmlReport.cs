using System.Globalization;
using AccelSim.Core.Time;
using AccelSim.Reports.Html;

namespace AccelSim.Cli.Commands;

/// <summary>The serve report as the HTML report shows it (<c>serve --html</c>, docs/html-report.md): every figure
/// carries its JSON pointer into the <c>accelsim.serve/1</c> report.</summary>
internal static class ServeHtmlReport
{
    public static ServeHtml ToHtml(this ServeReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var s = r.Summary;
        var distributions = new[]
        {
            new HtmlDistribution("/ttft_s", "TTFT", s.TtftS.Mean, s.TtftS.P50, s.TtftS.P90, s.TtftS.P99, s.TtftS.Max, "Time to first token: arrival to the first output token."),
            new HtmlDistribution("/tpot_s", "TPOT", s.TpotS.Mean, s.TpotS.P50, s.TpotS.P90, s.TpotS.P99, s.TpotS.Max, "Time per output token after the first, per request."),
            new HtmlDistribution("/itl_s", "Inter-token latency", s.ItlS.Mean, s.ItlS.P50, s.ItlS.P90, s.ItlS.P99, s.ItlS.Max, "Every gap between two consecutive tokens of a request."),
            new HtmlDistribution("/e2e_s", "End-to-end", s.E2eS.Mean, s.E2eS.P50, s.E2eS.P90, s.E2eS.P99, s.E2eS.Max, "Arrival to the last output token."),
            new HtmlDistribution("/queue_s", "Queueing", s.QueueS.Mean, s.QueueS.P50, s.QueueS.P90, s.QueueS.P99, s.QueueS.Max, "Arrival to the first iteration that schedules the request."),
        };
        var figures = new List<HtmlFigure>
        {
            new("/requests", "Requests", s.Requests, HtmlUnit.Count, $"Requests served ({r.Arrivals})."),
            new("/duration_s", "Duration", s.DurationS, HtmlUnit.Seconds, "First arrival to the last token of the last request."),
            new("/throughput_tokens_per_s", "Throughput", s.ThroughputTokensPerS, HtmlUnit.Count, "Output tokens per second of the run.", "tokens/s"),
            new("/throughput_requests_per_s", "Request throughput", s.ThroughputRequestsPerS, HtmlUnit.Number, "Requests completed per second of the run.", "requests/s"),
        };
        if (r.Slo is not null)
        {
            figures.Add(new("/goodput_requests_per_s", "Goodput", s.GoodputRequestsPerS, HtmlUnit.Number, $"Requests per second that met the SLO ({r.Slo}).", "requests/s"));
            figures.Add(new("/slo_attainment", "SLO attainment", s.SloAttainment, HtmlUnit.Fraction,
                $"Share of requests within every target of the SLO; the p99 targets are {(r.Slo.Met(s) ? "met" : "missed")}."));
        }
        figures.Add(new("/energy_j_per_request", "Energy per request", s.EnergyJPerRequest, HtmlUnit.Joules, "The run's energy (iterations plus idle static power) over its requests."));
        figures.Add(new("/energy_j", "Energy", s.EnergyJ, HtmlUnit.Joules, "Energy of the whole run."));
        figures.Add(new("/mean_batch", "Mean batch", s.MeanBatch, HtmlUnit.Number, $"Sequences per iteration, averaged over {s.Iterations.ToString("N0", CultureInfo.InvariantCulture)} iterations.", "sequences"));
        figures.Add(new("/preemptions", "Preemptions", s.Preemptions, HtmlUnit.Count, "Requests evicted from the KV cache and recomputed later."));
        figures.Add(new("/kv_cache/peak_fraction", "KV cache peak", s.KvPeakFraction, HtmlUnit.Fraction,
            $"Most KV blocks in use at once, of the {r.Kv.Blocks.ToString("N0", CultureInfo.InvariantCulture)} blocks of {r.Kv.BlockTokens} tokens in {r.Kv.Tier}."));
        if (r.Cost is { } cost)
        {
            figures.Add(new("/cost/usd_per_request", "Cost per request", cost.UsdPerRequest, HtmlUnit.Usd,
                FormattableString.Invariant($"The run's device time at {cost.UsdPerHour:0.##} USD per hour ({cost.Devices} device(s), prices from the hardware descriptions) over its requests.")));
            figures.Add(new("/cost/usd_per_million_output_tokens", "Cost per million output tokens", cost.UsdPerMillionOutputTokens, HtmlUnit.Usd,
                "The run's device cost over the output tokens it generated, per million."));
        }
        if (r.CapacityRequestsPerS is { } cap)
            figures.Add(new("/capacity_requests_per_s", "Capacity", cap, HtmlUnit.Number, "Highest arrival rate that meets the SLO.", "requests/s"));

        var details = new List<KeyValuePair<string, string>>
        {
            new($"KV cache ({r.Kv.Tier})", FormattableString.Invariant($"{r.Kv.Blocks:N0} blocks of {r.Kv.BlockTokens} tokens, {r.Kv.CacheBytes / 1e9:0.##} GB beside {r.Kv.WeightBytes / 1e9:0.##} GB of weights")),
            new("scheduler limits", FormattableString.Invariant($"max batch {r.Options.MaxBatch}, max batched tokens {r.Options.MaxBatchedTokens}, chunk {r.Options.Chunk}")),
        };
        if (r.Seed is { } seed) details.Add(new("seed", seed.ToString(CultureInfo.InvariantCulture)));
        if (r.Disaggregation is { } dg)
        {
            details.Add(new("decode pool", $"{dg.DecodeHardware} ({dg.DecodeKind}), KV cache {dg.DecodeKv.Blocks.ToString("N0", CultureInfo.InvariantCulture)} blocks ({dg.DecodeKv.Tier})"));
            details.Add(new("KV link", FormattableString.Invariant($"{dg.Link.Description}: {dg.Link.BandwidthBps / 1e9:G4} GB/s, {Ps.ToSeconds(dg.Link.LatencyPs) * 1e6:G4} us")));
        }
        if (r.Replicas is { } rp) details.Add(new("replicas", $"{rp.Result.Replicas.Count} behind {rp.Router}; requests {string.Join("/", rp.Counts())}"));

        var its = r.Result.Iterations.OrderBy(i => i.StartPs).ToArray();
        var times = its.Select(i => Ps.ToSeconds(i.StartPs)).ToArray();
        var series = new[]
        {
            new HtmlSeries("Queue length", "requests", times, its.Select(i => (double)i.Waiting).ToArray(), "Requests waiting when each iteration starts."),
            new HtmlSeries("Batch size", "sequences", times, its.Select(i => (double)i.Sequences).ToArray(), "Sequences in each iteration."),
            new HtmlSeries("KV blocks in use", "blocks", times, its.Select(i => (double)i.KvBlocks).ToArray(),
                FormattableString.Invariant($"KV-cache blocks held when each iteration starts, of {r.Kv.Blocks:N0}.")),
        };
        return new ServeHtml(r.Hardware, r.Kind, r.Model, r.Scheduler, r.Arrivals, distributions, figures, series, details, s.DurationS, r.Provenance);
    }
}
