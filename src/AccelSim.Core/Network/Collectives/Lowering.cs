using System.Runtime.InteropServices;

namespace AccelSim.Core.Network.Collectives;

/// <summary>The algorithms: each lowers a collective over group positions 0..n-1 into a <see cref="SendPlan"/>.
/// Byte counts are split exactly (a part of a buffer cut in k is bytes·(j+1)/k - bytes·j/k), so the bytes on
/// the wire are whole multiples of the buffer where the algorithm says so.</summary>
internal static class Lowering
{
    /// <summary>Bytes of parts [a, b) of <paramref name="bytes"/> cut into <paramref name="parts"/>.</summary>
    internal static long Part(long bytes, int parts, int a, int b) =>
        (long)((Int128)bytes * b / parts - (Int128)bytes * a / parts);

    internal static bool IsPowerOfTwo(int n) => n > 0 && (n & (n - 1)) == 0;

    public static SendPlan Lower(CollectiveKind kind, CollectiveAlgorithm algorithm, long bytes, int n, Func<int, int> nodeOf, CollectiveOptions options)
    {
        var plan = new SendPlan();
        if (n < 2)
        {
            plan.Freeze();
            return plan;
        }
        var all = new int[n];
        for (var i = 0; i < n; i++) all[i] = i;
        var k = options.PipelineChunks;
        switch (algorithm, kind)
        {
            case (CollectiveAlgorithm.Ring, CollectiveKind.AllReduce):
                Rings(plan, n, 2 * (n - 1), bytes, nodeOf);
                break;
            case (CollectiveAlgorithm.Ring, CollectiveKind.ReduceScatter):
            case (CollectiveAlgorithm.Ring, CollectiveKind.AllGather):
                Rings(plan, n, n - 1, bytes, nodeOf);
                break;
            case (CollectiveAlgorithm.Ring, CollectiveKind.Broadcast):
                Chain(plan, all, bytes, k);
                break;
            case (CollectiveAlgorithm.Ring, CollectiveKind.Reduce):
                Array.Reverse(all);
                Chain(plan, all, bytes, k);
                break;
            case (CollectiveAlgorithm.Ring or CollectiveAlgorithm.Direct, CollectiveKind.SendRecv):
                for (var i = 0; i < n; i++) plan.Add(i, (i + 1) % n, bytes);
                break;
            case (CollectiveAlgorithm.Tree, CollectiveKind.AllReduce):
                Tree(plan, BinaryTree(n), bytes - bytes / 2, k, up: true, down: true);
                Tree(plan, SecondTree(n), bytes / 2, k, up: true, down: true);
                break;
            case (CollectiveAlgorithm.Tree, CollectiveKind.Broadcast or CollectiveKind.Reduce):
                Tree(plan, BinaryTree(n), bytes, k, up: kind == CollectiveKind.Reduce, down: kind == CollectiveKind.Broadcast);
                break;
            case (CollectiveAlgorithm.HalvingDoubling, CollectiveKind.AllReduce):
                HalvingDoubling(plan, n, bytes, reduceScatter: true, allGather: true);
                break;
            case (CollectiveAlgorithm.HalvingDoubling, CollectiveKind.ReduceScatter):
                HalvingDoubling(plan, n, bytes, reduceScatter: true, allGather: false);
                break;
            case (CollectiveAlgorithm.HalvingDoubling, CollectiveKind.AllGather):
                HalvingDoubling(plan, n, bytes, reduceScatter: false, allGather: true);
                break;
            case (CollectiveAlgorithm.Direct, _):
                Direct(plan, kind, n, bytes);
                break;
            case (CollectiveAlgorithm.Hierarchical, CollectiveKind.AllReduce):
                Hierarchical(plan, n, bytes, nodeOf);
                break;
            case (CollectiveAlgorithm.InNetwork, CollectiveKind.AllReduce):
                // Each rank's link carries the buffer up once and the result down once: a shift by one rank
                // loads every up-link and every down-link with the buffer, once, at the same time.
                for (var i = 0; i < n; i++) plan.Add(i, (i + 1) % n, bytes);
                break;
            default:
                throw new ArgumentException($"{algorithm} does not implement {kind}", nameof(algorithm));
        }
        // Indexed now, before the run, so the run itself allocates nothing for the plan.
        plan.Freeze();
        return plan;
    }

    private static (int Send, int Recv)[] NoCarry(int n)
    {
        var carry = new (int, int)[n];
        Array.Fill(carry, (-1, -1));
        return carry;
    }

