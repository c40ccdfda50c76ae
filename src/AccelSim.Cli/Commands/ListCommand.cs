using System.CommandLine;
using System.Globalization;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using Newtonsoft.Json.Linq;
using AccelSim.Reports;
using AccelSim.Workloads.Configs;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim list hardware|models|stacks|plugins</c>.</summary>
public static class ListCommand
{
    public static Command Create(CliContext cli)
    {
        var c = new Command("list", "List bundled hardware, bundled models, bundled software stacks or loaded device plugins");
        var what = new Argument<string>("what") { Description = "hardware, models, stacks or plugins" };
        what.AcceptOnlyFromAmong("hardware", "models", "stacks", "plugins");
        c.Arguments.Add(what);
        var name = new Argument<string?>("name") { Description = "hardware: one device (bundled name or path) in detail", Arity = ArgumentArity.ZeroOrOne };
        c.Arguments.Add(name);
        var format = CommonOptions.Format();
        format.Description = "table or json (json: hardware only, the device cards and every parameter's provenance)";
        c.Options.Add(format);
        c.SetAction(p =>
        {
            var console = Execution.ConsoleFor(cli.Out);
            var json = p.GetValue(format) == "json";
            if (json && p.GetValue(what) != "hardware")
                throw new InputException(null, "--format", "json applies to 'list hardware'; the other lists are tables");
            switch (p.GetValue(what))
            {
                case "hardware" when json:
                    cli.Out.WriteLine(JsonReport.Format(HardwareJson(p.GetValue(name), p.GetValue(CommonOptions.Plugins))));
                    return 0;
                case "hardware":
                    return p.GetValue(name) is { } one ? HardwareDetail(console, one, p.GetValue(CommonOptions.Plugins)) : Hardware(console, p.GetValue(CommonOptions.Plugins));
                case "models": return Models(console);
                case "stacks": return Stacks(console);
                default: return Plugins(cli, console, p.GetValue(CommonOptions.Plugins));
            }
        });
        return c;
    }

    private static int Hardware(IAnsiConsole console, string? plugins)
    {
        using var services = Composition.Build(plugins);
        var table = new Table().AddColumns("name", "kind", "family", "file");
        var cards = new List<Table>();
        foreach (var name in BundledConfigs.Names(BundledConfigs.HardwareDir))
        {
            var path = Path.Combine(BundledConfigs.HardwareDir, name + ".json");
            try
            {
                var config = HardwareConfigLoader.Load(path);
                var family = JsonInput.LoadObject(path)["family"]?.ToString() ?? "";
                table.AddRow(Markup.Escape(name), Markup.Escape(config.Kind), Markup.Escape(family), Markup.Escape(Path.GetRelativePath(BundledConfigs.Root, path)));
                cards.Add(DeviceCardReport.ToTable(services.Registry().Create(config).Describe()));
            }
            catch (InputException e)
            {
                table.AddRow(Markup.Escape(name), "[red]invalid[/]", "", Markup.Escape(e.Message));
            }
        }
        console.Write(table);
        foreach (var card in cards) console.Write(card);
        return 0;
    }

    /// <summary><c>accelsim.hardware/1</c>: the card of every bundled device (or of one), its files with their
    /// hashes, and every numeric parameter with its value and provenance tag.</summary>
    private static JObject HardwareJson(string? one, string? plugins)
    {
        using var services = Composition.Build(plugins);
        var names = one is null ? BundledConfigs.Names(BundledConfigs.HardwareDir) : [one];
        var devices = new JArray();
        foreach (var n in names)
        {
            var config = HardwareConfigLoader.LoadNamed(n);
            var card = services.Registry().Create(config).Describe();
            var parameters = new JObject();
            foreach (var path in config.NumericPaths())
                parameters[path] = new JObject { ["value"] = config.Values[path].Number, ["provenance"] = config.TagOf(path)?.Name() ?? "untagged" };
            devices.Add(new JObject
            {
                ["name"] = card.Name,
                ["kind"] = card.Kind,
                ["peak_flops"] = new JObject(card.PeakFlops.Select(kv => new JProperty(kv.Key.Name(), kv.Value))),
                ["bandwidth_Bps"] = new JObject(card.Bandwidths.Select(f => new JProperty(f.Name, f.Value))),
                ["capacity_bytes"] = new JObject(card.Capacities.Select(f => new JProperty(f.Name, f.Value))),
                ["ridge_point_flop_per_byte"] = card.RidgePointFlopPerByte,
                ["ridge_dtype"] = card.RidgeDType.Name(),
                ["power_cap_w"] = card.PowerCapW,
                ["details"] = new JArray(card.Details.Select(f => new JObject { ["name"] = f.Name, ["value"] = f.Value, ["unit"] = f.Unit })),
                ["files"] = new JArray(config.Files.Select(f => new JObject { ["role"] = f.Role, ["file"] = f.Name, ["sha256"] = f.Sha256 })),
                ["parameters"] = parameters,
            });
        }
        return new JObject { ["schema"] = "accelsim.hardware/1", ["devices"] = devices };
    }

