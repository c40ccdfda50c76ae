using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Memory;
using AccelSim.Core.Metrics;
using AccelSim.Core.Plugins;
using AccelSim.Core.Simulation;
using AccelSim.Reports;
using AccelSim.Workloads;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;
using FsCheck;
using FsCheck.Fluent;
using Newtonsoft.Json.Linq;

namespace AccelSim.Plugins.Specification;

/// <summary>The laws every device plugin obeys, checked the same way for every family. A plugin's test
/// project subclasses this class with the plugin, its bundled configs and the config paths that set
/// its bandwidths and peak arithmetic rates; xunit runs the laws in the subclass. A family for which a
/// law does not hold opts out of it by overriding the law's <c>...OptOut</c> property with the reason
/// (the law then only checks that a reason is given), never by leaving the law out.</summary>
public abstract class DevicePluginSpecification
{
    private const double Tolerance = 1e-9;

    /// <summary>The plugin under test.</summary>
    protected abstract IDevicePlugin Plugin { get; }

    /// <summary>The configs the laws run on (the family's bundled hardware).</summary>
    protected abstract IReadOnlyList<HardwareConfig> Configs { get; }

    /// <summary>The config paths of the device's bandwidths; the monotonicity law raises each on its own.</summary>
    protected abstract IReadOnlyList<string> BandwidthPaths(HardwareConfig config);

    /// <summary>The config paths of the device's peak arithmetic rates; the monotonicity law raises them together.</summary>
    protected abstract IReadOnlyList<string> PeakFlopsPaths(HardwareConfig config);

    /// <summary><paramref name="config"/> with <paramref name="path"/>'s bandwidth times <paramref name="factor"/> (&gt; 1).</summary>
    protected virtual HardwareConfig ScaleBandwidth(HardwareConfig config, string path, double factor) =>
        Set(config, (path, Number(config, path) * factor));

    /// <summary><paramref name="config"/> with every peak arithmetic rate times <paramref name="factor"/> (&gt; 1).
    /// A family whose peak is derived (DSPs times clock) overrides this.</summary>
    protected virtual HardwareConfig ScalePeakFlops(HardwareConfig config, double factor) =>
        Set(config, PeakFlopsPaths(config).Select(p => (p, Number(config, p) * factor)).ToArray());

    /// <summary>Random cases per property.</summary>
    protected virtual int PropertyCases => 100;

    /// <summary>Set (to the reason) where more bandwidth can make a run slower on this family.</summary>
    public virtual string? BandwidthMonotonicityOptOut => null;

    /// <summary>Set (to the reason) where more peak FLOP/s can make a run slower on this family.</summary>
    public virtual string? PeakFlopsMonotonicityOptOut => null;

    /// <summary>Set (to the reason) where an op can beat the roofline of the device's own card.</summary>
    public virtual string? RooflineFloorOptOut => null;

    /// <summary>Set (to the reason) where a dataflow schedule can move more off-chip bytes than the sequential one.</summary>
    public virtual string? DataflowBytesOptOut => null;

    // ---- Workloads -------------------------------------------------------------------------------

    /// <summary>A small decoder: a two-layer llama2-7b decode step (and prefill) keeps the laws fast.</summary>
    protected virtual IReadOnlyList<WorkloadGraph> SmallModels()
    {
        var path = BundledConfigs.Resolve("llama2-7b", BundledConfigs.ModelsDir, "model");
        var json = JObject.Parse(File.ReadAllText(path));
        json["num_hidden_layers"] = 2;
        var twoLayers = ModelConfigLoader.Parse(json, path);
        return
        [
            ModelBuilderRegistry.Default.Build(twoLayers, WorkloadRequest.Decode(2, 256)),
            ModelBuilderRegistry.Default.Build(twoLayers, WorkloadRequest.Prefill(1, 64)),
        ];
    }

    /// <summary>Random single ops: GEMMs of every aspect and attention over a KV cache.</summary>
    protected static Gen<WorkloadGraph> SingleOpGraphs() =>
        Gen.OneOf(
            from m in Gen.Elements(1L, 7L, 64L, 333L, 2048L)
            from n in Gen.Elements(64L, 256L, 1000L, 4096L)
            from k in Gen.Elements(64L, 512L, 4096L, 11008L)
            from d in Gen.Elements(DType.Bf16, DType.Fp16)
            select SingleOps.MatMul(m, n, k, d),
            from b in Gen.Elements(1L, 4L)
            from h in Gen.Elements(8L, 32L)
            from seq in Gen.Elements(1L, 128L)
            from ctx in Gen.Elements(0L, 512L, 4096L)
            select SingleOps.Attention(b, h, h, 128, seq, ctx + seq, DType.Bf16));

