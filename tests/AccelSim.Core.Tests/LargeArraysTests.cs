using AccelSim.Core.Simulation;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Core.Tests;

/// <summary>The kernel's large arrays: advised for huge pages where the system offers them, but always
/// zeroed when new and holding their contents when resized, like the arrays they replace.</summary>
public class LargeArraysTests
{
    [Theory]
    [InlineData(10)]
    [InlineData(3_000_000)]
    public void A_new_array_is_zeroed_and_a_resized_one_keeps_its_contents(int length)
    {
        var a = LargeArrays.New<long>(length);
        Assert.Equal(length, a.Length);
        Assert.All(a, v => Assert.Equal(0, v));
        for (var i = 0; i < length; i++) a[i] = i * 7L;
        LargeArrays.Resize(ref a, length * 2);
        Assert.Equal(length * 2, a.Length);
        for (var i = 0; i < length; i++) Assert.Equal(i * 7L, a[i]);
        for (var i = length; i < length * 2; i++) Assert.Equal(0, a[i]);
    }

    [Property(MaxTest = 100)]
    public Property A_task_graph_readies_each_task_when_its_last_predecessor_ends() =>
        Prop.ForAll(Gen.Choose(1, 60).SelectMany(n => Gen.Choose(0, 1000).ArrayOf(n).Select(seed => (n, seed))).ToArbitrary(), input =>
        {
            // A random DAG: task i depends on up to three earlier tasks (many successors, many roots).
            var (n, seeds) = input;
            var preds = new int[n][];
            for (var i = 0; i < n; i++)
                preds[i] = i == 0 ? [] : Enumerable.Range(0, seeds[i] % 4).Select(k => (seeds[i] * 31 + k * 17) % i).Distinct().ToArray();
            var topology = new AccelSim.Core.Devices.DeviceTopology([new AccelSim.Core.Devices.EngineSpec("a", 2)],
                [new AccelSim.Core.Devices.ChannelSpec("m", 1e11, 100, "m", true)], [new AccelSim.Core.Devices.TierSpec("m", 1L << 40, true)]);
            var kernel = new Kernel(topology);
            var graph = new TaskGraphProcess(kernel);
            for (var i = 0; i < n; i++)
            {
                var t = graph.TaskOf(graph.Add(0, 1000, 10_000 + seeds[i] * 100, preds[i]));
                kernel.AddTransfer(t, 0, 1024 + seeds[i] * 10, double.MaxValue);
            }
            kernel.Run();
            if (graph.FirstUnfinished() >= 0) return false.Label($"task {graph.FirstUnfinished()} never ended");
            for (var i = 0; i < n; i++)
            {
                var times = kernel.Times(graph.TaskOf(i));
                var lastEnd = preds[i].Length == 0 ? 0 : preds[i].Max(p => kernel.Times(graph.TaskOf(p)).EndPs);
                if (times.ReadyPs != lastEnd) return false.Label($"task {i} ready at {times.ReadyPs}, its last predecessor ended at {lastEnd}");
            }
            return true.ToProperty();
        });
}
