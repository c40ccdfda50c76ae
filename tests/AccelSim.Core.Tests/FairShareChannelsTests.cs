using AccelSim.Core.Simulation;
using AccelSim.Core.Time;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Core.Tests;

/// <summary>The channel sharing structure against two references on random flow sets (random sizes,
/// start times and rate caps on either side of the fair share): a straightforward water-filling that
/// re-solves every flow from scratch at every event (finish times within a picosecond per earlier
/// completion, as event times are rounded to whole picoseconds), and the
/// eager form of the same arithmetic, which updates every flow whose rate changes at once (finish
/// times identical to the picosecond).</summary>
public class FairShareChannelsTests
{
    public sealed record FlowCase(long StartPs, long Bytes, double Cap);

    public sealed record ChannelCase(double Bandwidth, FlowCase[] Flows)
    {
        public override string ToString() =>
            $"bandwidth {Bandwidth:R}: " + string.Join(", ", Flows.Select(f => $"({f.StartPs} ps, {f.Bytes} B, cap {f.Cap:R})"));
    }

    private static readonly double[] Bandwidths = [1e9, 7.3e9, 1e11, 3e11, 2.5e12];

    private static Gen<ChannelCase> CaseGen() =>
        from bw in Gen.Elements(Bandwidths)
        from n in Gen.Choose(1, 40)
        from flows in Gen.ArrayOf(FlowGen(bw), n)
        select new ChannelCase(bw, flows);

    private static Gen<FlowCase> FlowGen(double bw) =>
        from start in Gen.OneOf(Gen.Constant(0L), Gen.Choose(0, 2_000_000).Select(x => (long)x), Gen.Choose(0, 20).Select(x => x * 100_000L))
        from bytes in Gen.OneOf(Gen.Choose(1, 4096), Gen.Choose(1, 1_000_000), Gen.Constant(65536))
        from cap in Gen.OneOf(
            Gen.Constant(double.MaxValue),
            Gen.Constant(double.MaxValue),
            Gen.Elements(bw / 2, bw / 3, bw / 8, bw / 7.1, bw / 40),
            Gen.Choose(1, 1000).Select(x => bw * x / 1000.0))
        select new FlowCase(start, bytes, cap);

    /// <summary>Drives one channel: flows start in order of start time (then index); a completion at
    /// or before the next start runs first. Returns each flow's finish time.</summary>
    private static long[] RunSharing(ChannelCase c)
    {
        var sharing = new FairShareChannels([c.Bandwidth], [c.Flows.Length]);
        var order = StartOrder(c);
        var finish = new long[c.Flows.Length];
        var done = new int[c.Flows.Length];
        var k = 0;
        while (k < order.Length || sharing.Count(0) > 0)
        {
            var next = sharing.Next(0);
            if (k < order.Length && c.Flows[order[k]].StartPs < next)
            {
                var f = c.Flows[order[k]];
                sharing.Start(0, order[k], f.Bytes, f.Cap, f.StartPs);
                k++;
                continue;
            }
            var ended = sharing.Finish(0, next, done);
            for (var i = 0; i < ended; i++) finish[done[i]] = next;
        }
        return finish;
    }

    private static int[] StartOrder(ChannelCase c) =>
        Enumerable.Range(0, c.Flows.Length).OrderBy(i => c.Flows[i].StartPs).ThenBy(i => i).ToArray();

    /// <summary>Water-filling from scratch at every event: every active flow's bytes are advanced at its
    /// rate, then all rates are re-solved and every due time recomputed.</summary>
    private static long[] ReferenceWaterFilling(ChannelCase c)
    {
        var order = StartOrder(c);
        var finish = new long[c.Flows.Length];
        var remaining = new double[c.Flows.Length];
        var rate = new double[c.Flows.Length];
        var due = new long[c.Flows.Length];
        var active = new List<int>();
        long now = 0, next = long.MaxValue;
        var k = 0;
        while (k < order.Length || active.Count > 0)
        {
            var t = k < order.Length && c.Flows[order[k]].StartPs < next ? c.Flows[order[k]].StartPs : next;
            foreach (var i in active)
                remaining[i] = Math.Max(0, remaining[i] - rate[i] * (t - now) / Ps.PerSecond);
            now = t;
            if (k < order.Length && c.Flows[order[k]].StartPs < next)
            {
                remaining[order[k]] = c.Flows[order[k]].Bytes;
                active.Add(order[k]);
                k++;
            }
            else
            {
                foreach (var i in active.Where(i => due[i] <= now)) finish[i] = now;
                active.RemoveAll(i => due[i] <= now);
            }
            var byCap = active.OrderBy(i => c.Flows[i].Cap).ThenBy(i => i).ToList();
            var avail = c.Bandwidth;
            for (var j = 0; j < byCap.Count; j++)
            {
                var share = avail / (byCap.Count - j);
                var cap = c.Flows[byCap[j]].Cap;
                rate[byCap[j]] = Math.Min(cap, share);
                avail -= rate[byCap[j]];
            }
            next = long.MaxValue;
            foreach (var i in active)
            {
                due[i] = now + (long)Math.Ceiling(remaining[i] / rate[i] * Ps.PerSecond);
                next = Math.Min(next, due[i]);
            }
        }
        return finish;
    }

