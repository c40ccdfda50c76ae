using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Workloads.Models;
using Xunit.Abstractions;

namespace AccelSim.Plugins.Fpga.Tests;

/// <summary>The seed papers' headline results, out of the configs and the workloads. Each test states
/// the paper's figure and the factor it allows; docs/devices/fpga.md and experiments/ hold the table.</summary>
public class ReproductionTests(ITestOutputHelper output)
{
    /// <summary>FlightLLM's decode setting: LLaMA2-7B, batch 1, one token after a 512-token context.</summary>
    private const long Context = 512;

    private const double AllowedFactor = 2.0;

    private static WorkloadGraph Decode() => FpgaTestSupport.Llama("llama2-7b", Phase.Decode, 1, Context);

    /// <summary>FlightLLM's compressed model: 4-bit weights with 2:4 sparsity on the sparse DSP chain.</summary>
    private static WorkloadGraph FlightLlmModel() => WeightFormat.Apply(Decode(), DType.Int4, new NmSparsity(2, 4));

    /// <summary>The GPU baselines: vLLM with SmoothQuant, 8-bit weights (W8A8).</summary>
    private static WorkloadGraph SmoothQuantModel() => WeightFormat.Apply(Decode(), DType.Int8, null);

    private static double TokensPerJ(RunMetrics m) => m.Workload.Tokens / m.Energy.TotalJ;

    private static double Price(string name) => FpgaTestSupport.Load(name).Number("cost.price_USD");

    private void Within(string what, double paper, double simulated)
    {
        output.WriteLine($"{what}: paper {paper:0.##}x, simulated {simulated:0.##}x (allowed factor {AllowedFactor})");
        Assert.InRange(simulated, paper / AllowedFactor, paper * AllowedFactor);
    }

    [Fact]
    public void FlightLlmU280VersusV100sEnergyAndCostEfficiency()
    {
        var fpga = FpgaTestSupport.Run(FlightLlmModel(), FpgaTestSupport.Model("u280"), "auto");
        var gpu = FpgaTestSupport.Run(SmoothQuantModel(), FpgaTestSupport.Gpu("v100s"));
        var gpuFp16 = FpgaTestSupport.Run(Decode(), FpgaTestSupport.Gpu("v100s"));
        output.WriteLine($"u280 int4 2:4: {fpga.TokensPerS:0.#} tok/s, {fpga.Energy.TotalJ / fpga.LatencyS:0.#} W, {TokensPerJ(fpga):0.###} tok/J");
        output.WriteLine($"v100s int8 weights: {gpu.TokensPerS:0.#} tok/s, {gpu.Energy.TotalJ / gpu.LatencyS:0.#} W, {TokensPerJ(gpu):0.###} tok/J");
        output.WriteLine($"v100s fp16 (information): {gpuFp16.TokensPerS:0.#} tok/s, {TokensPerJ(gpuFp16):0.###} tok/J");

        Within("energy efficiency u280/v100s", 6.0, TokensPerJ(fpga) / TokensPerJ(gpu));
        Within("cost efficiency u280/v100s", 1.8, fpga.TokensPerS / Price("u280") / (gpu.TokensPerS / Price("v100s")));
        // The FPGA's edge is memory bytes and power, not speed: its weights are 5x smaller than fp16.
        Assert.True(fpga.OffChipBytes < 0.25 * gpuFp16.OffChipBytes);
        Assert.True(fpga.Energy.TotalJ / fpga.LatencyS < 0.5 * (gpu.Energy.TotalJ / gpu.LatencyS));
    }

    [Fact]
    public void FlightLlmVhk158VersusA100Throughput()
    {
        var fpga = FpgaTestSupport.Run(FlightLlmModel(), FpgaTestSupport.Model("vhk158"), "auto");
        var gpu = FpgaTestSupport.Run(SmoothQuantModel(), FpgaTestSupport.Gpu("a100-80g"));
        var gpuFp16 = FpgaTestSupport.Run(Decode(), FpgaTestSupport.Gpu("a100-80g"));
        output.WriteLine($"vhk158 int4 2:4: {fpga.TokensPerS:0.#} tok/s; a100-80g int8 weights: {gpu.TokensPerS:0.#} tok/s; a100-80g fp16 (information): {gpuFp16.TokensPerS:0.#} tok/s");
        Within("throughput vhk158/a100", 1.2, fpga.TokensPerS / gpu.TokensPerS);
    }

    [Fact]
    public void AlwaysOnChipDecodeBeatsSpillingActivations()
    {
        // FlightLLM's always-on-chip decode: with no room for activations on chip, every activation
        // round-trips through HBM and the same decode is slower.
        var onChip = FpgaTestSupport.Seconds(FlightLlmModel(), FpgaTestSupport.Model("u280"), "dataflow");
        var off = FpgaTestSupport.Seconds(FlightLlmModel(), FpgaTestSupport.Model(FpgaTestSupport.Load("u280").With(("memory.sram.activation_fraction", 0.0))), "dataflow");
        output.WriteLine($"always-on-chip {onChip * 1e3:0.###} ms, activations through HBM {off * 1e3:0.###} ms");
        Assert.True(off > onChip);
    }

