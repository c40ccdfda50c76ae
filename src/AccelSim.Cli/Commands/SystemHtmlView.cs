using System.Globalization;
using AccelSim.Reports.Html;
using AccelSim.Reports;
using AccelSim.Workloads.Models;

namespace AccelSim.Cli.Commands;

/// <summary>A system run as its HTML report shows it (<c>run --system --html</c>, docs/html-report.md): every key
/// figure carries its JSON pointer into the system run's JSON report.</summary>
internal static class SystemHtmlView
{
    public static SystemHtml ToHtml(this SystemRunOutcome o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var r = o.Result;
        var w = o.Workload;
        var n = r.Ranks.Count;
        var title = w.Plan is { } plan && w.Model is { } model && w.Request is { } req
            ? $"{model.Name} {req.Phase.Name()}, {plan} on {o.Spec.Name}"
            : $"{r.Name} (trace, {w.Program.Ranks.Count} ranks) on {o.Spec.Name}";
        var lines = new List<string>
        {
            $"{o.Spec.Name} | {Inv(o.Nodes)} node{(o.Nodes == 1 ? "" : "s")}, {Inv(r.SystemRanks)} devices, {Inv(w.DevicesUsed)} used, {Inv(n)} simulated | schedule {o.ScheduleName}",
        };
        if (w.Plan is { } p2 && w.Request is { } rq)
            lines.Add($"global batch {Inv(p2.GlobalBatch)} | microbatch {Inv(p2.MicrobatchSize)} x {Inv(p2.Microbatches)} | seq {Inv(rq.Seq)} | context {Inv(rq.Context)} | pipeline schedule {Workloads.Parallel.ParallelPlan.Name(p2.Schedule)}");
        if (w.Plan is { Fold: true } f && f.Dp > 1)
            lines.Add($"Folded: data-parallel replica 0 is simulated, replicas 1-{f.Dp - 1} mirror it (their traffic is on the network).");

        var peak = $"{Quantities.FlopRate(o.PeakFlopsPerDevice)} {w.DType.ToString().ToLowerInvariant()}";
        var figures = new List<HtmlFigure>
        {
            new("/throughput/iteration_s", "Iteration time", o.IterationS, HtmlUnit.Seconds, "Time zero to the end of the last compute segment or collective of the step."),
        };
        if (w.Tokens is { } tokens && o.IterationS > 0)
            figures.Add(new("/throughput/tokens_per_s", "Throughput", tokens / o.IterationS, HtmlUnit.Count, $"{tokens.ToString("N0", CultureInfo.InvariantCulture)} tokens per step, per second of the step.", "tokens/s"));
        if (w.Samples is { } samples && o.IterationS > 0)
            figures.Add(new("/throughput/samples_per_s", "Samples per second", samples / o.IterationS, HtmlUnit.Number, $"{samples.ToString("N0", CultureInfo.InvariantCulture)} sequences per step.", "samples/s"));
        if (o.ModelFlopsPerDevicePerS is { } mf)
        {
            figures.Add(new("/throughput/model_flops_per_s_per_device", "Model FLOP/s per device", mf, HtmlUnit.FlopRate,
                $"The model's FLOPs of the step (no recomputation) over the step time and the {Inv(w.DevicesUsed)} devices used."));
            if (o.PeakFlopsPerDevice > 0)
                figures.Add(new("/throughput/model_flops_utilisation", "Model FLOP/s utilisation", mf / o.PeakFlopsPerDevice, HtmlUnit.Fraction, $"Model FLOP/s per device against the device's peak ({peak})."));
        }
        figures.Add(new("/throughput/hardware_flops_utilisation", "Hardware FLOP/s utilisation", o.PeakFlopsPerDevice > 0 ? o.HardwareFlopsPerDevicePerS / o.PeakFlopsPerDevice : 0, HtmlUnit.Fraction,
            $"FLOPs the devices ran (recomputation and replicated ops included), {Quantities.FlopRate(o.HardwareFlopsPerDevicePerS)} per device, against the peak ({peak})."));
        var exposed = Core.Time.Ps.ToSeconds(r.Ranks.Sum(x => x.ExposedCommPs));
        var hidden = Core.Time.Ps.ToSeconds(r.Ranks.Sum(x => x.HiddenCommPs));
        figures.Add(new("/network/communication/exposed_s", "Communication exposed", exposed, HtmlUnit.Seconds,
            $"Time devices wait on collectives with nothing to compute, summed over the {Inv(n)} simulated devices ({Quantities.Time(o.MeanExposedCommS)} per device, {Quantities.Percent(o.IterationS > 0 ? o.MeanExposedCommS / o.IterationS : 0)} of the step)."));
        figures.Add(new("/network/communication/overlapped_s", "Communication hidden", hidden, HtmlUnit.Seconds,
            $"Collective time overlapped with the device's own compute, summed over the simulated devices ({Quantities.Time(o.MeanOverlappedCommS)} per device)."));
        figures.Add(new("/network/bytes", "Network bytes", r.Links.Sum(l => (double)l.Bytes), HtmlUnit.Bytes,
            $"Bytes over every link, {Inv(r.Links.Count(l => l.Bytes > 0))} of {Inv(r.Links.Count)} links used, {Inv(r.Collectives.Count)} collectives and sends."));
        figures.Add(new("/throughput/step_energy_j", "Energy per step", o.StepEnergyJ, HtmlUnit.Joules,
            $"Every device used (a folded replica costs what replica 0 does) plus the network ({Quantities.Energy(r.LinkEnergyJ)})."));
        if (w.Tokens is { } t2 && o.StepEnergyJ > 0)
            figures.Add(new("/throughput/tokens_per_j", "Energy efficiency", t2 / o.StepEnergyJ, HtmlUnit.Number, "Tokens per joule of the step.", "tokens/J"));

        // The fullest tier of any device, by peak over capacity (ties: lower rank, then tier name).
        var fullest = r.Ranks.Select((x, i) => (Index: i, Rank: x, Tier: SystemRun.Fullest([x])))
            .Where(t => t.Tier is not null)
            .OrderByDescending(t => t.Tier!.CapacityBytes > 0 ? (double)t.Tier.PeakBytes / t.Tier.CapacityBytes : 0).ThenBy(t => t.Index).FirstOrDefault();
        if (fullest.Tier is { } tier)
        {
            figures.Add(new($"/devices/{Inv(fullest.Index)}/memory/peak_bytes/{tier.Tier}", "Memory peak (fullest device)", tier.PeakBytes, HtmlUnit.Bytes,
                $"Rank {Inv(fullest.Rank.Rank)} ({fullest.Rank.DeviceName}), {tier.Tier}: {Quantities.Bytes(tier.PeakBytes)} of {Quantities.Bytes(tier.CapacityBytes)}" +
                (tier.CapacityBytes > 0 ? $" ({Quantities.Percent(tier.PeakBytes / (double)tier.CapacityBytes)})." : ".")));
        }
        var over = r.Ranks.Where(x => x.Memory.Any(t => t.Overflows)).Select(x => x.Rank).ToArray();
        var fitsMeaning = o.Fits
            ? "Every simulated device's peak occupancy stays within every tier's capacity."
            : $"Over capacity on {Inv(over.Length)} device{(over.Length == 1 ? "" : "s")} (ranks {string.Join(", ", over.Take(8).Select(x => Inv(x)))}{(over.Length > 8 ? ", ..." : "")}); see the device table.";

        var details = new List<KeyValuePair<string, string>>
        {
            new("system", $"{o.Spec.Name}, {Inv(o.Nodes)} node{(o.Nodes == 1 ? "" : "s")}, {Inv(r.SystemRanks)} devices"),
            new("devices", string.Join(", ", r.Ranks.GroupBy(x => x.DeviceName).Select(g => $"{g.Key} ({g.First().DeviceKind}) x {Inv(g.Count())}"))),
            new("workload", w.Plan is { } p3 && w.Model is { } m3 ? $"{m3.Name}, {p3}" : $"trace {w.Trace}"),
            new("schedule", o.ScheduleName),
            new("peak per device", peak),
        };
        return new SystemHtml(title, lines, figures, o.Fits, fitsMeaning, r, details, o.Provenance);
    }

    private static string Inv(long v) => v.ToString(CultureInfo.InvariantCulture);
}
