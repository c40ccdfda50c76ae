using AccelSim.Core.Config;
using AccelSim.Workloads.Configs;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Import;

/// <summary>Totals of a Kineto (torch.profiler Chrome trace) profile: what the device ran and what the
/// host called. Used to calibrate the host dispatch cost of eager execution (docs/pytorch-et.md).</summary>
public sealed record KinetoSummary(
    int Kernels,
    double KernelTimeS,
    int MemoryOps,
    double MemoryOpTimeS,
    int CpuOps,
    int TopLevelCpuOps,
    int Launches,
    double CpuSpanS)
{
    /// <summary>Device activities (kernels plus memsets and memcpys).</summary>
    public int DeviceActivities => Kernels + MemoryOps;

    /// <summary>Reads the <c>traceEvents</c> of a Kineto JSON (.json or .json.gz).</summary>
    public static KinetoSummary Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var root = JsonInput.LoadObject(path);
        if (root["traceEvents"] is not JArray events)
            throw new InputException(path, "traceEvents", "missing or not an array; expected a Kineto (Chrome trace) profile");
        int kernels = 0, memOps = 0, launches = 0;
        double kernelUs = 0, memUs = 0;
        var cpu = new List<(double Ts, double Dur)>();
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i] is not JObject e || (string?)e["ph"] != "X") continue;
            var cat = (string?)e["cat"];
            var name = (string?)e["name"] ?? "";
            double Dur()
            {
                if (e["dur"] is { Type: JTokenType.Integer or JTokenType.Float } d) return (double)d;
                throw new InputException(path, $"traceEvents[{i}].dur", "expected a duration in microseconds");
            }
            double Ts()
            {
                if (e["ts"] is { Type: JTokenType.Integer or JTokenType.Float } t) return (double)t;
                throw new InputException(path, $"traceEvents[{i}].ts", "expected a timestamp in microseconds");
            }
            switch (cat)
            {
                case "kernel": kernels++; kernelUs += Dur(); break;
                case "gpu_memset" or "gpu_memcpy": memOps++; memUs += Dur(); break;
                case "cpu_op": cpu.Add((Ts(), Dur())); break;
                case "cuda_runtime" or "cuda_driver" when name is "cudaLaunchKernel" or "cuLaunchKernel" or "cuLaunchKernelEx"
                    or "cudaLaunchKernelExC" or "cudaMemsetAsync" or "cudaMemcpyAsync":
                    launches++;
                    break;
            }
        }
        cpu.Sort((a, b) => a.Ts != b.Ts ? a.Ts.CompareTo(b.Ts) : b.Dur.CompareTo(a.Dur));
        var top = 0;
        var end = double.NegativeInfinity;
        double first = cpu.Count > 0 ? cpu[0].Ts : 0, last = first;
        foreach (var (ts, dur) in cpu)
        {
            if (ts >= end) { top++; end = ts + dur; }
            last = Math.Max(last, ts + dur);
        }
        return new KinetoSummary(kernels, kernelUs * 1e-6, memOps, memUs * 1e-6, cpu.Count, top, launches, (last - first) * 1e-6);
    }
}

/// <summary>Host dispatch costs implied by a launch-bound eager run: the host issued every call one
/// after the other, so the measured forward time is spent issuing them (docs/pytorch-et.md).</summary>
/// <param name="ForwardS">Measured wall time of the forward pass (median of unprofiled runs).</param>
/// <param name="KernelTimeS">Sum of the device activities' durations.</param>
/// <param name="HostCalls">Framework calls in the trace (every aten node).</param>
/// <param name="DeviceOps">Ops that launch device work.</param>
public sealed record HostCalibration(double ForwardS, double KernelTimeS, int HostCalls, int TopLevelCalls, int DeviceOps)
{
    /// <summary>Fraction of the forward time the device was busy; well below 1 means launch-bound.</summary>
    public double DeviceBusyFraction => KernelTimeS / ForwardS;

    /// <summary>One cost per framework call (views and device ops alike).</summary>
    public double SecondsPerHostCall => ForwardS / HostCalls;

    /// <summary>One cost per call made by the program (a linear with its nested calls counts once).</summary>
    public double SecondsPerTopLevelCall => ForwardS / TopLevelCalls;

    /// <summary>One cost per device op (all host time charged to the kernels).</summary>
    public double SecondsPerDeviceOp => ForwardS / DeviceOps;

    /// <summary>Two-parameter split: a device op costs <paramref name="launchToCallRatio"/> + 1 calls
    /// (its own call plus the launch), every other call one; returns (per device op, per other call).</summary>
    public (double PerDeviceOpS, double PerMetadataCallS) Split(double launchToCallRatio)
    {
        var perCall = ForwardS / (HostCalls + launchToCallRatio * DeviceOps);
        return (perCall * (1 + launchToCallRatio), perCall);
    }
}
