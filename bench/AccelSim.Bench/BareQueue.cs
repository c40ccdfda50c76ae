namespace AccelSim.Bench;

/// <summary>The cost floor of any event loop: a bare <see cref="PriorityQueue{TElement,TPriority}"/>
/// with the kernel's event shape (a small struct element, a (time, sequence) struct key, no custom
/// comparer) holding a fixed number of pending events, popping the earliest and pushing a later one.</summary>
public static class BareQueue
{
    public readonly struct Event(byte kind, int index, int version)
    {
        public readonly byte Kind = kind;
        public readonly int Index = index;
        public readonly int Version = version;
    }

    public readonly struct Key(long time, long seq) : IComparable<Key>
    {
        public readonly long Time = time;
        public readonly long Seq = seq;

        public int CompareTo(Key other)
        {
            var c = Time.CompareTo(other.Time);
            return c != 0 ? c : Seq.CompareTo(other.Seq);
        }
    }

    public static PriorityQueue<Event, Key> Prefill(int pending)
    {
        var q = new PriorityQueue<Event, Key>(pending + 1);
        for (var i = 0; i < pending; i++) q.Enqueue(new Event(0, i, 0), new Key(Delay((uint)i), i));
        return q;
    }

    /// <summary>Pops and pushes <paramref name="operations"/> times; returns a checksum so the loop
    /// cannot be optimised away.</summary>
    public static long Run(PriorityQueue<Event, Key> q, long operations)
    {
        long seq = q.Count, check = 0;
        for (long i = 0; i < operations; i++)
        {
            q.TryDequeue(out var e, out var k);
            check += e.Index;
            q.Enqueue(new Event(e.Kind, e.Index, e.Version + 1), new Key(k.Time + Delay((uint)i), seq++));
        }
        return check;
    }

    private static long Delay(uint i) => 1000 + (i * 2654435761u) % 1_000_000;
}
