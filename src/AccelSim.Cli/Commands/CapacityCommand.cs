using System.CommandLine;
using System.Globalization;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using AccelSim.Reports;
using AccelSim.Workloads.Models;
using Newtonsoft.Json.Linq;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary>What a long-context deployment costs in memory and time on one device.</summary>
public sealed record CapacityReport(
    string Hardware,
    string Model,
    long Context,
    long Batch,
    string Tier,
    long CapacityBytes,
    double KvBytesPerToken,
    long KvBytesPerSequence,
    long WeightBytes,
    long ActivationBytes,
    long SequencesThatFit,
    double PrefillS,
    double DecodeStepS,
    double DecodeKvReadFraction,
    string? SwapTier,
    double? SwapOutS,
    double? SwapInS)
{
    /// <summary>A caveat about the analysis (a position limit raised), or null.</summary>
    public string? Note { get; init; }

    public long KvBytes => KvBytesPerSequence * Batch;
    public long FreeBytes => CapacityBytes - WeightBytes - KvBytes - ActivationBytes;
    public double? SwapRoundTripS => SwapOutS + SwapInS;
}

/// <summary><c>accelsim capacity</c>: KV cache per token and per sequence, how many sequences of a context
/// fit beside the weights, where device memory goes, prefill and decode time per sequence, and what it
/// costs to swap one sequence's KV cache to the tier below and back, all by simulation.</summary>
public static class CapacityCommand
{
    public static Command Create(CliContext cli)
    {
        var c = new Command("capacity", "KV-cache capacity of a long-context deployment: sequences that fit, memory by use, prefill/decode time and KV swap cost");
        var hardware = CommonOptions.Hardware();
        var model = new Option<string>("--model") { Required = true, Description = "Bundled model name or a path to a Hugging Face config.json" };
        var context = new Option<long>("--context") { Required = true, Description = "Tokens of context per sequence (prompt plus generated so far)" };
        var batch = new Option<long>("--batch") { DefaultValueFactory = _ => 1, Description = "Concurrent sequences for the memory split and the decode step" };
        var dtype = new Option<string?>("--dtype") { Description = "Weights, activations and KV data type (default: the model's torch_dtype)" };
        var set = CommonOptions.Set();
        var format = CommonOptions.Format();
        foreach (var o in new Option[] { hardware, model, context, batch, dtype, set, format }) c.Options.Add(o);
        c.SetAction(p =>
        {
            using var services = Composition.Build(p.GetValue(CommonOptions.Plugins));
            var hw = CommonOptions.LoadHardware(p.GetValue(hardware)!, p.GetValue(set));
            var device = services.Registry().Create(hw);
            var provenance = Provenance.ProvenanceBuilder.Basic(hw, "sequential");
            var d = p.GetValue(dtype) is { } text ? CommonOptions.ParseDType(text, "--dtype") : (DType?)null;
            if (p.GetValue(context) > ModelLimits.MaxTokens)
                throw new InputException(null, "--context", $"{p.GetValue(context)} is beyond the sanity limit of {ModelLimits.MaxTokens}");
            var config = LongContext(ModelConfigLoader.LoadNamed(p.GetValue(model)!), p.GetValue(context), out var note);
            var report = Analyse(device, config, p.GetValue(context), p.GetValue(batch), d);
            var notes = new[] { note, report.Note }.Where(n => n is not null);
            report = report with { Note = notes.Any() ? string.Join("; ", notes) : null };
            if (p.GetValue(format) == "json")
            {
                var json = ToJson(report);
                json["provenance"] = JsonReport.ProvenanceJson(provenance);
                cli.Out.Write(JsonReport.Format(json));
            }
            else
            {
                var console = Execution.ConsoleFor(cli.Out);
                Render(report, console);
                foreach (var line in TableReport.ProvenanceLines(provenance)) console.WriteLine(line);
            }
            return 0;
        });
        return c;
    }

    /// <summary>The model with its position limit raised to <paramref name="context"/> when it is lower: the
    /// analysis asks what a context costs, as a long-context variant of the same architecture would
    /// (Yi-34B-200K is Yi-34B with a longer rope range).</summary>
    public static ModelConfig LongContext(ModelConfig model, long context, out string? note)
    {
        ArgumentNullException.ThrowIfNull(model);
        note = null;
        if (model.MaxPositionEmbeddings is not { } max || max >= context) return model;
        var raw = (JObject)model.Raw.DeepClone();
        raw["max_position_embeddings"] = context;
        note = $"{model.Name} supports {max} positions; analysed as a long-context variant of the same architecture";
        return ModelConfigLoader.Parse(raw, model.Source);
    }

