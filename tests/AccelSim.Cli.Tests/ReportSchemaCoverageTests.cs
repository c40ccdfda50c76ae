using System.Text.RegularExpressions;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary>Every field a report writes is documented: the JSON of representative run, op, compare, system and
/// serve reports is walked, and each field's name must appear in docs/report-schema.md (for serve, in docs/serving.md
/// or, for the provenance object it shares with run, docs/report-schema.md) inside a code span. Objects documented as maps (a row reading "object tier → ...") hold data keys, not field
/// names, and are not descended into.</summary>
public partial class ReportSchemaCoverageTests
{
    public static TheoryData<string, string> Reports => new()
    {
        { "docs/report-schema.md", "run --hardware h100 --model llama2-7b --phase decode --batch 1 --context 128 --site default --format json --ops" },
        { "docs/report-schema.md", "op matmul --m 64 --n 64 --k 64 --hardware h100 --format json" },
        { "docs/report-schema.md", "compare --hardware h100,u280 --model llama2-7b --phase decode --batch 1 --context 128 --format json" },
        { "docs/report-schema.md", "run --system dgx-h100 --model llama2-7b --phase decode --batch 8 --context 128 --tp 8 --format json --ops" },
        { "docs/report-schema.md", "compare --system dgx-h100 --model llama2-7b --phase decode --batch 8 --context 128 --tp 4,8 --format json" },
        { "docs/serving.md", "serve --hardware h100 --model llama3-8b --rate 4 --num-requests 20 --prompt-tokens 128 --output-tokens 16 --slo ttft_p99=2,tpot_p99=0.1 --seed 1 --format json" },
    };

    [Theory]
    [MemberData(nameof(Reports))]
    public void EveryFieldOfTheReportIsNamedInItsDoc(string doc, string command)
    {
        var o = CliHarness.Run(command.Split(' '));
        Assert.True(o.ExitCode == 0, o.Error);
        // A serve report's provenance is the run report's own object, documented there.
        var text = File.ReadAllText(CliHarness.RepoFile(doc)) + "\n" + File.ReadAllText(CliHarness.RepoFile("docs/report-schema.md"));
        var missing = Missing(JToken.Parse(o.Out), text);
        Assert.True(missing.Count == 0, $"{doc} does not name {missing.Count} field(s) of `accelsim {command}`: {string.Join(", ", missing)}");
    }

    [Fact]
    public void TheCheckFindsAnUndocumentedField()
    {
        var doc = "| `a` | object tier → number | |\n| `b.c` | number | |";
        Assert.Empty(Missing(JToken.Parse("""{"a":{"hbm":1},"b":{"c":2}}"""), doc));
        Assert.Equal(["b.d"], Missing(JToken.Parse("""{"a":{"hbm":1},"b":{"c":2,"d":3}}"""), doc));
    }

    /// <summary>Field paths (arrays as <c>[]</c>) whose last name is not in any code span of <paramref name="doc"/>.</summary>
    internal static List<string> Missing(JToken report, string doc)
    {
        var spans = CodeSpan().Matches(doc).Select(m => m.Groups[1].Value).ToArray();
        bool Named(string key) => spans.Any(s => Regex.IsMatch(s, @"(^|[^A-Za-z0-9_])" + Regex.Escape(key) + @"($|[^A-Za-z0-9_])"));
        // A map: a table row naming the field and saying "object <key> →".
        var maps = doc.Split('\n').Where(l => l.Contains('→') && l.Contains("object", StringComparison.Ordinal))
            .SelectMany(l => CodeSpan().Matches(l.Split('|').ElementAtOrDefault(1) ?? "").Select(m => m.Groups[1].Value.Split('.', ',')[^1].Trim().TrimStart('.')))
            .ToHashSet(StringComparer.Ordinal);
        var missing = new SortedSet<string>(StringComparer.Ordinal);
        void Walk(JToken t, string path, string? key)
        {
            switch (t)
            {
                case JObject obj:
                    if (key is not null && maps.Contains(key)) return;
                    foreach (var p in obj.Properties())
                    {
                        var child = path.Length == 0 ? p.Name : path + "." + p.Name;
                        if (!Named(p.Name)) missing.Add(child);
                        Walk(p.Value, child, p.Name);
                    }
                    break;
                case JArray arr:
                    foreach (var item in arr) Walk(item, path + "[]", key);
                    break;
            }
        }
        Walk(report, "", null);
        return [.. missing];
    }

    [GeneratedRegex("`([^`\n]+)`")]
    private static partial Regex CodeSpan();
}
