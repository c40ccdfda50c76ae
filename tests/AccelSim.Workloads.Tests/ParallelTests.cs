using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Core.Network.Collectives;
using AccelSim.Core.Systems;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AccelSim.Workloads.Tests;

public class ParallelTests
{
    private static readonly Lazy<ModelConfig> Llama = new(() => TestConfigs.Load("llama2-7b"));

    private static SystemProgram Build(ModelConfig model, WorkloadRequest request, ParallelismOptions o) =>
        ParallelTransform.Build(model, request, ParallelPlan.Bind(o, model, request));

    private static IEnumerable<RankSegment> Compute(SystemProgram p) => p.Ranks.SelectMany(r => r.Segments).Where(s => !s.IsComm);

    private static long Flops(SystemProgram p, Func<Op, bool>? which = null) =>
        Compute(p).Sum(s => s.Compute!.Ops.Where(o => which?.Invoke(o) ?? true).Sum(o => o.Flops));

    /// <summary>Ops that tensor parallelism runs whole on every rank: norms, the embedding gather and its
    /// scatter-add, residual adds and the gradient sums of the residual stream (element-wise ops over
    /// tokens x hidden). The loss and its gradient are over the rank's vocabulary slice.</summary>
    private static bool Replicated(Op o) =>
        o.Kind is OpKind.Norm or OpKind.Embedding || (o.Kind == OpKind.Elementwise && o.Name != "loss.backward");

    [Theory]
    [InlineData("prefill")]
    [InlineData("decode")]
    [InlineData("train")]
    public void One_rank_runs_the_single_device_graph_itself(string phase)
    {
        var m = Llama.Value;
        var request = phase switch
        {
            "prefill" => WorkloadRequest.Prefill(2, 64),
            "decode" => WorkloadRequest.Decode(2, 64),
            _ => WorkloadRequest.Train(2, 64),
        };
        var p = Build(m, request, new ParallelismOptions());
        var single = ModelBuilderRegistry.Default.Build(m, request);
        var rank = Assert.Single(p.Ranks);
        var seg = Assert.Single(rank.Segments);
        Assert.Equal(0, rank.Rank);
        Assert.Equal(single.TotalFlops, seg.Compute!.TotalFlops);
        Assert.Equal(single.TotalBytes, seg.Compute.TotalBytes);
        Assert.Equal(single.Ops.Select(o => o.Name), seg.Compute.Ops.Select(o => o.Name));
    }

    [Fact]
    public void Microbatches_on_one_rank_add_up_to_the_whole_batch()
    {
        var m = Llama.Value;
        var request = WorkloadRequest.Train(4, 32);
        var p = Build(m, request, new ParallelismOptions { Microbatch = 1 });
        var single = ModelBuilderRegistry.Default.Build(m, request);
        Assert.Single(p.Ranks);
        Assert.DoesNotContain(p.Ranks[0].Segments, s => s.IsComm);
        Assert.Equal(single.TotalFlops, Flops(p));
    }

    /// <summary>FLOPs over all ranks equal the single-device graph's for the same global batch, except the ops
    /// tensor parallelism replicates (<see cref="Replicated"/>), which every tensor-parallel rank runs whole.
    /// The optimizer is sharded by ZeRO 1 (each parameter updated once; rounding of the shards aside).</summary>
    [Property(MaxTest = 12)]
    public Property Flops_over_ranks_equal_the_single_device_graph() =>
        Prop.ForAll((from tp in Gen.Elements(1, 2, 4) from pp in Gen.Elements(1, 2, 4) from dp in Gen.Elements(1, 2) from rc in Gen.Elements(false, true) select (tp, pp, dp, rc)).ToArbitrary(),
            x =>
            {
                var (tp, pp, dp, recompute) = x;
                var m = Llama.Value;
                var request = WorkloadRequest.Train(8, 16, recompute: recompute);
                var p = Build(m, request, new ParallelismOptions { Tp = tp, Pp = pp, Dp = dp, Zero = 1, Microbatch = 2, Fold = false });
                var single = ModelBuilderRegistry.Default.Build(m, request);
                var expected = single.Ops.Where(o => o.Kind != OpKind.Optimizer).Sum(o => o.Flops * (Replicated(o) ? tp : 1));
                var actual = Flops(p, o => o.Kind != OpKind.Optimizer);
                // Norm weights are held whole by every tensor-parallel rank, and so updated by each.
                var normParams = single.Ops.Where(o => o.Kind == OpKind.Norm).SelectMany(o => o.Inputs).Where(t => t.Role == TensorRole.Weight).DistinctBy(t => t.Id).Sum(t => t.Elements);
                var optimizer = single.Ops.Where(o => o.Kind == OpKind.Optimizer).Sum(o => o.Flops) + (tp - 1) * normParams * AccelSim.Workloads.Models.Internal.ElementFlops.AdamW;
                var optimizerRanks = Flops(p, o => o.Kind == OpKind.Optimizer);
                var ok = expected == actual && Math.Abs(optimizer - optimizerRanks) <= 2L * p.Ranks.Count * (m.NumHiddenLayers + 2) && p.Ranks.Count == tp * pp * dp;
                return ok.Label($"tp {tp} pp {pp} dp {dp} recompute {recompute}: {actual} vs {expected}; optimizer {optimizerRanks} vs {optimizer}");
            });

