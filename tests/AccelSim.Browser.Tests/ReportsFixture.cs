using AccelSim.Cli;
using Microsoft.Playwright;
using Newtonsoft.Json.Linq;

namespace AccelSim.Browser.Tests;

/// <summary>The four HTML reports (run, compare, serve, a run on a system) and their JSON twins, written once by the command line in-process, and one
/// headless Chromium shared by every test of the collection.</summary>
public sealed class ReportsFixture : IAsyncLifetime
{
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "accelsim-browser-" + Guid.NewGuid().ToString("N"));
    public IPlaywright? Playwright { get; private set; }
    public IBrowser? Browser { get; private set; }

    public string RunHtml => Path.Combine(Folder, "run.html");
    public string CompareHtml => Path.Combine(Folder, "compare.html");
    public string ServeHtml => Path.Combine(Folder, "serve.html");
    public string SystemHtml => Path.Combine(Folder, "system.html");
    public JObject RunJson => JObject.Parse(File.ReadAllText(Path.Combine(Folder, "run.json")));
    public JObject CompareJson => JObject.Parse(File.ReadAllText(Path.Combine(Folder, "compare.json")));
    public JObject ServeJson => JObject.Parse(File.ReadAllText(Path.Combine(Folder, "serve.json")));
    public JObject SystemJson => JObject.Parse(File.ReadAllText(Path.Combine(Folder, "system.json")));

    public async Task InitializeAsync()
    {
        if (BrowserEnvironment.SkipReason is not null) return;
        Directory.CreateDirectory(Folder);
        Cli("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "prefill", "--batch", "1", "--seq", "2048",
            "--ops", "--out", Path.Combine(Folder, "run.json"), "--html", RunHtml);
        Cli("compare", "--hardware", "h100,a100-80g", "--model", "llama2-7b", "--phase", "decode", "--batch", "1", "--context", "2048",
            "--schedule", "sequential,dataflow", "--out", Path.Combine(Folder, "compare.json"), "--html", CompareHtml);
        Cli("serve", "--hardware", "h100", "--model", "llama2-7b", "--rate", "40", "--num-requests", "300", "--slo", "ttft_p99=2,tpot_p99=0.1",
            "--out", Path.Combine(Folder, "serve.json"), "--html", ServeHtml);
        Cli("run", "--system", "dgx-a100", "--model", "llama2-7b", "--phase", "decode", "--batch", "8", "--context", "512", "--tp", "2", "--pp", "2",
            "--out", Path.Combine(Folder, "system.json"), "--html", SystemHtml);
        if (!File.Exists(BrowserEnvironment.Chromium))
            throw new InvalidOperationException($"{BrowserEnvironment.RequireVariable}=1 but Chromium is not installed at {BrowserEnvironment.Chromium} (apt-get install -y chromium)");
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = BrowserEnvironment.Chromium,
            Headless = true,
            Args = BrowserEnvironment.Args,
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        Playwright?.Dispose();
        if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
    }

    private static void Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = AccelSimApp.Run(args, stdout, stderr);
        if (code != 0) throw new InvalidOperationException($"accelsim {string.Join(' ', args)} exited {code}: {stderr}");
    }

    /// <summary>A page of a report, opened from its file:// URL, with every console error and page error collected.</summary>
    public async Task<(IPage Page, List<string> Errors)> OpenAsync(string file, int width = 1300, int height = 900)
    {
        var page = await Browser!.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type is "error" or "warning") errors.Add($"console {m.Type}: {m.Text}"); };
        page.PageError += (_, e) => errors.Add("page error: " + e);
        var url = new Uri(file).AbsoluteUri;
        // The page is self-contained: any request but its own file is a fault.
        page.Request += (_, r) => { if (r.Url != url) errors.Add("request: " + r.Url); };
        await page.GotoAsync(url);
        await page.WaitForLoadStateAsync(LoadState.Load);
        return (page, errors);
    }

    /// <summary>The repository root (the folder holding AccelSim.sln), found from the test's output folder upwards.</summary>
    public static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "AccelSim.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("AccelSim.sln above " + AppContext.BaseDirectory);
    }
}

[CollectionDefinition("browser")]
public sealed class BrowserCollection : ICollectionFixture<ReportsFixture>;
