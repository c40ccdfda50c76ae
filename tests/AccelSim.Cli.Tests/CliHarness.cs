using AccelSim.Cli;

namespace AccelSim.Cli.Tests;

/// <summary>Runs the command line in-process and captures its output.</summary>
public static class CliHarness
{
    public sealed record Outcome(int ExitCode, string Out, string Error);

    public static Outcome Run(params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        var code = AccelSimApp.Run(args, stdout, stderr);
        return new Outcome(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs a command with <c>--format json</c>; it must succeed. Returns its report.</summary>
    public static Newtonsoft.Json.Linq.JObject Json(params string[] args)
    {
        var o = Run([.. args, "--format", "json"]);
        Xunit.Assert.True(o.ExitCode == 0, o.Error);
        return Newtonsoft.Json.Linq.JObject.Parse(o.Out);
    }

    /// <summary>Runs a command that must be refused as a user's mistake: exit code 2 and a message, never a stack trace.</summary>
    public static Outcome Fails(params string[] args)
    {
        var o = Run(args);
        Xunit.Assert.Equal(2, o.ExitCode);
        Xunit.Assert.DoesNotContain("   at ", o.Error);
        Xunit.Assert.DoesNotContain("Exception", o.Error);
        return o;
    }

    public static string TestData(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", name);

    /// <summary>A file of the repository (docs, traces, README), found from the test's output folder upwards.</summary>
    public static string RepoFile(string relative)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, relative);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException(relative);
    }

    /// <summary>A fresh temporary folder, deleted when disposed.</summary>
    public sealed class TempDir : IDisposable
    {
        public TempDir() => Directory.CreateDirectory(Path);
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "accelsim-tests-" + Guid.NewGuid().ToString("N"));
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose()
        {
            if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
        }
    }

    /// <summary>Locates the build output of the external test plugin (built beside this project).</summary>
    public static string TestPluginFolder()
    {
        // .../tests/AccelSim.Cli.Tests/bin/<Configuration>/net10.0/
        var bin = new DirectoryInfo(AppContext.BaseDirectory);
        var tfm = bin.Name;
        var config = bin.Parent!.Name;
        var tests = bin.Parent!.Parent!.Parent!.Parent!.FullName;
        return Path.Combine(tests, "AccelSim.TestPlugin", "bin", config, tfm);
    }
}
