using System.CommandLine;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Config;
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
        c.SetAction(p =>
        {
            var console = Execution.ConsoleFor(cli.Out);
            switch (p.GetValue(what))
            {
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
            var json = JsonInput.LoadObject(Path.Combine(BundledConfigs.ModelsDir, name + ".json"));
            string V(string key) => Markup.Escape(json[key]?.ToString() ?? "");
            table.AddRow(Markup.Escape(name), V("model_type"), V("num_hidden_layers"), V("hidden_size"),
                $"{V("num_attention_heads")}/{(json["num_key_value_heads"] ?? json["num_attention_heads"])}", V("_source"));
        }
        console.Write(table);
        return 0;
    }

    private static int Stacks(IAnsiConsole console)
    {
        var table = new Table().AddColumns("name", "launch", "norm", "rotary", "activation gate", "kv write", "logits", "host calls");
        foreach (var name in BundledConfigs.Names(BundledConfigs.StacksDir))
        {
            var s = Workloads.Stacks.StackLoader.Load(Path.Combine(BundledConfigs.StacksDir, name + ".json"));
            table.AddRow(Markup.Escape(s.Name), Workloads.Stacks.SoftwareStack.LaunchName(s.Launch), Snake(s.Norm), Snake(s.Rotary),
                Snake(s.ActivationGate), Snake(s.KvCacheWrite), Snake(s.Logits), Snake(s.HostCalls));
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
