using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel;
using Newtonsoft.Json.Linq;
using Xunit.Abstractions;
using static AccelSim.Cli.Tests.CliHarness;

namespace AccelSim.Cli.Tests;

/// <summary>The single-device placement options on a run on a system (docs/systems.md, "Memory placement per
/// rank"): one rank runs exactly the single-device placement, a placement that fits changes nothing,
/// ZeRO-Infinity keeps ZeRO-3's shards off every rank's HBM and moves them over its host link, and what
/// cannot combine exits 2 naming why.</summary>
public class SystemPlacementCliTests(ITestOutputHelper output)
{
    /// <summary>Llama-2-70B ZeRO-3 training over the 16 V100s of a DGX-2: its shards (8.6 GB of weights and of
    /// gradients, 52 GB of optimizer state per GPU) overflow a V100's 34 GB without an offload.</summary>
    private static readonly string[] Zero3 = ["run", "--system", "dgx-2", "--model", "llama2-70b", "--phase", "train", "--batch", "16", "--seq", "1024",
        "--dp", "16", "--zero", "3", "--recompute"];

    private static double D(JToken t) => (double)t;

    [Theory]
    [InlineData("h100", "dgx-h100", "--model llama2-70b --phase decode --placement offload")]
    [InlineData("a100-80g", "dgx-a100", "--model llama2-13b --phase decode --context 4000 --batch 20 --kv-policy swap")]
    [InlineData("h100", "dgx-h100", "--model llama2-7b --phase decode --experts 2")]
    [InlineData("h100", "dgx-h100", "--model llama2-7b --phase train --batch 2 --seq 256 --recompute --placement zero-infinity")]
    [InlineData("h100", "dgx-h100", "--model llama2-7b --phase train --batch 2 --seq 256 --recompute --placement ssd-pipelined")]
    public void One_rank_of_a_system_with_a_placement_is_the_single_device_run_with_it(string hardware, string system, string workload)
    {
        var args = workload.Split(' ');
        var single = Json(["run", "--hardware", hardware, .. args]);
        var ranked = Json(["run", "--system", system, .. args]);
        var device = Assert.Single((JArray)ranked["devices"]!);
        output.WriteLine($"{workload}: {D(single["latency_s"]!)} s single, {D(ranked["latency_s"]!)} s on rank 0 of {system}");
        Assert.Equal(D(single["latency_s"]!), D(ranked["latency_s"]!));
        Assert.Equal(D(single["energy_j"]!), D(device["energy_j"]!));
        Assert.Equal(single["memory"]!["peak_bytes"]!.ToString(), device["memory"]!["peak_bytes"]!.ToString());
        // The placement did something: a tier below HBM was used.
        Assert.Contains(((JObject)device["memory"]!["peak_bytes"]!).Properties(), p => p.Name is "host" or "ssd" && (long)p.Value > 0);
    }

    [Theory]
    [InlineData("--placement", "fit")]
    [InlineData("--placement", "offload")]
    [InlineData("--placement", "resident")]
    [InlineData("--kv-policy", "swap")]
    public void A_placement_that_fits_changes_nothing(string option, string policy)
    {
        // Llama-2-7B training, tp2 pp2 dp2 (decode, tp2, for a KV policy): fits every H100 of the node.
        string[] train = option == "--kv-policy"
            ? ["run", "--system", "dgx-h100", "--model", "llama2-7b", "--phase", "decode", "--batch", "8", "--context", "2048", "--tp", "2", "--format", "json"]
            : ["run", "--system", "dgx-h100", "--model", "llama2-7b", "--phase", "train", "--seq", "256", "--global-batch", "8", "--microbatch", "1",
                "--tp", "2", "--pp", "2", "--dp", "2", "--format", "json"];
        var plain = CliHarness.Run(train);
        var placed = CliHarness.Run([.. train, option, policy]);
        Assert.True(placed.ExitCode == 0, placed.Error);
        Assert.True((bool)JObject.Parse(plain.Out)["fits"]!);
        Assert.Equal(plain.Out, placed.Out);
    }

    [Fact]
    public void A_plan_that_does_not_fit_is_refused_under_fit_naming_the_rank_and_tier()
    {
        string[] dp = ["run", "--system", "dgx-h100", "--model", "llama2-70b", "--phase", "train", "--seq", "256", "--global-batch", "8", "--microbatch", "1", "--dp", "8"];
        Assert.False((bool)Json(dp)["fits"]!);
        var fit = Fails([.. dp, "--placement", "fit"]);
        Assert.Contains("--placement", fit.Error);
        Assert.Contains("rank 0's hbm needs", fit.Error);
        Assert.Contains("--zero", fit.Error);
        Assert.Contains("not modelled", Fails([.. dp, "--placement", "offload"]).Error);
    }