    /// <summary>The workloads the call-order law costs op by op: the small models and a whole
    /// llama2-70b decode step, whose weights (138 GB) overflow every bundled device's main memory, so that
    /// a placement that fills a tier in the order ops are asked would show.</summary>
    protected virtual IReadOnlyList<WorkloadGraph> CallOrderModels() =>
    [
        .. SmallModels(),
        ModelBuilderRegistry.Default.Build(ModelConfigLoader.LoadNamed("llama2-70b"), WorkloadRequest.Decode(1, 512)),
    ];

    // ---- Helpers ---------------------------------------------------------------------------------

    protected IDeviceModel Create(HardwareConfig config) => Plugin.Create(config);

    protected bool SupportsDataflow(IDeviceModel device) => device.Capabilities.Dataflow is not null;

    /// <summary>The schedules the device runs: sequential, and dataflow and auto where it fuses regions.</summary>
    protected IReadOnlyList<ISchedule> Schedules(IDeviceModel device) =>
        SupportsDataflow(device) ? [new SequentialSchedule(), new DataflowSchedule(auto: false), new DataflowSchedule(auto: true)] : [new SequentialSchedule()];

    protected static SimulationResult Simulate(WorkloadGraph graph, IDeviceModel device, ISchedule schedule) =>
        new Simulator(schedule.Map(graph, device), device).Run();

    protected static double Number(HardwareConfig config, string path) =>
        config.TryGet(path, out var v) && v.Number is { } d ? d : throw new KeyNotFoundException($"{config.Name}: no number at {path}");

    protected static HardwareConfig Set(HardwareConfig config, params (string Path, double Value)[] values) =>
        config.With(values.Select(v => new KeyValuePair<string, string>(v.Path, v.Value.ToString("R", CultureInfo.InvariantCulture))));

    private static long OffChipBytes(SimulationResult result, IDeviceModel device)
    {
        long bytes = 0;
        for (var c = 0; c < device.Topology.Channels.Count; c++)
            if (device.Topology.Channels[c].OffChip) bytes += result.ChannelBytes[c];
        return bytes;
    }

    private void Check<T>(Gen<T> gen, Func<T, bool> law) =>
        Prop.ForAll(gen.ToArbitrary(), law).Check(Config.QuickThrowOnFailure.WithMaxTest(PropertyCases));

    /// <summary>True where the family opted out of a law; the reason must say why.</summary>
    private static bool OptedOut(string? reason)
    {
        if (reason is null) return false;
        Assert.False(string.IsNullOrWhiteSpace(reason), "an opt-out states its reason");
        return true;
    }

    // ---- Laws ------------------------------------------------------------------------------------

    [Fact]
    public void EveryConfigBindsToADeviceOfThePluginsKind()
    {
        Assert.NotEmpty(Configs);
        foreach (var config in Configs)
        {
            var device = Create(config);
            Assert.Equal(Plugin.Kind, device.Kind);
            Assert.Equal(Plugin.Kind, config.Kind);
            var card = device.Describe();
            Assert.NotEmpty(card.PeakFlops);
            Assert.All(card.PeakFlops, p => Assert.True(p.Value > 0, $"{config.Name}: peak {p.Key} {p.Value}"));
            Assert.All(card.Bandwidths, b => Assert.True(b.Value > 0, $"{config.Name}: bandwidth {b.Name} {b.Value}"));
            Assert.InRange(device.MainMemoryChannel, 0, device.Topology.Channels.Count - 1);
        }
    }

    [Fact]
    public void CapabilitiesAreOneStableObjectOnTheDevicesOwnTiers()
    {
        foreach (var config in Configs)
        {
            var device = Create(config);
            var caps = device.Capabilities;
            Assert.NotNull(caps);
            Assert.Same(caps, device.Capabilities);
            if (caps.MemoryHierarchy is { } hierarchy)
            {
                Assert.NotEmpty(hierarchy.PlacementTiers);
                Assert.Equal(device.MainMemoryTier(), hierarchy.PlacementTiers[0]);
                Assert.All(hierarchy.PlacementTiers, t => device.Topology.TierIndex(t));
            }
            if (caps.Streaming is { } streaming) device.Topology.TierIndex(streaming.StreamTier);
        }
    }