    /// <summary>The kernel's arithmetic done eagerly: on every start or end, every flow whose rate
    /// changes has its bytes left and due time brought up to date at once.</summary>
    private static long[] ReferenceEager(ChannelCase c)
    {
        var order = StartOrder(c);
        var finish = new long[c.Flows.Length];
        var remaining = new double[c.Flows.Length];
        var rate = new double[c.Flows.Length];
        var last = new long[c.Flows.Length];
        var due = new long[c.Flows.Length];
        var active = new List<int>();
        long next = long.MaxValue;
        var k = 0;
        while (k < order.Length || active.Count > 0)
        {
            long now;
            if (k < order.Length && c.Flows[order[k]].StartPs < next)
            {
                var tr = order[k++];
                now = c.Flows[tr].StartPs;
                remaining[tr] = c.Flows[tr].Bytes;
                last[tr] = now;
                active.Add(tr);
                active.Sort((a, b) => c.Flows[a].Cap != c.Flows[b].Cap ? c.Flows[a].Cap.CompareTo(c.Flows[b].Cap) : a.CompareTo(b));
            }
            else
            {
                now = next;
                foreach (var i in active.Where(i => due[i] <= now)) finish[i] = now;
                active.RemoveAll(i => due[i] <= now);
            }
            next = long.MaxValue;
            var avail = c.Bandwidth;
            var shareOfRest = double.NaN;
            for (var j = 0; j < active.Count; j++)
            {
                var tr = active[j];
                if (double.IsNaN(shareOfRest))
                {
                    var share = avail / (active.Count - j);
                    if (c.Flows[tr].Cap < share) avail -= c.Flows[tr].Cap;
                    else shareOfRest = share;
                }
                var r = double.IsNaN(shareOfRest) ? c.Flows[tr].Cap : shareOfRest;
                if (r != rate[tr])
                {
                    var dt = now - last[tr];
                    if (dt > 0 && rate[tr] > 0) remaining[tr] = Math.Max(0, remaining[tr] - rate[tr] * dt / Ps.PerSecond);
                    last[tr] = now;
                    rate[tr] = r;
                    due[tr] = now + (long)Math.Ceiling(remaining[tr] / r * Ps.PerSecond);
                }
                next = Math.Min(next, due[tr]);
            }
        }
        return finish;
    }

    /// <summary>Event times are whole picoseconds, rounded up, so each completion before a flow's end can
    /// shift it by a picosecond depending on how the rounding of the two arithmetics falls, and a shift
    /// moves every later rate change, so shifts can add up through flows whose rates change with it:
    /// a flow may differ by one picosecond plus one per flow that ended before it, plus one part in
    /// 100,000 of its time (an error of the sharing itself would be off by whole transfer times).</summary>
    [Property(MaxTest = 300)]
    public Property Finish_times_match_water_filling_from_scratch_within_rounding() =>
        Prop.ForAll(CaseGen().ToArbitrary(), c =>
        {
            var got = RunSharing(c);
            var want = ReferenceWaterFilling(c);
            return got.Zip(want).All(p => Math.Abs(p.First - p.Second) <= 1 + want.Count(w => w < p.Second) + 1e-5 * p.Second)
                .Label($"got [{string.Join(", ", got)}], want [{string.Join(", ", want)}]");
        });

    [Property(MaxTest = 300)]
    public Property Finish_times_equal_the_eager_arithmetic_exactly() =>
        Prop.ForAll(CaseGen().ToArbitrary(), c =>
        {
            var got = RunSharing(c);
            var want = ReferenceEager(c);
            return got.SequenceEqual(want).Label($"got [{string.Join(", ", got)}], want [{string.Join(", ", want)}]");
        });

    [Fact]
    public void A_lone_flow_takes_bytes_over_bandwidth()
    {
        var sharing = new FairShareChannels([1e9], [1]);
        Assert.True(sharing.Start(0, 7, 1000, double.MaxValue, 0));
        Assert.Equal(Ps.PerMicrosecond, sharing.Next(0));
        var done = new int[1];
        Assert.Equal(1, sharing.Finish(0, Ps.PerMicrosecond, done));
        Assert.Equal(7, done[0]);
        Assert.Equal(long.MaxValue, sharing.Next(0));
    }

    [Fact]
    public void A_flow_moves_from_capped_to_the_fair_share_when_the_share_falls_below_its_cap()
    {
        // 1 GB/s shared by a flow capped at 0.4 GB/s and one uncapped: 0.4 + 0.6. When a third,
        // uncapped flow joins at 0.5 us, the share is 1/3 GB/s, below the cap: all three get 1/3.
        var sharing = new FairShareChannels([1e9], [3]);
        sharing.Start(0, 0, 1000, 4e8, 0);
        sharing.Start(0, 1, 1000, double.MaxValue, 0);
        Assert.Equal(1_666_667, sharing.Next(0));
        sharing.Start(0, 2, 1000, double.MaxValue, 500_000);
        // Flow 0 has 800 B left at 1/3 GB/s: 2.4 us more; flow 1 has 700 B left: 2.1 us more (the
        // share 1e9/3 is rounded, so the due time may round up by a picosecond).
        Assert.InRange(sharing.Next(0), 2_600_000, 2_600_001);
    }
}