    [Fact]
    public void Zero_infinity_keeps_zero3s_shards_off_every_ranks_hbm()
    {
        var plain = Json(Zero3);
        var placed = Json([.. Zero3, "--placement", "zero-infinity"]);
        var table = CliHarness.Run([.. Zero3, "--placement", "zero-infinity"]);
        Assert.True(table.ExitCode == 0, table.Error);
        output.WriteLine(table.Out);
        Assert.Contains("Placement: zero-infinity on every rank (rank 0: weights 8.62 GB in host, gradients 8.62 GB in host, optimizer state 51.73 GB in host", table.Out);
        Assert.Contains("fits on every device", table.Out);

        var before = (JObject)((JArray)plain["devices"]!)[0]["memory"]!;
        var after = (JObject)((JArray)placed["devices"]!)[0]["memory"]!;
        Assert.False((bool)plain["fits"]!);
        Assert.True((bool)placed["fits"]!);
        Assert.True((long)before["peak_bytes"]!["hbm"]! > (long)before["capacity_bytes"]!["hbm"]!);
        Assert.True((long)after["peak_bytes"]!["hbm"]! < (long)after["capacity_bytes"]!["hbm"]!);
        // What left HBM is held in host memory: the same bytes (weights, gradients, optimizer state).
        const long shards = 8_618_508_288L * 2 + 51_727_237_120L;
        // Each unit's optimizer shard rounded on its own: within a few bytes per unit.
        Assert.InRange((long)after["held_bytes"]!, (long)before["held_bytes"]! - 1000, (long)before["held_bytes"]! + 1000);
        Assert.InRange((long)after["peak_bytes"]!["host"]!, shards, shards + (long)after["held_bytes"]! / 100);
        Assert.Equal(0L, (long)before["peak_bytes"]!["host"]!);
        Assert.Equal("zero-infinity", (string?)placed["plan"]!["placement"]!["policy"]);
        Assert.Null(plain["plan"]!["placement"]);
        // The offload costs time: the host link, and AdamW on the host CPU after the backward.
        Assert.True(D(placed["latency_s"]!) > D(plain["latency_s"]!));
        // The same collectives.
        Assert.Equal(((JArray)plain["network"]!["collectives"]!).Count, ((JArray)placed["network"]!["collectives"]!).Count);
    }

    /// <summary>Every byte a rank's shards move crosses its host link or its drive: per unit and pass its
    /// parameter shard comes in (pcie), per unit and microbatch its gradient shard goes out (pcie_d2h), and
    /// optimizer state kept on the drive is read and written once (nvme).</summary>
    [Theory]
    [InlineData(1L << 40, 2)]
    [InlineData(2_000_000_000L, 2)]
    [InlineData(0L, 1)]
    public void Offloaded_bytes_are_conserved(long hostBytes, int microbatches)
    {
        var spec = SystemConfigLoader.LoadNamed("dgx-2");
        var fabric = SystemFabric.Build(spec, 1);
        var device = new GpuPlugin().Create(HardwareConfigLoader.LoadNamed(spec.Node.Device));
        var model = ModelConfigLoader.LoadNamed("llama2-7b");
        var request = WorkloadRequest.Train(8 * microbatches, 512, recompute: true);
        var plan = ParallelPlan.Bind(new ParallelismOptions { Dp = 8, Zero = 3, Microbatch = 1, Recompute = true }, model, request, 8);
        var offload = new ZeroInfinityOffload("hbm", "host", hostBytes, "ssd");
        var program = ParallelTransform.Build(model, request, plan, offload: offload);
        var result = SystemSimulator.Run(program, fabric, _ => device, new SequentialSchedule());
        var rank = Assert.Single(result.Ranks);
        var memory = program.Ranks[0].Memory;
        var weights = memory.Single(m => m.What == "weights");
        var grads = memory.Single(m => m.What == "gradients");
        long States(string tier) => memory.Where(m => m.What == "optimizer state" && m.Tier == tier).Sum(m => m.Bytes);
        var moved = rank.Metrics.Memory.BytesMovedByChannel;
        long Moved(string channel) => moved.TryGetValue(channel, out var b) ? b : 0;
        output.WriteLine($"host {hostBytes:N0}: weights {weights.Bytes:N0} in {weights.Tier}, gradients {grads.Bytes:N0} in {grads.Tier}, " +
            $"states {States("host"):N0} in host and {States("ssd"):N0} in ssd; moved " + string.Join(", ", moved.Select(kv => $"{kv.Key} {kv.Value:N0}")));

        // Each unit's shard is rounded up on its own: at most one byte per unit over the rank's total.
        var units = model.NumHiddenLayers + 2;
        Assert.InRange(Moved("pcie"), 2L * microbatches * weights.Bytes, 2L * microbatches * (weights.Bytes + units));
        Assert.InRange(Moved("pcie_d2h"), microbatches * grads.Bytes, microbatches * (grads.Bytes + units));
        long nvme = 0;
        if (weights.Tier == "ssd") nvme += 2L * microbatches * weights.Bytes + weights.Bytes; // read per pass, written back after the step
        if (grads.Tier == "ssd") nvme += microbatches * grads.Bytes + grads.Bytes; // written per microbatch, read by the step
        nvme += 2 * States("ssd"); // read and written once
        Assert.InRange(Moved("nvme"), nvme, nvme + 4L * units);
        Assert.Equal(hostBytes == 0 ? "ssd" : "host", grads.Tier);
        // Host memory holds what fits, unit by unit; the drive the rest.
        Assert.InRange((grads.Tier == "host" ? grads.Bytes : 0) + (weights.Tier == "host" ? weights.Bytes : 0) + States("host"), 0, hostBytes);
        if (hostBytes == 2_000_000_000L) Assert.True(States("ssd") > 0 && States("host") > 0);
        if (hostBytes == 0) Assert.Equal(0, States("host"));
        if (hostBytes == 1L << 40) Assert.Equal(0, States("ssd"));
        // The main memory holds only the stashed activations, the units gathered at once (the running one and the
        // next, fetched whole: one data-parallel rank) and a segment's working set.
        var gathered = memory.Single(m => m.What == "gathered parameters").Bytes;
        Assert.True(gathered > 0 && gathered <= 2 * weights.Bytes);
        Assert.Equal(memory.Single(m => m.What == "stashed activations").Bytes + gathered, memory.Where(m => m.Tier is null).Sum(m => m.Bytes));
        var hbm = rank.Memory.Single(m => m.Tier == "hbm");
        Assert.True(hbm.PeakBytes < weights.Bytes + grads.Bytes + States("host") + States("ssd"));
    }