    [Fact]
    public void ADeviceDerivedForCopiesKeepsItsCapabilitiesAndCostsOnItself()
    {
        foreach (var config in Configs)
        {
            var device = Create(config);
            if (device.Capabilities.CopyPowerBudget is not { } budget) continue;
            var derived = budget.WithCopies();
            Assert.Same(derived, derived.Capabilities.CopyPowerBudget?.WithCopies() ?? derived);
            Assert.Equal(Present(device.Capabilities), Present(derived.Capabilities));
            if (ReferenceEquals(derived, device)) continue;
            // A capability that is the device itself must be the derived device there, never the original.
            foreach (var member in Members(derived.Capabilities))
                Assert.False(ReferenceEquals(member, device), $"{config.Name}: a capability of the derived device costs on the original");
            Assert.Equal(device.Topology.Tiers, derived.Topology.Tiers);
            Assert.Equal(device.StaticPowerW, derived.StaticPowerW);
        }
    }

    [Fact]
    public void ChannelsAreMemoryChannelsOfATierOrLinks()
    {
        foreach (var config in Configs)
        {
            var device = Create(config);
            var topology = device.Topology;
            // Main memory is a tier; a link is named apart from every tier, as its traffic is reported under its name.
            Assert.Equal(ChannelRole.Memory, topology.Channels[device.MainMemoryChannel].Role);
            foreach (var c in topology.Channels)
            {
                if (c.IsLink) Assert.DoesNotContain(topology.Tiers, t => t.Name == c.Name);
                else topology.TierIndex(c.Tier!);
            }
            Assert.Equal(topology.TrafficNames.Count, topology.TrafficNames.Distinct().Count());
        }
    }

    private static object?[] Members(DeviceCapabilities c) =>
        [c.MemoryHierarchy, c.Streaming, c.HostCompute, c.CopyPowerBudget, c.HostDispatch, c.Dataflow, c.Reconfiguration];

    private static string Present(DeviceCapabilities c) => string.Concat(Members(c).Select(m => m is null ? '0' : '1'));

    [Fact]
    public void RunsAreDeterministicToTheByteOfTheReport()
    {
        foreach (var config in Configs)
            foreach (var graph in SmallModels())
            {
                var first = Create(config);
                foreach (var schedule in Schedules(first))
                {
                    var a = Simulate(graph, first, schedule);
                    var second = Create(config);
                    var b = Simulate(graph, second, schedule);
                    Assert.Equal(a.MakespanPs, b.MakespanPs);
                    Assert.Equal(a.TaskEndPs, b.TaskEndPs);
                    Assert.Equal(a.ChannelBytes, b.ChannelBytes);
                    var ja = JsonReport.ToJsonString(MetricsCalculator.Compute(a, first), includeOps: true);
                    var jb = JsonReport.ToJsonString(MetricsCalculator.Compute(b, second), includeOps: true);
                    Assert.Equal(ja, jb);
                }
            }
    }

    /// <summary>A cost never depends on call order: every op (and, on a dataflow device, every layer's
    /// region) of a placed graph costs the same, and every tensor lands in the same tier, whether asked
    /// first to last or last to first, on a fresh device or on one that has costed this graph and others
    /// before. The graph is costed on the device the schedules use for it (<see cref="CopyPowerBudget.For"/>).</summary>
    [Fact]
    public void CostsDoNotDependOnTheOrderTheyAreAskedIn()
    {
        foreach (var config in Configs)
        {
            var reused = Create(config);
            foreach (var model in CallOrderModels())
            {
                var graph = Placement.Apply(model, Create(config), PlacementPolicy.Resident).Graph;
                var forward = CostsInOrder(Create(config), graph, reverse: false);
                var what = $"{config.Name} {graph.Info.Name} {graph.Info.Phase}";
                Assert.Equal(forward, CostsInOrder(Create(config), graph, reverse: true));
                Assert.Equal(forward, CostsInOrder(reused, graph, reverse: true));
                Assert.Equal(forward, CostsInOrder(reused, graph, reverse: false));
                Assert.True(forward.Length > graph.Ops.Count, what);
            }
        }
    }

