using System.CommandLine;
using System.Globalization;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Graph;
using AccelSim.Reports;
using AccelSim.Workloads.Capacity;
using AccelSim.Workloads.Models;
using Newtonsoft.Json.Linq;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim capacity</c>: parses the request, asks <see cref="CapacityAnalysis"/> (KV cache per
/// token and per sequence, sequences that fit, where device memory goes, prefill and decode time, KV swap
/// cost) and renders its <see cref="CapacityReport"/> as a table or JSON.</summary>
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
            var report = CapacityAnalysis.Run(device, ModelConfigLoader.LoadNamed(p.GetValue(model)!), p.GetValue(context), p.GetValue(batch), d);
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

    private static string Bytes(double b) => Quantities.Bytes(b);

    private static string Time(double s) => Quantities.Time(s);

    private static string Pct(double f) => Quantities.Percent(f);
}