    [Fact]
    public void What_cannot_combine_exits_2_naming_why()
    {
        Assert.Contains("give --zero 3", Fails([.. Zero3[..^3], "--zero", "1", "--recompute", "--placement", "zero-infinity"]).Error);
        Assert.Contains("use --phase train", Fails(["run", "--system", "dgx-h100", "--model", "llama2-7b", "--phase", "decode", "--tp", "2", "--placement", "zero-infinity"]).Error);
        var ssd = Fails(["run", "--system", "dgx-h100", "--model", "llama2-7b", "--phase", "train", "--seq", "256", "--global-batch", "8", "--tp", "2", "--placement", "ssd-pipelined"]).Error;
        Assert.Contains("--placement", ssd);
        Assert.Contains("one rank and one microbatch", ssd);
        Assert.Contains("--experts", Fails(["run", "--system", "dgx-h100", "--model", "llama2-7b", "--phase", "decode", "--tp", "2", "--experts", "2"]).Error);
        Assert.Contains("--kv-policy", Fails(["run", "--system", "dgx-h100", "--model", "llama2-7b", "--phase", "train", "--seq", "256", "--global-batch", "8", "--tp", "2", "--kv-policy", "swap"]).Error);
        Assert.Contains("expected resident, fit", Fails(["run", "--system", "dgx-h100", "--model", "llama2-7b", "--phase", "decode", "--placement", "everywhere"]).Error);
        var trace = CliHarness.RepoFile("traces/chakra-multirank/workload.0.et")[..^"/workload.0.et".Length];
        Assert.Contains("per rank to --model plans", Fails(["run", "--system", "dgx-h100", "--trace", trace, "--placement", "fit"]).Error);
    }

    /// <summary>The example of docs/systems.md, "Memory placement per rank", is what the command prints.</summary>
    [Fact]
    public void The_docs_example_is_what_the_command_prints()
    {
        var doc = File.ReadAllText(CliHarness.RepoFile("docs/systems.md"));
        var section = doc[doc.IndexOf("## Memory placement per rank", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 3, StringComparison.Ordinal)];
        var command = section.Split('\n').Single(l => l.StartsWith("accelsim run ", StringComparison.Ordinal));
        var o = CliHarness.Run(command["accelsim ".Length..].Split(' '));
        Assert.True(o.ExitCode == 0, o.Error);
        foreach (var line in o.Out.Split('\n').Select(l => l.TrimEnd()).Where(l => l.StartsWith("Placement:", StringComparison.Ordinal) || l.Contains("iteration time", StringComparison.Ordinal)
                     || l.Contains("compute busy per device", StringComparison.Ordinal) || l.StartsWith("│ 0 ", StringComparison.Ordinal)))
            Assert.Contains(line, section);
    }

