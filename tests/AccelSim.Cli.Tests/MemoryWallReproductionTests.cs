using Newtonsoft.Json.Linq;
using Xunit.Abstractions;
using static AccelSim.Cli.Tests.CliHarness;

namespace AccelSim.Cli.Tests;

/// <summary>The memory wall, reproduced from the bundled configs through the command line. Each test
/// states the published figure and the factor allowed.</summary>
public class MemoryWallReproductionTests(ITestOutputHelper output)
{

    /// <summary>Long-context analysis (Fu, "Challenges in deploying long-context transformers: a
    /// theoretical peak performance analysis", 2024): a 34B GQA model (Yi-34B: 60 layers, 8 KV heads of
    /// 128) at 50K context on an 80 GB A100. KV cache per sequence 60 x 8 x 128 x 2 x 2 B x 50,000 =
    /// 12.3 GB (11.4 GiB), exact; beside ~68 GB of weights only one such sequence fits (paper: the KV
    /// cache limits concurrency to about one user), exact; decode is bound by reading weights and KV
    /// from HBM: allowed 1.0-1.5x of (weights + KV) / HBM bandwidth, and 50K context slows a decode
    /// step by the KV share of its reads (1 + KV / weights, allowed +-10%); swapping one sequence's KV
    /// to host memory costs its bytes over PCIe (paper: ~0.5 s for PCIe Gen4): allowed 1.0-1.5x of
    /// bytes / link bandwidth; prefill is compute-bound: allowed 1.0-2.5x of FLOPs / peak.</summary>
    [Fact]
    public void CapacityOnAWaferCountsTheSramItGivesToWeightsAndCaches()
    {
        // WSE-2: 40 GB of SRAM, 75 % for weights and caches = 30 GB; llama2-7b 13.5 GB, 2.1 GB of KV per
        // 4000-token sequence: 7 sequences (12 if all 40 GB were counted). A swap goes to memoryx.
        var r = Json("capacity", "--hardware", "wse2", "--model", "llama2-7b", "--context", "4000");
        Assert.Equal(7L, (long)r["sequences_that_fit"]!);
        Assert.Equal("memoryx", (string?)r["swap"]!["tier"]);
        Assert.Contains("30.0 GB of its 40.0 GB", (string?)r["note"]);
    }

    [Fact]
    public void CapacityShowsWhatDoesNotFitAsAPositiveAmount()
    {
        // llama2-7b in bf16 (13.5 GB) and a 4000-token KV cache (2.1 GB) in a U280's 8.6 GB of HBM.
        var o = CliHarness.Run("capacity", "--hardware", "u280", "--model", "llama2-7b", "--context", "4000");
        Assert.True(o.ExitCode == 0, o.Error);
        Assert.Contains("over capacity (does not fit)", o.Out);
        Assert.Contains("6.98 GB", o.Out);
        Assert.DoesNotContain("-6.98", o.Out);
    }

    [Fact]
    public void LongContext34BOnA100()
    {
        var r = Json("capacity", "--hardware", "a100-80g", "--model", "yi-34b", "--context", "50000");
        var perToken = (double)r["kv_bytes_per_token"]!;
        var perSeq = (long)r["kv_bytes_per_sequence"]!;
        var weights = (long)r["memory_bytes"]!["weights"]!;
        var decode = (double)r["decode_step_s"]!;
        var swapIn = (double)r["swap"]!["in_s"]!;
        var prefill = (double)r["prefill_s"]!;
        output.WriteLine($"KV {perToken} B/token, {perSeq / 1e9:F2} GB/sequence, {r["sequences_that_fit"]} fit, weights {weights / 1e9:F1} GB, " +
                         $"prefill {prefill:F2} s, decode {decode * 1e3:F2} ms, swap in {swapIn:F3} s, round trip {(double)r["swap"]!["round_trip_s"]!:F3} s");
        Assert.Equal(60 * 8 * 128 * 2 * 2, perToken);
        Assert.Equal(60L * 8 * 128 * 2 * 2 * 50_000, perSeq);
        Assert.Equal(1, (long)r["sequences_that_fit"]!);
        Assert.Equal(85899345920L, (long)r["memory_bytes"]!["capacity"]!);

        const double hbm = 2.039e12, pcie = 32e9, bf16 = 312e12;
        var floor = (weights + perSeq) / hbm;
        Assert.InRange(decode / floor, 1.0, 1.5);
        var shortCtx = (double)Json("capacity", "--hardware", "a100-80g", "--model", "yi-34b", "--context", "512")["decode_step_s"]!;
        var expectedSlowdown = 1 + perSeq / (double)weights;
        output.WriteLine($"decode at 512 tokens {shortCtx * 1e3:F2} ms; 50K/512 = {decode / shortCtx:F3} (KV share predicts {expectedSlowdown:F3})");
        Assert.InRange(decode / shortCtx, expectedSlowdown / 1.1, expectedSlowdown * 1.1);
        Assert.InRange(swapIn / (perSeq / pcie), 1.0, 1.5);
        var flops = 2.0 * 34.4e9 * 50_000;
        Assert.InRange(prefill / (flops / bf16), 1.0, 2.5);
    }

