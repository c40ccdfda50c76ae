using AccelSim.Core.Network;
using AccelSim.Core.Simulation;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Core.Tests;

/// <summary>Flows over routes against a from-scratch progressive filling at every event of random
/// topologies, and against worked examples.</summary>
public class FlowNetworkTests
{
    public sealed record FlowCase(int Route, long StartPs, long Bytes, double Cap);

    public sealed record NetCase(double[] Bandwidth, long[] Latency, int[][] Routes, FlowCase[] Flows)
    {
        public override string ToString() =>
            "links [" + string.Join(", ", Bandwidth.Select((b, i) => $"{b:R} B/s {Latency[i]} ps")) + "] routes [" +
            string.Join(", ", Routes.Select(r => "(" + string.Join(" ", r) + ")")) + "] flows [" +
            string.Join(", ", Flows.Select(f => $"(r{f.Route} {f.StartPs} ps {f.Bytes} B cap {f.Cap:R})")) + "]";
    }

    private static Gen<NetCase> CaseGen() =>
        from links in Gen.Choose(1, 8)
        from bw in Gen.ArrayOf(Gen.Elements(1e9, 7.3e9, 1e11, 3e11, 2.5e12), links)
        from lat in Gen.ArrayOf(Gen.OneOf(Gen.Constant(0L), Gen.Choose(0, 50_000).Select(x => (long)x)), links)
        from nr in Gen.Choose(1, 6)
        from routes in Gen.ArrayOf(RouteGen(links), nr)
        from nf in Gen.Choose(1, 40)
        from flows in Gen.ArrayOf(FlowGen(nr, bw.Min()), nf)
        select new NetCase(bw, lat, routes, flows);

    private static Gen<int[]> RouteGen(int links) =>
        from hops in Gen.Choose(1, Math.Min(5, links))
        from keys in Gen.ArrayOf(Gen.Choose(0, 1_000_000), links)
        select Enumerable.Range(0, links).OrderBy(i => keys[i]).ThenBy(i => i).Take(hops).ToArray();

    private static Gen<FlowCase> FlowGen(int routes, double bw) =>
        from r in Gen.Choose(0, routes - 1)
        from start in Gen.OneOf(Gen.Constant(0L), Gen.Choose(0, 2_000_000).Select(x => (long)x), Gen.Choose(0, 20).Select(x => x * 100_000L))
        from bytes in Gen.OneOf(Gen.Choose(1, 4096), Gen.Choose(1, 1_000_000), Gen.Constant(65536))
        from cap in Gen.OneOf(
            Gen.Constant(double.PositiveInfinity),
            Gen.Constant(double.PositiveInfinity),
            Gen.Elements(bw / 2, bw / 3, bw / 8, bw / 40),
            Gen.Choose(1, 1000).Select(x => bw * x / 1000.0))
        select new FlowCase(r, start, bytes, cap);

    private static (FlowNetwork Net, int[] Routes) Build(NetCase c)
    {
        var net = new FlowNetwork(4);
        for (var l = 0; l < c.Bandwidth.Length; l++) net.AddLink(c.Bandwidth[l], c.Latency[l], 1.5 + l);
        var routes = c.Routes.Select(r => net.AddRoute(r)).ToArray();
        return (net, routes);
    }