    public static CapacityReport Analyse(IDeviceModel device, ModelConfig model, long context, long batch, DType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(model);
        if (context < 1) throw new InputException(null, "--context", $"expected a whole number >= 1, got {context}");
        if (batch < 1) throw new InputException(null, "--batch", $"expected a whole number >= 1, got {batch}");
        var tiers = Placement.Tiers(device);
        var top = tiers[0];
        var capacity = device.Topology.Tiers[device.Topology.TierIndex(top)].CapacityBytes;

        // Decode at this context: the step reads the weights and every sequence's cache.
        var decode = ModelBuilderRegistry.Default.Build(model, WorkloadRequest.Decode(batch, context - 1, dtype));
        var perToken = KvCache.BytesPerToken(decode);
        var perSequence = (long)Math.Round(perToken * context);
        var weights = ExpertSwitching.WeightBytes(decode);
        var activations = Placement.WorkingSet(decode);
        var fit = KvCache.SequencesThatFit(capacity, weights + activations, perSequence);
        string? budgetNote = null;
        if (device.Capabilities.Streaming is { } native)
        {
            // Weights and caches get the device's resident budget; activations have the rest.
            fit = KvCache.SequencesThatFit(native.ResidentBudgetBytes, weights, perSequence);
            budgetNote = string.Create(CultureInfo.InvariantCulture,
                $"{device.Name} gives {native.ResidentBudgetBytes / 1e9:0.0#} GB of its {capacity / 1e9:0.0#} GB of {top} to weights and caches; what does not fit there streams from {native.StreamTier}");
        }
        var decodeStep = Seconds(decode, device);
        var kvRead = KvCache.ResidentBytes(decode) / (double)Math.Max(1, KvCache.ResidentBytes(decode) + ExpertSwitching.WeightBytes(decode));

        // Prefill of one sequence of the whole context.
        var prefill = ModelBuilderRegistry.Default.Build(model, WorkloadRequest.Prefill(1, context, dtype));
        var prefillS = Seconds(prefill, device);

        // Swap one sequence's cache out to the tier below and back in, as copy ops.
        string? swapTier = device.Capabilities.Streaming is { } streaming ? streaming.StreamTier : tiers.Count > 1 ? tiers[1] : null;
        double? outS = null, inS = null;
        if (swapTier is not null)
        {
            var kv = new Tensor(0, "kv", [perSequence], DType.Int8, TensorRole.KvCache);
            var kvAway = new Tensor(1, "kv.swapped", [perSequence], DType.Int8, TensorRole.Activation);
            var kvBack = new Tensor(2, "kv.back", [perSequence], DType.Int8, TensorRole.Activation);
            var ops = new Op[]
            {
                new(0, "kv.swap_out", OpKind.Copy, -1, [kv], [kvAway], 0, DType.Int8) { Transfer = new TierTransfer(top, swapTier) },
                new(1, "kv.swap_in", OpKind.Copy, -1, [kvAway], [kvBack], 0, DType.Int8) { Transfer = new TierTransfer(swapTier, top) },
            };
            var graph = new WorkloadGraph(new WorkloadInfo($"{model.Name} kv swap", "swap", 1, 0, context, 0), ops,
                new Dictionary<int, string> { [kvAway.Id] = swapTier });
            var result = new Simulator(new SequentialSchedule().Map(graph, device), device).Run();
            outS = Ps.ToSeconds(result.TaskEndPs[0] - result.TaskStartPs[0]);
            inS = Ps.ToSeconds(result.TaskEndPs[1] - result.TaskStartPs[1]);
        }
        return new CapacityReport(device.Name, model.Name, context, batch, top, capacity, perToken, perSequence, weights, activations, fit,
            prefillS, decodeStep, kvRead, swapTier, outS, inS) { Note = budgetNote };
    }

    private static double Seconds(WorkloadGraph graph, IDeviceModel device) =>
        Ps.ToSeconds(new Simulator(new SequentialSchedule().Map(graph, device), device).Run().MakespanPs);