    /// <summary>One device: its card, its files and hashes, and every numeric parameter with its provenance tag.</summary>
    private static int HardwareDetail(IAnsiConsole console, string name, string? plugins)
    {
        using var services = Composition.Build(plugins);
        var config = HardwareConfigLoader.LoadNamed(name);
        console.Write(DeviceCardReport.ToTable(services.Registry().Create(config).Describe()));
        foreach (var f in config.Files) console.WriteLine($"{f.Role}: {f.Name} (sha256 {f.Sha256})");
        var t = new Table().Title("parameters").AddColumns("parameter", "value", "provenance");
        foreach (var path in config.NumericPaths())
            t.AddRow(Markup.Escape(path), Markup.Escape(config.Values[path].ToString()), config.TagOf(path)?.Name() ?? "[red]untagged[/]");
        console.Write(t);
        return 0;
    }

    private static int Models(IAnsiConsole console)
    {
        var table = new Table().AddColumns("name", "model_type", "layers", "hidden", "heads/kv", "source");
        foreach (var name in BundledConfigs.Names(BundledConfigs.ModelsDir))
        {
            // Read through the model loader so that every family's names (GPT-2's n_layer, n_embd, n_head, ...)
            // map onto the common fields exactly as a simulation reads them.
            var path = Path.Combine(BundledConfigs.ModelsDir, name + ".json");
            var source = Markup.Escape(JsonInput.LoadObject(path)["_source"]?.ToString() ?? "");
            try
            {
                var m = Workloads.Models.ModelConfigLoader.Load(path);
                table.AddRow(Markup.Escape(name), Markup.Escape(m.ModelType), m.NumHiddenLayers.ToString(CultureInfo.InvariantCulture),
                    m.HiddenSize.ToString(CultureInfo.InvariantCulture),
                    $"{m.NumAttentionHeads.ToString(CultureInfo.InvariantCulture)}/{m.NumKeyValueHeads.ToString(CultureInfo.InvariantCulture)}", source);
            }
            catch (InputException e)
            {
                table.AddRow(Markup.Escape(name), "[red]invalid[/]", "", "", "", Markup.Escape(e.Message));
            }
        }
        console.Write(table);
        return 0;
    }

    private static int Stacks(IAnsiConsole console)
    {
        var table = new Table().AddColumns("name", "launch", "norm", "rotary", "activation gate", "kv write", "logits", "host calls", "attention", "dropout");
        foreach (var name in BundledConfigs.Names(BundledConfigs.StacksDir))
        {
            var s = Workloads.Stacks.StackLoader.Load(Path.Combine(BundledConfigs.StacksDir, name + ".json"));
            table.AddRow(Markup.Escape(s.Name), Workloads.Stacks.SoftwareStack.LaunchName(s.Launch), Snake(s.Norm), Snake(s.Rotary),
                Snake(s.ActivationGate), Snake(s.KvCacheWrite), Snake(s.Logits), Snake(s.HostCalls), Markup.Escape(s.AttentionFamily), Snake(s.Dropout));
        }
        console.Write(table);
        return 0;
    }

    /// <summary>An enum value as the stack files spell it (UnfusedFp32 as unfused_fp32).</summary>
    private static string Snake<T>(T value) where T : struct, Enum =>
        System.Text.RegularExpressions.Regex.Replace(value.ToString(), "(?<=[a-z0-9])([A-Z])", "_$1").ToLowerInvariant();

    private static int Plugins(CliContext cli, IAnsiConsole console, string? folder)
    {
        using var services = Composition.Build(folder);
        var registry = services.Registry();
        foreach (var plugin in registry.Plugins)
        {
            var d = plugin.Descriptor;
            console.Write(new Rule($"[bold]{Markup.Escape(d.Kind)}[/] {Markup.Escape(d.Version)} ({Markup.Escape(plugin.GetType().Assembly.GetName().Name ?? "")})").LeftJustified());
            console.WriteLine(d.Description);
            var table = new Table().AddColumns("parameter", "unit", "required", "description");
            foreach (var p in d.Parameters)
                table.AddRow(Markup.Escape(p.Path), Markup.Escape(p.Unit), p.Required ? "yes" : "no", Markup.Escape(p.Description));
            console.Write(table);
        }
        foreach (var e in registry.LoadErrors) cli.Error.WriteLine($"warning: {e}");
        return 0;
    }
}