    /// <summary>Which execution mode <c>auto</c> gave the kernel's region: the task's note names it.</summary>
    private static string AutoMode(WorkloadGraph g, FpgaDeviceModel device)
    {
        var program = FpgaTestSupport.Schedule("auto").Map(g, device);
        if (program.Tasks.Count > 1) return "sequential";
        var note = program.Tasks[0].Cost.Note ?? "";
        return note.StartsWith("reconfigured", StringComparison.Ordinal) ? "reconfigured"
            : note.StartsWith("dataflow", StringComparison.Ordinal) ? "dataflow" : "sequential";
    }

    private static (double VsSequential, double VsDataflow, int Reconfigured) Intar(FpgaDeviceModel device, ITestOutputHelper? log = null)
    {
        double logSeq = 0, logDf = 0;
        var reconfigured = 0;
        var kernels = HdvKernels.Suite();
        foreach (var g in kernels)
        {
            var s = FpgaTestSupport.Seconds(g, device, "sequential");
            var d = FpgaTestSupport.Seconds(g, device, "dataflow");
            var a = FpgaTestSupport.Seconds(g, device, "auto");
            var r = AccelSim.Core.Time.Ps.ToSeconds(DataflowSchedule.Estimate(
                device.CostRegionReconfigured(new Region(g.TopologicalOrder(), g)), device.Topology));
            var mode = AutoMode(g, device);
            if (mode == "reconfigured") reconfigured++;
            log?.WriteLine($"{device.Name} {g.Info.Name}: sequential {s * 1e3:0.0000} ms, dataflow {d * 1e3:0.0000} ms, reconfigured {r * 1e3:0.0000} ms, auto {a * 1e3:0.0000} ms ({mode}); reconfigured/sequential {r / s:0.00000}");
            Assert.True(a <= Math.Min(Math.Min(s, d), r) * (1 + 1e-9), $"{g.Info.Name}: auto is not the fastest of the three");
            Assert.True(r <= s * (1 + 1e-9), $"{g.Info.Name}: keeping intermediates on chip made the sequence slower");
            logSeq += Math.Log(s / a);
            logDf += Math.Log(d / a);
        }
        return (Math.Exp(logSeq / kernels.Count), Math.Exp(logDf / kernels.Count), reconfigured);
    }

    [Fact]
    public void IntarAutoVersusDataflowAndSequentialOnHighDataVolumeVariationKernels()
    {
        var (vsSeq, vsDf, reconf) = Intar(FpgaTestSupport.Model("u280"), output);
        var (ddrSeq, ddrDf, ddrReconf) = Intar(FpgaTestSupport.Model(FpgaTestSupport.Load("u280").WithText("placement.activation_spill", "ddr")), output);
        output.WriteLine($"u280, spills through hbm: auto {vsSeq:0.###}x vs sequential, {vsDf:0.###}x vs dataflow (geometric means), reconfigured mode chosen for {reconf} of 5 kernels");
        output.WriteLine($"u280, spills through ddr: auto {ddrSeq:0.###}x vs sequential, {ddrDf:0.###}x vs dataflow (geometric means), reconfigured mode chosen for {ddrReconf} of 5 kernels");
        Within("InTAR auto vs dataflow (u280)", 1.8, vsDf);
        // InTAR's 7.1x over sequential is NOT reproduced, and this states what is: PINNED. Our
        // sequential runs every op on the whole 6,316-DSP array with its intermediates through HBM
        // (368 GB/s achievable), and these kernels carry hundreds of MACs per intermediate byte, so
        // op by op they stay compute-bound: the extra HBM traffic is hidden under the DSPs' time, and
        // keeping intermediates on chip (the reconfigured mode) saves little time on top of it.
        // InTAR's sequential baselines (32-52 DSPs for attention and FFN) lose 8-9x through their
        // HLS memory access (one pseudo-channel per buffer, single-beat requests not overlapped with
        // compute, K re-read per score row), which describes those designs, not the U280. A model
        // change that moved this outside the pinned range must be explained in experiments/intar/README.md.
        output.WriteLine($"InTAR auto vs sequential (u280): paper 7.1x, simulated {vsSeq:0.##}x (not reproduced; expected PINNED)");
        Assert.InRange(vsSeq, 1.0, 1.5);
        Assert.True(ddrSeq >= vsSeq, "slower spills must not narrow the gap to sequential");
        // The reconfigured mode (whole array per task, intermediates on chip) saves only the spill
        // traffic op by op hides under compute: through HBM it ties op by op on every kernel (a tie
        // keeps op by op); through DDR it wins where dataflow stalls at barriers and the spills show
        // (self-attention).
        Assert.True(ddrReconf >= 1, "with slow spills the reconfigured mode must win where the pipeline stalls at its barriers");
    }
}
