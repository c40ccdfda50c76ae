using System.Diagnostics;
using System.Globalization;
using AccelSim.Workloads.Configs;
using AccelSim.Plugins.Gpu;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Serving;

namespace AccelSim.Bench;

/// <summary>Serving speed: 10,000 requests of llama3-8b on one H100 under each batching policy, with the wall time,
/// the simulated time and their ratio (simulated seconds per wall second). The cost memo starts empty for every
/// policy, so its graph simulations count in the wall time.</summary>
public static class ServeBench
{
    public static void Run(TextWriter o, int requests = 10_000, double rate = 20)
    {
        var device = new GpuPlugin().Create(HardwareConfigLoader.LoadNamed("h100"));
        var model = ModelConfigLoader.LoadNamed("llama3-8b");
        var list = Arrivals.Generate(requests, rate, 1, LengthDistribution.Parse("lognormal:512,256", "--prompt-tokens"),
            LengthDistribution.Parse("lognormal:128,64", "--output-tokens"), seed: 1);
        var options = new SchedulerOptions();
        o.WriteLine(FormattableString.Invariant($"serve: {requests} requests of llama3-8b on h100, poisson {rate}/s, prompts lognormal(512, 256), outputs lognormal(128, 64)"));
        foreach (var id in BatchSchedulers.Ids)
        {
            var wall = Stopwatch.StartNew();
            var kv = KvCapacity.Plan(device, model, null, Workloads.Stacks.SoftwareStack.Fused, 16, options.MaxBatchedTokens, 0.9);
            var costs = new IterationCostModel(model, device);
            var result = ServingSimulator.Run(list, BatchSchedulers.Create(id), w => costs.Cost(w), new KvBlockManager(kv.Blocks, kv.BlockTokens), options, device.StaticPowerW);
            var s = ServingSummary.Compute(result, null);
            wall.Stop();
            var simulated = Core.Time.Ps.ToSeconds(result.MakespanPs);
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {id,-8} wall {wall.Elapsed.TotalSeconds,6:F2} s  simulated {simulated,8:F1} s  {simulated / wall.Elapsed.TotalSeconds,8:F1} sim-s/wall-s  {result.Iterations.Count,7} iterations  {costs.Signatures,5} signatures  TTFT p99 {s.TtftS.P99:G4} s  TPOT p99 {s.TpotS.P99:G4} s  {s.ThroughputTokensPerS:F0} tokens/s"));
        }
    }
}
