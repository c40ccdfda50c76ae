namespace AccelSim.Cli.Tests;

/// <summary>The README shows real output: its examples are what their commands print today.</summary>
public class ReadmeTests
{
    private static string Readme() => File.ReadAllText(CliHarness.RepoFile("README.md"));

    /// <summary>The fenced block of the README whose first line starts with <paramref name="firstLine"/>.</summary>
    private static string Block(string readme, string firstLine)
    {
        var start = readme.IndexOf("```\n" + firstLine, StringComparison.Ordinal);
        Assert.True(start >= 0, $"README has no block starting with '{firstLine}'");
        start += 4;
        var end = readme.IndexOf("\n```", start, StringComparison.Ordinal);
        return readme[start..end];
    }

    private static string Normalise(string text) =>
        string.Join('\n', text.Replace("\r\n", "\n").Split('\n').Select(l => l.TrimEnd())).Trim('\n');

    [Theory]
    [InlineData("── AccelSim run", "run --hardware h100 --model llama2-7b --phase prefill --batch 1 --seq 2048")]
    [InlineData("── AccelSim sensitivity", "sensitivity --hardware h100 --model llama2-7b --phase decode --batch 1 --context 2048")]
    [InlineData("llama2-7b decode | batch 1", "compare --hardware h100,a100-80g,u280,wse2,sn40l-8 --model llama2-7b --phase decode --batch 1 --context 2048 --schedule sequential,dataflow")]
    [InlineData("── AccelSim system run", "run --system dgx-h100 --model llama3-70b --phase decode --batch 8 --context 2048 --tp 8")]
    [InlineData("llama2-7b train | global batch 16", "compare --system dgx-h100 --model llama2-7b --phase train --seq 256 --global-batch 16 --microbatch 1 --tp 2 --pp 2 --dp 2 --pp-schedule gpipe,1f1b,interleaved")]
    public void ExampleOutputIsWhatTheCommandPrints(string firstLine, string command)
    {
        var readme = Readme();
        Assert.Contains(command, readme.Replace("\n", " ").Replace("  ", " "));
        var o = CliHarness.Run(command.Split(' '));
        Assert.True(o.ExitCode == 0, o.Error);
        Assert.Equal(Normalise(Block(readme, firstLine)), Normalise(o.Out));
    }
}