    /// <summary>Every op's cost, every region's cost and every tensor's tier, asked in graph order or in
    /// reverse, listed in graph order.</summary>
    private static string[] CostsInOrder(IDeviceModel device, WorkloadGraph graph, bool reverse)
    {
        var bound = CopyPowerBudget.For(graph, device);
        var ops = reverse ? graph.Ops.Reverse().ToArray() : graph.Ops.ToArray();
        var costs = new Dictionary<int, string>();
        foreach (var op in ops) costs[op.Id] = Fingerprint(bound.Cost(op));
        var tensors = reverse ? graph.Tensors.Reverse().ToArray() : graph.Tensors.ToArray();
        var tiers = new Dictionary<int, int>();
        foreach (var t in tensors) tiers[t.Id] = bound.PlaceTensor(t);
        var regions = new List<string>();
        if (bound is IDataflowDevice flow)
        {
            var groups = Regions.ByLayer(graph).Where(g => g.Count > 1 && g.All(o => o.Transfer is null)).ToArray();
            var order = Enumerable.Range(0, groups.Length).ToArray();
            if (reverse) Array.Reverse(order);
            var byIndex = new string[groups.Length];
            foreach (var i in order)
            {
                var region = new Region(groups[i], graph);
                byIndex[i] = Fingerprint(flow.CostRegion(region)) +
                             (bound is IReconfigurableDevice r ? " / " + Fingerprint(r.CostRegionReconfigured(region)) : "");
            }
            regions.AddRange(byIndex);
        }
        return
        [
            .. graph.Ops.Select(o => $"op {o.Id}: {costs[o.Id]}"),
            .. graph.Tensors.Select(t => $"tensor {t.Id}: tier {tiers[t.Id]}"),
            .. regions.Select((r, i) => $"region {i}: {r}"),
        ];
    }

    private static string Fingerprint(OpCost c) => string.Create(CultureInfo.InvariantCulture,
        $"{c.Engine}|{c.LatencyPs}|{c.ComputePs}|{c.MathPs}|{c.PowerLimit}|{c.ComputeEnergyPj:R}|{c.Note}|{Transfers(c)}");

    private static string Transfers(OpCost c) =>
        string.Join(";", c.Transfers.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Channel},{t.Bytes},{t.RateCap_Bps:R},{t.EnergyPj:R}")));

    [Fact]
    public void NoOpBeatsTheRooflineOfItsCard()
    {
        if (OptedOut(RooflineFloorOptOut)) return;
        var devices = Configs.Select(Create).ToArray();
        Check(from g in SingleOpGraphs() from d in Gen.Elements(devices) select (g, d), x =>
        {
            var (graph, device) = x;
            var card = device.Describe();
            var op = graph.Ops[0];
            var dtype = device.ComputeDType(op);
            var peak = card.PeakFlops.Where(p => p.Key == dtype).Select(p => p.Value).DefaultIfEmpty(0).Max();
            // Bytes may come from any tier the device has: the floor lets every channel of the card serve them at once.
            var bandwidth = card.Bandwidths.Sum(b => b.Value);
            var floor = Math.Max(peak > 0 ? op.Flops / peak : 0, op.Bytes / bandwidth);
            foreach (var schedule in Schedules(device))
            {
                var seconds = Core.Time.Ps.ToSeconds(Simulate(graph, device, schedule).MakespanPs);
                if (seconds < floor * (1 - Tolerance) - 1e-12) return false;
            }
            return true;
        });
    }

    [Fact]
    public void MoreBandwidthIsNeverSlower()
    {
        if (OptedOut(BandwidthMonotonicityOptOut)) return;
        var gen = from g in SingleOpGraphs()
                  from c in Gen.Elements(Configs.ToArray())
                  from p in Gen.Elements(BandwidthPaths(c).ToArray())
                  from f in Gen.Choose(101, 400)
                  select (g, c, p, f);
        Check(gen, x =>
        {
            var (graph, config, path, f) = x;
            var slow = Create(config);
            var fast = Create(ScaleBandwidth(config, path, f / 100.0));
            return Schedules(slow).All(s =>
                Simulate(graph, fast, s).MakespanPs <= Simulate(graph, slow, s).MakespanPs * (1 + Tolerance));
        });
    }

    [Fact]
    public void MorePeakFlopsIsNeverSlower()
    {
        if (OptedOut(PeakFlopsMonotonicityOptOut)) return;
        var gen = from g in SingleOpGraphs()
                  from c in Gen.Elements(Configs.ToArray())
                  from f in Gen.Choose(101, 400)
                  select (g, c, f);
        Check(gen, x =>
        {
            var (graph, config, f) = x;
            var slow = Create(config);
            var fast = Create(ScalePeakFlops(config, f / 100.0));
            return Schedules(slow).All(s =>
                Simulate(graph, fast, s).MakespanPs <= Simulate(graph, slow, s).MakespanPs * (1 + Tolerance));
        });
    }

