using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;

namespace AccelSim.Workloads.Tests;

/// <summary>Locates the repository's configs folder and points <see cref="BundledConfigs"/> at it.</summary>
internal static class TestConfigs
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var c = Path.Combine(d.FullName, "configs");
            if (File.Exists(Path.Combine(c, "models", "llama2-7b.json"))) return c;
        }
        throw new InvalidOperationException("configs/models not found above " + AppContext.BaseDirectory);
    });

    public static string ModelsDir
    {
        get
        {
            BundledConfigs.Root = Root.Value;
            return Path.Combine(Root.Value, "models");
        }
    }

    public static string ModelPath(string name) => Path.Combine(ModelsDir, name + ".json");

    public static ModelConfig Load(string name) => ModelConfigLoader.Load(ModelPath(name));

    public static readonly string[] Bundled = ["llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "llama3-70b", "mistral-7b",
        "gpt2-medium", "opt-6.7b", "falcon-7b", "mixtral-8x7b", "qwen2-7b", "yi-34b", "deepseek-v2-lite"];

    /// <summary>A temporary file removed on dispose.</summary>
    public sealed class TempFile : IDisposable
    {
        public TempFile(string text, string extension = ".json")
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "accelsim-test-" + Guid.NewGuid().ToString("N") + extension);
            File.WriteAllText(Path, text);
        }

        public string Path { get; }

        public void Dispose()
        {
            try { File.Delete(Path); } catch (IOException) { }
        }
    }
}
