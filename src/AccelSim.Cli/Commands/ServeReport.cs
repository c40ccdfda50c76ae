using System.Globalization;
using AccelSim.Core.Time;
using AccelSim.Workloads.Serving;
using AccelSim.Reports;
using Newtonsoft.Json;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary>What <c>accelsim serve</c> prints and writes: the <c>accelsim.serve/1</c> JSON report, a table,
/// a per-request CSV and a Perfetto timeline of counters (docs/serving.md).</summary>
internal sealed record ServeReport(string Hardware, string Kind, string Model, string Scheduler, SchedulerOptions Options, string Arrivals,
    int? Seed, ServiceLevel? Slo, ServingSummary Summary, ServingResult Result, KvCapacity Kv, IterationCostModel Costs, double? CapacityRequestsPerS)
{
    /// <summary>The hardware files (with their hashes), the overrides and the software stack the run used.</summary>
    public Core.Metrics.RunProvenance? Provenance { get; init; }

    /// <summary>A disaggregated run (<c>--scheduler disagg</c>): its two pools and the KV transfers between them.</summary>
    public DisaggregationReport? Disaggregation { get; init; }

    /// <summary>A replicated run (<c>--replicas N</c>): the router and every replica's share.</summary>
    public ReplicaReport? Replicas { get; init; }

    /// <summary>A tensor-parallel replica (<c>--system --tp N</c>): its group, as words.</summary>
    public string? TensorParallel { get; init; }

    public const string Schema = "accelsim.serve/1";

    public void WriteJson(TextWriter writer)
    {
        using var w = new JsonTextWriter(writer) { Formatting = Formatting.Indented, CloseOutput = false, Culture = CultureInfo.InvariantCulture };
        var s = Summary;
        w.WriteStartObject();
        w.WritePropertyName("schema"); w.WriteValue(Schema);
        w.WritePropertyName("hardware");
        w.WriteStartObject();
        w.WritePropertyName("name"); w.WriteValue(Hardware);
        w.WritePropertyName("kind"); w.WriteValue(Kind);
        w.WriteEndObject();
        w.WritePropertyName("model"); w.WriteValue(Model);
        w.WritePropertyName("scheduler");
        w.WriteStartObject();
        w.WritePropertyName("id"); w.WriteValue(Scheduler);
        w.WritePropertyName("max_batch"); w.WriteValue(Options.MaxBatch);
        w.WritePropertyName("max_batched_tokens"); w.WriteValue(Options.MaxBatchedTokens);
        w.WritePropertyName("chunk"); w.WriteValue(Options.Chunk);
        w.WriteEndObject();
        w.WritePropertyName("arrivals"); w.WriteValue(Arrivals);
        w.WritePropertyName("seed"); w.WriteValue(Seed);
        w.WritePropertyName("requests"); w.WriteValue(s.Requests);
        w.WritePropertyName("duration_s"); w.WriteValue(s.DurationS);
        Dist(w, "ttft_s", s.TtftS);
        Dist(w, "tpot_s", s.TpotS);
        Dist(w, "e2e_s", s.E2eS);
        Dist(w, "queue_s", s.QueueS);
        Dist(w, "itl_s", s.ItlS);
        w.WritePropertyName("throughput_tokens_per_s"); w.WriteValue(s.ThroughputTokensPerS);
        w.WritePropertyName("throughput_requests_per_s"); w.WriteValue(s.ThroughputRequestsPerS);
        w.WritePropertyName("goodput_requests_per_s"); w.WriteValue(s.GoodputRequestsPerS);
        w.WritePropertyName("slo"); w.WriteValue(Slo?.ToString());
        w.WritePropertyName("slo_attainment"); w.WriteValue(s.SloAttainment);
        w.WritePropertyName("slo_met"); w.WriteValue(Slo?.Met(s));
        w.WritePropertyName("energy_j_per_request"); w.WriteValue(s.EnergyJPerRequest);
        w.WritePropertyName("energy_j"); w.WriteValue(s.EnergyJ);
        w.WritePropertyName("iterations"); w.WriteValue(s.Iterations);
        w.WritePropertyName("mean_batch"); w.WriteValue(s.MeanBatch);
        w.WritePropertyName("preemptions"); w.WriteValue(s.Preemptions);
        w.WritePropertyName("kv_cache");
        w.WriteStartObject();
        w.WritePropertyName("tier"); w.WriteValue(Kv.Tier);
        w.WritePropertyName("block_tokens"); w.WriteValue(Kv.BlockTokens);
        w.WritePropertyName("blocks"); w.WriteValue(Kv.Blocks);
        w.WritePropertyName("bytes_per_token"); w.WriteValue(Kv.BytesPerToken);
        w.WritePropertyName("cache_bytes"); w.WriteValue(Kv.CacheBytes);
        w.WritePropertyName("weight_bytes"); w.WriteValue(Kv.WeightBytes);
        w.WritePropertyName("activation_bytes"); w.WriteValue(Kv.ActivationBytes);
        w.WritePropertyName("peak_blocks"); w.WriteValue(Result.KvPeakBlocks);
        w.WritePropertyName("peak_fraction"); w.WriteValue(s.KvPeakFraction);
        w.WriteEndObject();
        w.WritePropertyName("memo");
        w.WriteStartObject();
        w.WritePropertyName("signatures"); w.WriteValue(Costs.Signatures);
        w.WritePropertyName("bucket_bits"); w.WriteValue(Costs.BucketBits);
        w.WritePropertyName("max_relative_rounding"); w.WriteValue(Costs.MaxRelativeRounding);
        w.WritePropertyName("observed_relative_rounding"); w.WriteValue(Costs.ObservedRounding);
        w.WriteEndObject();
        if (CapacityRequestsPerS is { } cap)
        {
            w.WritePropertyName("capacity_requests_per_s"); w.WriteValue(cap);
        }
        Disaggregation?.Write(w);
        Replicas?.Write(w);
        if (TensorParallel is { } tpGroup)
        {
            w.WritePropertyName("tensor_parallel"); w.WriteValue(tpGroup);
        }
        if (Provenance is { } prov)
        {
            // The same object as a run's report (docs/report-schema.md).
            w.WritePropertyName("provenance");
            JsonReport.ProvenanceJson(prov).WriteTo(w);
        }
        w.WriteEndObject();
        w.Flush();
        writer.WriteLine();
    }

    private static void Dist(JsonTextWriter w, string name, Distribution d)
    {
        w.WritePropertyName(name);
        w.WriteStartObject();
        w.WritePropertyName("mean"); w.WriteValue(d.Mean);
        w.WritePropertyName("p50"); w.WriteValue(d.P50);
        w.WritePropertyName("p90"); w.WriteValue(d.P90);
        w.WritePropertyName("p99"); w.WriteValue(d.P99);
        w.WritePropertyName("max"); w.WriteValue(d.Max);
        w.WriteEndObject();
    }

    private static string N(double v, string f = "G4") => v.ToString(f, CultureInfo.InvariantCulture);

    public void WriteTable(IAnsiConsole console)
    {
        var s = Summary;
        console.WriteLine($"{Model} on {Hardware} ({Kind}), scheduler {Scheduler}, {s.Requests} requests ({Arrivals})");
        var t = new Table().AddColumns("metric", "mean", "p50", "p90", "p99");
        foreach (var (name, d) in new[] { ("TTFT (s)", s.TtftS), ("TPOT (s)", s.TpotS), ("end-to-end (s)", s.E2eS), ("queueing (s)", s.QueueS), ("inter-token (s)", s.ItlS) })
            t.AddRow(name, N(d.Mean), N(d.P50), N(d.P90), N(d.P99));
        console.Write(t);
        var k = new Table().AddColumns("figure", "value");
        k.AddRow("duration (s)", N(s.DurationS));
        k.AddRow("throughput (tokens/s)", N(s.ThroughputTokensPerS));
        k.AddRow("throughput (requests/s)", N(s.ThroughputRequestsPerS));
        if (Slo is not null)
        {
            k.AddRow($"goodput (requests/s, {Slo})", N(s.GoodputRequestsPerS));
            k.AddRow("SLO attainment", N(s.SloAttainment));
            k.AddRow("SLO met (p99)", Slo.Met(s) ? "yes" : "no");
        }
        k.AddRow("energy per request (J)", N(s.EnergyJPerRequest));
        k.AddRow("iterations", s.Iterations.ToString(CultureInfo.InvariantCulture));
        k.AddRow("mean batch (sequences)", N(s.MeanBatch));
        k.AddRow("preemptions", s.Preemptions.ToString(CultureInfo.InvariantCulture));
        k.AddRow($"KV cache ({Kv.Tier})", $"{Kv.Blocks} blocks of {Kv.BlockTokens} tokens, {N(Kv.CacheBytes / 1e9, "0.##")} GB; peak {N(s.KvPeakFraction * 100, "0.#")}%");
        k.AddRow("iteration memo", $"{Costs.Signatures} signatures, sizes rounded up by <= {N(Costs.ObservedRounding * 100, "0.##")}% (bound {N(Costs.MaxRelativeRounding * 100, "0.##")}%)");
        if (Disaggregation is { } dg)
        {
            if (dg.Result.PrefillInstances > 1 || dg.Result.DecodeInstances > 1)
                k.AddRow("instances", $"{dg.Result.PrefillInstances} prefill, {dg.Result.DecodeInstances} decode (each its own KV cache)");
            k.AddRow("decode pool", $"{dg.DecodeHardware} ({dg.DecodeKind}), KV cache {dg.DecodeKv.Blocks} blocks ({dg.DecodeKv.Tier}); peak {N(dg.Result.Decode.KvPeakBlocks * 100.0 / dg.DecodeKv.Blocks, "0.#")}%");
            k.AddRow("KV link", $"{dg.Link.Description}: {N(dg.Link.BandwidthBps / 1e9)} GB/s, {N(Ps.ToSeconds(dg.Link.LatencyPs) * 1e6)} us");
            k.AddRow("KV transfer (s)", $"mean {N(dg.TransferS.Mean)}, p99 {N(dg.TransferS.P99)}");
        }
        if (TensorParallel is { } tpGroup) k.AddRow("tensor parallel", tpGroup);
        if (Replicas is { } rp) k.AddRow("replicas", $"{rp.Result.Replicas.Count} behind {rp.Router}; requests {string.Join("/", rp.Counts())}");
        if (CapacityRequestsPerS is { } cap) k.AddRow("capacity (requests/s meeting the SLO)", N(cap));
        console.Write(k);
    }

    public void WriteCsv(TextWriter w)
    {
        w.WriteLine("id,arrival_s,prompt_tokens,output_tokens,queue_s,ttft_s,tpot_s,max_inter_token_s,e2e_s,preemptions,slo_attained");
        foreach (var r in Summary.PerRequest)
        {
            w.WriteLine(string.Join(",",
                r.Id.ToString(CultureInfo.InvariantCulture), R(r.ArrivalS), r.PromptTokens.ToString(CultureInfo.InvariantCulture),
                r.OutputTokens.ToString(CultureInfo.InvariantCulture), R(r.QueueS), R(r.TtftS), r.TpotS is { } tp ? R(tp) : "",
                R(r.MaxInterTokenS), R(r.E2eS), r.Preemptions.ToString(CultureInfo.InvariantCulture), r.SloAttained ? "true" : "false"));
        }
    }

    private static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Chrome/Perfetto trace events: one counter sample per iteration (queue length, batch size, new tokens,
    /// KV blocks in use) and one slice per iteration on the device track.</summary>
    public void WriteTimeline(TextWriter writer)
    {
        using var w = new JsonTextWriter(writer) { Formatting = Formatting.None, CloseOutput = false, Culture = CultureInfo.InvariantCulture };
        w.WriteStartObject();
        w.WritePropertyName("traceEvents");
        w.WriteStartArray();
        Meta(w, "process_name", 0, $"{Hardware} serving {Model} ({Scheduler})");
        foreach (var it in Result.Iterations)
        {
            var ts = it.StartPs / 1e6;
            w.WriteStartObject();
            w.WritePropertyName("name"); w.WriteValue("iteration");
            w.WritePropertyName("ph"); w.WriteValue("X");
            w.WritePropertyName("pid"); w.WriteValue(0);
            w.WritePropertyName("tid"); w.WriteValue(0);
            w.WritePropertyName("ts"); w.WriteValue(ts);
            w.WritePropertyName("dur"); w.WriteValue(it.DurationPs / 1e6);
            w.WritePropertyName("args");
            w.WriteStartObject();
            w.WritePropertyName("sequences"); w.WriteValue(it.Sequences);
            w.WritePropertyName("tokens"); w.WriteValue(it.Tokens);
            w.WriteEndObject();
            w.WriteEndObject();
            Counter(w, "waiting requests", ts, it.Waiting);
            Counter(w, "batch (sequences)", ts, it.Sequences);
            Counter(w, "batch (tokens)", ts, it.Tokens);
            Counter(w, "KV blocks in use", ts, it.KvBlocks);
        }
        w.WriteEndArray();
        w.WritePropertyName("displayTimeUnit"); w.WriteValue("ms");
        w.WriteEndObject();
        w.Flush();
        writer.WriteLine();
    }

    private static void Meta(JsonTextWriter w, string name, int pid, string value)
    {
        w.WriteStartObject();
        w.WritePropertyName("name"); w.WriteValue(name);
        w.WritePropertyName("ph"); w.WriteValue("M");
        w.WritePropertyName("pid"); w.WriteValue(pid);
        w.WritePropertyName("args");
        w.WriteStartObject();
        w.WritePropertyName("name"); w.WriteValue(value);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Counter(JsonTextWriter w, string name, double ts, long value)
    {
        w.WriteStartObject();
        w.WritePropertyName("name"); w.WriteValue(name);
        w.WritePropertyName("ph"); w.WriteValue("C");
        w.WritePropertyName("pid"); w.WriteValue(0);
        w.WritePropertyName("ts"); w.WriteValue(ts);
        w.WritePropertyName("args");
        w.WriteStartObject();
        w.WritePropertyName("value"); w.WriteValue(value);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}

/// <summary>The pools of a disaggregated run and the KV transfers between them.</summary>
internal sealed record DisaggregationReport(string DecodeHardware, string DecodeKind, KvCapacity DecodeKv, KvLink Link, DisaggregatedResult Result)
{
    public Distribution TransferS => Distribution.Of(Enumerable.Range(0, Result.TransferPs.Count)
        .Where(i => Result.Combined.Requests[i].Spec.OutputTokens > 1).Select(i => Ps.ToSeconds(Result.TransferPs[i])).ToArray());

    public void Write(JsonTextWriter w)
    {
        w.WritePropertyName("disaggregation");
        w.WriteStartObject();
        if (Result.PrefillInstances > 1 || Result.DecodeInstances > 1)
        {
            w.WritePropertyName("prefill_instances"); w.WriteValue(Result.PrefillInstances);
            w.WritePropertyName("decode_instances"); w.WriteValue(Result.DecodeInstances);
        }
        Pool(w, "prefill", Result.Prefill);
        w.WritePropertyName("decode_hardware");
        w.WriteStartObject();
        w.WritePropertyName("name"); w.WriteValue(DecodeHardware);
        w.WritePropertyName("kind"); w.WriteValue(DecodeKind);
        w.WriteEndObject();
        w.WritePropertyName("decode_kv_cache");
        w.WriteStartObject();
        w.WritePropertyName("tier"); w.WriteValue(DecodeKv.Tier);
        w.WritePropertyName("blocks"); w.WriteValue(DecodeKv.Blocks);
        w.WritePropertyName("cache_bytes"); w.WriteValue(DecodeKv.CacheBytes);
        w.WriteEndObject();
        Pool(w, "decode", Result.Decode);
        w.WritePropertyName("kv_link");
        w.WriteStartObject();
        w.WritePropertyName("path"); w.WriteValue(Link.Description);
        w.WritePropertyName("bandwidth_Bps"); w.WriteValue(Link.BandwidthBps);
        w.WritePropertyName("latency_s"); w.WriteValue(Ps.ToSeconds(Link.LatencyPs));
        w.WriteEndObject();
        var d = TransferS;
        w.WritePropertyName("kv_transfer_s");
        w.WriteStartObject();
        w.WritePropertyName("mean"); w.WriteValue(d.Mean);
        w.WritePropertyName("p50"); w.WriteValue(d.P50);
        w.WritePropertyName("p99"); w.WriteValue(d.P99);
        w.WritePropertyName("max"); w.WriteValue(d.Max);
        w.WriteEndObject();
        w.WritePropertyName("kv_transfer_bytes"); w.WriteValue(Result.TransferBytes.Sum());
        w.WriteEndObject();
    }

    private static void Pool(JsonTextWriter w, string name, ServingResult r)
    {
        w.WritePropertyName(name);
        w.WriteStartObject();
        w.WritePropertyName("iterations"); w.WriteValue(r.Iterations.Count);
        w.WritePropertyName("busy_s"); w.WriteValue(Ps.ToSeconds(r.Iterations.Sum(i => i.DurationPs)));
        w.WritePropertyName("energy_j"); w.WriteValue(r.IterationEnergyJ + r.IdleEnergyJ);
        w.WritePropertyName("kv_peak_blocks"); w.WriteValue(r.KvPeakBlocks);
        w.WritePropertyName("preemptions"); w.WriteValue(r.Preemptions);
        w.WriteEndObject();
    }
}

/// <summary>The router and replicas of a replicated run.</summary>
internal sealed record ReplicaReport(string Router, ReplicatedResult Result)
{
    public int[] Counts()
    {
        var n = new int[Result.Replicas.Count];
        foreach (var k in Result.Assignment) n[k]++;
        return n;
    }

    public void Write(JsonTextWriter w)
    {
        w.WritePropertyName("replicas");
        w.WriteStartObject();
        w.WritePropertyName("count"); w.WriteValue(Result.Replicas.Count);
        w.WritePropertyName("router"); w.WriteValue(Router);
        w.WritePropertyName("per_replica");
        w.WriteStartArray();
        var counts = Counts();
        for (var k = 0; k < counts.Length; k++)
        {
            var r = Result.Replicas[k];
            w.WriteStartObject();
            w.WritePropertyName("requests"); w.WriteValue(counts[k]);
            w.WritePropertyName("iterations"); w.WriteValue(r.Iterations.Count);
            w.WritePropertyName("busy_s"); w.WriteValue(Ps.ToSeconds(r.Iterations.Sum(i => i.DurationPs)));
            w.WritePropertyName("kv_peak_blocks"); w.WriteValue(r.KvPeakBlocks);
            w.WritePropertyName("preemptions"); w.WriteValue(r.Preemptions);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
