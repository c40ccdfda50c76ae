using AccelSim.Core.Graph;
using AccelSim.Workloads.Traces;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Workloads.Tests;

public class NativeTraceProperties
{
    /// <summary>A random acyclic graph: each op reads earlier outputs or fresh graph inputs and writes
    /// new tensors; names include characters that need escaping.</summary>
    internal static WorkloadGraph RandomGraph(int seed, int opCount)
    {
        var rng = new Random(seed);
        var host = new Random(seed ^ 0x5eed); // host fields drawn apart, so the rest of the graph is as before
        var kinds = Enum.GetValues<OpKind>();
        var roles = Enum.GetValues<TensorRole>();
        string[] names = ["x", "layer0.q\"k\"v", "ü-ñ", "tab\there", "back\\slash", "a/b", ""];
        var nextTensor = rng.Next(0, 5) * 3; // ids need not start at 0
        var available = new List<Tensor>();
        var ops = new List<Op>();
        Tensor NewTensor()
        {
            var rank = rng.Next(0, 4);
            var shape = Enumerable.Range(0, rank).Select(_ => (long)rng.Next(0, 64)).ToArray();
            return new Tensor(nextTensor += rng.Next(1, 3), names[rng.Next(names.Length)] + nextTensor, shape,
                DTypes.All[rng.Next(DTypes.All.Length)], roles[rng.Next(roles.Length)]);
        }
        for (var i = 0; i < opCount; i++)
        {
            var inputs = new List<Tensor>();
            for (var k = rng.Next(0, 4); k > 0; k--)
                inputs.Add(available.Count > 0 && rng.Next(3) > 0 ? available[rng.Next(available.Count)] : NewTensor());
            var outputs = Enumerable.Range(0, rng.Next(0, 3)).Select(_ => NewTensor()).ToList();
            GemmShape? gemm = rng.Next(3) == 0 ? new GemmShape(rng.Next(1, 4), rng.Next(0, 999), rng.Next(1, 999), rng.Next(1, 999), rng.Next(2) == 0) : null;
            AttentionShape? attn = null;
            if (rng.Next(3) == 0)
            {
                var q = rng.Next(1, 100);
                attn = new AttentionShape(rng.Next(1, 4), 8, rng.Next(1, 9), 64, q, q + rng.Next(0, 500), rng.Next(2) == 0);
            }
            long? br = rng.Next(2) == 0 ? rng.NextInt64(0, 1L << 40) : null;
            long? bw = rng.Next(2) == 0 ? rng.NextInt64(0, 1L << 40) : null;
            ops.Add(new Op(i, names[rng.Next(names.Length)] + i, kinds[rng.Next(kinds.Length)], rng.Next(-1, 80), inputs, outputs,
                rng.NextInt64(0, long.MaxValue / 1024), DTypes.All[rng.Next(DTypes.All.Length)], gemm, attn, br, bw)
            {
                HostViews = host.Next(0, 5),
                HostNested = host.Next(3) == 0 ? 0 : host.Next(0, 12),
                HostSync = host.Next(8) == 0,
            });
            var own = host.Next(4) == 0 ? 0 : host.Next(1, 3);
            ops[^1] = WithCalls(ops[^1], Math.Max(1, ops[^1].HostViews + ops[^1].HostNested + own));
            available.AddRange(outputs);
        }
        var info = new WorkloadInfo(names[rng.Next(names.Length)], rng.Next(2) == 0 ? "prefill" : "decode",
            rng.Next(1, 64), rng.Next(0, 9000), rng.Next(0, 9000), rng.Next(0, 100000));
        if (host.Next(2) == 0)
            info = info with { Recorded = new Core.Simulation.RecordedProgram((Core.Simulation.LaunchMode)host.Next(2), names[host.Next(names.Length)]) { Source = host.Next(2) == 0 ? null : "s" } };
        return new WorkloadGraph(info, ops);
    }

    private static Op WithCalls(Op o, int calls) =>
        new(o.Id, o.Name, o.Kind, o.Layer, o.Inputs, o.Outputs, o.Flops, o.ComputeDType, o.Gemm, o.Attention, o.BytesRead, o.BytesWritten)
        { HostCalls = calls, HostViews = o.HostViews, HostNested = o.HostNested, HostSync = o.HostSync };

    private static Arbitrary<(int Seed, int Ops)> Recipes() =>
        Arb.From(Gen.Choose(0, int.MaxValue).SelectMany(seed => Gen.Choose(0, 40), (seed, n) => (seed, n)));

    [Property(MaxTest = 200)]
    public Property Write_read_write_is_identical() =>
        Prop.ForAll(Recipes(), r =>
        {
            var g = RandomGraph(r.Seed, r.Ops);
            var text = NativeTraceWriter.ToText(g);
            var back = NativeTraceReader.ReadText(text, $"seed {r.Seed}");
            NativeTraceTests.AssertSameGraph(g, back);
            return NativeTraceWriter.ToText(back) == text;
        });

    [Property(MaxTest = 100)]
    public Property Writing_is_deterministic() =>
        Prop.ForAll(Recipes(), r => NativeTraceWriter.ToText(RandomGraph(r.Seed, r.Ops)) == NativeTraceWriter.ToText(RandomGraph(r.Seed, r.Ops)));
}
