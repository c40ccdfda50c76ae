using AccelSim.Core.Devices;
using AccelSim.Core.Graph;

namespace AccelSim.Core.Simulation;

/// <summary>A device whose ops are issued one by one by a host thread (eager PyTorch), at a cost per
/// host call.</summary>
public interface IHostDispatchDevice
{
    /// <summary>The engine that models the host thread issuing work.</summary>
    int HostEngine { get; }

    /// <summary>Host time to issue <paramref name="op"/>, including its <see cref="Op.HostCalls"/>.</summary>
    long DispatchPs(Op op);
}

/// <summary>Eager execution: a host thread issues ops in trace order, each after its dispatch cost; the
/// device runs them in issue order as they arrive (a queue). When dispatch is slower than the kernels,
/// the device waits on the host and the run comes out launch-bound; when kernels are slower, the host
/// runs ahead. An op that reads a value back (<see cref="Op.HostSync"/>) makes the host wait for it
/// before issuing the next op. On a device without a host model this is the sequential schedule.</summary>
public sealed class EagerSchedule : ISchedule
{
    /// <param name="hostCostFactor">Scales every host dispatch cost: the framework's cost per call
    /// relative to the device's calibrated one (a software stack's <c>host_cost_factor</c>).</param>
    public EagerSchedule(double hostCostFactor = 1.0)
    {
        if (!(hostCostFactor > 0) || !double.IsFinite(hostCostFactor))
            throw new ArgumentOutOfRangeException(nameof(hostCostFactor), "expected a positive factor");
        HostCostFactor = hostCostFactor;
    }

    public double HostCostFactor { get; }

    public string Name => "eager";

    public SimProgram Map(WorkloadGraph graph, IDeviceModel device)
    {
        device = CopyPowerBudget.For(graph, device);
        if (device.Capabilities.HostDispatch is not { } host) return new SequentialSchedule().Map(graph, device);
        var order = graph.TopologicalOrder();
        var tasks = new List<SimTask>(2 * order.Count);
        var preds = new List<IReadOnlyList<int>>(2 * order.Count);
        var lastDispatch = -1;
        var lastKernel = -1;
        var syncedOn = -1; // a read-back kernel the next dispatch must wait for
        foreach (var op in order)
        {
            var dispatch = tasks.Count;
            tasks.Add(new SimTask(dispatch, [op], new OpCost(host.HostEngine, 0, Scaled(host.DispatchPs(op)), [], 0, "host dispatch")) { HostOnly = true });
            preds.Add(lastDispatch < 0 ? [] : syncedOn < 0 ? [lastDispatch] : [lastDispatch, syncedOn]);
            lastDispatch = dispatch;

            var kernel = tasks.Count;
            tasks.Add(new SimTask(kernel, [op], device.Cost(op)));
            preds.Add(lastKernel < 0 ? [dispatch] : [dispatch, lastKernel]);
            lastKernel = kernel;
            syncedOn = op.HostSync ? kernel : -1;
        }
        return new SimProgram(Name, graph, tasks, preds);
    }

    private long Scaled(long ps) => HostCostFactor == 1.0 ? ps : (long)Math.Round(ps * HostCostFactor, MidpointRounding.AwayFromZero);
}
