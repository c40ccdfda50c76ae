using System.Diagnostics;
using System.Globalization;
using AccelSim.Cli;

namespace AccelSim.Bench;

/// <summary>Sweep speed: an N-point single-device sweep (Llama-2-7B decode on one H100; batch, context and
/// HBM bandwidth varied) through the real <c>accelsim sweep</c> path into a temporary DuckDB file, with
/// points per wall second, points per CPU second and the projected wall time of 10,000 points.</summary>
public static class SweepBench
{
    public static void Run(TextWriter o, int points = 1000, int? jobs = null)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (points < 1) throw new ArgumentOutOfRangeException(nameof(points), "at least one point");
        var dir = Path.Combine(Path.GetTempPath(), "accelsim-sweep-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var spec = Path.Combine(dir, "spec.json");
            File.WriteAllText(spec, Spec(points));
            var db = Path.Combine(dir, "bench.duckdb");
            var args = new List<string> { "sweep", spec, "--db", db };
            if (jobs is { } j) args.AddRange(["--jobs", j.ToString(CultureInfo.InvariantCulture)]);
            var stdout = new StringWriter(CultureInfo.InvariantCulture);
            var stderr = new StringWriter(CultureInfo.InvariantCulture);
            var process = Process.GetCurrentProcess();
            var cpu0 = process.TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            var code = AccelSimApp.Run([.. args], stdout, stderr);
            wall.Stop();
            process.Refresh();
            var cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
            if (code != 0) throw new InvalidOperationException($"sweep failed ({code}): {stderr}");
            var rate = points / wall.Elapsed.TotalSeconds;
            o.WriteLine(stdout.ToString().TrimEnd());
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sweep: {points} points of llama2-7b decode on h100, jobs {jobs ?? Environment.ProcessorCount} on {Environment.ProcessorCount} cores: wall {wall.Elapsed.TotalSeconds:F1} s, cpu {cpu:F1} s"));
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sweep_points_per_s: {rate:F1}"));
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sweep_points_per_cpu_s: {points / cpu:F1}"));
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"projected 10000 points: {10_000 / rate:F0} s wall ({10_000 / rate / 60:F1} min)"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A grid of exactly <paramref name="points"/> points: 8 batch sizes by 5 contexts by
    /// points/40 HBM bandwidths when 40 divides it, else one bandwidth axis of that many values.</summary>
    public static string Spec(int points)
    {
        static string Bandwidths(int n) => string.Join(", ", Enumerable.Range(0, n).Select(i => (1.0e12 + i * 1.0e9).ToString("R", CultureInfo.InvariantCulture)));
        var axes = points % 40 == 0
            ? $"\"batch\": [1, 2, 4, 8, 16, 32, 64, 128], \"context\": [128, 256, 512, 1024, 2048], \"set:memory.hbm.bandwidth_Bps\": [{Bandwidths(points / 40)}]"
            : $"\"set:memory.hbm.bandwidth_Bps\": [{Bandwidths(points)}]";
        return $$"""
            { "base": { "hardware": "h100", "model": "llama2-7b", "phase": "decode" },
              "axes": { {{axes}} } }
            """;
    }
}
