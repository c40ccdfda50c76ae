namespace AccelSim.Plugins.Fpga;

/// <summary>How the stages of a spatial pipeline that run at the same time share the design's HBM
/// pseudo-channels (<c>memory.hbm.ports</c>): each stage's tensors are laid out over whole channels in
/// proportion to its bytes, so the stages finish their traffic together and the pipeline draws the full
/// HBM rate. Pure and deterministic.
/// <para>The smallest stages, while together they hold no more than one channel's worth of bytes (norm
/// scales, residual vectors), take no channel of their own and share the channels of the stage with the
/// most bytes. Every other stage gets at least one channel; the remaining channels go one at a time to
/// the stage with the most bytes per channel so far (D'Hondt's highest averages, ties to the earlier
/// stage), which makes the slowest stage's bytes per channel as small as whole channels allow. With more
/// stages than channels the channels are time-shared in proportion to bytes.</para></summary>
public static class HbmChannelAllocation
{
    /// <summary>Whole channels per stage (<paramref name="bytes"/> per stage); a small stage that shares
    /// the largest stage's channels reports those; a stage with no bytes 0.</summary>
    public static int[] Channels(IReadOnlyList<long> bytes, int channels)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var (streamOf, streamChannels, _, _) = Allocate(bytes, channels);
        var result = new int[bytes.Count];
        for (var i = 0; i < result.Length; i++) result[i] = streamOf[i] < 0 ? 0 : streamChannels[streamOf[i]];
        return result;
    }

    /// <summary>Each stage's share of the HBM rate (0 for a stage with no bytes): its channels over
    /// <paramref name="channels"/>. The stage whose channels small stages share keeps its bytes' part of
    /// them (so its traffic and theirs together take what they would at that share); a small stage reads
    /// its bytes at those channels' rate. No stage, and so no pipeline, gets its bytes through faster than
    /// all of them at the full rate.</summary>
    public static double[] Shares(IReadOnlyList<long> bytes, int channels)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var share = new double[bytes.Count];
        long total = 0;
        var positive = 0;
        foreach (var b in bytes)
        {
            if (b <= 0) continue;
            total += b;
            positive++;
        }
        if (total == 0) return share;
        if (positive > channels)
        {
            for (var i = 0; i < share.Length; i++) share[i] = bytes[i] > 0 ? bytes[i] / (double)total : 0;
            return share;
        }
        var (streamOf, streamChannels, streamBytes, owner) = Allocate(bytes, channels);
        for (var i = 0; i < share.Length; i++)
        {
            var s = streamOf[i];
            if (s < 0) continue;
            // The owner of the channels gives the small stages riding on them their bytes' part of the
            // channels' time; a small stage reads its few bytes in a burst at the channels' full rate.
            share[i] = streamChannels[s] / (double)channels * (owner[s] == i ? bytes[i] / (double)streamBytes[s] : 1);
        }
        return share;
    }

    private static (int[] StreamOf, int[] StreamChannels, long[] StreamBytes, int[] Owner) Allocate(IReadOnlyList<long> bytes, int channels)
    {
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, "at least one channel");
        var n = bytes.Count;
        var streamOf = new int[n];
        long total = 0;
        var order = new List<int>(n);
        for (var i = 0; i < n; i++)
        {
            streamOf[i] = -1;
            if (bytes[i] <= 0) continue;
            total += bytes[i];
            order.Add(i);
        }
        if (order.Count == 0) return (streamOf, [], [], []);
        if (order.Count > channels)
        {
            // Time-shared: one stream per stage, one channel each (the shares are fluid, see Shares).
            var ones = new int[order.Count];
            var own = new long[order.Count];
            for (var s = 0; s < order.Count; s++)
            {
                streamOf[order[s]] = s;
                ones[s] = 1;
                own[s] = bytes[order[s]];
            }
            return (streamOf, ones, own, order.ToArray());
        }

        // The smallest stages, while together they hold at most one channel's worth (norm scales,
        // residual vectors), take no channel of their own: they ride on the channels of the stage with
        // the most bytes, sharing its channels' time in proportion to bytes.
        order.Sort((a, b) => bytes[a] != bytes[b] ? bytes[a].CompareTo(bytes[b]) : a.CompareTo(b));
        long small = 0;
        var grouped = 0;
        while (grouped < order.Count - 1 && (Int128)(small + bytes[order[grouped]]) * channels <= total)
            small += bytes[order[grouped++]];
        var rest = order.Skip(grouped).Order().ToList();
        var streamBytes = new long[rest.Count];
        for (var s = 0; s < rest.Count; s++)
        {
            streamOf[rest[s]] = s;
            streamBytes[s] = bytes[rest[s]];
        }
        var largest = 0;
        for (var s = 1; s < rest.Count; s++)
            if (streamBytes[s] > streamBytes[largest]) largest = s;
        for (var k = 0; k < grouped; k++) streamOf[order[k]] = largest;
        streamBytes[largest] += small;

        var ch = new int[streamBytes.Length];
        Array.Fill(ch, 1);
        for (var left = channels - ch.Length; left > 0; left--)
        {
            var best = 0;
            for (var s = 1; s < ch.Length; s++)
                if ((Int128)streamBytes[s] * ch[best] > (Int128)streamBytes[best] * ch[s]) best = s;
            ch[best]++;
        }
        return (streamOf, ch, streamBytes, rest.ToArray());
    }
}