    /// <summary>Progressive filling from scratch, the textbook way: raise every unfixed flow's rate by the
    /// largest common step that fills no link past its capacity and passes no cap, then fix the flows
    /// at a cap or on a full link.</summary>
    internal static double[] ReferenceMaxMin(double[] bandwidth, int[][] routes, double[] caps)
    {
        var n = routes.Length;
        var rate = new double[n];
        var fixedF = new bool[n];
        var left = n;
        while (left > 0)
        {
            var step = double.PositiveInfinity;
            for (var l = 0; l < bandwidth.Length; l++)
            {
                double used = 0;
                var users = 0;
                for (var f = 0; f < n; f++)
                    if (routes[f].Contains(l)) { used += rate[f]; if (!fixedF[f]) users++; }
                if (users > 0) step = Math.Min(step, (bandwidth[l] - used) / users);
            }
            for (var f = 0; f < n; f++) if (!fixedF[f]) step = Math.Min(step, caps[f] - rate[f]);
            step = Math.Max(0, step);
            for (var f = 0; f < n; f++) if (!fixedF[f]) rate[f] += step;
            for (var f = 0; f < n; f++)
            {
                if (fixedF[f]) continue;
                var full = rate[f] >= caps[f] * (1 - 1e-12);
                foreach (var l in routes[f])
                {
                    double used = 0;
                    for (var g = 0; g < n; g++) if (routes[g].Contains(l)) used += rate[g];
                    if (used >= bandwidth[l] * (1 - 1e-12)) full = true;
                }
                if (full) { fixedF[f] = true; left--; }
            }
        }
        return rate;
    }

    /// <summary>Runs a case: starts every flow at its time, advances event by event and at every event
    /// checks the rates of all moving flows against the reference and the laws. Returns each flow's
    /// completion time and the completions in order.</summary>
    private static (long[] Finish, List<FlowCompletion> Order, List<string> Problems) Run(NetCase c, bool check)
    {
        var (net, routes) = Build(c);
        var order = Enumerable.Range(0, c.Flows.Length).OrderBy(i => c.Flows[i].StartPs).ThenBy(i => i).ToArray();
        var finish = new long[c.Flows.Length];
        var handleToFlow = new Dictionary<int, int>();
        var delivered = new double[c.Flows.Length];
        var lastRate = new double[c.Flows.Length];
        var lastTime = 0L;
        var all = new List<FlowCompletion>();
        var problems = new List<string>();
        var k = 0;
        while (k < order.Length || net.FlowCount > 0)
        {
            var next = net.NextEventTime;
            if (k < order.Length && c.Flows[order[k]].StartPs < next)
            {
                var f = c.Flows[order[k]];
                net.AdvanceTo(f.StartPs);
                if (net.Completed.Length != 0) problems.Add("completion between events");
                Integrate(f.StartPs);
                handleToFlow[net.Start(routes[f.Route], f.Bytes, f.Cap, f.StartPs)] = order[k];
                k++;
                continue;
            }
            net.AdvanceTo(next);
            Integrate(next);
            foreach (var done in net.Completed)
            {
                var i = handleToFlow[done.Flow];
                handleToFlow.Remove(done.Flow);
                finish[i] = next;
                all.Add(done);
                if (done.Bytes != c.Flows[i].Bytes) problems.Add($"flow {i} delivered {done.Bytes} of {c.Flows[i].Bytes} bytes");
                // The bytes its rates moved: all of them, less under a picosecond of rate per rate change.
                var slack = 1e-6 * c.Flows[i].Bytes + 64;
                if (check && Math.Abs(delivered[i] - c.Flows[i].Bytes) > slack)
                    problems.Add($"flow {i} moved {delivered[i]:R} bytes by its rates, not {c.Flows[i].Bytes}");
                lastRate[i] = 0;
            }
            if (check) CheckRates(next);
        }
        // Per-link bytes are exact sums of whole flows.
        for (var l = 0; l < c.Bandwidth.Length; l++)
        {
            var expected = c.Flows.Where(f => c.Routes[f.Route].Contains(l)).Sum(f => f.Bytes);
            if (net.LinkBytes(l) != expected) problems.Add($"link {l} counted {net.LinkBytes(l)} bytes, not {expected}");
        }
        return (finish, all, problems);

        void Integrate(long t)
        {
            foreach (var (h, i) in handleToFlow) delivered[i] += lastRate[i] * (t - lastTime) / 1e12;
            lastTime = t;
            foreach (var (h, i) in handleToFlow) lastRate[i] = net.Rate(h);
        }

        void CheckRates(long t)
        {
            var active = handleToFlow.Keys.Where(net.IsActive).OrderBy(h => h).ToArray();
            var rs = active.Select(h => c.Routes[c.Flows[handleToFlow[h]].Route]).ToArray();
            var caps = active.Select(h => c.Flows[handleToFlow[h]].Cap).ToArray();
            var reference = ReferenceMaxMin(c.Bandwidth, rs, caps);
            var rates = active.Select(net.Rate).ToArray();
            for (var j = 0; j < active.Length; j++)
            {
                if (Math.Abs(rates[j] - reference[j]) > 1e-9 * reference[j])
                    problems.Add($"at {t} ps flow {handleToFlow[active[j]]} has rate {rates[j]:R}, reference {reference[j]:R}");
                if (rates[j] > caps[j] * (1 + 1e-12)) problems.Add($"at {t} ps flow {handleToFlow[active[j]]} is above its cap");
                // Max-min: at its cap, or crossing a full link where no flow moves faster.
                var bottleneck = rates[j] >= caps[j] * (1 - 1e-9);
                foreach (var l in rs[j])
                {
                    double used = 0, fastest = 0;
                    for (var g = 0; g < active.Length; g++)
                        if (rs[g].Contains(l)) { used += rates[g]; fastest = Math.Max(fastest, rates[g]); }
                    if (used >= c.Bandwidth[l] * (1 - 1e-9) && rates[j] >= fastest * (1 - 1e-9)) bottleneck = true;
                }
                if (!bottleneck) problems.Add($"at {t} ps flow {handleToFlow[active[j]]} could move faster");
            }
            for (var l = 0; l < c.Bandwidth.Length; l++)
            {
                double used = 0;
                for (var g = 0; g < active.Length; g++) if (rs[g].Contains(l)) used += rates[g];
                if (used > c.Bandwidth[l] * (1 + 1e-9)) problems.Add($"at {t} ps link {l} carries {used:R} B/s over {c.Bandwidth[l]:R}");
            }
        }
    }

