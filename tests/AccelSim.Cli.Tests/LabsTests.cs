using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary>The labs in docs/labs stay true: every command of a lab runs through the command line in-process,
/// and every number of its answer key is read back from that command's JSON output and compared within the
/// tolerance the lab states. The answer key's prose holds no number of its own: digits appear only in its
/// table and in code spans (docs/labs/README.md, "How the labs are checked").</summary>
public class LabsTests
{
    public static TheoryData<string> Labs() => new(
        "docs/labs/01-roofline.md",
        "docs/labs/02-decode-memory-wall.md",
        "docs/labs/03-dataflow.md",
        "docs/labs/04-chunked-prefill.md");

    private static readonly Regex CommandId = new(@"^# (A\d+)$");
    private static readonly Regex Row = new(@"^\|\s*(K\d+)\s*\|([^|]*)\|([^|]*)\|([^|]*)\|([^|]*)\|\s*$");

    [Theory]
    [MemberData(nameof(Labs))]
    public void Every_answer_in_the_key_matches_the_simulator(string lab)
    {
        var lines = File.ReadAllText(CliHarness.RepoFile(lab)).Replace("\r\n", "\n").Split('\n');
        var commands = Commands(lines);
        Assert.NotEmpty(commands);
        var key = AnswerKey(lines);
        Assert.True(key.Rows.Count >= 5, $"{lab}: expected an answer key of at least 5 rows, found {key.Rows.Count}");

        // Every command runs (the ones the key reads and the ones it does not: a lab's commands all work).
        var outputs = new Dictionary<string, JToken>(StringComparer.Ordinal);
        foreach (var (id, command) in commands)
        {
            var args = Args(command);
            if (!args.Contains("--format")) args = [.. args, "--format", "json"];
            var r = CliHarness.Run(args);
            Assert.True(r.ExitCode == 0, $"{lab} {id}: `{command}` failed: {r.Error}");
            outputs[id] = JToken.Parse(r.Out);
        }

        var failures = new StringBuilder();
        foreach (var (k, answer, value, tolerance, from) in key.Rows)
        {
            var actual = Read(from, outputs, lab, k);
            if (value.StartsWith('`'))
            {
                var expected = value.Trim('`');
                if (actual.Text != expected) failures.AppendLine($"{k} ({answer}): expected `{expected}`, the simulator says `{actual.Text}`");
                continue;
            }
            var v = Quantity(value, lab, k);
            var tol = Tolerance(tolerance, lab, k);
            if (actual.Number is not { } a || Math.Abs(a - v) > tol * Math.Abs(v))
                failures.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{k} ({answer}): the key says {value} (= {v:R}), the simulator says {actual.Number?.ToString("R", CultureInfo.InvariantCulture) ?? actual.Text} (tolerance {tolerance})"));
        }
        Assert.True(failures.Length == 0, $"{lab}:\n{failures}");

        // No number in the answer key's prose escapes the check.
        foreach (var line in key.Prose)
        {
            var bare = Regex.Replace(line, "`[^`]*`", "");
            bare = Regex.Replace(bare, @"\b[AK]\d+\b", "");
            bare = Regex.Replace(bare, @"^\s*\d+\.\s", ""); // a list's item number
            // A number standing on its own; digits inside a name (bf16, h100, Llama-2) are not figures.
            Assert.False(Regex.IsMatch(bare, @"(?<![A-Za-z_0-9.-])[0-9]"), $"{lab}: a number in the answer key's prose is not checked; put it in the table and refer to its row: {line}");
        }
    }

