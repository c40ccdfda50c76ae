using System.Diagnostics;
using System.Globalization;
using AccelSim.Core.Network;

namespace AccelSim.Bench;

/// <summary>Ring all-reduce steps over a two-level fat-tree on <see cref="FlowNetwork"/>: every step,
/// each endpoint sends one chunk to its ring neighbour at once and the step ends when the last chunk
/// lands; 2(N-1) steps make one all-reduce. Prints flows per second and wall time, one
/// "name: value" line each. The permutation variant sends every endpoint's chunk across the spines.</summary>
public static class RoutesBench
{
    public static void Run(TextWriter o, int endpoints, int steps, bool permutation = false)
    {
        const int perLeaf = 16;
        var leaves = (endpoints + perLeaf - 1) / perLeaf;
        var spines = Math.Max(1, perLeaf / 2);
        var net = new FlowNetwork(endpoints * 2);
        // Endpoint up/down links (400 Gb/s NIC), leaf-spine links both ways (800 Gb/s). Synthetic figures
        // for a benchmark topology, not a hardware description.
        var up = new int[endpoints];
        var down = new int[endpoints];
        for (var e = 0; e < endpoints; e++)
        {
            up[e] = net.AddLink(50e9, 500_000, 5);
            down[e] = net.AddLink(50e9, 500_000, 5);
        }
        var leafUp = new int[leaves * spines];
        var leafDown = new int[leaves * spines];
        for (var i = 0; i < leaves * spines; i++)
        {
            leafUp[i] = net.AddLink(100e9, 300_000, 8);
            leafDown[i] = net.AddLink(100e9, 300_000, 8);
        }
        var routes = new int[endpoints];
        for (var e = 0; e < endpoints; e++)
        {
            // Ring: the next endpoint. Permutation: a fixed scatter (odd multiplier, so a bijection for a
            // power-of-two count) with the spine picked by a hash of both ends, as ECMP would: flows then
            // meet on shared spine links and the sharing components grow.
            var d = permutation ? (int)((e * 421L + 17) % endpoints) : (e + 1) % endpoints;
            int ls = e / perLeaf, ld = d / perLeaf;
            if (ls == ld) routes[e] = net.AddRoute([up[e], down[d]]);
            else
            {
                var s = permutation ? (e * 7 + d * 13) % spines : e % spines;
                routes[e] = net.AddRoute([up[e], leafUp[ls * spines + s], leafDown[ld * spines + s], down[d]]);
            }
        }
        const long chunk = 1 << 20;
        long flows = 0;
        void Steps(int count)
        {
            for (var k = 0; k < count; k++)
            {
                var now = net.Now;
                for (var e = 0; e < endpoints; e++) net.Start(routes[e], chunk + (e % 7) * 4096, double.PositiveInfinity, now);
                while (net.FlowCount > 0) net.AdvanceTo(net.NextEventTime);
                flows += endpoints;
            }
        }
        Steps(Math.Min(steps, 4)); // warm-up
        flows = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        Steps(steps);
        sw.Stop();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var rate = flows / sw.Elapsed.TotalSeconds;
        var target = 2L * (1024 - 1) * 1024;
        o.WriteLine($"# {(permutation ? "permutation" : "ring all-reduce")} steps: {endpoints} endpoints, {leaves} leaves x {spines} spines, {steps} steps, {flows} flows");
        o.WriteLine($"routes_flows: {flows}");
        o.WriteLine($"routes_wall_s: {sw.Elapsed.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture)}");
        o.WriteLine($"routes_flows_per_s: {rate.ToString("F0", CultureInfo.InvariantCulture)}");
        o.WriteLine($"routes_bytes_allocated_per_flow: {(allocated / (double)flows).ToString("F4", CultureInfo.InvariantCulture)}");
        o.WriteLine($"routes_simulated_ps: {net.Now}");
        o.WriteLine($"# {target} flows (one 1024-endpoint ring all-reduce) at this rate: {(target / rate).ToString("F1", CultureInfo.InvariantCulture)} s (linear extrapolation, not a measurement; where one component spans the fabric, the cost per flow grows with it)");
    }
}
