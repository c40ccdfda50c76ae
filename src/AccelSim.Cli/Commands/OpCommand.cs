using System.CommandLine;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Graph;
using AccelSim.Workloads;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim op matmul|attention|copy</c>: one kernel on one device, for rooflines and teaching.</summary>
public static class OpCommand
{
    public static Command Create(CliContext cli)
    {
        var op = new Command("op", "Simulate a single kernel");
        op.Subcommands.Add(MatMul(cli));
        op.Subcommands.Add(Attention(cli));
        op.Subcommands.Add(Copy(cli));
        return op;
    }

    private sealed record Common(Option<string> Hardware, Option<string[]> Set, Option<string> Format, Option<string?> Out, Option<string?> Timeline);

    private static Common AddCommon(Command c)
    {
        var common = new Common(CommonOptions.Hardware(), CommonOptions.Set(), CommonOptions.Format(), CommonOptions.Out(), CommonOptions.Timeline());
        c.Options.Add(common.Hardware);
        c.Options.Add(common.Set);
        c.Options.Add(common.Format);
        c.Options.Add(common.Out);
        c.Options.Add(common.Timeline);
        return common;
    }

    private static int Execute(CliContext cli, ParseResult p, Common common, Func<WorkloadGraph> build)
    {
        using var services = Composition.Build(p.GetValue(CommonOptions.Plugins));
        var config = CommonOptions.LoadHardware(p.GetValue(common.Hardware)!, p.GetValue(common.Set));
        var device = services.Registry().Create(config);
        var graph = build();
        return Execution.RunAndReport(cli, graph, device, Execution.Schedule("sequential"), services.Bus(),
            new OutputRequest(p.GetValue(common.Format)!, p.GetValue(common.Out), p.GetValue(common.Timeline), IncludeOps: true) { PerTokenFigures = false },
            new HardwareContext(config, services.Registry(), "sequential"));
    }

    private static Command MatMul(CliContext cli)
    {
        var c = new Command("matmul", "C = A (m x k) * B (k x n)");
        var m = new Option<long>("--m") { Required = true, Description = "Rows of A and C (tokens)" };
        var n = new Option<long>("--n") { Required = true, Description = "Columns of B and C" };
        var k = new Option<long>("--k") { Required = true, Description = "Inner dimension" };
        var batch = new Option<long>("--batch") { DefaultValueFactory = _ => 1, Description = "Independent products" };
        var dtype = CommonOptions.DTypeOption("bf16");
        c.Options.Add(m); c.Options.Add(n); c.Options.Add(k); c.Options.Add(batch); c.Options.Add(dtype);
        var common = AddCommon(c);
        c.SetAction(p => Execute(cli, p, common, () => SingleOps.MatMul(p.GetValue(m), p.GetValue(n), p.GetValue(k),
            CommonOptions.ParseDType(p.GetValue(dtype)!, "--dtype"), p.GetValue(batch))));
        return c;
    }

    private static Command Attention(CliContext cli)
    {
        var c = new Command("attention", "Causal flash-style attention: --seq new tokens attend to --context cached tokens plus themselves");
        var batch = new Option<long>("--batch") { DefaultValueFactory = _ => 1 };
        var heads = new Option<long>("--heads") { Required = true, Description = "Query heads" };
        var kvHeads = new Option<long>("--kv-heads") { Description = "Key/value heads (default: --heads)" };
        var headDim = new Option<long>("--head-dim") { DefaultValueFactory = _ => 128 };
        var seq = new Option<long>("--seq") { Required = true, Description = "New tokens per sequence (1 for decode)" };
        var context = new Option<long>("--context") { DefaultValueFactory = _ => 0, Description = "Cached tokens per sequence" };
        var dtype = CommonOptions.DTypeOption("bf16");
        foreach (var o in new Option[] { batch, heads, kvHeads, headDim, seq, context, dtype }) c.Options.Add(o);
        var common = AddCommon(c);
        c.SetAction(p =>
        {
            var h = p.GetValue(heads);
            var kv = p.GetResult(kvHeads) is null ? h : p.GetValue(kvHeads);
            return Execute(cli, p, common, () => SingleOps.Attention(p.GetValue(batch), h, kv, p.GetValue(headDim),
                p.GetValue(seq), p.GetValue(context), CommonOptions.ParseDType(p.GetValue(dtype)!, "--dtype")));
        });
        return c;
    }

    private static Command Copy(CliContext cli)
    {
        var c = new Command("copy", "Device-to-device copy (reads and writes --bytes)");
        var bytes = new Option<long>("--bytes") { Required = true };
        c.Options.Add(bytes);
        var common = AddCommon(c);
        c.SetAction(p => Execute(cli, p, common, () => SingleOps.Copy(p.GetValue(bytes))));
        return c;
    }
}