    /// <summary>Each command of the lab: a line <c># A1</c> in a fenced block, followed by the command.</summary>
    private static List<(string Id, string Command)> Commands(string[] lines)
    {
        var list = new List<(string, string)>();
        var fenced = false;
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("```", StringComparison.Ordinal)) { fenced = !fenced; continue; }
            if (!fenced || CommandId.Match(lines[i]) is not { Success: true } m) continue;
            var command = lines[i + 1].Trim();
            Assert.StartsWith("accelsim ", command);
            Assert.DoesNotContain(list, c => c.Item1 == m.Groups[1].Value);
            list.Add((m.Groups[1].Value, command));
        }
        return list;
    }

    private sealed record Key(List<(string K, string Answer, string Value, string Tolerance, string From)> Rows, List<string> Prose);

    private static Key AnswerKey(string[] lines)
    {
        var start = Array.FindIndex(lines, l => l.Trim() == "## Answer key");
        Assert.True(start >= 0, "a lab needs a '## Answer key' section");
        var rows = new List<(string, string, string, string, string)>();
        var prose = new List<string>();
        for (var i = start + 1; i < lines.Length && !lines[i].StartsWith("## ", StringComparison.Ordinal); i++)
        {
            var line = lines[i];
            if (Row.Match(line) is { Success: true } m)
                rows.Add((m.Groups[1].Value, m.Groups[2].Value.Trim(), m.Groups[3].Value.Trim(), m.Groups[4].Value.Trim(), m.Groups[5].Value.Trim()));
            else if (!line.StartsWith('|')) prose.Add(line);
        }
        return new Key(rows, prose);
    }

    private static string[] Args(string command)
    {
        var parts = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts[1..];
    }

    private sealed record Value(double? Number, string Text);

    /// <summary><c>`A1 $.path`</c>, or the ratio <c>`A2 $.path / A1 $.path`</c>.</summary>
    private static Value Read(string from, Dictionary<string, JToken> outputs, string lab, string k)
    {
        var text = from.Trim().Trim('`');
        var parts = text.Split(" / ");
        var values = parts.Select(p =>
        {
            var space = p.IndexOf(' ');
            Assert.True(space > 0, $"{lab} {k}: expected 'A1 $.path', got '{p}'");
            var id = p[..space];
            Assert.True(outputs.ContainsKey(id), $"{lab} {k}: no command {id}");
            var token = outputs[id].SelectToken(p[(space + 1)..].Trim(), errorWhenNoMatch: false);
            Assert.True(token is not null, $"{lab} {k}: {p} selects nothing");
            return token!;
        }).ToArray();
        if (values.Length == 1)
        {
            var t = values[0];
            return t.Type is JTokenType.Float or JTokenType.Integer ? new Value(t.Value<double>(), t.ToString()) : new Value(null, t.ToString());
        }
        Assert.Equal(2, values.Length);
        return new Value(values[0].Value<double>() / values[1].Value<double>(), "");
    }

    private static readonly Dictionary<string, double> Scale = new(StringComparer.Ordinal)
    {
        ["s"] = 1, ["ms"] = 1e-3, ["us"] = 1e-6, ["ns"] = 1e-9, ["%"] = 0.01, ["J"] = 1, ["mJ"] = 1e-3,
        ["B"] = 1, ["kB"] = 1e3, ["MB"] = 1e6, ["GB"] = 1e9, ["TB"] = 1e12, ["GB/s"] = 1e9, ["TB/s"] = 1e12,
        ["TFLOP/s"] = 1e12, ["MHz"] = 1e6, ["FLOP/B"] = 1, ["tokens/s"] = 1, ["tokens/J"] = 1, ["x"] = 1, ["W"] = 1,
        ["blocks"] = 1, ["requests/s"] = 1,
    };

    private static double Quantity(string value, string lab, string k)
    {
        var m = Regex.Match(value, @"^(-?[0-9][0-9,]*(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)\s*(.*)$");
        Assert.True(m.Success, $"{lab} {k}: expected a number and a unit, got '{value}'");
        var n = double.Parse(m.Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture);
        var unit = m.Groups[2].Value.Trim();
        if (unit.Length == 0) return n;
        Assert.True(Scale.TryGetValue(unit, out var s), $"{lab} {k}: unknown unit '{unit}'");
        return n * s;
    }

    private static double Tolerance(string text, string lab, string k)
    {
        var m = Regex.Match(text, @"^([0-9.]+)\s*%$");
        Assert.True(m.Success, $"{lab} {k}: expected a relative tolerance such as '2%', got '{text}'");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) / 100;
    }
}
