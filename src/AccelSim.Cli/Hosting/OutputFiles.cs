using System.Runtime.InteropServices;
using AccelSim.Core.Config;

namespace AccelSim.Cli.Hosting;

/// <summary>Collects output files and writes them only when the whole command has succeeded, all or
/// none. Every target is checked before anything is written (<see cref="Check"/>): an empty path, a
/// folder, a device or any other existing entry that is not a regular file, a missing folder or one
/// that cannot be written is refused as bad input. Each file is written to a temporary file beside
/// its target and moved into place at <see cref="Commit"/>; if one move fails, the targets already
/// replaced get their previous contents back and the temporary files are removed.</summary>
public sealed class OutputFiles : IDisposable
{
    private readonly List<(string Temp, string Target, string Option)> _pending = [];

    /// <summary>Checks every (path, option) target before a command does any work: each must be a
    /// regular file or absent, in an existing folder, and no two may name the same file. Null paths
    /// (options not given) are skipped. Every problem is reported at once.</summary>
    public static void Check(params (string? Path, string Option)[] targets)
    {
        var problems = new List<InputProblem>();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (path, option) in targets)
        {
            if (path is null) continue;
            if (Problem(path, option) is { } problem)
            {
                problems.Add(problem);
                continue;
            }
            var full = Path.GetFullPath(path);
            if (seen.TryGetValue(full, out var other))
                problems.Add(new InputProblem(null, option, $"'{path}' is also the target of {other}; give each output its own file"));
            else seen[full] = option;
        }
        if (problems.Count > 0) throw new InputException(problems);
    }

    public TextWriter Create(string target, string option)
    {
        var temp = Reserve(target, option, Path.GetFileName(Path.GetFullPath(target)), "");
        try
        {
            return new StreamWriter(temp, append: false, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(null, option, $"cannot write in the folder of '{target}': {e.Message}");
        }
    }

    /// <summary>Path of a temporary file for outputs written by libraries that take a path (images).</summary>
    public string CreatePath(string target, string option)
    {
        var full = Path.GetFullPath(target);
        var temp = Reserve(target, option, Path.GetFileNameWithoutExtension(full), Path.GetExtension(full));
        try
        {
            // Proves the folder is writable before the library spends time rendering.
            File.WriteAllBytes(temp, []);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(null, option, $"cannot write in the folder of '{target}': {e.Message}");
        }
        return temp;
    }

    /// <summary>Moves every temporary file onto its target, all or none: a target that existed is set
    /// aside first and put back if a later move fails.</summary>
    public void Commit()
    {
        var moved = new List<(string Target, string? Backup)>();
        var current = 0;
        try
        {
            for (; current < _pending.Count; current++)
            {
                var (temp, target, option) = _pending[current];
                // The target may have changed since Check (another process): check it again.
                if (Problem(target, option) is { } problem) throw new InputException([problem]);
                string? backup = null;
                if (File.Exists(target))
                {
                    backup = temp + ".old";
                    File.Move(target, backup, overwrite: true);
                }
                moved.Add((target, backup));
                File.Move(temp, target, overwrite: false);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InputException)
        {
            for (var i = moved.Count - 1; i >= 0; i--)
            {
                var (target, backup) = moved[i];
                TryIo(() =>
                {
                    if (backup is not null) File.Move(backup, target, overwrite: true);
                    else if (File.Exists(target)) File.Delete(target);
                });
            }
            if (e is InputException) throw;
            throw new InputException(null, _pending[current].Option,
                $"cannot write '{_pending[current].Target}': {e.Message}; no output file was written");
        }
        foreach (var (_, backup) in moved)
            if (backup is not null) TryIo(() => File.Delete(backup));
        _pending.Clear();
    }

    public void Dispose()
    {
        foreach (var (temp, _, _) in _pending) TryIo(() => File.Delete(temp));
        _pending.Clear();
    }

    private string Reserve(string target, string option, string stem, string extension)
    {
        if (Problem(target, option) is { } problem) throw new InputException([problem]);
        var full = Path.GetFullPath(target);
        if (_pending.Any(p => p.Target == full))
            throw new InputException(null, option, $"'{target}' is already the target of {_pending.First(p => p.Target == full).Option}; give each output its own file");
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{stem}.{Environment.ProcessId}.{_pending.Count}.tmp{extension}");
        _pending.Add((temp, full, option));
        return temp;
    }

    /// <summary>Why <paramref name="path"/> cannot be an output file, or null when it can.</summary>
    private static InputProblem? Problem(string path, string option)
    {
        if (string.IsNullOrWhiteSpace(path)) return new InputProblem(null, option, "expected a file name, got an empty path");
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return new InputProblem(null, option, $"'{path}' is not a valid file name: {e.Message}");
        }
        if (Directory.Exists(full)) return new InputProblem(null, option, $"'{path}' is a folder; expected a file name");
        var dir = Path.GetDirectoryName(full);
        if (dir is null || Path.GetFileName(full).Length == 0) return new InputProblem(null, option, $"'{path}' names no file");
        if (!Directory.Exists(dir))
        {
            return File.Exists(dir) || Kind(dir) is not EntryKind.Missing
                ? new InputProblem(null, option, $"cannot write '{path}': '{dir}' is a file, not a folder")
                : new InputProblem(null, option, $"folder '{dir}' does not exist");
        }
        return Kind(full) switch
        {
            EntryKind.Missing or EntryKind.Regular => null,
            EntryKind.Other => new InputProblem(null, option,
                $"'{path}' exists and is not a regular file (a device, a pipe, a socket or a link); refusing to replace it"),
            _ => null,
        };
    }

    private enum EntryKind { Missing, Regular, Directory, Other, Unknown }

    /// <summary>What is at <paramref name="path"/>, without following a final symbolic link.</summary>
    private static EntryKind Kind(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            try
            {
                // .NET's own portable stat (the layout is fixed by the runtime, not by the C library):
                // Mode is the second int32; S_IFMT 0xF000, S_IFREG 0x8000, S_IFDIR 0x4000.
                Span<byte> status = stackalloc byte[256];
                if (LStat(path, ref MemoryMarshal.GetReference(status)) != 0)
                    return File.Exists(path) || Directory.Exists(path) ? EntryKind.Unknown : EntryKind.Missing;
                var mode = BitConverter.ToInt32(status[4..8]) & 0xF000;
                return mode switch
                {
                    0x8000 => EntryKind.Regular,
                    0x4000 => EntryKind.Directory,
                    _ => EntryKind.Other,
                };
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                // Fall through to the portable check below.
            }
        }
        var info = new FileInfo(path);
        if (Directory.Exists(path)) return EntryKind.Directory;
        if (!info.Exists) return info.LinkTarget is null ? EntryKind.Missing : EntryKind.Other;
        return info.LinkTarget is null ? EntryKind.Regular : EntryKind.Other;
    }

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_LStat", CharSet = CharSet.Ansi)]
    private static extern int LStat(string path, ref byte output);

    private static void TryIo(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover temporary file is harmless.
        }
    }
}