    [Property(MaxTest = 200)]
    public Property Rates_are_the_unique_max_min_allocation_at_every_event() =>
        Prop.ForAll(CaseGen().ToArbitrary(), c =>
        {
            var (_, _, problems) = Run(c, check: true);
            return (problems.Count == 0).Label(string.Join("; ", problems.Take(5)));
        });

    [Property(MaxTest = 100)]
    public Property Same_inputs_give_the_same_completions_to_the_picosecond() =>
        Prop.ForAll(CaseGen().ToArbitrary(), c =>
        {
            var (a, oa, _) = Run(c, check: false);
            var (b, ob, _) = Run(c, check: false);
            return a.SequenceEqual(b) && oa.SequenceEqual(ob);
        });

    [Property(MaxTest = 100)]
    public Property Completion_is_start_plus_latency_plus_fluid_time_when_alone() =>
        Prop.ForAll(CaseGen().ToArbitrary(), c =>
        {
            var f = c.Flows[0];
            var alone = c with { Flows = [f with { StartPs = 0 }] };
            var (finish, _, _) = Run(alone, check: false);
            var route = c.Routes[f.Route];
            var rate = Math.Min(f.Cap, route.Min(l => c.Bandwidth[l]));
            var expected = route.Sum(l => c.Latency[l]) + (long)Math.Ceiling(f.Bytes / rate * 1e12);
            return (finish[0] == expected).Label($"finished at {finish[0]} ps, expected {expected} ps");
        });

