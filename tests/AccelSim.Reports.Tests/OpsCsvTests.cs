using System.Text;

namespace AccelSim.Reports.Tests;

public class OpsCsvTests
{
    [Fact]
    public void Csv_matches_golden_file()
    {
        Golden.Match("ops.csv", OpsCsv.ToCsvString(TestRuns.Small().Metrics));
    }

    [Fact]
    public void One_line_per_op_with_the_documented_header()
    {
        var run = TestRuns.Small();
        var lines = OpsCsv.ToCsvString(run.Metrics).Split('\n');
        Assert.Equal("id,name,kind,layer,start_s,end_s,flops,bytes,arithmetic_intensity,achieved_flops_per_s,bound,energy_j", lines[0]);
        Assert.Equal(run.Metrics.Ops.Count + 2, lines.Length); // header, ops, empty after the last "\n"
        Assert.Equal("", lines[^1]);
        var rows = lines.Skip(1).Take(run.Metrics.Ops.Count).Select(Parse).ToList();
        Assert.All(rows, r => Assert.Equal(12, r.Count));
        // The name with a comma and quotes survives quoting.
        Assert.Equal("aten::gelu(approximate=\"tanh\", h)", rows[1][1]);
        Assert.Equal(run.Graph.TotalFlops, rows.Sum(r => long.Parse(r[6], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(run.Graph.TotalBytes, rows.Sum(r => long.Parse(r[7], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(run.Metrics.Ops[3].EnergyJ, double.Parse(rows[3][11], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    [InlineData(" padded", "\" padded\"")]
    [InlineData("", "")]
    public void Fields_are_quoted_only_where_needed(string value, string expected) =>
        Assert.Equal(expected, OpsCsv.Field(new StringBuilder(), value).ToString());

    /// <summary>A minimal RFC 4180 line parser (no embedded newlines in these rows).</summary>
    private static List<string> Parse(string line)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else sb.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(c);
        }
        fields.Add(sb.ToString());
        return fields;
    }
}
