namespace AccelSim.Reports.Tests;

/// <summary>Golden-file comparison. Files live in tests/AccelSim.Reports.Tests/Golden/ and are compared
/// after normalising line endings to "\n". To regenerate them after a deliberate format change, run
/// <c>ACCELSIM_UPDATE_GOLDEN=1 dotnet test tests/AccelSim.Reports.Tests</c>, review the diff
/// (<c>git diff tests/AccelSim.Reports.Tests/Golden</c>) and keep it only if every change is intended.</summary>
internal static class Golden
{
    public const string UpdateVariable = "ACCELSIM_UPDATE_GOLDEN";

    public static void Match(string fileName, string actual)
    {
        actual = Normalise(actual);
        var path = Path.Combine(Directory(), fileName);
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            File.WriteAllText(path, actual);
            return;
        }
        Assert.True(File.Exists(path), $"golden file {path} is missing; create it with {UpdateVariable}=1 dotnet test");
        var expected = Normalise(File.ReadAllText(path));
        if (expected == actual) return;

        var e = expected.Split('\n');
        var a = actual.Split('\n');
        var line = 0;
        while (line < e.Length && line < a.Length && e[line] == a[line]) line++;
        var exp = line < e.Length ? e[line] : "<end of file>";
        var act = line < a.Length ? a[line] : "<end of file>";
        Assert.Fail($"{fileName} differs from the golden file at line {line + 1}:\n  expected: {exp}\n  actual:   {act}\n" +
                    $"({e.Length} expected lines, {a.Length} actual). If the change is intended, regenerate with " +
                    $"{UpdateVariable}=1 dotnet test tests/AccelSim.Reports.Tests and review the diff of {path}.");
    }

    private static string Normalise(string s) => s.Replace("\r\n", "\n");

    /// <summary>The Golden folder of this test project's sources, found by walking up from the test binaries.</summary>
    private static string Directory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AccelSim.Reports.Tests.csproj")))
                return Path.Combine(dir.FullName, "Golden");
        }
        throw new InvalidOperationException("cannot find the AccelSim.Reports.Tests project folder above " + AppContext.BaseDirectory);
    }
}
