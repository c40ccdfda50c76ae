using System.Diagnostics;

namespace AccelSim.Cli.Tests;

/// <summary>The repository is self-contained: a clone in an empty folder builds and validates with
/// nothing beside it, and no tracked file points outside the repository.</summary>
public class CleanCloneTests
{
    // A checkout's .git is a folder; a linked worktree's is a file.
    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "AccelSim.sln")) && Path.Exists(Path.Combine(d.FullName, ".git")))
                return d.FullName;
        throw new DirectoryNotFoundException($"no git checkout of AccelSim above {AppContext.BaseDirectory}");
    }

    private static (int Code, string Out) Exec(string file, string args, string cwd, int timeoutMs = 600_000)
    {
        var psi = new ProcessStartInfo(file, args)
        {
            WorkingDirectory = cwd,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {args} in {cwd} ran over {timeoutMs / 1000} s");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void NoTrackedFileNamesAPathOutsideTheRepository()
    {
        var root = RepoRoot();
        var (code, files) = Exec("git", "ls-files", root);
        Assert.Equal(0, code);
        var offenders = new List<string>();
        foreach (var rel in files.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // The measurement folder keeps its original README and measurement script as recorded.
            if (rel.StartsWith("validation/", StringComparison.Ordinal)) continue;
            var ext = Path.GetExtension(rel);
            if (ext is not (".cs" or ".json" or ".md" or ".py" or ".csproj" or ".props" or ".sh" or ".txt" or "")) continue;
            var path = Path.Combine(root, rel);
            if (!File.Exists(path)) continue;
            var text = File.ReadAllText(path);
            foreach (var needle in new[] { "../shared", "/work/", "shared/calibration", "shared/reference" })
                if (text.Contains(needle, StringComparison.Ordinal) && !(rel.EndsWith("CleanCloneTests.cs", StringComparison.Ordinal)))
                    offenders.Add($"{rel}: '{needle}'");
        }
        Assert.True(offenders.Count == 0, "files that point outside the repository:\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void ACloneInAnEmptyFolderBuildsAndValidates()
    {
        var root = RepoRoot();
        var temp = Path.Combine(Path.GetTempPath(), "accelsim-clone-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(temp);
        try
        {
            var clone = Path.Combine(temp, "repo");
            var (code, output) = Exec("git", $"clone --quiet --no-hardlinks \"{root}\" \"{clone}\"", temp);
            Assert.True(code == 0, "git clone failed: " + output);

            (code, output) = Exec("dotnet", "build src/AccelSim.Cli -c Release -nologo -v q", clone);
            Assert.True(code == 0, "build of the clone failed:\n" + output);

            // Run from an unrelated folder: validate must find its bundled data next to the executable.
            var dll = Path.Combine(clone, "src", "AccelSim.Cli", "bin", "Release", "net10.0", "accelsim.dll");
            if (!File.Exists(dll)) dll = Directory.GetFiles(Path.Combine(clone, "src", "AccelSim.Cli", "bin", "Release"), "accelsim.dll", SearchOption.AllDirectories).Single();
            (code, output) = Exec("dotnet", $"\"{dll}\" validate --summary", temp);
            Assert.True(code == 0, "validate in the clone failed:\n" + output);
            Assert.Contains("overall", output);
            Assert.Contains("gemm.json", output);
        }
        finally
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
