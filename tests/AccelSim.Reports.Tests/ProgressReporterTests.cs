using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;

namespace AccelSim.Reports.Tests;

public class ProgressReporterTests
{
    [Fact]
    public void Non_interactive_console_gets_no_output_and_the_run_result_comes_back()
    {
        var graph = TestRuns.SmallGraph();
        var device = new FakeDevice();
        var program = new SequentialSchedule().Map(graph, device);
        using var bus = new SimulationEventBus();
        using var sw = new StringWriter();
        var console = TableReport.PlainConsole(sw);
        var result = ProgressReporter.Run(bus, program.Tasks.Count, () => new Simulator(program, device, bus).Run(), console);
        Assert.Equal(program.Tasks.Count, result.TaskEndPs.Count);
        Assert.True(result.MakespanPs > 0);
        Assert.Equal("", sw.ToString());
        Assert.False(bus.HasSubscribers);
    }

    [Fact]
    public void Counter_sees_every_task_end_and_unsubscribes()
    {
        var graph = TestRuns.Chain(25);
        var device = new FakeDevice();
        var program = new SequentialSchedule().Map(graph, device);
        using var bus = new SimulationEventBus();
        int finished;
        using (var counter = new ProgressReporter.TaskCounter(bus, null, program.Tasks.Count))
        {
            var result = new Simulator(program, device, bus).Run();
            finished = counter.Finished;
            Assert.Equal(25, MetricsCalculator.Compute(result, device).Ops.Count);
        }
        Assert.Equal(25, finished);
        Assert.False(bus.HasSubscribers);
    }
}