    [Fact]
    public void One_link_matches_the_fair_share_channels()
    {
        var bytes = new long[] { 1000, 5000, 20000, 3000, 70000 };
        var starts = new long[] { 0, 0, 100_000, 150_000, 150_000 };
        var caps = new[] { double.MaxValue, 1e9, double.MaxValue, 3e9, double.MaxValue };
        var c = new NetCase([1e10], [0], [[0]], bytes.Select((b, i) => new FlowCase(0, starts[i], b, caps[i])).ToArray());
        var (finish, _, problems) = Run(c, check: true);
        Assert.Empty(problems);

        var channels = new FairShareChannels([1e10], [bytes.Length]);
        var expected = new long[bytes.Length];
        var done = new int[bytes.Length];
        var k = 0;
        while (k < bytes.Length || channels.Count(0) > 0)
        {
            var next = channels.Next(0);
            if (k < bytes.Length && starts[k] < next) { channels.Start(0, k, bytes[k], caps[k], starts[k]); k++; continue; }
            var ended = channels.Finish(0, next, done);
            for (var i = 0; i < ended; i++) expected[done[i]] = next;
        }
        Assert.Equal(expected, finish);
    }

    [Fact]
    public void Two_hops_share_the_bottleneck_worked_by_hand()
    {
        // Link 0: 10 GB/s, link 1: 4 GB/s. A crosses 0 then 1, B crosses 1 only, C crosses 0 only.
        // Link 1 is the bottleneck: A and B get 2 GB/s each; C takes what A leaves on link 0: 8 GB/s.
        var net = new FlowNetwork();
        net.AddLink(10e9, 0, 0);
        net.AddLink(4e9, 0, 0);
        var ra = net.AddRoute([0, 1]);
        var rb = net.AddRoute([1]);
        var rc = net.AddRoute([0]);
        var a = net.Start(ra, 2000, double.PositiveInfinity, 0);
        var b = net.Start(rb, 4000, double.PositiveInfinity, 0);
        var c = net.Start(rc, 16000, double.PositiveInfinity, 0);
        net.AdvanceTo(0);
        Assert.Equal(2e9, net.Rate(a));
        Assert.Equal(2e9, net.Rate(b));
        Assert.Equal(8e9, net.Rate(c));
        // A ends at 1 us (2000 B at 2 GB/s); then B takes all of link 1 (4 GB/s) and C all of link 0.
        Assert.Equal(1_000_000, net.NextEventTime);
        net.AdvanceTo(1_000_000);
        Assert.Equal(a, Assert.Single(net.Completed.ToArray()).Flow);
        Assert.Equal(4e9, net.Rate(b));
        Assert.Equal(10e9, net.Rate(c));
        // B has 2000 B left at 4 GB/s: 0.5 us. C had 8000 B left at 10 GB/s: 0.8 us.
        Assert.Equal(1_500_000, net.NextEventTime);
        net.AdvanceTo(1_500_000);
        Assert.Equal(1_800_000, net.NextEventTime);
        net.AdvanceTo(1_800_000);
        Assert.Equal(0, net.FlowCount);
    }

    [Fact]
    public void A_cap_below_the_fair_share_leaves_the_rest_to_the_others()
    {
        var net = new FlowNetwork();
        net.AddLink(9e9, 0, 0);
        var r = net.AddRoute([0]);
        var slow = net.Start(r, 1000, 1e9, 0);
        var x = net.Start(r, 1000, double.PositiveInfinity, 0);
        var y = net.Start(r, 1000, double.PositiveInfinity, 0);
        net.AdvanceTo(0);
        Assert.Equal(1e9, net.Rate(slow));
        Assert.Equal(4e9, net.Rate(x));
        Assert.Equal(4e9, net.Rate(y));
    }

