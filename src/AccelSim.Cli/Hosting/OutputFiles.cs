using AccelSim.Core.Config;

namespace AccelSim.Cli.Hosting;

/// <summary>Collects output files and writes them only when the whole command has succeeded: each is
/// written to a temporary file beside its target and moved into place at the end, so a failure leaves
/// nothing half-written.</summary>
public sealed class OutputFiles : IDisposable
{
    private readonly List<(string Temp, string Target)> _pending = [];

    public TextWriter Create(string target, string option)
    {
        var full = Path.GetFullPath(target);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new InputException(null, option, $"folder '{dir}' does not exist");
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        _pending.Add((temp, full));
        return new StreamWriter(temp, append: false, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
    }

    /// <summary>Path of a temporary file for outputs written by libraries that take a path (images).</summary>
    public string CreatePath(string target, string option)
    {
        var full = Path.GetFullPath(target);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new InputException(null, option, $"folder '{dir}' does not exist");
        var temp = Path.Combine(dir, $".{Path.GetFileNameWithoutExtension(full)}.{Environment.ProcessId}.tmp{Path.GetExtension(full)}");
        _pending.Add((temp, full));
        return temp;
    }

    public void Commit()
    {
        foreach (var (temp, target) in _pending) File.Move(temp, target, overwrite: true);
        _pending.Clear();
    }

    public void Dispose()
    {
        foreach (var (temp, _) in _pending)
        {
            try
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
            catch (IOException)
            {
                // Best effort: a leftover temporary file is harmless.
            }
        }
        _pending.Clear();
    }
}
