namespace AccelSim.Browser.Tests;

/// <summary>Where the browser is and whether its absence is a skip or a failure. The tests drive the system's
/// Chromium (Debian's package); they never download a browser. Without it they skip with
/// <see cref="SkipReason"/>, unless <c>ACCELSIM_REQUIRE_BROWSER=1</c> (CI), where they run and fail.</summary>
public static class BrowserEnvironment
{
    public const string Chromium = "/usr/bin/chromium";
    public const string RequireVariable = "ACCELSIM_REQUIRE_BROWSER";

    /// <summary>Set to a folder to also write the screenshots of docs/html-report.md there (a path relative to
    /// the repository root, such as docs/img).</summary>
    public const string ScreenshotsVariable = "ACCELSIM_SCREENSHOTS";

    /// <summary>The flags Chromium runs with: no sandbox (a container as root), no GPU, and nothing that reaches
    /// the network on its own.</summary>
    public static readonly string[] Args =
        ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    public static string? SkipReason => SkipReasonFor(File.Exists(Chromium), Environment.GetEnvironmentVariable(RequireVariable));

    /// <summary>Why the browser tests skip, or null when they run: they run when Chromium is there, and when it is
    /// required (then a missing browser fails them).</summary>
    public static string? SkipReasonFor(bool chromiumExists, string? require) =>
        chromiumExists || require == "1" ? null
        : $"Chromium is not installed at {Chromium}: the HTML report's browser tests are skipped. Install it (apt-get install -y chromium) " +
          $"or set {RequireVariable}=1 to make its absence a failure.";
}

/// <summary>A test that needs the browser: skipped with a clear message when Chromium is missing and not required.</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (BrowserEnvironment.SkipReason is { } reason) Skip = reason;
    }
}
