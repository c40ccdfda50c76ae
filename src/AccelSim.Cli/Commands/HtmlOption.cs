using System.CommandLine;

namespace AccelSim.Cli.Commands;

/// <summary><c>--html</c>: the self-contained HTML report of <c>run</c>, <c>compare</c> and <c>serve</c> (docs/html-report.md).</summary>
public static class HtmlOption
{
    public static Option<string?> Create() => new("--html")
    {
        Description = "Write a self-contained HTML report (figures, roofline, zoomable timeline, sortable op table; works offline) to this file",
    };
}