    public static JObject ToJson(CapacityReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new JObject
        {
            ["schema"] = "accelsim.capacity/1",
            ["hardware"] = r.Hardware,
            ["model"] = r.Model,
            ["context"] = r.Context,
            ["note"] = r.Note is null ? JValue.CreateNull() : r.Note,
            ["batch"] = r.Batch,
            ["kv_bytes_per_token"] = Num(r.KvBytesPerToken),
            ["kv_bytes_per_sequence"] = r.KvBytesPerSequence,
            ["sequences_that_fit"] = r.SequencesThatFit,
            ["memory_bytes"] = new JObject
            {
                ["tier"] = r.Tier,
                ["capacity"] = r.CapacityBytes,
                ["weights"] = r.WeightBytes,
                ["kv_cache"] = r.KvBytes,
                ["activations"] = r.ActivationBytes,
                ["free"] = r.FreeBytes,
            },
            ["prefill_s"] = Num(r.PrefillS),
            ["decode_step_s"] = Num(r.DecodeStepS),
            ["decode_kv_read_fraction"] = Num(r.DecodeKvReadFraction),
            ["swap"] = r.SwapTier is null ? JValue.CreateNull() : new JObject
            {
                ["tier"] = r.SwapTier,
                ["bytes"] = r.KvBytesPerSequence,
                ["out_s"] = Num(r.SwapOutS!.Value),
                ["in_s"] = Num(r.SwapInS!.Value),
                ["round_trip_s"] = Num(r.SwapRoundTripS!.Value),
            },
        };
    }

    private static JToken Num(double v) => double.IsFinite(v) ? new JValue(v == 0 ? 0.0 : v) : JValue.CreateNull();

    private static void Render(CapacityReport r, IAnsiConsole console)
    {
        console.Write(new Rule($"AccelSim capacity: {Markup.Escape(r.Hardware)} | {Markup.Escape(r.Model)} | context {r.Context} | batch {r.Batch}").LeftJustified());
        var t = new Table().Border(TableBorder.Rounded).Title("KV cache and time");
        t.AddColumn("Figure");
        t.AddColumn(new TableColumn("Value").RightAligned());
        t.AddColumn("What it means");
        void Row(string a, string b, string c) => t.AddRow(new Text(a), new Text(b), new Text(c));
        Row("KV cache per token", Bytes(r.KvBytesPerToken), "all layers, keys and values");
        Row("KV cache per sequence", Bytes(r.KvBytesPerSequence), $"at {r.Context} tokens");
        Row("Sequences that fit", r.SequencesThatFit.ToString(CultureInfo.InvariantCulture), $"beside the weights and activations in {r.Tier}");
        Row("Prefill per sequence", Time(r.PrefillS), $"{r.Context} prompt tokens, simulated");
        Row("Decode step", Time(r.DecodeStepS), $"one token for each of {r.Batch} sequence(s), simulated");
        Row("KV share of decode reads", Pct(r.DecodeKvReadFraction), "KV bytes / (KV + weight bytes) a decode step reads");
        if (r.SwapTier is not null)
        {
            Row($"Swap out to {r.SwapTier}", Time(r.SwapOutS!.Value), "one sequence's KV cache, simulated copy");
            Row($"Swap in from {r.SwapTier}", Time(r.SwapInS!.Value), "one sequence's KV cache, simulated copy");
            Row("Swap round trip", Time(r.SwapRoundTripS!.Value), "out then in");
        }
        console.Write(t);
        var m = new Table().Border(TableBorder.Rounded).Title($"Where {Markup.Escape(r.Tier)} goes ({Bytes(r.CapacityBytes)})");
        m.AddColumn("Use");
        m.AddColumn(new TableColumn("Bytes").RightAligned());
        m.AddColumn(new TableColumn("Share").RightAligned());
        void Use(string a, long b) => m.AddRow(new Text(a), new Text(Bytes(b)), new Text(Pct(b / (double)r.CapacityBytes)));
        Use("weights", r.WeightBytes);
        Use($"KV cache ({r.Batch} sequence(s))", r.KvBytes);
        Use("activations", r.ActivationBytes);
        // Over capacity shows how much does not fit (a positive amount), not a negative free space.
        if (r.FreeBytes < 0) Use("over capacity (does not fit)", -r.FreeBytes);
        else Use("free", r.FreeBytes);
        console.Write(m);
        if (r.Note is not null) console.WriteLine("Note: " + r.Note);
    }

    private static string Bytes(double b) => (Math.Abs(b) >= 1e9 ? (b / 1e9).ToString("0.00", CultureInfo.InvariantCulture) + " GB"
        : Math.Abs(b) >= 1e6 ? (b / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " MB"
        : Math.Abs(b) >= 1e3 ? (b / 1e3).ToString("0.00", CultureInfo.InvariantCulture) + " kB"
        : b.ToString("0", CultureInfo.InvariantCulture) + " B");

    private static string Time(double s) => s >= 1 ? s.ToString("0.000", CultureInfo.InvariantCulture) + " s"
        : (s * 1e3).ToString("0.000", CultureInfo.InvariantCulture) + " ms";

    private static string Pct(double f) => (f * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";
}
