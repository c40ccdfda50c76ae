using System.Runtime.CompilerServices;

namespace AccelSim.Core.Simulation;

/// <summary>The kernel's pending events: a binary min-heap ordered by (time, sequence), the sequence
/// being unique, so the pop order is a total order and runs are deterministic. An event is a time, a
/// sequence and an int payload, stored side by side in one array of structs (no boxing, no comparer).
/// <see cref="ReplaceTop"/> lets the loop hand the slot of the event it is processing to the first
/// event that processing schedules: one sift instead of a pop and a push.</summary>
internal sealed class EventQueue(int capacity)
{
    internal struct Entry
    {
        public long Time;
        public long Seq;
        public int Payload;
    }

    private Entry[] _heap = new Entry[Math.Max(4, capacity)];
    private int _count;

    public int Count => _count;

    public ref readonly Entry Top
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _heap[0];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Less(in Entry a, in Entry b) => a.Time < b.Time || (a.Time == b.Time && a.Seq < b.Seq);

    public void Push(long time, long seq, int payload)
    {
        var heap = _heap;
        if (_count == heap.Length)
        {
            // Sized before time zero for the whole run; growing is a fallback, not the hot path.
            Array.Resize(ref _heap, heap.Length * 2);
            heap = _heap;
        }
        var e = new Entry { Time = time, Seq = seq, Payload = payload };
        var i = _count++;
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            ref var p = ref heap[parent];
            if (!Less(e, p)) break;
            heap[i] = p;
            i = parent;
        }
        heap[i] = e;
    }

    /// <summary>Removes the earliest event.</summary>
    public void Pop()
    {
        var last = --_count;
        if (last > 0) SiftDown(_heap[last], last);
    }

    /// <summary>Removes the earliest event and adds another in one sift.</summary>
    public void ReplaceTop(long time, long seq, int payload) =>
        SiftDown(new Entry { Time = time, Seq = seq, Payload = payload }, _count);

    /// <summary>Places <paramref name="e"/> from the root down in a heap of <paramref name="count"/> entries.</summary>
    private void SiftDown(Entry e, int count)
    {
        var heap = _heap;
        var i = 0;
        while (true)
        {
            var child = 2 * i + 1;
            if (child >= count) break;
            if (child + 1 < count && Less(heap[child + 1], heap[child])) child++;
            if (!Less(heap[child], e)) break;
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = e;
    }
}

/// <summary>At most one pending completion per channel, keyed by (time, sequence) like the event
/// queue: an indexed min-heap, so a re-solve that moves a channel's completion updates its key in
/// place instead of leaving a superseded event behind. Keys sit in the heap's entries themselves (no
/// indirection through the channel to compare two of them).</summary>
internal sealed class ChannelTimers
{
    private struct Entry
    {
        public long Time, Seq;
        public int Channel;
    }

    private readonly Entry[] _heap;
    private readonly int[] _pos;
    private int _count;

    public ChannelTimers(int channels)
    {
        _heap = new Entry[Math.Max(1, channels)];
        _pos = new int[channels];
        Array.Fill(_pos, -1);
    }

    public int Count => _count;

    /// <summary>The channel with the earliest completion (only when <see cref="Count"/> is positive).</summary>
    public int TopChannel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _heap[0].Channel;
    }

    public long TopTime
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _heap[0].Time;
    }

    public long TopSeq
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _heap[0].Seq;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Less(in Entry a, in Entry b) => a.Time < b.Time || (a.Time == b.Time && a.Seq < b.Seq);

    /// <summary>Sets (or moves) channel <paramref name="c"/>'s completion.</summary>
    public void Set(int c, long time, long seq)
    {
        var e = new Entry { Time = time, Seq = seq, Channel = c };
        var i = _pos[c];
        if (i < 0)
        {
            SiftUp(_count++, e);
            return;
        }
        if (Less(_heap[i], e)) SiftDown(i, e);
        else SiftUp(i, e);
    }

    /// <summary>Drops channel <paramref name="c"/>'s completion, if it has one.</summary>
    public void Remove(int c)
    {
        var i = _pos[c];
        if (i < 0) return;
        _pos[c] = -1;
        var last = --_count;
        if (i == last) return;
        var moved = _heap[last];
        SiftDown(i, moved);
        var at = _pos[moved.Channel];
        SiftUp(at, _heap[at]);
    }

    /// <summary>Places <paramref name="e"/> at or above heap slot <paramref name="i"/>.</summary>
    private void SiftUp(int i, Entry e)
    {
        var heap = _heap;
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (!Less(e, heap[parent])) break;
            heap[i] = heap[parent];
            _pos[heap[i].Channel] = i;
            i = parent;
        }
        heap[i] = e;
        _pos[e.Channel] = i;
    }

    /// <summary>Places <paramref name="e"/> at or below heap slot <paramref name="i"/>.</summary>
    private void SiftDown(int i, Entry e)
    {
        var heap = _heap;
        var count = _count;
        while (true)
        {
            var child = 2 * i + 1;
            if (child >= count) break;
            if (child + 1 < count && Less(heap[child + 1], heap[child])) child++;
            if (!Less(heap[child], e)) break;
            heap[i] = heap[child];
            _pos[heap[i].Channel] = i;
            i = child;
        }
        heap[i] = e;
        _pos[e.Channel] = i;
    }
}
