using System.CommandLine;
using System.Text.RegularExpressions;
using AccelSim.Core.Config;

namespace AccelSim.Cli.Tests;

/// <summary>The libraries name request parameters in their own words and never a command-line flag; the
/// command line maps each name to a flag in one table (<see cref="CliParameterNames"/>).</summary>
public class ParameterNamesTests
{
    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "AccelSim.sln")) && Directory.Exists(Path.Combine(d.FullName, "src")))
                return d.FullName;
        throw new DirectoryNotFoundException($"no AccelSim checkout above {AppContext.BaseDirectory}");
    }

    private static IEnumerable<string> LibrarySources()
    {
        var root = RepoRoot();
        var sep = Path.DirectorySeparatorChar;
        return new[] { Path.Combine(root, "src", "AccelSim.Core"), Path.Combine(root, "src", "AccelSim.Workloads"), Path.Combine(root, "plugins") }
            .SelectMany(d => Directory.EnumerateFiles(d, "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{sep}bin{sep}") && !f.Contains($"{sep}obj{sep}"))
            .Order(StringComparer.Ordinal);
    }

    /// <summary>The text with its comments blanked out (strings are kept, so "//" inside one survives).</summary>
    private static string WithoutComments(string text) =>
        Regex.Replace(text, @"""(?:[^""\\\n]|\\.)*""|/\*.*?\*/|//[^\n]*", m => m.Value.StartsWith('/') ? "" : m.Value, RegexOptions.Singleline);

    [Fact]
    public void No_library_string_literal_starts_with_a_flag_dash()
    {
        var sources = LibrarySources().ToArray();
        Assert.True(sources.Length >= 50, $"expected the library sources, found {sources.Length} files");
        var literal = new Regex(@"(?<![\w""\\])\$?@?""--");
        var offenders = sources
            .SelectMany(f => WithoutComments(File.ReadAllText(f)).Split('\n').Select((line, i) => (File: f, Line: i + 1, Text: line)))
            .Where(l => literal.IsMatch(l.Text))
            .Select(l => $"{Path.GetRelativePath(RepoRoot(), l.File)}:{l.Line}: {l.Text.Trim()}")
            .ToArray();
        Assert.True(offenders.Length == 0, "library code names command-line flags:\n" + string.Join('\n', offenders));
    }

    [Fact]
    public void The_scan_sees_a_flag_literal_and_ignores_comments()
    {
        var literal = new Regex(@"(?<![\w""\\])\$?@?""--");
        Assert.Matches(literal, WithoutComments("throw new InputException(null, \"--batch\", \"x\");"));
        Assert.Matches(literal, WithoutComments("var s = $\"--{name}\"; // fine"));
        Assert.DoesNotMatch(literal, WithoutComments("/// the \"--batch\" flag\nvar x = 1; // \"--seq\""));
        Assert.DoesNotMatch(literal, WithoutComments("var s = \"a--b\";"));
    }

    [Fact]
    public void Every_library_parameter_maps_to_an_option_of_some_command()
    {
        var root = AccelSimApp.Commands(new CliContext(TextWriter.Null, TextWriter.Null));
        var options = AllCommands(root).SelectMany(c => c.Options).SelectMany(o => o.Aliases.Append(o.Name)).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("--batch", options);
        Assert.Equal(RequestParameter.All.Order(StringComparer.Ordinal), CliParameterNames.Flags.Keys.Order(StringComparer.Ordinal));
        foreach (var name in RequestParameter.All)
            Assert.True(options.Contains(CliParameterNames.Flags[name]), $"{name} maps to {CliParameterNames.Flags[name]}, which no command has");
        Assert.Equal(RequestParameter.All.Count, RequestParameter.All.Distinct().Count());
    }

    private static IEnumerable<Command> AllCommands(Command c) => c.Subcommands.SelectMany(AllCommands).Prepend(c);

    [Theory]
    [InlineData(null, "batch", "expected a whole number > 0, got 0", "at --batch: expected a whole number > 0, got 0")]
    [InlineData(null, "m/n/k/batch", "too large", "at --m/--n/--k/--batch: too large")]
    [InlineData(null, "placement", "x does not fit; use placement=offload to stream it, or kv_policy=swap", "at --placement: x does not fit; use --placement offload to stream it, or --kv-policy swap")]
    [InlineData(null, "placement", "try recompute=true or a smaller batch", "at --placement: try --recompute or a smaller batch")]
    [InlineData(null, "--set", "expected path=value, got 'x'", "at --set: expected path=value, got 'x'")]
    [InlineData("h100.json", "batch", "use placement=offload", "h100.json: at batch: use placement=offload")]
    public void Problems_without_a_file_speak_in_flags(string? file, string path, string message, string printed) =>
        Assert.Equal(printed, CliParameterNames.Translate(new InputProblem(file, path, message)).ToString());
}
