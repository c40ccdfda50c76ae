using System.CommandLine;
using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Plugins;
using AccelSim.Workloads.Configs;

namespace AccelSim.Cli.Commands;

/// <summary>Options shared by several commands, and their interpretation.</summary>
public static class CommonOptions
{
    public static readonly Option<string?> Plugins = new("--plugins")
    {
        Description = "Folder of external device-plugin assemblies to load",
        Recursive = true,
    };

    public static Option<string> Hardware(bool required = true) => new("--hardware")
    {
        Description = "Bundled hardware name (see 'accelsim list hardware') or a path to a hardware JSON file",
        Required = required,
    };

    public static Option<string[]> Set() => new("--set")
    {
        Description = "Override a hardware field: --set memory.hbm.bandwidth_Bps=6.4e12 (repeatable)",
        AllowMultipleArgumentsPerToken = false,
    };

    public static Option<string> Format() => new Option<string>("--format")
    {
        Description = "Console output: table or json",
        DefaultValueFactory = _ => "table",
    }.AcceptOnlyFromAmong("table", "json");

    public static Option<string?> Launch() => new Option<string?>("--launch")
    {
        Description = "How kernels are launched: graph (CUDA-graph replay, no host cost) or eager (a host thread issues every kernel, as eager PyTorch does); default: the stack's",
    }.AcceptOnlyFromAmong("graph", "eager");

    public static Option<string?> Out() => new("--out") { Description = "Also write the JSON report to this file" };

    public static Option<string?> Timeline() => new("--timeline") { Description = "Write a Perfetto/Chrome trace-event timeline to this file" };

    public static Option<string?> OpsCsv() => new("--ops-csv") { Description = "Write every op to this CSV file (columns: docs/report-schema.md, \"Per-op CSV\")" };

    public static Option<bool> Ops() => new("--ops") { Description = "Include every op in the report" };

    public static Option<string> DTypeOption(string fallback) => new("--dtype")
    {
        Description = "Data type: fp32, tf32, bf16, fp16, fp8, int8, int4",
        DefaultValueFactory = _ => fallback,
    };

    /// <summary>Loads the hardware config (bundled name or path), applies --set overrides and creates
    /// the device model through the plugin registry.</summary>
    public static IDeviceModel CreateDevice(PluginRegistry registry, string hardware, IReadOnlyList<string>? sets) =>
        registry.Create(LoadHardware(hardware, sets));

    /// <summary>The hardware config (bundled name or path) with its --set overrides applied.</summary>
    public static HardwareConfig LoadHardware(string hardware, IReadOnlyList<string>? sets)
    {
        var config = HardwareConfigLoader.LoadNamed(hardware);
        return sets is { Count: > 0 } ? config.With(ParseSets(sets), "--set") : config;
    }

    public static IReadOnlyList<KeyValuePair<string, string>> ParseSets(IReadOnlyList<string> sets)
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (var s in sets)
        {
            var eq = s.IndexOf('=');
            if (eq <= 0 || eq == s.Length - 1)
                throw new InputException(null, "--set", $"expected path=value, got '{s}'");
            list.Add(new(s[..eq].Trim(), s[(eq + 1)..].Trim()));
        }
        return list;
    }

    public static Core.Graph.DType ParseDType(string text, string option)
    {
        if (Core.Graph.DTypes.TryParse(text, out var d)) return d;
        throw new InputException(null, option, $"expected {Core.Graph.DTypes.Expected}, got '{text}'");
    }

    public static string Num(double v, string format = "G4") => v.ToString(format, CultureInfo.InvariantCulture);
}