    [Fact]
    public void Sharded_kinds_split_exactly_and_replicated_ones_run_on_every_rank()
    {
        var m = Llama.Value;
        var request = WorkloadRequest.Train(2, 32);
        var p = Build(m, request, new ParallelismOptions { Tp = 4 });
        var single = ModelBuilderRegistry.Default.Build(m, request);
        foreach (var kind in new[] { OpKind.MatMul, OpKind.Attention, OpKind.Rope, OpKind.Activation, OpKind.Softmax })
            Assert.Equal(single.Ops.Where(o => o.Kind == kind).Sum(o => o.Flops), Flops(p, o => o.Kind == kind));
        Assert.Equal(4 * single.Ops.Where(o => o.Kind == OpKind.Norm).Sum(o => o.Flops), Flops(p, o => o.Kind == OpKind.Norm));
    }

    /// <summary>Every collective key appears on exactly the simulated members of its group, once each, with
    /// the same call; with folding, members that are not simulated belong to data-parallel replicas.</summary>
    [Theory]
    [InlineData(2, 2, 2, 0, false, "1f1b", 1, false)]
    [InlineData(2, 2, 2, 1, true, "gpipe", 1, false)]
    [InlineData(2, 2, 4, 3, false, "interleaved", 2, false)]
    [InlineData(2, 2, 2, 2, false, "1f1b", 1, true)]
    [InlineData(1, 4, 2, 0, true, "interleaved", 2, false)]
    public void Every_collective_is_on_its_whole_group_with_one_call(int tp, int pp, int dp, int zero, bool fold, string schedule, int virtualStages, bool sp)
    {
        var m = Llama.Value;
        var request = WorkloadRequest.Train(16, 16);
        var p = Build(m, request, new ParallelismOptions
        {
            Tp = tp, Pp = pp, Dp = dp, Zero = zero, Microbatch = 2, Fold = fold, Schedule = ParallelPlan.ParseSchedule(schedule),
            VirtualStages = virtualStages, SequenceParallel = sp,
        });
        Assert.Equal(fold ? tp * pp : tp * pp * dp, p.Ranks.Count);
        AssertCollectivesConsistent(p, ParallelPlan.Bind(new ParallelismOptions { Tp = tp, Pp = pp, Dp = dp }, m, request));
    }

    [Fact]
    public void A_tied_table_is_summed_between_the_first_and_the_last_stage()
    {
        var m = TestConfigs.Load("gpt2-medium");
        var request = WorkloadRequest.Train(8, 32);
        var plan = ParallelPlan.Bind(new ParallelismOptions { Pp = 4, Dp = 2, Microbatch = 1, Fold = false, Zero = 1 }, m, request);
        var p = ParallelTransform.Build(m, request, plan);
        AssertCollectivesConsistent(p, plan);
        var tied = p.Ranks.SelectMany(r => r.Segments.Where(s => s.Key?.StartsWith("emb/", StringComparison.Ordinal) == true).Select(s => (r.Rank, s.Comm!))).ToArray();
        Assert.Equal(4, tied.Length); // two replicas, first and last stage each
        Assert.All(tied, x => Assert.Equal(50257L * 1024 * 2, x.Item2.Bytes)); // bf16 table
        Assert.Contains(tied, x => x.Rank == plan.RankOf(0, 1, 3) && x.Item2.Group.SequenceEqual([plan.RankOf(0, 1, 0), plan.RankOf(0, 1, 3)]));
        var single = ModelBuilderRegistry.Default.Build(m, request);
        // Each of the 8 microbatches sums the table's two gradients (V x H adds), where one batch of 8 sums them once.
        var extra = 7L * 50257 * 1024;
        Assert.Equal(single.Ops.Where(o => o.Kind != OpKind.Optimizer).Sum(o => o.Flops) + extra, Flops(p, o => o.Kind != OpKind.Optimizer));
        // The last stage holds its own copy of the table, with its gradient and optimizer state.
        var last = p.Ranks.Single(r => r.Rank == plan.RankOf(0, 0, 3)).Memory.ToDictionary(x => x.What, x => x.Bytes);
        Assert.True(last["weights"] > 50257L * 1024 * 2);
        Assert.True(last["optimizer state"] * 2 > 50257L * 1024 * 12);
    }

