using System.CommandLine;
using AccelSim.Cli.Commands;
using AccelSim.Core.Config;

namespace AccelSim.Cli;

/// <summary>The <c>accelsim</c> command line. Exit codes: 0 ok, 2 bad input (the message names the file,
/// the JSON path and what was expected), 1 an internal error.</summary>
public static class AccelSimApp
{
    /// <summary>The command tree: every command and its options.</summary>
    public static RootCommand Commands(CliContext context)
    {
        var root = new RootCommand("AccelSim: a discrete-event simulator of LLM workloads on GPUs, FPGAs, wafer-scale meshes and RDUs.");
        root.Options.Add(CommonOptions.Plugins);
        root.Subcommands.Add(RunCommand.Create(context));
        root.Subcommands.Add(OpCommand.Create(context));
        root.Subcommands.Add(CompareCommand.Create(context));
        root.Subcommands.Add(ExportCommand.Create(context));
        root.Subcommands.Add(ImportCommand.Create(context));
        root.Subcommands.Add(ListCommand.Create(context));
        root.Subcommands.Add(ValidateCommand.Create(context));
        root.Subcommands.Add(CapacityCommand.Create(context));
        root.Subcommands.Add(CollectiveCommand.Create(context));
        root.Subcommands.Add(SensitivityCommand.Create(context));
        root.Subcommands.Add(ServeCommand.Create(context));
        root.Subcommands.Add(SweepCommand.Create(context));
        return root;
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = Commands(new CliContext(stdout, stderr));
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) stderr.WriteLine($"error: {e.Message}");
            stderr.WriteLine("Run 'accelsim --help' for usage.");
            return 2;
        }
        try
        {
            // Checked before any command runs, whichever command it is.
            if (parse.GetValue(CommonOptions.Plugins) is { } plugins && !Directory.Exists(plugins))
                throw new InputException(null, "--plugins", $"plugin folder '{plugins}' does not exist");
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (InputException e)
        {
            foreach (var p in e.Problems) stderr.WriteLine($"error: {CliParameterNames.Translate(p)}");
            return 2;
        }
        catch (OverflowException)
        {
            // Sizes are checked where they are built and named there; this is the net for a count
            // or a duration that passes 2^63 - 1 somewhere else: refused, never wrapped.
            stderr.WriteLine("error: a count, a size or a duration of this run exceeds the simulator's 64-bit range "
                + "(2^63 - 1: about 9.2e18 FLOPs or bytes, or 106 days of simulated time); use smaller sizes or check the hardware's rates");
            return 2;
        }
    }
}

/// <summary>What every command needs: the console writers.</summary>
public sealed record CliContext(TextWriter Out, TextWriter Error);