    [Fact]
    public void MoreBandwidthOrPeakFlopsNeverSlowsASmallModel()
    {
        // The single-op laws above, on a whole (two-layer) decode step and prefill under every schedule:
        // each bandwidth doubled on its own, then the peaks doubled.
        var bandwidthOptedOut = OptedOut(BandwidthMonotonicityOptOut);
        var peakOptedOut = OptedOut(PeakFlopsMonotonicityOptOut);
        if (bandwidthOptedOut && peakOptedOut) return;
        foreach (var config in Configs)
        {
            var slow = Create(config);
            var faster = new List<(string What, IDeviceModel Device)>();
            if (!bandwidthOptedOut) faster.AddRange(BandwidthPaths(config).Select(p => (p, Create(ScaleBandwidth(config, p, 2)))));
            if (!peakOptedOut) faster.Add(("peak FLOP/s", Create(ScalePeakFlops(config, 2))));
            foreach (var graph in SmallModels())
                foreach (var schedule in Schedules(slow))
                {
                    var baseline = Simulate(graph, slow, schedule).MakespanPs;
                    foreach (var (what, fast) in faster)
                    {
                        var ps = Simulate(graph, fast, schedule).MakespanPs;
                        Assert.True(ps <= baseline * (1 + Tolerance),
                            $"{config.Name} {graph.Info.Name} {schedule.Name}: twice the {what} takes {ps} ps, more than {baseline} ps");
                    }
                }
        }
    }

    [Fact]
    public void SchedulingConservesTheGraphsOpsFlopsAndBytes()
    {
        foreach (var config in Configs)
        {
            var device = Create(config);
            foreach (var graph in SmallModels())
                foreach (var schedule in Schedules(device))
                {
                    var result = Simulate(graph, device, schedule);
                    var program = result.Program;
                    // Every op of the graph runs in exactly one task.
                    Assert.Equal(graph.Ops.Select(o => o.Id).Order(), program.Tasks.SelectMany(t => t.Ops).Select(o => o.Id).Order());
                    // The FLOPs of the run are the graph's.
                    var metrics = MetricsCalculator.Compute(result, device);
                    var graphFlops = graph.Ops.Sum(o => o.Flops);
                    Assert.Equal(graphFlops, metrics.TotalFlops);
                    Assert.Equal(graphFlops, metrics.Ops.Sum(o => o.Flops));
                    // The simulator moves the bytes the tasks' costs ask for, channel by channel.
                    for (var c = 0; c < device.Topology.Channels.Count; c++)
                    {
                        var channel = c;
                        var demanded = program.Tasks.Sum(t => t.Cost.Transfers.Where(d => d.Channel == channel).Sum(d => d.Bytes));
                        Assert.Equal(demanded, result.ChannelBytes[c]);
                    }
                    Assert.Equal(result.ChannelBytes.Sum(), result.TransferBytes.Sum());
                }
        }
    }

    [Fact]
    public void DataflowNeverMovesMoreOffChipBytesThanSequential()
    {
        if (OptedOut(DataflowBytesOptOut)) return;
        var any = false;
        foreach (var config in Configs)
        {
            var device = Create(config);
            if (!SupportsDataflow(device)) continue;
            any = true;
            foreach (var graph in SmallModels())
            {
                var sequential = OffChipBytes(Simulate(graph, device, new SequentialSchedule()), device);
                foreach (var schedule in new[] { new DataflowSchedule(auto: false), new DataflowSchedule(auto: true) })
                {
                    var fused = OffChipBytes(Simulate(graph, device, schedule), device);
                    Assert.True(fused <= sequential, $"{config.Name} {graph.Info.Name} {schedule.Name}: {fused} > {sequential} off-chip bytes");
                }
            }
        }
        // A family without IDataflowDevice runs a dataflow schedule op by op: the same bytes.
        if (!any)
            foreach (var config in Configs)
            {
                var device = Create(config);
                var graph = SmallModels()[0];
                Assert.Equal(OffChipBytes(Simulate(graph, device, new SequentialSchedule()), device),
                    OffChipBytes(Simulate(graph, device, new DataflowSchedule(auto: false)), device));
            }
    }
}
