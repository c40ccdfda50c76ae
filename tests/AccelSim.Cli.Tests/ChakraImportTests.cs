using AccelSim.Workloads.Tests.Import;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

/// <summary><c>accelsim import chakra-et</c> end to end: a Chakra trace written here becomes a native
/// trace that <c>accelsim run --trace</c> simulates; a broken trace is exit code 2 and no output file.</summary>
public class ChakraImportTests
{
    private const long MmFlops = 2L * 64 * 16 * 32;
    private const long AddmmFlops = 2L * 64 * 8 * 16;

    /// <summary>aten::mm -> a 2048-byte store -> aten::addmm (bf16), plus an all-reduce the native trace cannot express.</summary>
    private static byte[] Trace() => ChakraEtWriter.Trace(
    [
        new(10, "aten::mm") { Inputs = ChakraEtWriter.Bf16((1, [64, 32]), (2, [32, 16])), Outputs = ChakraEtWriter.Bf16((3, [64, 16])) },
        new(11, "offload.store", Type: 3) { DataDeps = [10], Attrs = [new EtAttr("tensor_size", UInt64: 2048)] },
        new(12, "grad_sync", Type: 7) { DataDeps = [10], Attrs = [new EtAttr("comm_type", Int64: 0), new EtAttr("comm_size", Int64: 4096)] },
        new(13, "aten::addmm")
        {
            DataDeps = [11, 12],
            Inputs = ChakraEtWriter.Bf16((4, [8]), (5, [64, 16]), (6, [16, 8])),
            Outputs = ChakraEtWriter.Bf16((7, [64, 8])),
        },
    ]);

    [Fact]
    public void Imported_trace_runs_and_reports_the_imported_flops()
    {
        using var tmp = new CliHarness.TempDir();
        var et = tmp.File("step.et");
        File.WriteAllBytes(et, Trace());
        var native = tmp.File("step.json");

        var import = CliHarness.Run("import", "chakra-et", et, "--out", native);
        Assert.True(import.ExitCode == 0, import.Error);
        Assert.Contains($"FLOPs: {MmFlops + AddmmFlops:N0} total", import.Out);
        Assert.Contains("ops by kind: matmul 2, copy 1", import.Out);
        Assert.Contains("COMM_COLL_NODE ALL_REDUCE x1, 4,096 bytes (first at node 12)", import.Out);
        Assert.Contains("wrote 3 ops", import.Out);
        Assert.True(File.Exists(native));

        var run = CliHarness.Run("run", "--hardware", "h100", "--trace", native, "--format", "json", "--ops");
        Assert.True(run.ExitCode == 0, run.Error);
        var report = JObject.Parse(run.Out);
        Assert.Equal(MmFlops + AddmmFlops, (long)report["flops"]!);
        var ops = (JArray)report["ops"]!;
        Assert.Equal(["aten::mm", "offload.store", "aten::addmm"], ops.Select(o => (string)o["name"]!));
        Assert.Equal([MmFlops, 0, AddmmFlops], ops.Select(o => (long)o["flops"]!));
        // The all-reduce is not simulated, but addmm still waits for mm through it.
        Assert.True((double)ops[2]["start_s"]! >= (double)ops[0]["end_s"]!);
        Assert.Equal("step", (string)report["workload"]!["name"]!);
    }

    [Fact]
    public void Import_is_deterministic()
    {
        using var tmp = new CliHarness.TempDir();
        var et = tmp.File("step.et");
        File.WriteAllBytes(et, Trace());
        Assert.Equal(0, CliHarness.Run("import", "chakra-et", et, "--out", tmp.File("a.json")).ExitCode);
        Assert.Equal(0, CliHarness.Run("import", "chakra-et", et, "--out", tmp.File("b.json")).ExitCode);
        Assert.Equal(File.ReadAllBytes(tmp.File("a.json")), File.ReadAllBytes(tmp.File("b.json")));
    }

    [Fact]
    public void Truncated_trace_exits_2_names_the_file_and_node_and_writes_nothing()
    {
        using var tmp = new CliHarness.TempDir();
        var et = tmp.File("cut.et");
        var data = Trace();
        File.WriteAllBytes(et, data[..^3]);
        var native = tmp.File("out.json");

        var o = CliHarness.Run("import", "chakra-et", et, "--out", native);
        Assert.Equal(2, o.ExitCode);
        Assert.StartsWith("error:", o.Error);
        Assert.DoesNotContain("   at ", o.Error);
        Assert.Contains("cut.et", o.Error);
        Assert.Contains("node 3", o.Error);
        Assert.Contains("runs past the end of the file", o.Error);
        Assert.False(File.Exists(native));
        Assert.Equal([et], Directory.GetFiles(tmp.Path));
    }

    [Fact]
    public void Missing_file_exits_2()
    {
        using var tmp = new CliHarness.TempDir();
        var o = CliHarness.Run("import", "chakra-et", tmp.File("none.et"), "--out", tmp.File("out.json"));
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("none.et", o.Error);
        Assert.False(File.Exists(tmp.File("out.json")));
    }

    [Fact]
    public void Committed_example_imports_as_the_doc_shows()
    {
        using var tmp = new CliHarness.TempDir();
        var native = tmp.File("example.json");
        var o = CliHarness.Run("import", "chakra-et", CliHarness.RepoFile("traces/chakra-example.et"), "--out", native);
        Assert.True(o.ExitCode == 0, o.Error);
        var doc = File.ReadAllText(CliHarness.RepoFile("docs/chakra-et.md"));
        // Every report line of the doc's example (all but the last, which names the output path) is printed as shown.
        var section = doc[doc.IndexOf("$ accelsim import chakra-et traces/chakra-example.et", StringComparison.Ordinal)..];
        var lines = section.Split('\n').Skip(1).TakeWhile(l => !l.StartsWith("wrote ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(8, lines.Length);
        foreach (var line in lines) Assert.Contains(line + "\n", o.Out);
        // The native trace the doc shows is the one written.
        var start = doc.IndexOf("```json", StringComparison.Ordinal) + "```json".Length;
        var shown = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)].Trim();
        Assert.Equal(shown, File.ReadAllText(native).Trim());
    }
}