    private static void AssertCollectivesConsistent(SystemProgram p, ParallelPlan plan)
    {
        var simulated = p.Ranks.Select(r => r.Rank).ToHashSet();
        var byKey = new Dictionary<string, List<(int Rank, CommCall Call)>>();
        foreach (var r in p.Ranks)
        {
            Assert.Equal(r.Rank, p.Ranks.Single(x => x.Rank == r.Rank).Rank);
            for (var i = 0; i < r.Segments.Count; i++)
            {
                var s = r.Segments[i];
                Assert.All(s.After, a => Assert.InRange(a, 0, i - 1));
                if (!s.IsComm) continue;
                if (!byKey.TryGetValue(s.Key!, out var l)) byKey[s.Key!] = l = [];
                l.Add((r.Rank, s.Comm!));
            }
        }
        Assert.NotEmpty(byKey);
        foreach (var (key, members) in byKey)
        {
            var call = members[0].Call;
            Assert.All(members, x => Assert.Equal(call.Kind, x.Call.Kind));
            Assert.All(members, x => Assert.Equal(call.Bytes, x.Call.Bytes));
            Assert.All(members, x => Assert.Equal(call.Group, x.Call.Group));
            Assert.True(call.Bytes > 0, key);
            var expected = call.Group.Where(simulated.Contains).Order().ToArray();
            Assert.Equal(expected, members.Select(x => x.Rank).Order().ToArray());
            // Only data-parallel replicas are left out.
            foreach (var g in call.Group.Where(x => !simulated.Contains(x))) Assert.NotEqual(0, plan.Coordinates(g).Dp);
        }
    }

    [Fact]
    public void Tensor_parallel_layers_have_two_all_reduces_forward_and_two_backward()
    {
        var m = Llama.Value;
        var request = WorkloadRequest.Train(1, 64);
        var p = Build(m, request, new ParallelismOptions { Tp = 2 });
        var r0 = p.Ranks[0];
        var ars = r0.Segments.Where(s => s.IsComm && s.Comm!.Kind == CollectiveKind.AllReduce).ToArray();
        // 2 + 2 per layer, plus the vocabulary-parallel embedding (forward) and head (backward).
        Assert.Equal(4 * m.NumHiddenLayers + 2, ars.Length);
        Assert.All(ars, a => Assert.Equal(64L * m.HiddenSize * 2, a.Comm!.Bytes));
        Assert.All(ars, a => Assert.Equal([0, 1], a.Comm!.Group));

        var spProgram = Build(m, request, new ParallelismOptions { Tp = 2, SequenceParallel = true });
        var sp = spProgram.Ranks[0];
        // Norms run on 1/tp of the tokens on each rank: together, once.
        var single = ModelBuilderRegistry.Default.Build(m, request);
        Assert.Equal(single.Ops.Where(o => o.Kind == OpKind.Norm).Sum(o => o.Flops), Flops(spProgram, o => o.Kind == OpKind.Norm));
        Assert.Equal(2 * single.Ops.Where(o => o.Kind == OpKind.Norm).Sum(o => o.Flops), Flops(p, o => o.Kind == OpKind.Norm));
        Assert.DoesNotContain(sp.Segments, s => s.IsComm && s.Comm!.Kind == CollectiveKind.AllReduce);
        Assert.Equal(ars.Length, sp.Segments.Count(s => s.IsComm && s.Comm!.Kind == CollectiveKind.ReduceScatter));
        Assert.Equal(ars.Length, sp.Segments.Count(s => s.IsComm && s.Comm!.Kind == CollectiveKind.AllGather));
    }

