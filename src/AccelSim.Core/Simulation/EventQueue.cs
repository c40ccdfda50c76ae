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
/// place instead of leaving a superseded event behind.</summary>
internal sealed class ChannelTimers
{
    private readonly int[] _heap;
    private readonly int[] _pos;
    private readonly long[] _time;
    private readonly long[] _seq;
    private int _count;

    public ChannelTimers(int channels)
    {
        _heap = new int[Math.Max(1, channels)];
        _pos = new int[channels];
        _time = new long[channels];
        _seq = new long[channels];
        Array.Fill(_pos, -1);
    }

    public int Count => _count;

    /// <summary>The channel with the earliest completion (only when <see cref="Count"/> is positive).</summary>
    public int TopChannel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _heap[0];
    }

    public long TopTime
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _time[_heap[0]];
    }

    public long TopSeq
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _seq[_heap[0]];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Less(int a, int b) => _time[a] < _time[b] || (_time[a] == _time[b] && _seq[a] < _seq[b]);

    /// <summary>Sets (or moves) channel <paramref name="c"/>'s completion.</summary>
    public void Set(int c, long time, long seq)
    {
        var i = _pos[c];
        if (i < 0)
        {
            _time[c] = time;
            _seq[c] = seq;
            i = _count++;
            _heap[i] = c;
            _pos[c] = i;
            SiftUp(i);
            return;
        }
        var later = time > _time[c] || (time == _time[c] && seq > _seq[c]);
        _time[c] = time;
        _seq[c] = seq;
        if (later) SiftDown(i);
        else SiftUp(i);
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
        _heap[i] = moved;
        _pos[moved] = i;
        SiftDown(i);
        SiftUp(_pos[moved]);
    }

    private void SiftUp(int i)
    {
        var c = _heap[i];
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            var p = _heap[parent];
            if (!Less(c, p)) break;
            _heap[i] = p;
            _pos[p] = i;
            i = parent;
        }
        _heap[i] = c;
        _pos[c] = i;
    }

    private void SiftDown(int i)
    {
        var c = _heap[i];
        while (true)
        {
            var child = 2 * i + 1;
            if (child >= _count) break;
            if (child + 1 < _count && Less(_heap[child + 1], _heap[child])) child++;
            if (!Less(_heap[child], c)) break;
            _heap[i] = _heap[child];
            _pos[_heap[i]] = i;
            i = child;
        }
        _heap[i] = c;
        _pos[c] = i;
    }
}