    /// <summary>Ring steps over the group: one ring inside a node; across nodes with L ranks on each, L rings
    /// (NCCL's channels), each carrying 1/L of the buffer and crossing between nodes on its own rail. Ring c
    /// visits each node's ranks from local c onwards on even nodes and backwards to local c on odd ones, so a
    /// node is left from the local rank the next node is entered at: the hop joins two ranks of one local
    /// index (one NIC rail on a rail-optimized fabric), and every rail carries the same share.</summary>
    private static void Rings(SendPlan plan, int n, int steps, long bytes, Func<int, int> nodeOf)
    {
        var nodes = Nodes(n, nodeOf);
        var local = nodes[0].Length;
        if (nodes.Count == 1 || local == 1 || nodes.Exists(g => g.Length != local))
        {
            var all = new int[n];
            for (var i = 0; i < n; i++) all[i] = i;
            RingPhase(plan, all, steps, bytes, 0, NoCarry(n));
            return;
        }
        var order = new int[n];
        for (var c = 0; c < local; c++)
        {
            var k = 0;
            for (var g = 0; g < nodes.Count; g++)
                for (var j = 0; j < local; j++)
                    order[k++] = nodes[g][g % 2 == 0 ? (c + j) % local : ((c - 1 - j) % local + local) % local];
            RingPhase(plan, order, steps, Part(bytes, local, c, c + 1), 0, NoCarry(n));
        }
    }

    /// <summary>A ring over <paramref name="members"/> (member i sends to member i+1) for
    /// <paramref name="steps"/> steps; at step s member i sends part (i + shift - s) mod m of
    /// <paramref name="bytes"/> cut in m. A send waits for the member's own previous send and for the
    /// previous member's send of the previous step (the chunk it forwards); a first send waits for the
    /// member's carry (its last send and last receive of an earlier phase), which is updated.</summary>
    private static void RingPhase(SendPlan plan, int[] members, int steps, long bytes, int shift, (int Send, int Recv)[] carry)
    {
        var m = members.Length;
        if (m < 2 || steps == 0) return;
        var prev = new int[m];
        var cur = new int[m];
        for (var s = 0; s < steps; s++)
        {
            for (var i = 0; i < m; i++)
            {
                var chunk = (((i + shift - s) % m) + m) % m;
                var part = Part(bytes, m, chunk, chunk + 1);
                var before = i == 0 ? m - 1 : i - 1;
                cur[i] = s == 0
                    ? plan.Add(members[i], members[(i + 1) % m], part, carry[members[i]].Send, carry[members[i]].Recv)
                    : plan.Add(members[i], members[(i + 1) % m], part, prev[i], prev[before]);
            }
            (prev, cur) = (cur, prev);
        }
        for (var i = 0; i < m; i++) carry[members[i]] = (prev[i], prev[i == 0 ? m - 1 : i - 1]);
    }

    /// <summary>A pipelined chain along <paramref name="order"/>: the buffer cut in k chunks; hop h sends
    /// chunk j once it has arrived from hop h-1 and hop h's chunk j-1 has left.</summary>
    private static void Chain(SendPlan plan, int[] order, long bytes, int chunks)
    {
        var prevHop = new int[chunks];
        var cur = new int[chunks];
        Array.Fill(prevHop, -1);
        for (var h = 0; h + 1 < order.Length; h++)
        {
            for (var j = 0; j < chunks; j++)
                cur[j] = plan.Add(order[h], order[h + 1], Part(bytes, chunks, j, j + 1), prevHop[j], j == 0 ? -1 : cur[j - 1]);
            (prevHop, cur) = (cur, prevHop);
        }
    }

    /// <summary>NCCL's binary tree over positions 0..n-1 (the parent of each, -1 at the root 0): a position's
    /// parent clears its lowest set bit and sets the next one up, or only clears it when that is past the end.
    /// Odd positions are leaves; the root has one child.</summary>
    internal static int[] BinaryTree(int n)
    {
        var parent = new int[n];
        parent[0] = -1;
        for (var r = 1; r < n; r++)
        {
            var bit = r & -r;
            var up = (r ^ bit) | (bit << 1);
            parent[r] = up < n ? up : r ^ bit;
        }
        return parent;
    }

