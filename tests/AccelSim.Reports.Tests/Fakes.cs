using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;

namespace AccelSim.Reports.Tests;

/// <summary>A tiny device with fixed, round costs so report values are easy to check by hand:
/// one engine "core" (peak 10 TFLOP/s), one channel "hbm" (100 GB/s, 500 ns latency) into one tier
/// "hbm". An op costs a 2 us launch, FLOPs at peak, and two concurrent transfers on "hbm" (its reads
/// and its writes). Energy: 0.5 pJ/FLOP, 20 pJ/byte, 10 W static.</summary>
internal sealed class FakeDevice(long capacityBytes = 64L << 20, int units = 1) : IDeviceModel
{
    public const double Peak = 10e12;
    public const double Bandwidth = 100e9;
    public const long LaunchPs = 2 * Ps.PerMicrosecond;

    public string Name => "fake";
    public string Kind => "test";

    public DeviceTopology Topology { get; } = new(
        [new EngineSpec("core", units)],
        [new ChannelSpec("hbm", Bandwidth, 500 * Ps.PerNanosecond, "hbm", OffChip: true)],
        [new TierSpec("hbm", capacityBytes, OffChip: true)]);

    public double PeakFlops(DType dtype) => Peak;
    public int MainMemoryChannel => 0;
    public double StaticPowerW => 10;
    public int PlaceTensor(Tensor tensor) => 0;

    public OpCost Cost(Op op) => new(
        0,
        LaunchPs,
        Ps.FromSeconds(op.Flops / Peak),
        [
            new TransferDemand(0, op.BytesRead, Bandwidth, op.BytesRead * 20.0),
            new TransferDemand(0, op.BytesWritten, Bandwidth, op.BytesWritten * 20.0),
        ],
        op.Flops * 0.5,
        op.Kind == OpKind.MatMul ? "tile 128x128" : null);
}

internal sealed record Run(WorkloadGraph Graph, FakeDevice Device, SimulationResult Result, RunMetrics Metrics, TimelineRecorder Timeline)
{
    public string TimelineText()
    {
        using var sw = new StringWriter(System.Globalization.CultureInfo.InvariantCulture) { NewLine = "\n" };
        Timeline.Write(sw, Result, Device);
        return sw.ToString();
    }
}

internal static class TestRuns
{
    /// <summary>A four-op MLP block: up-projection, activation, down-projection, norm.</summary>
    public static WorkloadGraph SmallGraph()
    {
        const long tokens = 256, d = 512, f = 1024;
        var x = new Tensor(0, "x", [tokens, d], DType.Bf16, TensorRole.Activation);
        var w1 = new Tensor(1, "w_up", [d, f], DType.Bf16, TensorRole.Weight);
        var h = new Tensor(2, "h", [tokens, f], DType.Bf16, TensorRole.Activation);
        var a = new Tensor(3, "a", [tokens, f], DType.Bf16, TensorRole.Activation);
        var w2 = new Tensor(4, "w_down", [f, d], DType.Bf16, TensorRole.Weight);
        var y = new Tensor(5, "y", [tokens, d], DType.Bf16, TensorRole.Activation);
        var g = new Tensor(6, "gamma", [d], DType.Bf16, TensorRole.Weight);
        var o = new Tensor(7, "out", [tokens, d], DType.Bf16, TensorRole.Activation);
        var up = new GemmShape(1, tokens, f, d);
        var down = new GemmShape(1, tokens, d, f);
        Op[] ops =
        [
            new(0, "layer0.mlp.up", OpKind.MatMul, 0, [x, w1], [h], up.Flops, DType.Bf16, gemm: up),
            // A name with a comma and quotes, as traced kernels have, to exercise escaping.
            new(1, "aten::gelu(approximate=\"tanh\", h)", OpKind.Activation, 0, [h], [a], 8 * tokens * f, DType.Bf16),
            new(2, "layer0.mlp.down", OpKind.MatMul, 0, [a, w2], [y], down.Flops, DType.Bf16, gemm: down),
            new(3, "layer0.norm", OpKind.Norm, 0, [y, g], [o], 5 * tokens * d, DType.Bf16),
        ];
        return new WorkloadGraph(new WorkloadInfo("tiny-mlp", "prefill", 1, tokens, 0, tokens), ops);
    }

    /// <summary>A chain of <paramref name="n"/> elementwise ops of varying size.</summary>
    public static WorkloadGraph Chain(int n, Func<int, (long Elements, long FlopsPerElement)>? size = null)
    {
        size ??= i => (4096L * (1 + i % 5), 1 + i % 3);
        var ops = new List<Op>();
        var prev = new Tensor(0, "t0", [size(0).Elements], DType.Fp16, TensorRole.Activation);
        for (var i = 0; i < n; i++)
        {
            var (elements, fpe) = size(i);
            var next = new Tensor(i + 1, $"t{i + 1}", [elements], DType.Fp16, TensorRole.Activation);
            ops.Add(new Op(i, $"op{i}", i % 2 == 0 ? OpKind.Elementwise : OpKind.Softmax, i / 4, [prev], [next], elements * fpe, DType.Fp16));
            prev = next;
        }
        return new WorkloadGraph(new WorkloadInfo($"chain{n}", "prefill", 1, n, 0, n), ops);
    }

    public static Run Simulate(WorkloadGraph graph, FakeDevice? device = null, SimProgram? program = null)
    {
        device ??= new FakeDevice();
        program ??= new SequentialSchedule().Map(graph, device);
        using var bus = new SimulationEventBus();
        var recorder = new TimelineRecorder(bus);
        var result = new Simulator(program, device, bus).Run();
        recorder.Dispose();
        return new Run(graph, device, result, MetricsCalculator.Compute(result, device), recorder);
    }

    public static Run Small(FakeDevice? device = null) => Simulate(SmallGraph(), device);
}
