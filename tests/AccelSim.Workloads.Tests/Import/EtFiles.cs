namespace AccelSim.Workloads.Tests.Import;

/// <summary>Finds the repository's traces folder (the recorded TinyLlama Execution Trace).</summary>
internal static class EtFiles
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var t = Path.Combine(d.FullName, "traces");
            if (File.Exists(Path.Combine(t, "tinyllama-prefill512.pytorch-et.json.gz"))) return t;
        }
        throw new InvalidOperationException("traces/tinyllama-prefill512.pytorch-et.json.gz not found above " + AppContext.BaseDirectory);
    });

    public static string TinyLlamaEt => Path.Combine(Root.Value, "tinyllama-prefill512.pytorch-et.json.gz");

    public static string TinyLlamaNative => Path.Combine(Root.Value, "tinyllama-prefill512.json.gz");
}