    [Fact]
    public void Compare_on_a_system_places_every_plan()
    {
        string[] args = ["compare", "--system", "dgx-2", "--model", "llama2-70b", "--phase", "train", "--batch", "16", "--seq", "1024", "--dp", "8,16", "--zero", "3", "--recompute"];
        var plain = Json(args);
        var placed = Json([.. args, "--placement", "zero-infinity"]);
        Assert.All((JArray)plain["runs"]!, r => Assert.False((bool)r["fits"]!));
        Assert.Equal(JTokenType.Null, plain["fastest"]!.Type);
        var runs = (JArray)placed["runs"]!;
        Assert.Equal(2, runs.Count);
        Assert.All(runs, r => Assert.True((bool)r["fits"]!));
        Assert.All(runs, r => Assert.Equal("zero-infinity", (string?)r["plan"]!["placement"]!["policy"]));
        Assert.Equal("tp1 pp1 dp16 zero3 recompute", (string?)placed["fastest"]!["plan"]);
        // A plan the placement cannot take is reported with its plan.
        Assert.Contains("give --zero 3", Fails([.. args[..^3], "--zero", "1", "--recompute", "--placement", "zero-infinity"]).Error);
    }

    /// <summary>More host memory per rank never makes a ZeRO-Infinity step slower: what it holds no longer crosses
    /// the drive (as more capacity in any tier never slows a single-device run, docs/memory.md).</summary>
    [Fact]
    public void More_host_memory_never_slows_a_zero_infinity_step()
    {
        var spec = SystemConfigLoader.LoadNamed("dgx-2");
        var device = new GpuPlugin().Create(HardwareConfigLoader.LoadNamed(spec.Node.Device));
        var model = ModelConfigLoader.LoadNamed("llama2-7b");
        var request = WorkloadRequest.Train(8, 512, recompute: true);
        var plan = ParallelPlan.Bind(new ParallelismOptions { Dp = 8, Zero = 3, Microbatch = 1, Recompute = true }, model, request, 8);
        // A fabric's network runs once: one per run.
        double Step(long host) => SystemSimulator.Run(ParallelTransform.Build(model, request, plan, offload: new ZeroInfinityOffload("hbm", "host", host, "ssd")),
            SystemFabric.Build(spec, 1), _ => device, new SequentialSchedule()).MakespanS;
        var steps = new[] { 0L, 1_000_000_000L, 1_700_000_000L, 3_300_000_000L, 3_400_000_000L, 8_000_000_000L, 20_000_000_000L }.Select(h => (h, Step(h))).ToArray();
        output.WriteLine(string.Join(", ", steps.Select(x => $"{x.h / 1e9:F1} GB: {x.Item2:F3} s")));
        for (var i = 1; i < steps.Length; i++) Assert.True(steps[i].Item2 <= steps[i - 1].Item2, $"{steps[i].h} B of host memory is slower than {steps[i - 1].h} B");
        // The drive's traffic is what the host spares: everything on the drive is much slower than everything in host memory.
        Assert.True(steps[0].Item2 > steps[^1].Item2 * 1.5);
    }

    [Fact]
    public void Zero_infinity_offloads_every_rank_of_a_tensor_and_pipeline_parallel_plan()
    {
        string[] args = ["run", "--system", "dgx-2", "--model", "llama2-7b", "--phase", "train", "--seq", "512", "--global-batch", "16", "--microbatch", "1",
            "--tp", "2", "--pp", "2", "--dp", "4", "--zero", "3", "--recompute"];
        var plain = Json(args);
        var placed = Json([.. args, "--placement", "zero-infinity"]);
        var before = (JArray)plain["devices"]!;
        var after = (JArray)placed["devices"]!;
        Assert.Equal(before.Count, after.Count);
        Assert.True((bool)placed["fits"]!);
        for (var i = 0; i < after.Count; i++)
        {
            var b = before[i]["memory"]!;
            var a = after[i]["memory"]!;
            // Each rank's shards moved from its HBM to its host memory: HBM lower by at least what host memory holds less its working set.
            Assert.True((long)a["peak_bytes"]!["host"]! > 0);
            Assert.True((long)a["peak_bytes"]!["hbm"]! < (long)b["peak_bytes"]!["hbm"]!);
            Assert.InRange((long)a["held_bytes"]!, (long)b["held_bytes"]! - 1000, (long)b["held_bytes"]! + 1000);
        }
        // The same collectives, and the copies on every rank's own host link.
        Assert.Equal(((JArray)plain["network"]!["collectives"]!).Count, ((JArray)placed["network"]!["collectives"]!).Count);
    }
}
