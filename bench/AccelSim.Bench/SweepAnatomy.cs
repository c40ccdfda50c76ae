using System.Diagnostics;
using System.Globalization;
using AccelSim.Cli;

namespace AccelSim.Bench;

/// <summary>Where one sweep point's CPU goes (<c>--sweep-anatomy [repetitions]</c>): building the command tree,
/// parsing, a whole run (JSON and table), reading its report back, loading the hardware and the model.</summary>
public static class SweepAnatomy
{
    public static void Run(TextWriter o, int n)
    {
        string[] args = ["run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--batch", "8", "--context", "512", "--set", "memory.hbm.bandwidth_Bps=2e12", "--format", "json"];
        void Time(string name, Action a)
        {
            a();
            var (wall, cpu) = ThreadClock.Measure(() => { for (var i = 0; i < n; i++) a(); });
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-30} {cpu / n * 1e3,8:F2} ms cpu  {wall / n * 1e3,8:F2} ms wall"));
        }
        Time("commands tree", () => AccelSimApp.Commands(new CliContext(TextWriter.Null, TextWriter.Null)));
        Time("parse", () => AccelSimApp.Commands(new CliContext(TextWriter.Null, TextWriter.Null)).Parse(args));
        Time("run json", () => AccelSimApp.Run(args, new StringWriter(), new StringWriter()));
        Time("run table", () => AccelSimApp.Run([.. args[..^2]], new StringWriter(), new StringWriter()));
        var sw = new StringWriter();
        AccelSimApp.Run(args, sw, new StringWriter());
        var text = sw.ToString();
        o.WriteLine($"report {text.Length} chars");
        Time("parse report", () => Newtonsoft.Json.Linq.JObject.Parse(text));
        Time("load hardware", () => AccelSim.Cli.Commands.CommonOptions.LoadHardware("h100", ["memory.hbm.bandwidth_Bps=2e12"]));
        Time("load model", () => AccelSim.Workloads.Models.ModelConfigLoader.LoadNamed("llama2-7b"));
    }
}
