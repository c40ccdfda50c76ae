using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using AccelSim.Core.Config;

namespace AccelSim.Cli.Commands;

/// <summary>One value of a shape list: the option it replaces (<c>--batch</c>, <c>--seq</c> or
/// <c>--context</c>) and the value.</summary>
public readonly record struct ShapePoint(Option Option, long Value);

/// <summary>A shape option given as a comma list (<c>run --batch 1,2,4,8</c>): which option and its values,
/// in the order given.</summary>
public sealed record ShapeList(Option Option, IReadOnlyList<long> Values)
{
    /// <summary>The option's name without dashes (<c>batch</c>), as the report's <c>axis</c> names it.</summary>
    public string Axis => Option.Name.TrimStart('-');
}

/// <summary>Lets <c>--batch</c>, <c>--seq</c> and <c>--context</c> take a comma list of whole numbers
/// (<see cref="Allow"/>), and reads the list back (<see cref="Of"/>). A single value parses exactly as
/// before; a list's option holds its first value, so code that reads one value keeps working.</summary>
public static class ShapeLists
{
    public static void Allow(Option<long> batch, Option<long?> seq, Option<long?> context)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(seq);
        ArgumentNullException.ThrowIfNull(context);
        foreach (var o in new Option[] { batch, seq, context })
            o.Description += "; a comma list (1,2,4) runs each value, one table row or report per value";
        batch.CustomParser = r => First(r, batch.Name) ?? 0;
        seq.CustomParser = r => First(r, seq.Name);
        context.CustomParser = r => First(r, context.Name);
    }

    /// <summary>The shape option given as a list, or null when each is a single value. More than one list is
    /// refused: a run varies one axis at a time.</summary>
    public static ShapeList? Of(ParseResult p, params Option[] options)
    {
        ArgumentNullException.ThrowIfNull(p);
        var lists = new List<ShapeList>();
        foreach (var o in options)
        {
            if (p.GetResult(o) is not { Implicit: false } r || r.Tokens.Count == 0) continue;
            var text = r.Tokens[^1].Value;
            if (!text.Contains(',', StringComparison.Ordinal)) continue;
            lists.Add(new ShapeList(o, Parse(text, o.Name, out _)!));
        }
        if (lists.Count > 1)
        {
            throw new InputException(null, string.Join('/', lists.Select(l => l.Option.Name)),
                "give a comma list to at most one of --batch, --seq and --context; a run varies one axis at a time");
        }
        return lists.Count == 1 ? lists[0] : null;
    }

    private static long? First(ArgumentResult r, string name)
    {
        if (r.Tokens.Count == 0) return null;
        var text = r.Tokens[^1].Value;
        var values = Parse(text, name, out var error);
        if (values is null)
        {
            r.AddError(error!);
            return null;
        }
        return values[0];
    }

    private static long[]? Parse(string text, string name, out string? error)
    {
        error = null;
        var items = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new long[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            if (!long.TryParse(items[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out values[i]))
            {
                error = items.Length == 1
                    ? $"Cannot parse argument '{text}' for option '{name}' as expected type 'System.Int64'."
                    : $"{name}: expected whole numbers separated by commas, got '{text}'";
                return null;
            }
        }
        return values;
    }
}