    [Fact]
    public void Inference_with_tensor_and_pipeline_parallelism_has_no_backward()
    {
        var m = Llama.Value;
        var request = WorkloadRequest.Decode(8, 128);
        var p = Build(m, request, new ParallelismOptions { Tp = 2, Pp = 4, Microbatch = 2 });
        Assert.Equal(8, p.Ranks.Count);
        var single = ModelBuilderRegistry.Default.Build(m, request);
        Assert.Equal(single.Ops.Where(o => o.Kind == OpKind.MatMul).Sum(o => o.Flops), Flops(p, o => o.Kind == OpKind.MatMul));
        Assert.DoesNotContain(Compute(p), s => s.Label.StartsWith("bwd", StringComparison.Ordinal) || s.Label.StartsWith("optimizer", StringComparison.Ordinal));
        // Stage 0 sends 4 microbatches' activations (batch 2 x one token x hidden) on.
        var sends = p.Ranks[0].Segments.Where(s => s.IsComm && s.Comm!.Kind == CollectiveKind.Broadcast).ToArray();
        Assert.Equal(4, sends.Length);
        Assert.All(sends, s => Assert.Equal(2L * m.HiddenSize * 2, s.Comm!.Bytes));
        Assert.All(sends, s => Assert.Equal([0, 2], s.Comm!.Group));
        Assert.All(p.Ranks, r => Assert.Equal(["weights", "kv cache"], r.Memory.Select(x => x.What)));
        // Each stage holds the cache of its 16 layers for all 8 sequences (4 microbatches), its kv heads / tp.
        var kv = 2L * 8 * 129 * (m.NumKeyValueHeads / 2) * m.HeadDim * 2 * (m.NumHiddenLayers / 4);
        Assert.All(p.Ranks, r => Assert.Equal(kv, r.Memory.Single(x => x.What == "kv cache").Bytes));
    }

    [Fact]
    public void Interleaved_inference_sends_through_every_chunk()
    {
        var m = Llama.Value;
        var request = WorkloadRequest.Prefill(4, 32);
        var p = Build(m, request, new ParallelismOptions { Pp = 2, Microbatch = 1, Schedule = PipelineScheduleKind.Interleaved, VirtualStages = 2 });
        Assert.Equal(2, p.Ranks.Count);
        // 4 chunks in the pipeline, 3 hand-offs per microbatch: rank 0 sends after chunks 0 and 2, rank 1 after chunk 1.
        Assert.Equal(8, p.Ranks[0].Segments.Count(s => s.Label.StartsWith("send", StringComparison.Ordinal)));
        Assert.Equal(4, p.Ranks[1].Segments.Count(s => s.Label.StartsWith("send", StringComparison.Ordinal)));
        var single = ModelBuilderRegistry.Default.Build(m, request);
        Assert.Equal(single.TotalFlops, Flops(p));
        Assert.Equal("F0 F1 F0.1 F1.1 F2 F3 F2.1 F3.1", string.Join(" ", PipelineSchedule.Steps(PipelineScheduleKind.Interleaved, 2, 2, 4, 0, backward: false)));
    }

    [Fact]
    public void Schedules_order_forwards_and_backwards()
    {
        static string Order(PipelineScheduleKind k, int pp, int v, int m, int s) => string.Join(" ", PipelineSchedule.Steps(k, pp, v, m, s));
        Assert.Equal("F0 F1 F2 F3 B0 B1 B2 B3", Order(PipelineScheduleKind.GPipe, 4, 1, 4, 0));
        Assert.Equal("F0 F1 F2 F3 B0 F4 B1 F5 B2 B3 B4 B5", Order(PipelineScheduleKind.OneFOneB, 4, 1, 6, 0));
        Assert.Equal("F0 B0 F1 B1 F2 B2 F3 B3 F4 B4 F5 B5", Order(PipelineScheduleKind.OneFOneB, 4, 1, 6, 3));
        // Rank 1 of 2: no warm-up beyond the second chunk's pp forwards; chunk 1 runs first in the backward.
        Assert.Equal("F0 F1 F0.1 B0.1 F1.1 B1.1 B0 B1", Order(PipelineScheduleKind.Interleaved, 2, 2, 2, 1));
        // Megatron's interleaved schedule, pp 2, 2 chunks, 4 microbatches, rank 0: warm-up (2-0-1)*2 + (2-1)*2 = 4.
        Assert.Equal("F0 F1 F0.1 F1.1 F2 B0.1 F3 B1.1 F2.1 B0 F3.1 B1 B2.1 B3.1 B2 B3", Order(PipelineScheduleKind.Interleaved, 2, 2, 4, 0));
        Assert.Equal("F0 F1", Order(PipelineScheduleKind.OneFOneB, 3, 1, 3, 1).Split(" B")[0]); // warm-up of pp - s - 1 = 1, then the steady state
    }

