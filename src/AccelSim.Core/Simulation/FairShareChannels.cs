using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("AccelSim.Core.Tests")]

namespace AccelSim.Core.Simulation;

/// <summary>Bandwidth channels shared max-min fairly (fluid) by the transfers flowing on them, each
/// transfer with its own rate cap. A channel's flows sit side by side in one array region, sorted by
/// cap (ties by id), so a re-solve walks contiguous memory: water-filling gives every flow whose cap
/// is below the fair share its cap, and every later one the share. A flow's bytes left and due time
/// are brought up to date only when its rate changes, so a flow whose rate holds keeps its due time
/// exactly. Storage is sized for the flows expected at once and doubles when a channel needs more (a
/// run that adds work as it goes); in steady state nothing here allocates.</summary>
internal sealed class FairShareChannels
{
    private struct Flow
    {
        public double Cap;
        public double Rate;
        public double Remaining;
        public long LastUpdate;
        public long Due;
        public int Id;
        public bool DueKnown;
    }

    private Flow[] _flows;
    private readonly int[] _base, _count;
    private readonly double[] _bandwidth;
    private readonly long[] _next;

    /// <param name="bandwidth_Bps">Each channel's bandwidth.</param>
    /// <param name="capacity">The flows each channel is expected to hold at once (more make it grow).</param>
    public FairShareChannels(IReadOnlyList<double> bandwidth_Bps, IReadOnlyList<int> capacity)
    {
        var channels = bandwidth_Bps.Count;
        _bandwidth = new double[channels];
        _base = new int[channels + 1];
        _count = new int[channels];
        _next = new long[channels];
        for (var c = 0; c < channels; c++)
        {
            _bandwidth[c] = bandwidth_Bps[c];
            _base[c + 1] = _base[c] + Math.Max(1, capacity[c]);
            _next[c] = long.MaxValue;
        }
        _flows = new Flow[Math.Max(1, _base[channels])];
    }

    /// <summary>Flows on channel <paramref name="c"/> now.</summary>
    public int Count(int c) => _count[c];

    /// <summary>When channel <paramref name="c"/>'s earliest flow is due; <see cref="long.MaxValue"/> when idle.</summary>
    public long Next(int c) => _next[c];

    /// <summary>Starts flow <paramref name="id"/> of <paramref name="bytes"/> on channel <paramref name="c"/>
    /// at <paramref name="now"/> and re-solves the channel. Returns whether the channel's earliest due
    /// time moved.</summary>
    public bool Start(int c, int id, long bytes, double cap_Bps, long now)
    {
        var start = _base[c];
        var n = _count[c];
        if (n == _base[c + 1] - start) Grow(c);
        var flows = _flows;
        // Insert keeping the flows sorted by cap, ties by id (deterministic).
        var pos = start + n;
        while (pos > start && (flows[pos - 1].Cap > cap_Bps || (flows[pos - 1].Cap == cap_Bps && flows[pos - 1].Id > id)))
        {
            flows[pos] = flows[pos - 1];
            pos--;
        }
        // Due stays 0 until a non-zero rate sets it (a flow held at rate 0 is due at once).
        flows[pos] = new Flow { Cap = cap_Bps, Rate = 0, Remaining = bytes, LastUpdate = now, Due = 0, DueKnown = true, Id = id };
        _count[c] = n + 1;
        var next = Resolve(c, now);
        if (next == _next[c]) return false;
        _next[c] = next;
        return true;
    }

    /// <summary>Doubles channel <paramref name="c"/>'s room, moving the later channels' regions up.</summary>
    private void Grow(int c)
    {
        var extra = _base[c + 1] - _base[c];
        var grown = new Flow[_flows.Length + extra];
        Array.Copy(_flows, 0, grown, 0, _base[c + 1]);
        Array.Copy(_flows, _base[c + 1], grown, _base[c + 1] + extra, _flows.Length - _base[c + 1]);
        for (var k = c + 1; k < _base.Length; k++) _base[k] += extra;
        _flows = grown;
    }

    /// <summary>Ends every flow on channel <paramref name="c"/> due at or before <paramref name="now"/>,
    /// writing their ids to <paramref name="done"/> in the channel's order, and re-solves the rest.
    /// Returns how many ended.</summary>
    public int Finish(int c, long now, int[] done)
    {
        var flows = _flows;
        var start = _base[c];
        var end = start + _count[c];
        int kept = start, ended = 0;
        for (var i = start; i < end; i++)
        {
            if (IsDue(ref flows[i], now)) done[ended++] = flows[i].Id;
            else if (kept++ != i) flows[kept - 1] = flows[i];
        }
        _count[c] = kept - start;
        _next[c] = Resolve(c, now);
        return ended;
    }