    /// <summary>Llama-2-70B (138 GB of bf16 weights) decode on one 80 GB H100 (ZeRO-Inference style
    /// offload): ~58 GB do not fit and stream from host memory over PCIe Gen5 every step, so a step
    /// takes at least those bytes over the link (allowed: spilled 50-62 GB; latency >= spilled / 64 GB/s
    /// and within 1.1x of spilled at the pinned rate, i.e. the compute hides under the copies).</summary>
    [Fact]
    public void Llama70BDecodeOnOneH100IsBoundByPcie()
    {
        var fit = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-70b", "--phase", "decode", "--placement", "fit");
        Assert.Equal(2, fit.ExitCode);
        Assert.Contains("do not fit", fit.Error);
        Assert.Contains("--placement offload", fit.Error);

        var r = Json("run", "--hardware", "h100", "--model", "llama2-70b", "--phase", "decode", "--placement", "offload");
        var spilled = (long)r["memory"]!["spilled_bytes"]!["host"]!;
        var latency = (double)r["latency_s"]!;
        output.WriteLine($"spilled {spilled / 1e9:F1} GB, step {latency * 1e3:F1} ms, stall on pcie {(double)r["memory"]!["stall_s_by_channel"]!["pcie"]! * 1e3:F1} ms");
        Assert.InRange(spilled / 1e9, 50, 62);
        Assert.Equal(spilled, (long)r["memory"]!["bytes_moved_by_channel"]!["pcie"]!);
        Assert.True(latency >= spilled / 64e9, $"{latency} s beats streaming {spilled} B over PCIe");
        Assert.True(latency <= 1.1 * spilled / (64e9 * 0.843));
        Assert.True((long)r["memory"]!["peak_bytes"]!["hbm"]! <= (long)r["memory"]!["capacity_bytes"]!["hbm"]!);
    }

    [Fact]
    public void KvSwapRunsWhatDoesNotFitAndPaysForTheCopies()
    {
        string[] args = ["run", "--hardware", "a100-80g", "--model", "llama2-13b", "--phase", "decode", "--context", "4000", "--batch", "20"];
        var fit = CliHarness.Run([.. args, "--placement", "fit"]);
        Assert.Equal(2, fit.ExitCode);
        Assert.Contains("--kv-policy swap", fit.Error);
        var resident = Json(args);
        var swap = Json([.. args, "--kv-policy", "swap"]);
        var spilled = (long)swap["memory"]!["spilled_bytes"]!["host"]!;
        Assert.True(spilled > 0);
        Assert.Equal(0, (long)swap["memory"]!["over_capacity_bytes"]!["hbm"]!);
        Assert.True((long)resident["memory"]!["over_capacity_bytes"]!["hbm"]! > 0);
        Assert.True((double)swap["latency_s"]! >= spilled / 32e9);
        Assert.True((double)swap["latency_s"]! > (double)resident["latency_s"]!);
        Assert.Equal(2, CliHarness.Run([.. args, "--kv-policy", "sometimes"]).ExitCode);
    }

    [Theory]
    [InlineData("h100", "pcie")]
    [InlineData("sn40l-8", "ddr")]
    public void ExpertSwitchesRunOverTheDevicesOwnPath(string hardware, string channel)
    {
        string[] step = ["run", "--hardware", hardware, "--model", "llama2-7b", "--phase", "decode"];
        var alone = Json(step);
        var coe = Json([.. step, "--experts", "2"]);
        var moved = (long)coe["memory"]!["bytes_moved_by_channel"]![channel]! - (long)alone["memory"]!["bytes_moved_by_channel"]![channel]!;
        Assert.InRange(moved / 2.0, 13e9, 14e9); // two 7B bf16 experts
        Assert.True((double)coe["latency_s"]! > (double)alone["latency_s"]!);
        output.WriteLine($"{hardware}: step {(double)alone["latency_s"]! * 1e3:F2} ms, with 2 switches {(double)coe["latency_s"]! * 1e3:F2} ms");
    }

    [Fact]
    public void RooflineCsvAndPlotAreWritten()
    {
        using var dir = new CliHarness.TempDir();
        var csv = dir.File("roofline.csv");
        var png = dir.File("roofline.png");
        var r = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--roofline", csv, "--roofline-plot", png, "--format", "json");
        Assert.True(r.ExitCode == 0, r.Error);
        var lines = File.ReadAllLines(csv);
        var ops = (int)JObject.Parse(r.Out)["workload"]!["ops"]!;
        Assert.Equal(ops + 1, lines.Length);
        Assert.StartsWith("id,name,kind,layer,engine,dtype,flops,bytes,arithmetic_intensity_flop_per_byte", lines[0]);
        // Every op sits on or under its roof.
        var header = lines[0].Split(',');
        var frac = Array.IndexOf(header, "fraction_of_roof");
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',')[^((header.Length - frac))];
            Assert.True(double.Parse(f, System.Globalization.CultureInfo.InvariantCulture) <= 1.0 + 1e-9, line);
        }
        var bytes = File.ReadAllBytes(png);
        Assert.True(bytes.Length > 1000);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, bytes.Take(4).ToArray());
        Assert.Equal(2, CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--roofline", dir.File("missing/x.csv")).ExitCode);
    }
}
