using System.Globalization;
using AccelSim.Core.Time;
using Newtonsoft.Json.Linq;

namespace AccelSim.Reports.Tests;

public class JsonReportTests
{
    [Fact]
    public void Report_with_ops_matches_golden_file()
    {
        var run = TestRuns.Small();
        Golden.Match("report.json", JsonReport.ToJsonString(run.Metrics, includeOps: true));
    }

    [Fact]
    public void Two_runs_give_byte_identical_json_whatever_the_current_culture()
    {
        var first = Write(TestRuns.Small().Metrics);
        var previous = CultureInfo.CurrentCulture;
        try
        {
            // A culture with a decimal comma and a different group separator.
            var odd = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            odd.NumberFormat.NumberDecimalSeparator = ",";
            odd.NumberFormat.NumberGroupSeparator = ".";
            CultureInfo.CurrentCulture = odd;
            var second = Write(TestRuns.Small().Metrics);
            Assert.Equal(first, second);
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
        Assert.DoesNotContain("\r", first);
        Assert.EndsWith("}\n", first);
    }

    private static string Write(Core.Metrics.RunMetrics m)
    {
        using var sw = new StringWriter(CultureInfo.InvariantCulture);
        JsonReport.Write(m, sw, includeOps: true);
        return sw.ToString();
    }

    [Fact]
    public void Required_keys_are_present_with_their_types()
    {
        var j = JsonReport.ToJson(TestRuns.Small().Metrics, includeOps: true);
        Assert.Equal("accelsim.report/1", (string?)j["schema"]);
        string[] paths =
        [
            "hardware.name", "hardware.kind",
            "workload.name", "workload.phase", "workload.batch", "workload.seq", "workload.context", "workload.tokens", "workload.ops",
            "schedule", "latency_s", "tokens_per_s", "utilisation.compute", "utilisation.memory_bandwidth", "flops",
            "energy_j", "energy_breakdown_j.compute", "energy_breakdown_j.memory.hbm", "energy_breakdown_j.static",
            "memory.capacity_bytes.hbm", "memory.peak_bytes.hbm", "memory.spilled_bytes.hbm", "memory.bytes_moved.hbm",
            "memory_wall.memory_bound_ops", "memory_wall.memory_bound_time_fraction", "memory_wall.stall_s",
            "memory_wall.arithmetic_intensity_flop_per_byte", "memory_wall.ridge_point_flop_per_byte", "memory_wall.verdict",
        ];
        foreach (var p in paths)
        {
            var token = j.SelectToken(p);
            Assert.True(token is JValue { Type: not JTokenType.Null }, $"missing or null: {p}");
        }
        foreach (var p in new[] { "hardware.name", "schedule", "workload.phase", "memory_wall.verdict" })
            Assert.Equal(JTokenType.String, j.SelectToken(p)!.Type);
        foreach (var p in new[] { "workload.ops", "flops", "memory.peak_bytes.hbm", "memory_wall.memory_bound_ops" })
            Assert.Equal(JTokenType.Integer, j.SelectToken(p)!.Type);

        var ops = Assert.IsType<JArray>(j["ops"]);
        Assert.Equal(4, ops.Count);
        string[] opKeys =
        [
            "id", "name", "kind", "layer", "engine", "start_s", "end_s", "duration_s", "flops", "dtype", "bytes",
            "arithmetic_intensity", "achieved_flops_per_s", "bound", "energy_j", "note",
        ];
        foreach (var op in ops.Cast<JObject>())
            foreach (var k in opKeys)
                Assert.True(op.ContainsKey(k), $"op {op["id"]} lacks '{k}'");
    }

    [Fact]
    public void Ops_appear_only_when_asked()
    {
        var m = TestRuns.Small().Metrics;
        Assert.Null(JsonReport.ToJson(m, includeOps: false)["ops"]);
        Assert.NotNull(JsonReport.ToJson(m, includeOps: true)["ops"]);
    }

    [Fact]
    public void Values_are_those_of_the_metrics_and_conserve_flops_and_bytes()
    {
        var run = TestRuns.Small();
        var m = run.Metrics;
        var j = JsonReport.ToJson(m, includeOps: true);
        Assert.Equal(m.LatencyS, (double)j["latency_s"]!);
        Assert.Equal(Ps.ToSeconds(run.Result.MakespanPs), (double)j["latency_s"]!);
        Assert.Equal(run.Graph.TotalFlops, (long)j["flops"]!);
        Assert.Equal(run.Graph.TotalFlops, j["ops"]!.Sum(o => (long)o["flops"]!));
        Assert.Equal(run.Graph.TotalBytes, j["ops"]!.Sum(o => (long)o["bytes"]!["hbm"]!));
        Assert.Equal(run.Graph.TotalBytes, (long)j["memory"]!["bytes_moved"]!["hbm"]!);
        Assert.Equal(256, (long)j["workload"]!["tokens"]!);
        Assert.Equal("prefill", (string?)j["workload"]!["phase"]);
        Assert.Equal("tile 128x128", (string?)j["ops"]![0]!["note"]);
        Assert.Equal(JTokenType.Null, j["ops"]![1]!["note"]!.Type);
        // The matmuls are compute-bound on this device, the activation memory-bound.
        Assert.Equal("compute", (string?)j["ops"]![0]!["bound"]);
        Assert.Equal("memory", (string?)j["ops"]![1]!["bound"]);
        var e = j["energy_breakdown_j"]!;
        Assert.Equal((double)j["energy_j"]!, (double)e["compute"]! + (double)e["memory"]!["hbm"]! + (double)e["static"]!, 12);
    }

    [Fact]
    public void Non_finite_numbers_become_null_and_negative_zero_becomes_zero()
    {
        Assert.Equal(JTokenType.Null, JsonReport.Num(double.NaN).Type);
        Assert.Equal(JTokenType.Null, JsonReport.Num(double.PositiveInfinity).Type);
        Assert.Equal("0.0", JsonReport.Format(JsonReport.Num(-0.0)).Trim());
        Assert.Equal("0.1", JsonReport.Format(JsonReport.Num(0.1)).Trim());
        Assert.Equal("1.5E-05", JsonReport.Format(JsonReport.Num(1.5e-5)).Trim());
        Assert.Equal("0.30000000000000004", JsonReport.Format(JsonReport.Num(0.1 + 0.2)).Trim());
    }
}