    /// <summary>The second tree of NCCL's double binary tree: the first mirrored (even n) or shifted by one
    /// (odd n), so the first tree's leaves are mostly the second's inner ranks.</summary>
    internal static int[] SecondTree(int n)
    {
        var first = BinaryTree(n);
        var parent = new int[n];
        for (var r = 0; r < n; r++)
        {
            if (n % 2 == 1)
            {
                var u = first[(r - 1 + n) % n];
                parent[r] = u < 0 ? -1 : (u + 1) % n;
            }
            else
            {
                var u = first[n - 1 - r];
                parent[r] = u < 0 ? -1 : n - 1 - u;
            }
        }
        return parent;
    }

    /// <summary>Height (edges) of the binary tree over n positions, or of the deeper of the double tree's two.</summary>
    internal static int TreeHeight(int n, bool doubleTree)
    {
        if (n < 2) return 0;
        var height = 0;
        foreach (var parent in doubleTree ? new[] { BinaryTree(n), SecondTree(n) } : [BinaryTree(n)])
            for (var r = 0; r < n; r++)
            {
                var depth = 0;
                for (var v = r; parent[v] >= 0; v = parent[v]) depth++;
                height = Math.Max(height, depth);
            }
        return height;
    }

    /// <summary>A tree pipelined in k chunks: up (reduce) a node sends chunk j to its parent once its children's
    /// chunk j has arrived and its own chunk j-1 has left; down (broadcast) a parent sends chunk j to a child
    /// once it holds chunk j (from its parent, or at the root from its children when reducing) and its chunk
    /// j-1 to that child has left.</summary>
    private static void Tree(SendPlan plan, int[] parent, long bytes, int chunks, bool up, bool down)
    {
        var n = parent.Length;
        var children = new List<int>[n];
        for (var v = 0; v < n; v++) children[v] = [];
        var root = -1;
        for (var v = 0; v < n; v++)
            if (parent[v] < 0) root = v;
            else children[parent[v]].Add(v);
        var bfs = new List<int>(n) { root };
        for (var i = 0; i < bfs.Count; i++) bfs.AddRange(children[bfs[i]]);
        var upSend = new int[n * chunks];
        var downSend = new int[n * chunks];
        Array.Fill(upSend, -1);
        Array.Fill(downSend, -1);
        var after = new List<int>(4);
        if (up)
        {
            for (var j = 0; j < chunks; j++)
            {
                var part = Part(bytes, chunks, j, j + 1);
                for (var i = n - 1; i > 0; i--)
                {
                    var v = bfs[i];
                    after.Clear();
                    foreach (var c in children[v]) after.Add(upSend[c * chunks + j]);
                    if (j > 0) after.Add(upSend[v * chunks + j - 1]);
                    upSend[v * chunks + j] = plan.Add(v, parent[v], part, CollectionsMarshal.AsSpan(after));
                }
            }
        }
        if (!down) return;
        for (var j = 0; j < chunks; j++)
        {
            var part = Part(bytes, chunks, j, j + 1);
            for (var i = 1; i < n; i++)
            {
                var v = bfs[i];
                var p = parent[v];
                after.Clear();
                if (p != root) after.Add(downSend[p * chunks + j]);
                else if (up) foreach (var c in children[root]) after.Add(upSend[c * chunks + j]);
                if (j > 0) after.Add(downSend[v * chunks + j - 1]);
                downSend[v * chunks + j] = plan.Add(p, v, part, CollectionsMarshal.AsSpan(after));
            }
        }
    }

    /// <summary>Recursive halving (reduce-scatter) then recursive doubling (all-gather) over the largest power of
    /// two p ≤ n; with n not a power of two (all-reduce only) the n - p extra ranks first send their buffer to a
    /// partner among the p and get the result back at the end (Rabenseifner). A step is an exchange
    /// (a send-receive: neither side moves before both have posted): a rank's send waits until both it and its
    /// partner have finished the previous step (sent, and received from their partners then); the first step
    /// waits for both sides' extra buffers.</summary>
    private static void HalvingDoubling(SendPlan plan, int n, long bytes, bool reduceScatter, bool allGather)
    {
        var p = 1 << (System.Numerics.BitOperations.Log2((uint)n));
        var extra = n - p;
        if (extra > 0 && !(reduceScatter && allGather))
            throw new ArgumentException($"halving-doubling reduce-scatter and all-gather need a power-of-two group, not {n} ranks");
        var log = System.Numerics.BitOperations.Log2((uint)p);
        var pre = new int[p];
        Array.Fill(pre, -1);
        for (var i = 0; i < extra; i++) pre[i] = plan.Add(p + i, i, bytes);
        var prev = new int[p];
        var cur = new int[p];
        Array.Copy(pre, prev, p);
        var prevDist = 0;
        var first = reduceScatter ? 0 : log;
        var last = allGather ? 2 * log : log;
        for (var t = first; t < last; t++)
        {
            var dist = t < log ? p >> (t + 1) : 1 << (t - log);
            for (var i = 0; i < p; i++)
            {
                var partner = i ^ dist;
                // Halving: the partner's half of the blocks both hold; doubling: the blocks this rank holds.
                var lo = t < log ? partner & ~(dist - 1) : i & ~(dist - 1);
                var part = Part(bytes, p, lo, lo + dist);
                cur[i] = t == first
                    ? plan.Add(i, partner, part, prev[i], prev[partner])
                    : plan.Add(i, partner, part, [prev[i], prev[i ^ prevDist], prev[partner], prev[partner ^ prevDist]]);
            }
            (prev, cur) = (cur, prev);
            prevDist = dist;
        }
        for (var i = 0; i < extra; i++) plan.Add(i, p + i, bytes, prev[i], prev[i ^ prevDist]);
    }

