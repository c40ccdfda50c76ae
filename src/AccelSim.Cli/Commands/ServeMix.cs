using System.CommandLine;
using System.Globalization;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Serving;
using AccelSim.Workloads.Stacks;
using Newtonsoft.Json;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim serve --find-mix</c>: the cheapest mix of device types that serves a stream within a service
/// level (Mélange, Griggs et al., arXiv:2404.14527; docs/serving.md): per device type and request-size bucket, the
/// highest rate one replica serves within the SLO (the bisection of <c>--find-capacity</c>), then the integer program
/// over replica counts (<see cref="DeviceMix"/>).</summary>
internal sealed class ServeMixOptions
{
    public const string Schema = "accelsim.serve-mix/1";

    public Option<bool> FindMix { get; } = new("--find-mix")
    {
        Description = "Find the cheapest mix of the --hardware types (comma-separated) that serves --rate within --slo (Melange-style)",
    };

    public Option<string> MixBuckets { get; } = new("--mix-buckets")
    {
        DefaultValueFactory = _ => "256,1024,4096",
        Description = "Find-mix: prompt-token boundaries of the request-size buckets",
    };

    public IEnumerable<Option> All => [FindMix, MixBuckets];

    /// <summary>What the search needs from the serve command's options.</summary>
    public sealed record Inputs(string Hardware, IReadOnlyList<string>? Sets, ModelConfig Model, Core.Graph.DType? DType, SoftwareStack Stack,
        string Scheduler, SchedulerOptions Options, ServiceLevel Slo, double Rate, double Cv, int Count, int Seed, IReadOnlyList<ServingRequest> Lengths,
        string Workload, int BlockSize, double MemoryFraction, int BucketBits, string? Plugins);

