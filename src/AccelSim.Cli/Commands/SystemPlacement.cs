using System.CommandLine;
using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Plugins;
using AccelSim.Core.Systems;
using AccelSim.Reports;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel;

namespace AccelSim.Cli.Commands;

/// <summary>The single-device placement options (<c>--placement</c>, <c>--kv-policy</c>, <c>--experts</c>,
/// docs/memory.md) on a run on a system (docs/systems.md, "Memory placement per rank"):
/// <list type="bullet">
/// <item>A plan of one rank and one microbatch runs the single-device graph: the placement transforms it
/// against the rank's device exactly as <c>--hardware</c> does (every policy).</item>
/// <item><c>zero-infinity</c> on a ZeRO-3 training plan keeps every rank's parameter, gradient and optimizer
/// shards in host memory and on the drives, moved over the rank's host link (<see cref="ZeroInfinityOffload"/>).</item>
/// <item><c>fit</c>, <c>offload</c> and <c>--kv-policy swap</c> on a larger plan: every rank's memory is checked
/// after the run; one that fits changes nothing, one that does not is an error naming the rank and the tier
/// (streaming layers per rank is not modelled).</item>
/// </list></summary>
public sealed class SystemPlacement
{
    private readonly PlacementPolicy _policy;
    private readonly KvPolicy _kv;
    private readonly int _experts;
    private readonly Func<IDeviceModel> _device;
    private readonly bool _mixed;

    private SystemPlacement(PlacementPolicy policy, KvPolicy kv, int experts, Func<IDeviceModel> device, bool mixed)
    {
        _policy = policy;
        _kv = kv;
        _experts = experts;
        _device = device;
        _mixed = mixed;
    }

    /// <summary>The options given, or null when they are the defaults (resident, fit, no experts): the run is the plan's own.</summary>
    public static SystemPlacement? Of(ParseResult p, PlacementOptions options, SystemSpec spec, PluginRegistry registry, IReadOnlyList<string>? sets)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(spec);
        var name = p.GetValue(options.Placement)!;
        var kvName = p.GetValue(options.KvPolicy)!;
        if (!PlacementPolicies.TryParse(name, out var policy))
            throw new InputException(null, "--placement", $"expected {PlacementPolicies.Expected}, got '{name}'");
        if (!KvPolicies.TryParse(kvName, out var kv))
            throw new InputException(null, "--kv-policy", $"expected {KvPolicies.Expected}, got '{kvName}'");
        var experts = p.GetValue(options.Experts);
        if (policy == PlacementPolicy.Resident && kv == KvPolicy.Fit && experts == 0) return null;
        IDeviceModel? device = null;
        return new SystemPlacement(policy, kv, experts, () => device ??= registry.Create(CommonOptions.LoadHardware(spec.DeviceOf(0), sets)), spec.IsMixed);
    }

    /// <summary>The placement is applied to the single-device graph (a plan of one rank and one microbatch).</summary>
    public static bool IsSingleDevice(ParallelPlan plan) => plan.Ranks == 1 && plan.Microbatches == 1;

    /// <summary>The single-device graph as it runs under the options: experts composed in, then placed (as <c>--hardware</c>).</summary>
    public WorkloadGraph PlaceSingle(WorkloadGraph graph)
    {
        var device = _device();
        if (_experts != 0) graph = ExpertSwitching.Compose(graph, _experts, device);
        return Execution.Place(graph, device, _policy.Name(), _kv.Name());
    }

    /// <summary>ZeRO-Infinity's offload for a plan of more than one rank or microbatch, or null when the options
    /// leave the plan as it is (checked after the run, <see cref="Check"/>); what cannot combine is an error.</summary>
    public ZeroInfinityOffload? OffloadFor(ParallelPlan plan, WorkloadRequest request)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(request);
        var shape = $"tp x pp x dp = {plan.Tp} x {plan.Pp} x {plan.Dp}, {plan.Microbatches} microbatch{(plan.Microbatches == 1 ? "" : "es")}";
        if (_experts != 0)
            throw new InputException(null, "--experts", $"expert switching is modelled on one device; on a system it applies only to a plan of one rank and one microbatch (this plan: {shape})");
        if (_kv == KvPolicy.Swap && request.Phase == Phase.Train)
            throw new InputException(null, "--kv-policy", "swap moves a KV cache, and a training step has none; it applies to prefill and decode");
        switch (_policy)
        {
            case PlacementPolicy.SsdPipelined:
                throw new InputException(null, "--placement",
                    $"ssd-pipelined (Fuyou) is a single-GPU schedule; on a system it applies only to a plan of one rank and one microbatch (this plan: {shape}); zero-infinity offloads a ZeRO-3 plan");
            case PlacementPolicy.ZeroInfinity:
                break;
            default:
                return null;
        }
        if (request.Phase != Phase.Train)
            throw new InputException(null, "--placement", $"zero-infinity places a training step; the run is {request.Phase.Name()}: use --phase train");
        if (plan.Zero < 3)
            throw new InputException(null, "--zero",
                $"zero-infinity on a system offloads ZeRO-3's parameter, gradient and optimizer shards; give --zero 3 (got --zero {plan.Zero.ToString(CultureInfo.InvariantCulture)})");
        if (_mixed)
            throw new InputException(null, "--placement", "zero-infinity on a system needs every rank on one device kind; this system mixes node groups");
        var device = _device();
        var host = Placement.TierOfKind(device, TierKind.Host)
            ?? throw new InputException(null, "--placement", $"zero-infinity offloads to host memory, but {device.Name} describes none (host.memory_bytes)");
        if (device.Capabilities.HostCompute is not { HasHostCpu: true })
            throw new InputException(null, "--placement", $"zero-infinity runs the optimizer on the host CPU, but {device.Name} describes none (host.cpu.peak_flops, host.cpu.memory_bandwidth_Bps)");
        var topo = device.Topology;
        return new ZeroInfinityOffload(Placement.Tiers(device)[0], host, topo.Tiers[topo.TierIndex(host)].CapacityBytes, Placement.TierOfKind(device, TierKind.Storage));
    }

    /// <summary>After the run: under fit, offload or a KV swap (a plan they left as it is), every rank's memory
    /// fits each of its tiers, or an error names the ranks and tiers that do not.</summary>
    public void Check(SystemRunOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (outcome.Workload.Plan is not { } plan || IsSingleDevice(plan) || outcome.Workload.Offload is not null || outcome.Fits) return;
        var over = outcome.Result.Ranks.SelectMany(r => r.Memory.Where(t => t.Overflows).Select(t => (r.Rank, t))).ToArray();
        var (rank, worst) = over.MaxBy(x => x.t.PeakBytes - x.t.CapacityBytes);
        var what = _policy == PlacementPolicy.Fit ? "fit keeps everything in device memory"
            : _policy == PlacementPolicy.Offload ? "offload streams layers on one device; on a system of more than one rank it is not modelled (zero-infinity offloads a ZeRO-3 training plan)"
            : "--kv-policy swap swaps KV caches on one device; on a system of more than one rank it is not modelled";
        var option = _policy is PlacementPolicy.Fit or PlacementPolicy.Offload ? "--placement" : "--kv-policy";
        throw new InputException(null, option,
            $"{what}, and {over.Select(x => x.Rank).Distinct().Count()} rank(s) do not fit: rank {rank}'s {worst.Tier} needs {Quantities.Bytes(worst.PeakBytes)} of {Quantities.Bytes(worst.CapacityBytes)}; " +
            "try more ranks (--tp, --pp, --dp), --zero, --recompute or a smaller batch");
    }

}
