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
    /// <summary>Orca's KV reservation against use (shown for <c>--scheduler orca</c> only).</summary>
    private KvReservationStats? OrcaReservationShown => Scheduler == "orca" ? Result.KvReservation : null;

    /// <summary>The hardware files (with their hashes), the overrides and the software stack the run used.</summary>
    public Core.Metrics.RunProvenance? Provenance { get; init; }

    /// <summary>A disaggregated run (<c>--scheduler disagg</c>): its two pools and the KV transfers between them.</summary>
    public DisaggregationReport? Disaggregation { get; init; }

    /// <summary>A replicated run (<c>--replicas N</c>): the router and every replica's share.</summary>
    public ReplicaReport? Replicas { get; init; }

    /// <summary>What the run cost at the devices' hourly prices; null when a device's description gives no price.</summary>
    public ServeCost? Cost { get; init; }
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
        if (Result.PrefixCache is { } pc)
        {
            w.WritePropertyName("prefix_cache");
            w.WriteStartObject();
            w.WritePropertyName("token_hit_rate"); w.WriteValue(pc.TokenHitRate);
            w.WritePropertyName("request_hit_rate"); w.WriteValue(pc.RequestHitRate);
            w.WritePropertyName("saved_prefill_tokens"); w.WriteValue(pc.HitTokens);
            w.WritePropertyName("looked_up_tokens"); w.WriteValue(pc.LookupTokens);
            w.WritePropertyName("evictions"); w.WriteValue(pc.Evictions);
            w.WriteEndObject();
        }
        if (Result.Swap is { } sw)
        {
            w.WritePropertyName("swap");
            w.WriteStartObject();
            w.WritePropertyName("swap_space_bytes"); w.WriteValue((long)Math.Round(sw.CapacityBlocks * (double)Kv.BlockTokens * Kv.BytesPerToken));
            w.WritePropertyName("link_bandwidth_Bps"); w.WriteValue(sw.LinkBandwidthBps);
            w.WritePropertyName("swapped_out"); w.WriteValue(sw.Outs);
            w.WritePropertyName("swapped_in"); w.WriteValue(sw.Ins);
            w.WritePropertyName("out_bytes"); w.WriteValue(sw.OutBytes);
            w.WritePropertyName("in_bytes"); w.WriteValue(sw.InBytes);
            w.WritePropertyName("transfer_s"); w.WriteValue(Ps.ToSeconds(sw.TransferPs));
            w.WritePropertyName("peak_blocks"); w.WriteValue(sw.PeakBlocks);
            w.WriteEndObject();
        }
        if (OrcaReservationShown is { } kr)
        {
            w.WritePropertyName("kv_reservation");
            w.WriteStartObject();
            w.WritePropertyName("mode"); w.WriteValue(OrcaReservation.Id(Options.OrcaReserve));
            w.WritePropertyName("iterations"); w.WriteValue(OrcaIterationPolicy.Id(Options.OrcaIterations));
            w.WritePropertyName("reserved_token_s"); w.WriteValue(kr.ReservedTokenS);
            w.WritePropertyName("used_token_s"); w.WriteValue(kr.UsedTokenS);
            w.WritePropertyName("wasted_share"); w.WriteValue(kr.WastedShare);
            w.WritePropertyName("peak_reserved_tokens"); w.WriteValue(kr.PeakReservedTokens);
            w.WriteEndObject();
        }
        Cost?.Write(w);
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
        foreach (var col in t.Columns.Skip(1)) col.RightAligned();
        foreach (var (name, d) in new[] { ("TTFT", s.TtftS), ("TPOT", s.TpotS), ("end-to-end", s.E2eS), ("queueing", s.QueueS), ("inter-token", s.ItlS) })
            t.AddRow(name, Quantities.Time(d.Mean), Quantities.Time(d.P50), Quantities.Time(d.P90), Quantities.Time(d.P99));
        console.Write(t);
        var k = new Table().AddColumns("figure", "value");
        k.AddRow("duration", Quantities.Time(s.DurationS));
        k.AddRow("throughput (tokens/s)", N(s.ThroughputTokensPerS));
        k.AddRow("throughput (requests/s)", N(s.ThroughputRequestsPerS));
        if (Slo is not null)
        {
            k.AddRow($"goodput (requests/s, {Slo})", N(s.GoodputRequestsPerS));
            k.AddRow("SLO attainment", N(s.SloAttainment));
            k.AddRow("SLO met (p99)", Slo.Met(s) ? "yes" : "no");
        }
        k.AddRow("energy per request", Quantities.Energy(s.EnergyJPerRequest));
        k.AddRow("iterations", s.Iterations.ToString(CultureInfo.InvariantCulture));
        k.AddRow("mean batch (sequences)", N(s.MeanBatch));
        k.AddRow("preemptions", s.Preemptions.ToString(CultureInfo.InvariantCulture));
        k.AddRow($"KV cache ({Kv.Tier})", $"{Kv.Blocks} blocks of {Kv.BlockTokens} tokens, {Quantities.Bytes(Kv.CacheBytes)}; peak {N(s.KvPeakFraction * 100, "0.#")}%");
        k.AddRow("iteration memo", $"{Costs.Signatures} signatures, sizes rounded up by <= {N(Costs.ObservedRounding * 100, "0.##")}% (bound {N(Costs.MaxRelativeRounding * 100, "0.##")}%)");
        if (Disaggregation is { } dg)
        {
            if (dg.Result.PrefillInstances > 1 || dg.Result.DecodeInstances > 1)
                k.AddRow("instances", $"{dg.Result.PrefillInstances} prefill, {dg.Result.DecodeInstances} decode (each its own KV cache)");
            k.AddRow("decode pool", $"{dg.DecodeHardware} ({dg.DecodeKind}), KV cache {dg.DecodeKv.Blocks} blocks ({dg.DecodeKv.Tier}); peak {N(dg.Result.Decode.KvPeakBlocks * 100.0 / dg.DecodeKv.Blocks, "0.#")}%");
            k.AddRow("KV link", $"{dg.Link.Description}: {Quantities.ByteRate(dg.Link.BandwidthBps)}, {Quantities.Time(Ps.ToSeconds(dg.Link.LatencyPs))}");
            k.AddRow("KV transfer", $"mean {Quantities.Time(dg.TransferS.Mean)}, p99 {Quantities.Time(dg.TransferS.P99)}");
        }
        if (TensorParallel is { } tpGroup) k.AddRow("tensor parallel", tpGroup);
        if (Replicas is { } rp) k.AddRow("replicas", $"{rp.Result.Replicas.Count} behind {rp.Router}; requests {string.Join("/", rp.Counts())}");
        if (CapacityRequestsPerS is { } cap) k.AddRow("capacity (requests/s meeting the SLO)", N(cap));
        if (Result.PrefixCache is { } pc)
            k.AddRow("prefix cache", $"hit rate {N(pc.TokenHitRate * 100, "0.#")}% of prefill tokens, {N(pc.RequestHitRate * 100, "0.#")}% of requests; {pc.HitTokens} prefill tokens saved; {pc.Evictions} evictions");
        if (Result.Swap is { } sw)
            k.AddRow("swap (host link)", $"{sw.Outs} out, {sw.Ins} in, {N((sw.OutBytes + sw.InBytes) / 1e9)} GB at {N(sw.LinkBandwidthBps / 1e9)} GB/s: {N(Ps.ToSeconds(sw.TransferPs))} s");
        if (OrcaReservationShown is { } kres)
            k.AddRow($"KV reserved ({OrcaReservation.Id(Options.OrcaReserve)})", $"{N(kres.WastedShare * 100, "0.#")}% of the reserved cache held no token (time-weighted); peak {kres.PeakReservedTokens} tokens reserved");
        if (Cost is { } ct)
            k.AddRow($"cost (${N(ct.UsdPerHour)}/h)", $"run ${N(ct.RunUsd)}; ${N(ct.UsdPerRequest)} per request; ${N(ct.UsdPerMillionOutputTokens)} per M output tokens (${N(ct.UsdPerMillionTokens)} per M tokens)");
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