    public int Run(CliContext cli, ParseResult p, Inputs x, string format, string? outPath)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(x);
        var edges = ParseEdges(p.GetValue(MixBuckets)!);
        var names = x.Hardware.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0 || names.Distinct().Count() != names.Length)
            throw new InputException(null, "--hardware", $"--find-mix needs distinct device types, comma-separated, got '{x.Hardware}'");

        var buckets = new List<int[]>[edges.Count + 1];
        for (var b = 0; b < buckets.Length; b++) buckets[b] = [];
        foreach (var r in x.Lengths) buckets[DeviceMix.Bucket(r.PromptTokens, edges)].Add([r.PromptTokens, r.OutputTokens]);
        var rates = buckets.Select(l => x.Rate * l.Count / x.Lengths.Count).ToArray();

        using var services = Composition.Build(x.Plugins);
        var types = new List<TypeResult>();
        var capacity = new double[names.Length, buckets.Length];
        for (var t = 0; t < names.Length; t++)
        {
            var config = CommonOptions.LoadHardware(names[t], x.Sets);
            var price = DevicePrice.UsdPerHour(config)
                ?? throw new InputException(config.File, DevicePrice.Path, $"--find-mix compares prices, but '{config.Name}' gives none; add cost.usd_per_hour");
            var device = services.Registry().Create(config);
            var kv = KvCapacity.Plan(device, x.Model, x.DType, x.Stack, x.BlockSize, x.Options.MaxBatchedTokens, x.MemoryFraction, null);
            var costs = new IterationCostModel(x.Model, device, x.DType, x.Stack, x.BucketBits);
            for (var b = 0; b < buckets.Length; b++)
            {
                var lengths = buckets[b];
                if (lengths.Count == 0) continue;
                // A bucket with a request longer than this device's cache cannot be served by it.
                if (lengths.Any(l => (l[0] + l[1] - 1 + kv.BlockTokens - 1) / kv.BlockTokens > kv.Blocks)) continue;
                capacity[t, b] = ServeCommand.Capacity.Find(rates[b], rate =>
                {
                    var requests = Requests(x, lengths, rate);
                    var result = ServingSimulator.Run(requests, BatchSchedulers.Create(x.Scheduler), w => costs.Cost(w),
                        new KvBlockManager(kv.Blocks, kv.BlockTokens), x.Options, device.StaticPowerW);
                    return ServingSummary.Compute(result, x.Slo);
                }, x.Slo);
            }
            types.Add(new TypeResult(config.Name, price));
        }
        var prices = types.Select(t => t.UsdPerHour).ToArray();
        var best = DeviceMix.Cheapest(rates, capacity, prices);
        var singles = Enumerable.Range(0, names.Length).Select(t => DeviceMix.SingleType(rates, capacity, prices, t)).ToArray();
        var report = new MixReport(x, edges, buckets.Select(l => l.Count).ToArray(), rates, types, capacity, best, singles);
        using var files = new OutputFiles();
        if (outPath is not null)
        {
            using var w = files.Create(outPath, "--out");
            report.WriteJson(w);
        }
        if (format == "json") report.WriteJson(cli.Out);
        else report.WriteTable(Execution.ConsoleFor(cli.Out));
        files.Commit();
        return 0;
    }

    /// <summary>The capacity run's requests: <see cref="Inputs.Count"/> arrivals at <paramref name="rate"/> (the
    /// seed's gaps, scaled), their lengths the bucket's in turn.</summary>
    private static ServingRequest[] Requests(Inputs x, List<int[]> lengths, double rate)
    {
        var gaps = Arrivals.Generate(x.Count, rate, x.Cv, LengthDistribution.Fixed(1), LengthDistribution.Fixed(1), x.Seed);
        var list = new ServingRequest[gaps.Count];
        for (var i = 0; i < list.Length; i++) list[i] = gaps[i] with { PromptTokens = lengths[i % lengths.Count][0], OutputTokens = lengths[i % lengths.Count][1] };
        return list;
    }

    private static List<int> ParseEdges(string text)
    {
        var edges = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v < 1 || (edges.Count > 0 && v <= edges[^1]))
                throw new InputException(null, "--mix-buckets", $"expected ascending prompt-token boundaries > 0, comma-separated, got '{text}'");
            edges.Add(v);
        }
        if (edges.Count > 8) throw new InputException(null, "--mix-buckets", $"expected at most 8 boundaries, got {edges.Count}");
        return edges;
    }

    internal sealed record TypeResult(string Name, double UsdPerHour);

    private sealed record MixReport(Inputs X, IReadOnlyList<int> Edges, int[] BucketRequests, double[] Rates, IReadOnlyList<TypeResult> Types,
        double[,] Capacity, DeviceMixSolution? Best, DeviceMixSolution?[] Singles)
    {
        private string BucketName(int b) => b == 0 ? $"< {Edges.FirstOrDefault(int.MaxValue)}"
            : b == Edges.Count ? $">= {Edges[^1]}" : $"{Edges[b - 1]}-{Edges[b] - 1}";

        private static string N(double v, string f = "G4") => v.ToString(f, CultureInfo.InvariantCulture);

        private string Mix(DeviceMixSolution s) => string.Join(" + ", Enumerable.Range(0, Types.Count).Where(t => s.Counts[t] > 0).Select(t => $"{s.Counts[t]} x {Types[t].Name}"));

        public void WriteTable(IAnsiConsole console)
        {
            console.WriteLine($"{X.Model.Name}, scheduler {X.Scheduler}, {N(X.Rate)} requests/s ({X.Workload}), SLO {X.Slo}");
            var t = new Table().AddColumns("prompt tokens", "share", "rate (req/s)");
            foreach (var ty in Types) t.AddColumn($"{ty.Name} (${N(ty.UsdPerHour)}/h): req/s per replica");
            for (var b = 0; b < Rates.Length; b++)
            {
                if (BucketRequests[b] == 0) continue;
                var row = new List<string> { BucketName(b), N(BucketRequests[b] / (double)BucketRequests.Sum(), "0.###"), N(Rates[b]) };
                for (var k = 0; k < Types.Count; k++) row.Add(Capacity[k, b] > 0 ? N(Capacity[k, b]) : "-");
                t.AddRow(row.ToArray());
            }
            console.Write(t);
            var s = new Table().AddColumns("solution", "devices", "$/h");
            s.AddRow("cheapest mix", Best is null ? "none serves every bucket" : Mix(Best), Best is null ? "-" : N(Best.UsdPerHour));
            for (var k = 0; k < Types.Count; k++)
                s.AddRow($"{Types[k].Name} only", Singles[k] is { } one ? Mix(one) : "cannot serve every bucket", Singles[k] is { } o ? N(o.UsdPerHour) : "-");
            console.Write(s);
            var single = Singles.Where(x => x is not null).Select(x => x!.UsdPerHour).DefaultIfEmpty(double.NaN).Min();
            if (Best is not null && !double.IsNaN(single) && single > 0)
                console.WriteLine($"The mix costs {N(100 * (1 - Best.UsdPerHour / single), "0.#")}% less than the cheapest single type.");
        }

        public void WriteJson(TextWriter writer)
        {
            using var w = new JsonTextWriter(writer) { Formatting = Formatting.Indented, CloseOutput = false, Culture = CultureInfo.InvariantCulture };
            w.WriteStartObject();
            w.WritePropertyName("schema"); w.WriteValue(Schema);
            w.WritePropertyName("model"); w.WriteValue(X.Model.Name);
            w.WritePropertyName("scheduler"); w.WriteValue(X.Scheduler);
            w.WritePropertyName("workload"); w.WriteValue(X.Workload);
            w.WritePropertyName("rate_requests_per_s"); w.WriteValue(X.Rate);
            w.WritePropertyName("slo"); w.WriteValue(X.Slo.ToString());
            w.WritePropertyName("requests_per_capacity_run"); w.WriteValue(X.Count);
            w.WritePropertyName("seed"); w.WriteValue(X.Seed);
            w.WritePropertyName("buckets");
            w.WriteStartArray();
            for (var b = 0; b < Rates.Length; b++)
            {
                w.WriteStartObject();
                w.WritePropertyName("prompt_tokens"); w.WriteValue(BucketName(b));
                w.WritePropertyName("requests"); w.WriteValue(BucketRequests[b]);
                w.WritePropertyName("rate_requests_per_s"); w.WriteValue(Rates[b]);
                w.WritePropertyName("capacity_requests_per_s");
                w.WriteStartObject();
                for (var k = 0; k < Types.Count; k++)
                {
                    w.WritePropertyName(Types[k].Name);
                    if (BucketRequests[b] == 0 || !(Capacity[k, b] > 0)) w.WriteNull();
                    else w.WriteValue(Capacity[k, b]);
                }
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WritePropertyName("hardware");
            w.WriteStartArray();
            foreach (var ty in Types)
            {
                w.WriteStartObject();
                w.WritePropertyName("name"); w.WriteValue(ty.Name);
                w.WritePropertyName("usd_per_hour"); w.WriteValue(ty.UsdPerHour);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WritePropertyName("mix");
            Solution(w, Best);
            w.WritePropertyName("single_type");
            w.WriteStartObject();
            for (var k = 0; k < Types.Count; k++)
            {
                w.WritePropertyName(Types[k].Name);
                Solution(w, Singles[k]);
            }
            w.WriteEndObject();
            w.WriteEndObject();
            w.Flush();
            writer.WriteLine();
        }

        private void Solution(JsonTextWriter w, DeviceMixSolution? s)
        {
            if (s is null)
            {
                w.WriteNull();
                return;
            }
            w.WriteStartObject();
            w.WritePropertyName("counts");
            w.WriteStartObject();
            for (var k = 0; k < Types.Count; k++)
            {
                w.WritePropertyName(Types[k].Name);
                w.WriteValue(s.Counts[k]);
            }
            w.WriteEndObject();
            w.WritePropertyName("bucket_hardware");
            w.WriteStartArray();
            for (var b = 0; b < s.BucketType.Count; b++)
            {
                if (BucketRequests[b] == 0) w.WriteNull();
                else w.WriteValue(Types[s.BucketType[b]].Name);
            }
            w.WriteEndArray();
            w.WritePropertyName("usd_per_hour"); w.WriteValue(s.UsdPerHour);
            w.WriteEndObject();
        }
    }
}