    [Theory]
    [InlineData(PipelineScheduleKind.GPipe, 4, 1, 8)]
    [InlineData(PipelineScheduleKind.OneFOneB, 4, 1, 8)]
    [InlineData(PipelineScheduleKind.Interleaved, 4, 2, 8)]
    public void In_flight_microbatches_follow_the_schedule(PipelineScheduleKind kind, int pp, int v, int m)
    {
        for (var s = 0; s < pp; s++)
        {
            var inFlight = PipelineSchedule.MaxInFlight(PipelineSchedule.Steps(kind, pp, v, m, s));
            var expected = kind switch
            {
                PipelineScheduleKind.GPipe => m,
                PipelineScheduleKind.OneFOneB => Math.Min(pp - s, m),
                // Megatron: warm-up (pp - s - 1) * 2 + (v - 1) * pp, plus the first steady forward.
                _ => Math.Min((pp - s - 1) * 2 + (v - 1) * pp + 1, m * v),
            };
            Assert.Equal(expected, inFlight);
        }
    }

    [Fact]
    public void Stashed_activations_follow_in_flight_microbatches_and_shrink_with_recomputation()
    {
        var m = Llama.Value;
        var request = WorkloadRequest.Train(8, 64);
        long Stash(PipelineScheduleKind k, bool rc, int stage) => Build(m, request, new ParallelismOptions { Pp = 4, Microbatch = 1, Schedule = k, Recompute = rc })
            .Ranks[stage].Memory.Single(x => x.What == "stashed activations").Bytes;
        var gpipe = Stash(PipelineScheduleKind.GPipe, false, 1);
        var f1b = Stash(PipelineScheduleKind.OneFOneB, false, 1);
        Assert.Equal(8 * gpipe / 8, gpipe);
        Assert.Equal(gpipe * 3 / 8, f1b); // stage 1 of 4 holds 3 of 8 microbatches
        Assert.True(Stash(PipelineScheduleKind.OneFOneB, true, 1) * 5 < f1b);
    }

    [Fact]
    public void Zero_stages_shard_optimizer_state_gradients_and_weights_by_dp()
    {
        var m = Llama.Value;
        var request = WorkloadRequest.Train(8, 16);
        IReadOnlyList<RankMemory> Mem(int zero) => Build(m, request, new ParallelismOptions { Dp = 8, Zero = zero }).Ranks[0].Memory;
        long Get(IReadOnlyList<RankMemory> x, string what) => x.Single(y => y.What == what).Bytes;
        var z0 = Mem(0);
        var weights = Get(z0, "weights");
        Assert.Equal(ModelStats.Count(m).Total * 2, weights);
        Assert.Equal(weights, Get(z0, "gradients"));
        Assert.Equal(ModelStats.Count(m).Total * 12, Get(z0, "optimizer state"));
        for (var z = 1; z <= 3; z++)
        {
            var mem = Mem(z);
            Assert.Equal((Get(z0, "optimizer state") + 7) / 8, Get(mem, "optimizer state"));
            Assert.Equal(z >= 2 ? (weights + 7) / 8 : weights, Get(mem, "gradients"));
            Assert.Equal(z >= 3 ? (weights + 7) / 8 : weights, Get(mem, "weights"));
        }
    }

    [Fact]
    public void Data_parallel_gradients_are_reduced_per_layer_as_the_backward_produces_them()
    {
        var m = Llama.Value;
        var request = WorkloadRequest.Train(8, 16);
        var r = Build(m, request, new ParallelismOptions { Dp = 2, Microbatch = 2 }).Ranks[0];
        var ars = r.Segments.Select((s, i) => (s, i)).Where(x => x.s.IsComm).ToArray();
        Assert.Equal(m.NumHiddenLayers + 2, ars.Length);
        Assert.All(ars, x => Assert.Equal(CollectiveKind.AllReduce, x.s.Comm!.Kind));
        // Each waits only for the compute before it, and compute goes on meanwhile: the first comes before the last backward block.
        var lastBackward = r.Segments.Select((s, i) => (s, i)).Last(x => x.s.Label.StartsWith("bwd", StringComparison.Ordinal)).i;
        Assert.True(ars[0].i < lastBackward);
        Assert.Equal(ModelStats.Count(m).Total * 2, ars.Sum(x => x.s.Comm!.Bytes));

        var z1 = Build(m, request, new ParallelismOptions { Dp = 2, Microbatch = 2, Zero = 1 }).Ranks[0];
        Assert.Equal(m.NumHiddenLayers + 2, z1.Segments.Count(s => s.IsComm && s.Comm!.Kind == CollectiveKind.ReduceScatter));
        Assert.Equal(m.NumHiddenLayers + 2, z1.Segments.Count(s => s.IsComm && s.Comm!.Kind == CollectiveKind.AllGather));
        var z3 = Build(m, request, new ParallelismOptions { Dp = 2, Microbatch = 2, Zero = 3 }).Ranks[0];
        // Parameters gathered before each unit's forward and backward, per microbatch (2), gradients scattered per microbatch.
        Assert.Equal(2 * 2 * (m.NumHiddenLayers + 2), z3.Segments.Count(s => s.IsComm && s.Comm!.Kind == CollectiveKind.AllGather));
        Assert.Equal(2 * (m.NumHiddenLayers + 2), z3.Segments.Count(s => s.IsComm && s.Comm!.Kind == CollectiveKind.ReduceScatter));
    }

