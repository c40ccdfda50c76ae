using AccelSim.Core.Devices;
using Newtonsoft.Json.Linq;
using Spectre.Console;

namespace AccelSim.Reports.Explain;

/// <summary>Writes a <see cref="RunExplanation"/>: as plain paragraphs after the run's table, and as the
/// <c>explain</c> array of the JSON report (docs/report-schema.md, "Explanation").</summary>
public static class ExplainReport
{
    /// <summary>The explanation as paragraphs: a rule, the run's summary, then one numbered paragraph per entry.</summary>
    public static void Render(RunExplanation e, IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(console);
        console.WriteLine();
        console.Write(new Rule("[bold]Why[/]").LeftJustified());
        console.Write(new Paragraph(e.Summary));
        console.WriteLine();
        foreach (var o in e.Ops)
        {
            console.WriteLine();
            console.Write(new Paragraph($"{o.Rank}. {o.Text}"));
            console.WriteLine();
        }
    }

    /// <summary>The <c>explain</c> array: first the run (<c>scope</c> <c>run</c>), then one object per entry
    /// (<c>scope</c> <c>op</c>), in rank order.</summary>
    public static JArray ToJson(RunExplanation e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var a = new JArray
        {
            new JObject
            {
                ["scope"] = "run",
                ["time_share_by_bound"] = new JObject
                {
                    ["compute"] = JsonReport.Num(e.ComputeBoundShare),
                    ["memory"] = JsonReport.Num(e.MemoryBoundShare),
                    ["latency"] = JsonReport.Num(e.LatencyBoundShare),
                    ["power"] = JsonReport.Num(e.PowerBoundShare),
                },
                ["energy_share"] = new JObject
                {
                    ["compute"] = JsonReport.Num(e.EnergyComputeShare),
                    ["memory"] = JsonReport.Num(e.EnergyMemoryShare),
                    ["static"] = JsonReport.Num(e.EnergyStaticShare),
                },
                ["text"] = e.Summary,
            },
        };
        foreach (var o in e.Ops)
        {
            a.Add(new JObject
            {
                ["scope"] = "op",
                ["rank"] = o.Rank,
                ["name"] = o.Name,
                ["kinds"] = o.Kinds,
                ["count"] = o.Count,
                ["ops_per_entry"] = o.OpsPerEntry,
                ["op_ids"] = new JArray(o.OpIds),
                ["bound"] = o.Bound.Name(),
                ["time_s"] = JsonReport.Num(o.TimeS),
                ["total_time_s"] = JsonReport.Num(o.TotalTimeS),
                ["busy_time_share"] = JsonReport.Num(o.ShareOfBusyTime),
                ["arithmetic_intensity_flop_per_byte"] = JsonReport.Num(o.IntensityFlopPerByte),
                ["tier"] = o.Tier is null ? JValue.CreateNull() : o.Tier,
                ["tier_bandwidth_Bps"] = JsonReport.Num(o.TierBandwidth_Bps),
                ["dtype"] = o.DType,
                ["peak_flops_per_s"] = JsonReport.Num(o.PeakFlops),
                ["ridge_point_flop_per_byte"] = JsonReport.Num(o.RidgeFlopPerByte),
                ["wait_fraction"] = JsonReport.Num(o.WaitFraction),
                ["levers"] = new JArray(o.Levers.Select(l => new JObject { ["change"] = l.Change, ["time_factor"] = JsonReport.Num(l.TimeFactor) })),
                ["text"] = o.Text,
            });
        }
        return a;
    }
}