    /// <summary>Whether a flow is due by <paramref name="now"/>. A due time not yet computed is computed
    /// only when the flow could be due: bytes left within a picosecond and a margin of what its rate
    /// moves by then (a multiplication, where the exact due time takes a division).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsDue(ref Flow f, long now)
    {
        if (!f.DueKnown)
        {
            if (f.Rate > 0 && f.Remaining > (now - f.LastUpdate + 1) * (f.Rate * 1.000001e-12)) return false;
            f.Due = DueOf(in f);
            f.DueKnown = true;
        }
        return f.Due <= now;
    }

    /// <summary>When a flow moving at its rate since its last update ends: exactly the arithmetic of an
    /// eager update, so computing it late changes nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    /// A due time past the clock's range throws <see cref="OverflowException"/> (the simulator reports it).
    private static long DueOf(in Flow f)
    {
        var ps = Math.Ceiling(f.Remaining / f.Rate * Time.Ps.PerSecond);
        // NaN (nothing left at rate 0) fails both tests: due at once. Bytes left and rates are never
        // negative, so a ps below 2^63 converts exactly and needs no checked conversion.
        if (ps < long.MaxValue) return checked(f.LastUpdate + unchecked((long)ps));
        return ps >= long.MaxValue ? throw new OverflowException("a transfer's due time leaves the picosecond clock's range") : f.LastUpdate;
    }

    /// <summary>Max-min fair rates with per-flow caps (water-filling over caps sorted ascending).
    /// Returns the earliest due time. A flow's bytes left are brought up to now only when its rate
    /// changes, and its due time is then computed lazily: the flows that take the fair share all
    /// restart now at one rate, so the first of them to end is the one with the fewest bytes left, and
    /// only its due time is needed for the channel's next completion.</summary>
    private long Resolve(int c, long now)
    {
        var flows = _flows;
        var start = _base[c];
        var end = start + _count[c];
        var avail = _bandwidth[c];
        var next = long.MaxValue;
        // The bytes a rate moved over an interval, shared by every flow that had that rate over it.
        double lastOld = double.NaN, lastMoved = 0;
        long lastDt = -1;
        var i = start;
        // Capped flows below the fair share take their cap; from the first one whose cap reaches the
        // share, every later one (caps ascend) gets that same share.
        for (; i < end; i++)
        {
            ref var f = ref flows[i];
            // Is the cap below the share avail / (end - i)? Decided by a multiplication unless the two
            // are within a part in 10^7, where the division decides exactly as it always did.
            var k = end - i;
            var scaled = f.Cap * k;
            if (scaled > avail * 1.0000001) break;
            if (!(scaled < avail * 0.9999999) && !(f.Cap < avail / k)) break;
            avail -= f.Cap;
            SetRate(ref f, f.Cap, now, ref lastOld, ref lastDt, ref lastMoved);
            if (!f.DueKnown)
            {
                f.Due = DueOf(in f);
                f.DueKnown = true;
            }
            if (f.Due < next) next = f.Due;
        }
        if (i < end)
        {
            var fair = avail / (end - i);
            var first = -1;
            var fewest = double.PositiveInfinity;
            for (; i < end; i++)
            {
                ref var f = ref flows[i];
                // Only at a positive rate is the due time monotone in the bytes left.
                if (SetRate(ref f, fair, now, ref lastOld, ref lastDt, ref lastMoved) && fair > 0)
                {
                    if (first < 0 || f.Remaining < fewest)
                    {
                        first = i;
                        fewest = f.Remaining;
                    }
                    continue;
                }
                if (!f.DueKnown)
                {
                    f.Due = DueOf(in f);
                    f.DueKnown = true;
                }
                if (f.Due < next) next = f.Due;
            }
            if (first >= 0)
            {
                ref var f = ref flows[first];
                f.Due = DueOf(in f);
                f.DueKnown = true;
                if (f.Due < next) next = f.Due;
            }
        }
        return next;
    }

    /// <summary>Gives a flow its new rate; returns whether it changed. Bytes left are brought up to now
    /// only when the rate changes (the due time then becomes unknown until needed): a flow whose rate
    /// holds keeps its due time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SetRate(ref Flow f, double rate, long now, ref double lastOld, ref long lastDt, ref double lastMoved)
    {
        var old = f.Rate;
        if (rate == old) return false;
        var dt = now - f.LastUpdate;
        if (dt > 0 && old > 0)
        {
            if (old != lastOld || dt != lastDt)
            {
                lastOld = old;
                lastDt = dt;
                lastMoved = old * dt / Time.Ps.PerSecond;
            }
            var left = f.Remaining - lastMoved;
            f.Remaining = left < 0 ? 0 : left;
        }
        f.LastUpdate = now;
        f.Rate = rate;
        f.DueKnown = false;
        return true;
    }
}