    [Fact]
    public void Expert_parallelism_puts_all_to_alls_around_the_experts()
    {
        var m = TestConfigs.Load("mixtral-8x7b");
        var request = WorkloadRequest.Train(4, 16);
        var single = ModelBuilderRegistry.Default.Build(m, request);
        var p = Build(m, request, new ParallelismOptions { Dp = 4, Ep = 4, Zero = 1, Microbatch = 1, Fold = false });
        Assert.Equal(single.Ops.Where(o => o.Kind == OpKind.MatMul).Sum(o => o.Flops), Flops(p, o => o.Kind == OpKind.MatMul));
        var a2a = p.Ranks[0].Segments.Where(s => s.IsComm && s.Comm!.Kind == CollectiveKind.AllToAll).ToArray();
        // Dispatch and combine in the forward and the backward of every layer.
        Assert.Equal(4 * m.NumHiddenLayers, a2a.Length);
        Assert.All(a2a, s => Assert.Equal([0, 1, 2, 3], s.Comm!.Group));
        Assert.All(a2a, s => Assert.Equal(16L * 2 * m.HiddenSize * 2, s.Comm!.Bytes)); // 16 tokens x top-2 rows
        var hot = Build(m, request, new ParallelismOptions { Dp = 4, Ep = 4, Zero = 1, Microbatch = 1, Fold = false, ExpertHotShare = 0.5 });
        Assert.True(Flops(hot, o => o.Kind == OpKind.MatMul) > Flops(p, o => o.Kind == OpKind.MatMul));
        // Half of the rows on one of 4 ranks: every rank is costed as that one, twice the balanced rows.
        var hotA2a = hot.Ranks[0].Segments.Where(s => s.IsComm && s.Comm!.Kind == CollectiveKind.AllToAll).ToArray();
        Assert.All(hotA2a, s => Assert.Equal(2 * 16L * 2 * m.HiddenSize * 2, s.Comm!.Bytes));
        long Experts(SystemProgram x) => Flops(x, o => o.Kind == OpKind.MatMul && o.Inputs.Any(t => t.Role == TensorRole.Weight && t.Shape.Count == 3));
        Assert.Equal(2 * Experts(p), Experts(hot), 1.0);
        var weights = p.Ranks[0].Memory.Single(x => x.What == "weights").Bytes;
        Assert.True(weights < ModelStats.Count(m).Total * 2 / 3);
    }