    [Fact]
    public void Latency_delays_the_sharing_and_adds_to_the_completion()
    {
        var net = new FlowNetwork();
        net.AddLink(1e9, 300_000, 2);
        net.AddLink(1e9, 200_000, 3);
        var r = net.AddRoute([0, 1]);
        Assert.Equal(500_000, net.RouteLatency(r));
        var f = net.Start(r, 1000, double.PositiveInfinity, 1_000);
        net.AdvanceTo(400_000);
        Assert.Equal(0, net.Rate(f));
        Assert.Equal(501_000, net.NextEventTime);
        net.AdvanceTo(501_000);
        Assert.Equal(1e9, net.Rate(f));
        // 1000 B at 1 GB/s: 1 us after joining.
        Assert.Equal(1_501_000, net.NextEventTime);
        net.AdvanceTo(2_000_000);
        var done = Assert.Single(net.Completed.ToArray());
        Assert.Equal(1000, done.Bytes);
        Assert.Equal(5000.0, done.Energy_pJ);
        Assert.Equal(2000.0, net.LinkEnergy_pJ(0));
        Assert.Equal(3000.0, net.LinkEnergy_pJ(1));
    }

    [Fact]
    public void Zero_bytes_end_after_the_latency_and_the_empty_route_moves_at_the_cap()
    {
        var net = new FlowNetwork();
        net.AddLink(1e9, 7_000, 1);
        var r = net.AddRoute([0]);
        var empty = net.AddRoute([]);
        var zero = net.Start(r, 0, double.PositiveInfinity, 0);
        var capped = net.Start(empty, 1000, 2e9, 0);
        var free = net.Start(empty, 1000, double.PositiveInfinity, 0);
        net.AdvanceTo(0);
        Assert.Equal(free, Assert.Single(net.Completed.ToArray()).Flow);
        Assert.Equal(7_000, net.NextEventTime);
        net.AdvanceTo(7_000);
        var z = Assert.Single(net.Completed.ToArray());
        Assert.Equal((zero, 0L, 0.0), (z.Flow, z.Bytes, z.Energy_pJ));
        Assert.Equal(500_000, net.NextEventTime);
        net.AdvanceTo(500_000);
        Assert.Equal(capped, Assert.Single(net.Completed.ToArray()).Flow);
        Assert.Equal(0, net.FlowCount);
    }

    [Fact]
    public void A_change_leaves_other_components_untouched()
    {
        var net = new FlowNetwork();
        net.AddLink(1e9, 0, 0);
        net.AddLink(1e9, 0, 0);
        var r0 = net.AddRoute([0]);
        var r1 = net.AddRoute([1]);
        var a = net.Start(r1, 1_000_000, double.PositiveInfinity, 0);
        net.AdvanceTo(0);
        var due = net.NextEventTime;
        net.Start(r0, 10, double.PositiveInfinity, 5);
        net.AdvanceTo(5);
        Assert.Equal(1e9, net.Rate(a));
        net.AdvanceTo(net.NextEventTime);
        Assert.Equal(due, net.NextEventTime);
    }

    [Fact]
    public void Starting_and_ending_flows_allocates_nothing_once_sized()
    {
        var net = new FlowNetwork(64);
        for (var l = 0; l < 8; l++) net.AddLink(1e10 * (l + 1), 100, 1);
        var routes = new int[8];
        for (var i = 0; i < 8; i++) routes[i] = net.AddRoute([i, (i + 1) % 8, (i + 3) % 8]);
        void Round(long t)
        {
            for (var i = 0; i < 32; i++) net.Start(routes[i % 8], 1000 + i * 37, i % 3 == 0 ? 2e9 : double.PositiveInfinity, t);
            while (net.FlowCount > 0) net.AdvanceTo(net.NextEventTime);
        }
        Round(0);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var k = 0; k < 20; k++) Round(net.Now);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        var net = new FlowNetwork();
        Assert.Throws<ArgumentOutOfRangeException>(() => net.AddLink(0, 0, 0));
        net.AddLink(1e9, 0, 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => net.AddRoute([1]));
        Assert.Throws<ArgumentException>(() => net.AddRoute([0, 0]));
        var r = net.AddRoute([0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => net.Start(r, -1, 1e9, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => net.Start(r, 1, 0, 0));
        net.AdvanceTo(10);
        Assert.Throws<ArgumentOutOfRangeException>(() => net.Start(r, 1, 1e9, 5));
    }
}