    private static void Direct(SendPlan plan, CollectiveKind kind, int n, long bytes)
    {
        switch (kind)
        {
            case CollectiveKind.AllToAll:
            case CollectiveKind.ReduceScatter:
                for (var i = 0; i < n; i++)
                    for (var j = 0; j < n; j++)
                        if (i != j) plan.Add(i, j, Part(bytes, n, j, j + 1));
                break;
            case CollectiveKind.AllGather:
                for (var i = 0; i < n; i++)
                    for (var j = 0; j < n; j++)
                        if (i != j) plan.Add(i, j, Part(bytes, n, i, i + 1));
                break;
            case CollectiveKind.AllReduce:
            {
                // Reduce-scatter, then each rank sends its reduced slice to every other once all of it has arrived.
                var into = new List<int>[n];
                for (var j = 0; j < n; j++) into[j] = [];
                for (var i = 0; i < n; i++)
                    for (var j = 0; j < n; j++)
                        if (i != j) into[j].Add(plan.Add(i, j, Part(bytes, n, j, j + 1)));
                for (var i = 0; i < n; i++)
                {
                    var reduced = plan.AddJoin(CollectionsMarshal.AsSpan(into[i]));
                    for (var j = 0; j < n; j++)
                        if (i != j) plan.Add(i, j, Part(bytes, n, i, i + 1), reduced);
                }
                break;
            }
            case CollectiveKind.Broadcast:
                for (var j = 1; j < n; j++) plan.Add(0, j, bytes);
                break;
            case CollectiveKind.Reduce:
                for (var j = 1; j < n; j++) plan.Add(j, 0, bytes);
                break;
            case CollectiveKind.SendRecv:
                for (var i = 0; i < n; i++) plan.Add(i, (i + 1) % n, bytes);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    /// <summary>Groups positions by node (in order of first appearance); every node must hold as many.</summary>
    internal static List<int[]> Nodes(int n, Func<int, int> nodeOf)
    {
        var index = new Dictionary<int, int>();
        var groups = new List<List<int>>();
        for (var i = 0; i < n; i++)
        {
            var node = nodeOf(i);
            if (!index.TryGetValue(node, out var g))
            {
                index[node] = g = groups.Count;
                groups.Add([]);
            }
            groups[g].Add(i);
        }
        return groups.ConvertAll(g => g.ToArray());
    }

    private static void Hierarchical(SendPlan plan, int n, long bytes, Func<int, int> nodeOf)
    {
        var nodes = Nodes(n, nodeOf);
        var local = nodes[0].Length;
        if (nodes.Exists(g => g.Length != local))
            throw new ArgumentException("a hierarchical all-reduce needs as many ranks on every node");
        var carry = NoCarry(n);
        // Intra-node reduce-scatter: member l ends holding slice (l + 1) mod L, fully reduced over its node.
        foreach (var g in nodes) RingPhase(plan, g, local - 1, bytes, 0, carry);
        // Inter-node all-reduce of that slice among the ranks of the same local index.
        var peers = new int[nodes.Count];
        for (var l = 0; l < local; l++)
        {
            for (var g = 0; g < nodes.Count; g++) peers[g] = nodes[g][l];
            var slice = Part(bytes, local, (l + 1) % local, (l + 1) % local + 1);
            RingPhase(plan, peers, 2 * (nodes.Count - 1), slice, 0, carry);
        }
        // Intra-node all-gather of the reduced slices.
        foreach (var g in nodes) RingPhase(plan, g, local - 1, bytes, 1, carry);
    }
}