    [Theory]
    [InlineData(3, 1, 1, 0, null, null, "1f1b", 1, false, "tp")]
    [InlineData(1, 5, 1, 0, null, null, "1f1b", 1, false, "pp")]
    [InlineData(1, 1, 3, 0, null, null, "1f1b", 1, false, "global_batch")]
    [InlineData(1, 1, 2, 0, 3L, null, "1f1b", 1, false, "microbatch")]
    [InlineData(1, 1, 2, 4, null, null, "1f1b", 1, false, "zero")]
    [InlineData(1, 2, 1, 0, 1L, 8L, "interleaved", 3, false, "virtual_stages")]
    [InlineData(1, 4, 1, 0, 1L, 6L, "interleaved", 2, false, "microbatch")]
    [InlineData(1, 1, 1, 0, null, null, "1f1b", 2, false, "virtual_stages")]
    [InlineData(1, 1, 1, 0, null, 0L, "1f1b", 1, false, "global_batch")]
    public void Bad_plans_name_their_flag(int tp, int pp, int dp, int zero, long? micro, long? global, string schedule, int v, bool _, string flag)
    {
        var e = Assert.Throws<InputException>(() => ParallelPlan.Bind(new ParallelismOptions
        {
            Tp = tp, Pp = pp, Dp = dp, Zero = zero, Microbatch = micro, GlobalBatch = global, Schedule = ParallelPlan.ParseSchedule(schedule), VirtualStages = v,
        }, Llama.Value, WorkloadRequest.Train(8, 16)));
        Assert.Contains(e.Problems, x => x.Path == flag);
        Assert.Contains("expected", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_bad_inputs_name_their_flag()
    {
        var m = Llama.Value;
        Assert.Contains(Assert.Throws<InputException>(() => ParallelPlan.Bind(new ParallelismOptions { Recompute = true }, m, WorkloadRequest.Prefill(1, 16))).Problems, x => x.Path == "recompute");
        Assert.Contains(Assert.Throws<InputException>(() => ParallelPlan.Bind(new ParallelismOptions { Ep = 2, Dp = 2 }, m, WorkloadRequest.Train(2, 16))).Problems, x => x.Path == "ep");
        Assert.Contains(Assert.Throws<InputException>(() => ParallelPlan.Bind(new ParallelismOptions { Tp = 2, Dp = 2 }, m, WorkloadRequest.Train(2, 16), systemRanks: 8)).Problems, x => x.Path == "dp");
        Assert.Equal("pp_schedule", Assert.Throws<InputException>(() => ParallelPlan.ParseSchedule("zigzag")).Problems[0].Path);
        var mix = TestConfigs.Load("mixtral-8x7b");
        Assert.Contains(Assert.Throws<InputException>(() => ParallelPlan.Bind(new ParallelismOptions { Ep = 4, Dp = 2 }, mix, WorkloadRequest.Train(2, 16))).Problems, x => x.Path == "ep");
        Assert.Contains(Assert.Throws<InputException>(() => ParallelPlan.Bind(new ParallelismOptions { Ep = 2, Dp = 2, ExpertHotShare = 0.2 }, mix, WorkloadRequest.Train(2, 16))).Problems, x => x.Path == "ep_hot_share");
    }

    [Fact]
    public void Rank_order_is_tensor_fastest_then_data_then_pipeline()
    {
        var plan = ParallelPlan.Bind(new ParallelismOptions { Tp = 2, Pp = 2, Dp = 2 }, Llama.Value, WorkloadRequest.Train(2, 16));
        Assert.Equal(5, plan.RankOf(1, 0, 1));
        Assert.Equal((1, 1, 1), plan.Coordinates(7));
        Assert.Equal(8, plan.Ranks);
    }

    [Fact]
    public void Graphs_are_shared_across_microbatches_and_ranks()
    {
        var m = Llama.Value;
        (int Segments, int Graphs) Count(long batch)
        {
            var p = Build(m, WorkloadRequest.Train(batch, 16), new ParallelismOptions { Tp = 2, Pp = 2, Dp = 2, Microbatch = 1 });
            return (Compute(p).Count(), Compute(p).Select(s => s.Compute!).Distinct().Count());
        }
        // Twice the microbatches: twice the segments (the optimizer aside), the same graphs.
        var (s32, g32) = Count(64);
        var (s64, g64) = Count(128);
        Assert.Equal(g32, g64);
        Assert.InRange(s64, 2 * s32 - 200, 2 * s32);
        Assert.True(g32 * 50 < s32, $"{g32} graphs for {s32} segments");
    }

    [Fact]
    public void The_program_is_deterministic()
    {
        var m = Llama.Value;
        var o = new ParallelismOptions { Tp = 2, Pp = 2, Dp = 2, Zero = 1, Microbatch = 1, Schedule = PipelineScheduleKind.Interleaved, VirtualStages = 2 };
        static string Describe(SystemProgram p) => string.Join("\n", p.Ranks.SelectMany(r => r.Segments.Select(s =>
            $"{r.Rank} {s.Label} {s.Key} {string.Join(",", s.After)} {s.Compute?.TotalFlops} {s.Comm?.Kind} {s.Comm?.Bytes} {(s.Comm is null ? "" : string.Join(",", s.Comm.Group))}"))
            .Concat(p.Ranks.SelectMany(r => r.Memory.Select(x => $"{r.Rank} {x.What} {x.Bytes}"))));
        Assert.Equal(Describe(Build(m, WorkloadRequest.Train(8, 16), o)), Describe(Build(m, WorkloadRequest.Train(8, 16), o)));
    }
}

public class ParallelScaleTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>GPT-3 175B (96 layers, hidden 12288, 96 heads, Megatron's padded vocabulary of 51,200) on
    /// TP8 PP8 DP16 with a global batch of 1536: the program of the 64 simulated ranks of replica 0.</summary>
    [Theory]
    [InlineData(PipelineScheduleKind.OneFOneB, 1, false)]
    [InlineData(PipelineScheduleKind.Interleaved, 2, true)]
    public void Gpt3_175b_on_1024_ranks_folds_to_one_replica_and_shares_graphs(PipelineScheduleKind schedule, int virtualStages, bool recompute)
    {
        using var file = new TestConfigs.TempFile("""
            {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "activation_function": "gelu_new", "n_embd": 12288,
             "n_head": 96, "n_layer": 96, "n_positions": 2048, "n_ctx": 2048, "vocab_size": 51200, "torch_dtype": "float16"}
            """);
        var m = ModelConfigLoader.Load(file.Path);
        var request = WorkloadRequest.Train(1536, 2048);
        var plan = ParallelPlan.Bind(new ParallelismOptions
        {
            Tp = 8, Pp = 8, Dp = 16, Microbatch = 1, Schedule = schedule, VirtualStages = virtualStages, Recompute = recompute,
        }, m, request, systemRanks: 1024);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var p = ParallelTransform.Build(m, request, plan);
        watch.Stop();
        output.WriteLine($"allocated {(GC.GetAllocatedBytesForCurrentThread() - allocated) / 1e6:F0} MB");
        var segments = p.Ranks.Sum(r => r.Segments.Count);
        var graphs = p.Ranks.SelectMany(r => r.Segments).Where(s => !s.IsComm).Select(s => s.Compute!).Distinct().Count();
        output.WriteLine($"{p.Name}: {p.Ranks.Count} ranks, {segments} segments, {graphs} distinct graphs, built in {watch.ElapsedMilliseconds} ms");
        Assert.Equal(64, p.Ranks.Count);
        Assert.Equal(96, plan.Microbatches);
        Assert.True(graphs < 2000, $"{graphs} graphs");
        var mem = p.Ranks[0].Memory.ToDictionary(x => x.What, x => x.Bytes);
        output.WriteLine(string.Join(", ", mem.Select(x => $"{x.Key} {x.Value / 1e9:F2} GB")));
        // 175B / 64 model-parallel ranks = 2.7B parameters each: 5.5 GB of fp16 weights, 33 GB of optimizer state.
        Assert.InRange(mem["weights"], 5.0e9, 6.5e9);
    }
}

public class ParallelFamilyTests
{
    /// <summary>Every family whose sizes tp divides spreads over TP2 and a pipeline: attention splits exactly (heads), and the
    /// whole is at least the single-device FLOPs and at most tp times them.</summary>
    [Theory]
    [InlineData("qwen2-7b", 2)]
    [InlineData("mixtral-8x7b", 2)]
    [InlineData("deepseek-v2-lite", 3)]
    [InlineData("opt-6.7b", 2)]
    [InlineData("mistral-7b", 2)]
    public void Families_spread_over_tensor_and_pipeline_ranks(string name, int pp)
    {
        var m = TestConfigs.Load(name);
        var request = WorkloadRequest.Train(2, 32);
        var plan = ParallelPlan.Bind(new ParallelismOptions { Tp = 2, Pp = pp, Microbatch = 1 }, m, request);
        var p = ParallelTransform.Build(m, request, plan);
        var single = ModelBuilderRegistry.Default.Build(m, request);
        long Sum(Func<Op, bool> f) => p.Ranks.SelectMany(r => r.Segments).Where(s => !s.IsComm).Sum(s => s.Compute!.Ops.Where(f).Sum(o => o.Flops));
        Assert.Equal(single.Ops.Where(o => o.Kind == OpKind.Attention).Sum(o => o.Flops), Sum(o => o.Kind == OpKind.Attention));
        var total = Sum(_ => true);
        Assert.InRange(total, single.TotalFlops, 2 * single.TotalFlops);
        Assert.True(total < single.TotalFlops * 1.05, $"{name}: {total} vs {single.TotalFlops}");
        Assert.Equal(2 * pp, p.Ranks.Count);
        Assert.All(p.Ranks, r => Assert.Contains(r.Segments, s => s.IsComm && s.Comm!.Kind == CollectiveKind.AllReduce));
    }

    [Fact]
    public void Sequence_parallelism_shrinks_stashed_activations()
    {
        var m = TestConfigs.Load("llama2-7b");
        var request = WorkloadRequest.Train(2, 64);
        long Stash(bool sp) => ParallelTransform.Build(m, request, ParallelPlan.Bind(new ParallelismOptions { Tp = 4, SequenceParallel = sp }, m, request))
            .Ranks[0].Memory.Single(x => x.What == "stashed activations").Bytes;
        Assert.True(Stash(true) < Stash(false) * 0.8, $"{Stash(true)} vs {Stash(false)}");
    }
}
