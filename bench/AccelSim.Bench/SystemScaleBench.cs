using System.Diagnostics;
using System.Globalization;
using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;
using AccelSim.Core.Systems;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel;

namespace AccelSim.Bench;

/// <summary>One training iteration of a model spread over a system, timed phase by phase: GPT-3 175B on 128
/// DGX A100 nodes (1024 GPUs), TP8 PP8 DP16, global batch 1536 of 2048 tokens, microbatch 1, 1F1B.</summary>
public static class SystemScaleBench
{
    public sealed record Case(string Model, string System, int Nodes, int Tp, int Pp, int Dp, long GlobalBatch, long Seq, bool Recompute, bool Fold = true, int? Layers = null);

    public static readonly Case Gpt3 = new("gpt3-175b", "dgx-a100", 128, 8, 8, 16, 1536, 2048, Recompute: false);

    public static void Run(TextWriter o, Case c)
    {
        var allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        var total = Stopwatch.StartNew();
        var watch = Stopwatch.StartNew();
        var model = c.Layers is not { } layers ? ModelConfigLoader.LoadNamed(c.Model) : WithLayers(c.Model, layers);
        var request = WorkloadRequest.Train(c.GlobalBatch, c.Seq, recompute: c.Recompute);
        var spec = SystemConfigLoader.LoadNamed(c.System);
        var fabric = SystemFabric.Build(spec, c.Nodes);
        var device = new GpuPlugin().Create(HardwareConfigLoader.LoadNamed(spec.Node.Device));
        var plan = ParallelPlan.Bind(new ParallelismOptions
        {
            Tp = c.Tp, Pp = c.Pp, Dp = c.Dp, Microbatch = 1, Schedule = PipelineScheduleKind.OneFOneB, Recompute = c.Recompute, Fold = c.Fold,
        }, model, request, systemRanks: fabric.Ranks);
        var setupMs = watch.Elapsed.TotalMilliseconds;

        watch.Restart();
        var program = ParallelTransform.Build(model, request, plan);
        var buildMs = watch.Elapsed.TotalMilliseconds;
        var buildBytes = GC.GetTotalAllocatedBytes(precise: true);
        var segments = 0L;
        foreach (var r in program.Ranks) segments += r.Segments.Count;

        watch.Restart();
        var sim = new SystemSimulator(program, fabric, _ => device, (d, g) => new SequentialSchedule().Map(g, d));
        var lowerMs = watch.Elapsed.TotalMilliseconds;
        var lowerBytes = GC.GetTotalAllocatedBytes(precise: true);
        var tasks = sim.Kernel.TaskCount;
        var transfers = sim.Kernel.TransferCount;

        watch.Restart();
        var result = sim.Run();
        var runMs = watch.Elapsed.TotalMilliseconds;
        var totalMs = total.Elapsed.TotalMilliseconds;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
        using var self = Process.GetCurrentProcess();
        self.Refresh();

        // Megatron-LM's model FLOPs per iteration (Narayanan et al., SC'21, eq. 3): 96 B s l h² (1 + s/6h + V/16lh)
        // with full recomputation (four forward passes' worth), 72 B s l h² (...) without (three).
        double b = c.GlobalBatch, s = c.Seq, l = model.NumHiddenLayers, h = model.HiddenSize, v = model.VocabSize;
        var factor = c.Recompute ? 96 : 72;
        var modelFlops = factor * b * s * l * h * h * (1 + s / (6 * h) + v / (16 * l * h));
        var iteration = result.MakespanS;
        var perGpu = modelFlops / iteration / fabric.Ranks;

        o.WriteLine($"# {program.Name} on {c.System} x{c.Nodes} ({fabric.Ranks} GPUs), {(c.Fold ? "folded: one data-parallel replica simulated" : "unfolded")}");
        o.WriteLine(Line("simulated_ranks", program.Ranks.Count.ToString(CultureInfo.InvariantCulture)));
        o.WriteLine(Line("segments", segments.ToString(CultureInfo.InvariantCulture)));
        o.WriteLine(Line("collectives", result.Collectives.Count.ToString(CultureInfo.InvariantCulture)));
        o.WriteLine(Line("collective_lowerings", sim.CollectiveLowerings.ToString(CultureInfo.InvariantCulture)) + "  # distinct shapes, each lowered once");
        o.WriteLine(Line("tasks", tasks.ToString(CultureInfo.InvariantCulture)));
        o.WriteLine(Line("transfers_before_run", transfers.ToString(CultureInfo.InvariantCulture)));
        o.WriteLine(Line("flows", result.Flows.Count.ToString(CultureInfo.InvariantCulture)));
        o.WriteLine(Line("events", result.EventCount.ToString(CultureInfo.InvariantCulture)));
        o.WriteLine(Line("setup_s", (setupMs / 1e3).ToString("F2", CultureInfo.InvariantCulture)));
        o.WriteLine(Line("program_build_s", (buildMs / 1e3).ToString("F2", CultureInfo.InvariantCulture)));
        o.WriteLine(Line("lower_s", (lowerMs / 1e3).ToString("F2", CultureInfo.InvariantCulture)));
        o.WriteLine(Line("run_and_collect_s", (runMs / 1e3).ToString("F2", CultureInfo.InvariantCulture)));
        o.WriteLine(Line("wall_s", (totalMs / 1e3).ToString("F2", CultureInfo.InvariantCulture)));
        o.WriteLine(Line("cpu_s", self.TotalProcessorTime.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture)) + "  # the process's CPU time, all threads (the wall time includes waiting for a busy machine)");
        o.WriteLine(Line("gc_collections", $"{GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}") + "  # gen 0/1/2");
        o.WriteLine(Line("peak_working_set_GB", (self.PeakWorkingSet64 / 1e9).ToString("F2", CultureInfo.InvariantCulture)));
        o.WriteLine(Line("gc_allocated_GB", (allocated / 1e9).ToString("F2", CultureInfo.InvariantCulture)) +
            $"  # build and setup {(buildBytes - allocated0) / 1e9:F2}, lower {(lowerBytes - buildBytes) / 1e9:F2}, run and collect {(allocated0 + allocated - lowerBytes) / 1e9:F2}");
        o.WriteLine(Line("iteration_s", iteration.ToString("F3", CultureInfo.InvariantCulture)));
        o.WriteLine(Line("model_tflops_per_gpu", (perGpu / 1e12).ToString("F1", CultureInfo.InvariantCulture)) +
            $"  # {factor} B s l h^2 (1 + s/6h + V/16lh), {(c.Recompute ? "with" : "without")} recomputation");
        // The fraction of peak Megatron-LM reports: of the device config's dense fp16 peak.
        var peak = device.PeakFlops(DType.Fp16);
        o.WriteLine(Line("percent_of_peak", (100 * perGpu / peak).ToString("F1", CultureInfo.InvariantCulture)) +
            $"  # of {(peak / 1e12).ToString("F0", CultureInfo.InvariantCulture)} TFLOP/s ({spec.Node.Device} fp16 dense, its config)");
        o.WriteLine(Line("result_hash", Fingerprint(result).ToString("x16", CultureInfo.InvariantCulture)));
    }

    /// <summary>A bundled model with fewer layers (its other sizes kept), for a run small enough to simulate unfolded.</summary>
    private static ModelConfig WithLayers(string name, int layers)
    {
        var bundled = ModelConfigLoader.LoadNamed(name);
        var json = (Newtonsoft.Json.Linq.JObject)bundled.Raw.DeepClone();
        json["n_layer"] = layers;
        return ModelConfigLoader.Parse(json, $"{name} with {layers} layers");
    }

    /// <summary>A hash of what a system run measures: makespan, events, every segment's times, every
    /// collective's times, every link's bytes and busy time, every rank's peak memory and energy.</summary>
    public static ulong Fingerprint(SystemResult r)
    {
        var h = 14695981039346656037UL;
        void Mix(long v) { h = (h ^ (ulong)v) * 1099511628211UL; }
        Mix(r.MakespanPs);
        Mix(r.EventCount);
        foreach (var rank in r.Ranks)
        {
            Mix(rank.Rank);
            foreach (var s in rank.Segments) { Mix(s.ReadyPs); Mix(s.StartPs); Mix(s.EndPs); Mix(s.FirstTask); Mix(s.TaskCount); }
            foreach (var t in rank.Memory) Mix(t.PeakBytes);
            Mix(rank.ComputeBusyPs); Mix(rank.MainMemoryBusyPs); Mix(rank.CommPs); Mix(rank.HiddenCommPs);
            Mix(BitConverter.DoubleToInt64Bits(rank.Metrics.Energy.TotalJ));
            Mix(rank.Metrics.TotalFlops);
        }
        foreach (var c in r.Collectives) { Mix(c.StartPs); Mix(c.EndPs); Mix(c.BytesOnWire); }
        foreach (var l in r.Links) { Mix(l.Bytes); Mix(l.BusyPs); }
        Mix(r.Flows.Count);
        foreach (var f in r.Flows) { Mix(f.StartPs); Mix(f.EndPs); }
        return h;
    }

    private static string Line(string name, string value) => $"{name}: {value}";
}
