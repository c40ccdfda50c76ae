using System.CommandLine;
using System.Globalization;
using AccelSim.Cli.Hosting;
using AccelSim.Core.Config;
using AccelSim.Core.Devices;
using AccelSim.Core.Systems;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;
using AccelSim.Workloads.Parallel;
using AccelSim.Workloads.Serving;
using AccelSim.Workloads.Stacks;
using Spectre.Console;

namespace AccelSim.Cli.Commands;

/// <summary><c>accelsim serve</c>: a stream of requests served on one device by a batching policy (docs/serving.md).</summary>
public static class ServeCommand
{
    public static Command Create(CliContext cli)
    {
        var c = new Command("serve", "Serve a stream of requests on a device under a batching policy and report TTFT, TPOT, throughput, goodput and energy per request");
        var hardware = CommonOptions.Hardware(required: false);
        var model = new Option<string>("--model") { Description = "Bundled model name (see 'accelsim list models') or a path to a Hugging Face config.json", Required = true };
        var scheduler = new Option<string>("--scheduler") { DefaultValueFactory = _ => "vllm", Description = "Batching policy: static, orca, vllm, sarathi, or disagg (a prefill device and a decode device)" };
        var decodeHardware = new Option<string?>("--decode-hardware") { Description = "Disagg: the decode device (default: --hardware); the prefill device is --hardware" };
        var kvLinkBandwidth = new Option<double?>("--kv-link-bandwidth") { Description = "Disagg without --system: bandwidth of the link the KV cache crosses from prefill to decode, bytes per second" };
        var kvLinkLatency = new Option<double>("--kv-link-latency") { DefaultValueFactory = _ => 0, Description = "Disagg without --system: latency of that link, seconds" };
        var system = new Option<string?>("--system") { Description = "A bundled system name or system JSON: with disagg, the pools are two of its ranks and the KV cache crosses its route between them; otherwise a replica runs on its first --tp ranks" };
        var prefillDevice = new Option<int?>("--prefill-device") { Description = "Disagg with --system: the rank that prefills" };
        var decodeDevice = new Option<int?>("--decode-device") { Description = "Disagg with --system: the rank that decodes" };
        var replicas = new Option<int>("--replicas") { DefaultValueFactory = _ => 1, Description = "Replicas of the device behind a router, each with its own scheduler and KV cache" };
        var prefillReplicas = new Option<int>("--prefill-replicas") { DefaultValueFactory = _ => 1, Description = "Disagg: prefill instances, each its own device and KV cache; a request goes to the one with the fewest prompt tokens to prefill" };
        var decodeReplicas = new Option<int>("--decode-replicas") { DefaultValueFactory = _ => 1, Description = "Disagg: decode instances, each its own device and KV cache; a request goes to the one with the fewest tokens to emit" };
        var decodeAdmission = new Option<string>("--decode-admission") { DefaultValueFactory = _ => "full", Description = "Disagg: full (a decode instance reserves each request's whole length on admission) or paged (block by block, preempting by recompute)" };
        var tp = new Option<int>("--tp") { DefaultValueFactory = _ => 1, Description = "Tensor parallelism of a replica: it spans ranks 0 to tp-1 of --system (Megatron splits; all-reduces on the system's network)" };
        var prefillTp = new Option<int>("--prefill-tp") { DefaultValueFactory = _ => 1, Description = "Disagg with --system: tensor parallelism of each prefill instance (Megatron splits over that many devices; all-reduces on the system's network, modelled on ranks 0 to tp-1)" };
        var router = new Option<string>("--router") { DefaultValueFactory = _ => "round-robin", Description = "How the router picks a replica: round-robin or least-outstanding-tokens" };
        var requests = new Option<string?>("--requests") { Description = "Request trace CSV: 'arrival_s,prompt_tokens,output_tokens[,prefix_id[,prefix_tokens]]' or the Azure LLM inference trace 'TIMESTAMP,ContextTokens,GeneratedTokens'" };
        var arrival = new Option<string>("--arrival") { DefaultValueFactory = _ => "poisson", Description = "Synthetic arrivals: poisson, or gamma (gaps with coefficient of variation --cv)" };
        var rate = new Option<double>("--rate") { DefaultValueFactory = _ => 1, Description = "Synthetic arrivals: requests per second" };
        var cv = new Option<double>("--cv") { DefaultValueFactory = _ => 1, Description = "Gamma arrivals: coefficient of variation of the gaps (1 is Poisson, above 1 bursty)" };
        var count = new Option<int>("--num-requests") { DefaultValueFactory = _ => 1000, Description = "Synthetic arrivals: number of requests" };
        var prompt = new Option<string>("--prompt-tokens") { DefaultValueFactory = _ => "512", Description = "Prompt length: N, uniform:MIN-MAX, normal:MEAN,SD[,MAX] or lognormal:MEAN,SD[,MAX]" };
        var output = new Option<string>("--output-tokens") { DefaultValueFactory = _ => "128", Description = "Output length: N, uniform:MIN-MAX, normal:MEAN,SD[,MAX] or lognormal:MEAN,SD[,MAX]" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1, Description = "Seed of the synthetic requests (same seed, same requests)" };
        var chunk = new Option<int>("--chunk") { DefaultValueFactory = _ => 512, Description = "Sarathi-Serve: token budget of an iteration (decodes plus prefill chunks)" };
        var maxBatch = new Option<int>("--max-batch") { DefaultValueFactory = _ => 256, Description = "Most sequences in an iteration" };
        var maxTokens = new Option<int>("--max-batched-tokens") { DefaultValueFactory = _ => 8192, Description = "Orca, vLLM: most prompt tokens prefilled in one iteration" };
        var blockSize = new Option<int>("--block-size") { DefaultValueFactory = _ => 16, Description = "Tokens per KV-cache block" };
        var kvBlocks = new Option<long?>("--kv-blocks") { Description = "KV-cache blocks (default: what the device holds beside the weights and activations)" };
        var memoryFraction = new Option<double>("--memory-fraction") { DefaultValueFactory = _ => 0.9, Description = "Share of device memory the server may use (vLLM's gpu_memory_utilization)" };
        var bucketBits = new Option<int>("--bucket-bits") { DefaultValueFactory = _ => 5, Description = "Resolution of the iteration-cost memo: sizes are rounded up by less than 2^-bits of themselves" };
        var slo = new Option<string?>("--slo") { Description = "Service-level objective: ttft_p99, tpot_p99, itl_p99 and/or queue_p50 in seconds, e.g. ttft_p99=2,tpot_p99=0.1" };
        var findCapacity = new Option<bool>("--find-capacity") { Description = "Find the highest arrival rate that meets --slo (bisection over seeded runs)" };
        var dtype = new Option<string?>("--dtype") { Description = "Weights and activations data type (default: the model's torch_dtype, else bf16)" };
        var stack = new Option<string?>("--stack") { Description = "Software stack: fused (the default), pytorch or a stack JSON file (docs/stacks.md)" };
        var set = CommonOptions.Set();
        var format = CommonOptions.Format();
        var outPath = CommonOptions.Out();
        var csv = new Option<string?>("--csv") { Description = "Write one line per request (arrival, queueing, TTFT, TPOT, end-to-end) to this CSV file" };
        var timeline = new Option<string?>("--timeline") { Description = "Write queue length, batch size and KV blocks in use as Perfetto counter tracks to this file" };
        var html = HtmlOption.Create();
        var features = new ServeFeatureOptions();
        foreach (var o in features.All) c.Options.Add(o);
        var mix = new ServeMixOptions();
        foreach (var o in mix.All) c.Options.Add(o);
        foreach (var o in new Option[] { hardware, model, scheduler, requests, arrival, rate, cv, count, prompt, output, seed, chunk, maxBatch, maxTokens,
                     blockSize, kvBlocks, memoryFraction, bucketBits, slo, findCapacity, dtype, stack, set, format, outPath, csv, timeline,
                     decodeHardware, kvLinkBandwidth, kvLinkLatency, system, prefillDevice, decodeDevice, replicas, router, tp, prefillReplicas, decodeReplicas, decodeAdmission, html, prefillTp })
            c.Options.Add(o);

        c.SetAction(p =>
        {
            OutputFiles.Check((p.GetValue(outPath), "--out"), (p.GetValue(csv), "--csv"), (p.GetValue(timeline), "--timeline"), (p.GetValue(html), "--html"));
            var disagg = p.GetValue(scheduler) == "disagg";
            var policy = BatchSchedulers.Create(disagg ? "vllm" : p.GetValue(scheduler)!);
            var topology = Topology.Parse(p, disagg, hardware, decodeHardware, kvLinkBandwidth, kvLinkLatency, system, prefillDevice, decodeDevice, replicas, router, tp);
            var pools = (P: p.GetValue(prefillReplicas), D: p.GetValue(decodeReplicas));
            if (pools.P < 1) throw new InputException(null, "--prefill-replicas", $"expected a whole number > 0, got {pools.P}");
            if (pools.D < 1) throw new InputException(null, "--decode-replicas", $"expected a whole number > 0, got {pools.D}");
            if (!disagg && (pools.P > 1 || pools.D > 1))
                throw new InputException(null, pools.P > 1 ? "--prefill-replicas" : "--decode-replicas", "applies to --scheduler disagg; give --replicas for replicas of a colocated server");
            var paged = p.GetValue(decodeAdmission) switch
            {
                "full" => false,
                "paged" => true,
                var other => throw new InputException(null, "--decode-admission", $"expected full or paged, got '{other}'"),
            };
            if (!disagg && paged) throw new InputException(null, "--decode-admission", "applies to --scheduler disagg");
            var prefillFabric = PrefillGroup(p, disagg, p.GetValue(prefillTp), system, topology);
            var prefillDevices = (long)pools.P * p.GetValue(prefillTp);
            if (topology.SystemRanks is { } systemRanks && prefillDevices + pools.D > systemRanks)
                throw new InputException(null, "--decode-replicas", $"{pools.P} prefill (of {p.GetValue(prefillTp)} devices each) and {pools.D} decode instances need {prefillDevices + pools.D} devices; the system has {systemRanks}");
            var options = new SchedulerOptions(p.GetValue(maxBatch), p.GetValue(maxTokens), p.GetValue(chunk));
            options.Validate();
            var level = p.GetValue(slo) is { } s ? ServiceLevel.Parse(s) : null;
            if (p.GetValue(findCapacity) && level is null)
                throw new InputException(null, "--find-capacity", "needs a service-level objective to meet; give --slo ttft_p99=...,tpot_p99=...");
            var bits = p.GetValue(bucketBits);
            if (bits is < 1 or > 20) throw new InputException(null, "--bucket-bits", $"expected a whole number from 1 to 20, got {bits}");

            var trace = p.GetValue(requests);
            // --find-capacity with --requests takes the trace's lengths only and draws the arrivals (as --find-mix does).
            var lengthsOnly = trace is not null && p.GetValue(findCapacity) && !p.GetValue(mix.FindMix);
            var synthetic = trace is null || lengthsOnly ? Synthetic.Parse(p.GetValue(arrival)!, p.GetValue(rate), p.GetValue(cv), p.GetValue(count),
                p.GetValue(prompt)!, p.GetValue(output)!, p.GetValue(seed)) : null;
            if (trace is not null)
            {
                // --find-mix takes a trace's lengths only and draws its own arrivals.
                var ignored = (p.GetValue(mix.FindMix) || lengthsOnly ? new Option[] { prompt, output } : new Option[] { arrival, rate, cv, count, prompt, output, seed })
                    .Where(o => WorkloadOptions.IsGiven(p, o))
                    .Select(o => new InputProblem(null, o.Name, lengthsOnly ? "the lengths come from --requests" : "applies to synthetic arrivals; --requests replays a trace")).ToArray();
                if (ignored.Length > 0) throw new InputException(ignored);
            }

            if (p.GetValue(mix.FindMix))
                return FindMix(cli, p, mix, synthetic, trace, level, options, model, dtype, stack, scheduler, count, blockSize, memoryFraction, bits, set, format, outPath, hardware, topology, rate, seed);

            using var services = Composition.Build(p.GetValue(CommonOptions.Plugins));
            var config = CommonOptions.LoadHardware(topology.Prefill, p.GetValue(set));
            var device = services.Registry().Create(config);
            var decodeConfig = disagg ? CommonOptions.LoadHardware(topology.Decode!, p.GetValue(set)) : null;
            var decodeDev = decodeConfig is null ? null : services.Registry().Create(decodeConfig);
            var modelConfig = ModelConfigLoader.LoadNamed(p.GetValue(model)!);
            var dtypeText = p.GetValue(dtype);
            Core.Graph.DType? dt = dtypeText is null ? null : CommonOptions.ParseDType(dtypeText, "--dtype");
            var stackName = p.GetValue(stack);
            var softwareStack = stackName is null ? SoftwareStack.Fused : StackLoader.LoadNamed(stackName);
            var prefix = features.Prefix(p, trace is not null);
            var traced = trace is not null ? RequestTrace.Read(trace) : null;
            if (traced is not null) CheckPositions(traced, modelConfig, trace);
            IReadOnlyList<ServingRequest> Generate(double r) => lengthsOnly
                ? features.WithPrefixes(p, synthetic!.Generate(r, traced!), true, 0)
                : features.WithPrefixes(p, synthetic!.Generate(r), false, synthetic.Seed);
            var list = traced is not null && !lengthsOnly ? features.WithPrefixes(p, traced, true, 0) : Generate(synthetic!.Rate);
            CheckPositions(list, modelConfig, trace);

            TensorParallelReplica? group = null;
            if (topology.Fabric is { } tpFabric)
            {
                group = new TensorParallelReplica(topology.Tp, () => SystemFabric.Build(tpFabric.Spec, tpFabric.Nodes), _ => device,
                    FormattableString.Invariant($"tp {topology.Tp} on {tpFabric.Spec.Name} ranks 0-{topology.Tp - 1}"));
                ParallelPlan.Bind(new ParallelismOptions { Tp = topology.Tp }, modelConfig, WorkloadRequest.Prefill(1, 1, dt));
            }
            else if (prefillFabric is { } pf)
            {
                var n = p.GetValue(prefillTp);
                group = new TensorParallelReplica(n, () => SystemFabric.Build(pf.Spec, pf.Nodes), _ => device,
                    FormattableString.Invariant($"each prefill instance tp {n}, collectives on {pf.Spec.Name} ranks 0-{n - 1}"));
                ParallelPlan.Bind(new ParallelismOptions { Tp = n }, modelConfig, WorkloadRequest.Prefill(1, 1, dt));
            }
            var rankModel = group is null ? modelConfig : TensorParallelReplica.RankModel(modelConfig, group.Tp);
            var kv = KvCapacity.Plan(device, rankModel, dt, softwareStack, p.GetValue(blockSize), options.MaxBatchedTokens,
                p.GetValue(memoryFraction), p.GetValue(kvBlocks));
            options = features.WithSwap(p, options, p.GetValue(scheduler)!, config, kv);
            options = features.WithOrca(p, options, p.GetValue(scheduler)!, modelConfig.MaxPositionEmbeddings);
            var costs = new IterationCostModel(modelConfig, device, dt, softwareStack, bits, group);
            var interactive = p.GetValue(format) == "table" && !Console.IsErrorRedirected && ReferenceEquals(cli.Out, Console.Out);
            DisaggregationReport? disaggReport = null;
            ReplicaReport? replicaReport = null;
            Func<IReadOnlyList<ServingRequest>, bool, ServingResult> run;
            if (decodeDev is not null)
            {
                var decodeKv = KvCapacity.Plan(decodeDev, modelConfig, dt, softwareStack, p.GetValue(blockSize), options.MaxBatchedTokens,
                    p.GetValue(memoryFraction), p.GetValue(kvBlocks));
                var decodeCosts = new IterationCostModel(modelConfig, decodeDev, dt, softwareStack, bits);
                var link = topology.Link!;
                run = (l, keep) =>
                {
                    // A tensor-parallel prefill instance idles on all its devices and hands over every rank's share of the KV cache.
                    var prefillStaticW = device.StaticPowerW * costs.Devices;
                    var kvBytesPerToken = kv.BytesPerToken * costs.Devices;
                    var r = pools is { P: 1, D: 1 } && !paged
                        ? DisaggregatedServing.Run(l, policy, w => costs.Cost(w), new KvBlockManager(kv.Blocks, kv.BlockTokens, prefix), prefillStaticW,
                            w => decodeCosts.Cost(w), new KvBlockManager(decodeKv.Blocks, decodeKv.BlockTokens), decodeDev.StaticPowerW, options, kvBytesPerToken, link)
                        : DisaggregatedServing.RunPools(l,
                            pools.P, _ => new ServingEngine(BatchSchedulers.Create(policy.Id), w => costs.Cost(w), new KvBlockManager(kv.Blocks, kv.BlockTokens, prefix), options, prefillStaticW), prefillStaticW,
                            pools.D, _ => new ServingEngine(paged ? new PagedDecodeScheduler() : new DecodeOnlyScheduler(), w => decodeCosts.Cost(w), new KvBlockManager(decodeKv.Blocks, decodeKv.BlockTokens), options, decodeDev.StaticPowerW),
                            decodeDev.StaticPowerW, kvBytesPerToken, link);
                    if (keep) disaggReport = new DisaggregationReport(decodeDev.Name, decodeDev.Kind, decodeKv, link, r);
                    return r.Combined;
                };
            }
            else if (topology.Replicas > 1)
            {
                run = (l, keep) =>
                {
                    var r = ReplicatedServing.Run(l, topology.Replicas, topology.Router, _ => new ServingEngine(BatchSchedulers.Create(policy.Id), w => costs.Cost(w),
                        new KvBlockManager(kv.Blocks, kv.BlockTokens, prefix), options, device.StaticPowerW * costs.Devices), device.StaticPowerW * costs.Devices);
                    if (keep) replicaReport = new ReplicaReport(p.GetValue(router)!, r);
                    return r.Combined;
                };
            }
            else run = (l, keep) => RunOnce(l, policy, costs, kv, options, device, keep && interactive, prefix);
            var result = run(list, true);
            var summary = ServingSummary.Compute(result, level);

            double? capacity = null;
            if (p.GetValue(findCapacity))
                capacity = Capacity.Find(synthetic!, r => ServingSummary.Compute(run(Generate(r), false), level), level!);

            var report = new ServeReport(device.Name, device.Kind, modelConfig.Name, disagg ? "disagg" : policy.Id, options,
                trace is null ? synthetic!.Describe() : lengthsOnly ? $"{synthetic!.Describe()}, lengths of {Path.GetFileName(trace)}" : Path.GetFileName(trace),
                synthetic?.Seed, level, summary, result, kv, costs, capacity)
            {
                Provenance = Provenance.ProvenanceBuilder.Basic(config, "sequential") with { Stack = softwareStack.Name },
                Disaggregation = disaggReport,
                Replicas = replicaReport,
                Cost = ServeCost.Of(decodeConfig is null ? Enumerable.Repeat(DevicePrice.UsdPerHour(config), topology.Replicas * topology.Tp).ToArray()
                    : [.. Enumerable.Repeat(DevicePrice.UsdPerHour(config), pools.P * costs.Devices), .. Enumerable.Repeat(DevicePrice.UsdPerHour(decodeConfig), pools.D)], summary),
                TensorParallel = group?.Description,
            };
            using var files = new OutputFiles();
            if (p.GetValue(outPath) is { } o1)
            {
                using var w = files.Create(o1, "--out");
                report.WriteJson(w);
            }
            if (p.GetValue(csv) is { } o2)
            {
                using var w = files.Create(o2, "--csv");
                report.WriteCsv(w);
            }
            if (p.GetValue(timeline) is { } o3)
            {
                using var w = files.Create(o3, "--timeline");
                report.WriteTimeline(w);
            }
            if (p.GetValue(html) is { } o4)
            {
                using var w = files.Create(o4, "--html");
                w.Write(Reports.Html.HtmlReport.Serve(report.ToHtml()));
            }
            if (p.GetValue(format) == "json") report.WriteJson(cli.Out);
            else report.WriteTable(Execution.ConsoleFor(cli.Out));
            files.Commit();
            return 0;
        });
        return c;
    }

    private static int FindMix(CliContext cli, ParseResult p, ServeMixOptions mix, Synthetic? synthetic, string? trace, ServiceLevel? level, SchedulerOptions options,
        Option<string> model, Option<string?> dtype, Option<string?> stack, Option<string> scheduler, Option<int> count, Option<int> blockSize, Option<double> memoryFraction,
        int bits, Option<string[]> set, Option<string> format, Option<string?> outPath, Option<string> hardware, Topology topology, Option<double> rate, Option<int> seed)
    {
        var problems = new List<InputProblem>();
        if (level is null) problems.Add(new InputProblem(null, "--find-mix", "needs a service-level objective to meet; give --slo ttft_p99=...,tpot_p99=..."));
        // With TPOT or ITL targets alone, an overloaded replica still meets them (its queue grows instead): a replica's
        // capacity needs a bound on waiting.
        else if (level.TtftP99S is null && level.QueueP50S is null)
            problems.Add(new InputProblem(null, "--slo", "--find-mix needs a bound on waiting as well (ttft_p99 or queue_p50, e.g. Sarathi-Serve's queue_p50=2): with TPOT targets alone an overloaded replica still meets them"));
        if (p.GetValue(scheduler) == "disagg" || topology.Replicas > 1) problems.Add(new InputProblem(null, "--find-mix", "each replica is one device under one policy; give --scheduler vllm|sarathi|orca|static and no --replicas"));
        if (!WorkloadOptions.IsGiven(p, rate)) problems.Add(new InputProblem(null, "--rate", "--find-mix serves a total rate: give --rate"));
        if (problems.Count > 0) throw new InputException(problems);
        var modelConfig = ModelConfigLoader.LoadNamed(p.GetValue(model)!);
        var dtypeText = p.GetValue(dtype);
        var stackName = p.GetValue(stack);
        var lengths = trace is not null ? RequestTrace.Read(trace) : synthetic!.Generate(synthetic.Rate);
        CheckPositions(lengths, modelConfig, trace);
        var total = p.GetValue(rate);
        if (!(total > 0) || double.IsInfinity(total)) throw new InputException(null, "--rate", $"expected requests per second > 0, got {total.ToString(CultureInfo.InvariantCulture)}");
        var inputs = new ServeMixOptions.Inputs(p.GetValue(hardware)!, p.GetValue(set), modelConfig,
            dtypeText is null ? null : CommonOptions.ParseDType(dtypeText, "--dtype"), stackName is null ? SoftwareStack.Fused : StackLoader.LoadNamed(stackName),
            p.GetValue(scheduler)!, options, level!, total, synthetic?.Cv ?? 1, p.GetValue(count), p.GetValue(seed),
            lengths, trace is null ? synthetic!.Describe() : Path.GetFileName(trace), p.GetValue(blockSize), p.GetValue(memoryFraction), bits, p.GetValue(CommonOptions.Plugins));
        return mix.Run(cli, p, inputs, p.GetValue(format)!, p.GetValue(outPath));
    }

    /// <summary>The system whose first ranks model a tensor-parallel prefill instance (<c>--prefill-tp</c> above 1), or
    /// null for single-device prefill instances.</summary>
    private static SystemFabric? PrefillGroup(ParseResult p, bool disagg, int tp, Option<string?> system, Topology topology)
    {
        if (tp < 1) throw new InputException(null, "--prefill-tp", $"expected a whole number > 0, got {tp}");
        if (tp == 1) return null;
        if (!disagg) throw new InputException(null, "--prefill-tp", "applies to --scheduler disagg; give --tp for a tensor-parallel replica of a colocated server");
        if (p.GetValue(system) is not { } name)
            throw new InputException(null, "--prefill-tp", "a tensor-parallel prefill instance spans devices of a system and its network; give --system (e.g. dgx-a100) with --prefill-device and --decode-device");
        var fabric = SystemFabric.Build(SystemConfigLoader.LoadNamed(name));
        if (tp > fabric.Ranks) throw new InputException(null, "--prefill-tp", $"expected at most the {fabric.Ranks} devices of {fabric.Spec.Name}, got {tp}");
        for (var r = 0; r < tp; r++)
        {
            if (fabric.DeviceOf(r) != topology.Prefill)
                throw new InputException(null, "--prefill-tp", $"a tensor-parallel prefill instance needs devices of the prefill device's kind; {fabric.Spec.Name} rank {r} is {fabric.DeviceOf(r)}, the prefill device {topology.Prefill}");
        }
        return fabric;
    }

    private static ServingResult RunOnce(IReadOnlyList<ServingRequest> list, IBatchScheduler policy, IterationCostModel costs, KvCapacity kv,
        SchedulerOptions options, IDeviceModel device, bool progress, bool prefix)
    {
        ServingResult Go(IProgress<int>? bar) => ServingSimulator.Run(list, policy, w => costs.Cost(w), new KvBlockManager(kv.Blocks, kv.BlockTokens, prefix),
            options, device.StaticPowerW * costs.Devices, bar); // every device of a tensor-parallel replica idles
        if (!progress || list.Count < 2000) return Go(null);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        if (!console.Profile.Capabilities.Interactive) return Go(null);
        return console.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("serving", maxValue: list.Count);
                var step = Math.Max(1, list.Count / 200);
                return Go(new BarProgress(task, step));
            });
    }

    /// <summary>The devices a run uses: the prefill (or only) device, the decode device and the KV link of a
    /// disaggregated run, the replicas and router of a replicated one.</summary>
    private sealed record Topology(string Prefill, string? Decode, KvLink? Link, int Replicas, RouterPolicy Router)
    {
        /// <summary>Tensor parallelism of a replica (<c>--tp</c>), on <see cref="Fabric"/>'s first ranks.</summary>
        public int Tp { get; init; } = 1;

        /// <summary>The system a tensor-parallel replica runs on (<c>--system</c> without disagg).</summary>
        public SystemFabric? Fabric { get; init; }

        /// <summary>Devices of the system a disaggregated run names (<c>--system</c> with disagg).</summary>
        public int? SystemRanks { get; init; }

        public static Topology Parse(System.CommandLine.ParseResult p, bool disagg, Option<string> hardware, Option<string?> decodeHardware,
            Option<double?> bandwidth, Option<double> latency, Option<string?> system, Option<int?> prefillDevice, Option<int?> decodeDevice,
            Option<int> replicas, Option<string> router, Option<int> tpOption)
        {
            var n = p.GetValue(replicas);
            if (n < 1) throw new InputException(null, "--replicas", $"expected a whole number > 0, got {n}");
            var tp = p.GetValue(tpOption);
            if (tp < 1) throw new InputException(null, "--tp", $"expected a whole number > 0, got {tp}");
            var policy = ReplicatedServing.ParseRouter(p.GetValue(router)!, "--router");
            if (!disagg)
            {
                var stray = new Option[] { decodeHardware, bandwidth, latency, prefillDevice, decodeDevice }.Where(o => WorkloadOptions.IsGiven(p, o))
                    .Select(o => new InputProblem(null, o.Name, "applies to --scheduler disagg")).ToArray();
                if (stray.Length > 0) throw new InputException(stray);
                if (p.GetValue(system) is not { } systemName)
                {
                    if (tp > 1) throw new InputException(null, "--tp", "a tensor-parallel replica spans devices of a system and its network; give --system (e.g. dgx-a100)");
                    return new Topology(Hardware(p, hardware), null, null, n, policy);
                }
                if (WorkloadOptions.IsGiven(p, hardware))
                    throw new InputException(null, "--hardware", "--system names the devices; give one of --system and --hardware");
                var group = SystemFabric.Build(SystemConfigLoader.LoadNamed(systemName));
                if ((long)n * tp > group.Ranks)
                    throw new InputException(null, "--tp", $"{n} replica(s) of tp {tp} need {(long)n * tp} devices; {group.Spec.Name} has {group.Ranks}");
                for (var r = 1; r < tp; r++)
                {
                    if (group.DeviceOf(r) != group.DeviceOf(0))
                        throw new InputException(null, "--tp", $"a tensor-parallel replica needs one kind of device; {group.Spec.Name} rank {r} is {group.DeviceOf(r)}, rank 0 {group.DeviceOf(0)}");
                }
                return new Topology(group.DeviceOf(0), null, null, n, policy) { Tp = tp, Fabric = tp > 1 ? group : null };
            }
            if (tp > 1) throw new InputException(null, "--tp", "tensor-parallel pools of a disaggregated server are not modelled; give --tp 1 with --scheduler disagg");
            if (n > 1) throw new InputException(null, "--replicas", "replicas of a disaggregated server are not modelled; give --replicas 1 with --scheduler disagg");
            if (p.GetValue(system) is { } name)
            {
                var stray = new Option[] { hardware, decodeHardware, bandwidth, latency }.Where(o => WorkloadOptions.IsGiven(p, o))
                    .Select(o => new InputProblem(null, o.Name, "the system names the devices and the link; give --prefill-device and --decode-device ranks instead")).ToArray();
                if (stray.Length > 0) throw new InputException(stray);
                var fabric = SystemFabric.Build(SystemConfigLoader.LoadNamed(name));
                var from = Rank(p.GetValue(prefillDevice), "--prefill-device", fabric.Ranks);
                var to = Rank(p.GetValue(decodeDevice), "--decode-device", fabric.Ranks);
                if (from == to) throw new InputException(null, "--decode-device", $"expected a rank other than the prefill device's {from}");
                var route = fabric.Route(from, to);
                var links = fabric.Network.RouteLinks(route);
                var bottleneck = double.MaxValue;
                foreach (var l in links) bottleneck = Math.Min(bottleneck, fabric.Network.Bandwidth(l));
                var description = FormattableString.Invariant($"{fabric.Spec.Name} rank {from} to rank {to}, {links.Length} links");
                return new Topology(fabric.DeviceOf(from), fabric.DeviceOf(to), new KvLink(bottleneck, fabric.Network.RouteLatency(route), description), 1, policy) { SystemRanks = fabric.Ranks };
            }
            foreach (var o in new Option[] { prefillDevice, decodeDevice })
                if (WorkloadOptions.IsGiven(p, o)) throw new InputException(null, o.Name, "names a rank of a system; give --system as well");
            var prefill = Hardware(p, hardware);
            var bw = p.GetValue(bandwidth) ?? throw new InputException(null, "--kv-link-bandwidth",
                "disaggregated serving moves each request's KV cache to the decode device: give the link's bytes per second, or --system with two ranks");
            if (!(bw > 0) || double.IsInfinity(bw)) throw new InputException(null, "--kv-link-bandwidth", $"expected bytes per second > 0, got {bw.ToString(CultureInfo.InvariantCulture)}");
            var lat = p.GetValue(latency);
            if (!(lat >= 0) || double.IsInfinity(lat)) throw new InputException(null, "--kv-link-latency", $"expected seconds >= 0, got {lat.ToString(CultureInfo.InvariantCulture)}");
            var decode = p.GetValue(decodeHardware) ?? prefill;
            return new Topology(prefill, decode, new KvLink(bw, Core.Time.Ps.FromSeconds(lat),
                FormattableString.Invariant($"{prefill} to {decode}, --kv-link-bandwidth")), 1, policy);
        }

        private static string Hardware(System.CommandLine.ParseResult p, Option<string> hardware) =>
            p.GetValue(hardware) ?? throw new InputException(null, "--hardware", "expected a bundled hardware name or a hardware JSON file (or, with --scheduler disagg, --system)");

        private static int Rank(int? rank, string option, int ranks) => rank is { } r && r >= 0 && r < ranks ? r
            : throw new InputException(null, option, $"expected a rank from 0 to {ranks - 1}, got {(rank is { } v ? v.ToString(CultureInfo.InvariantCulture) : "none")}");
    }

    private sealed class BarProgress(ProgressTask task, int step) : IProgress<int>
    {
        public void Report(int value)
        {
            if (value % step == 0) task.Value = value;
        }
    }

    private static void CheckPositions(IReadOnlyList<ServingRequest> list, ModelConfig model, string? trace)
    {
        if (model.MaxPositionEmbeddings is not { } max) return;
        foreach (var r in list)
        {
            if (r.PromptTokens + r.OutputTokens <= max) continue;
            throw new InputException(trace, trace is null ? "--prompt-tokens/--output-tokens" : $"request {r.Id}",
                $"a request of {r.PromptTokens} prompt + {r.OutputTokens} output tokens needs more than the {max} positions {model.Name} supports");
        }
    }

    /// <summary>Synthetic arrivals as the options give them.</summary>
    internal sealed record Synthetic(string Kind, double Rate, double Cv, int Count, LengthDistribution Prompt, LengthDistribution Output, int Seed)
    {
        public static Synthetic Parse(string kind, double rate, double cv, int count, string prompt, string output, int seed)
        {
            var problems = new List<InputProblem>();
            if (kind is not ("poisson" or "gamma")) problems.Add(new InputProblem(null, "--arrival", $"expected poisson or gamma, got '{kind}'"));
            if (kind == "poisson" && cv != 1) problems.Add(new InputProblem(null, "--cv", "Poisson arrivals have a coefficient of variation of 1; use --arrival gamma for another"));
            if (!(rate > 0) || double.IsInfinity(rate)) problems.Add(new InputProblem(null, "--rate", $"expected requests per second > 0, got {rate.ToString(CultureInfo.InvariantCulture)}"));
            if (!(cv >= 0) || double.IsInfinity(cv)) problems.Add(new InputProblem(null, "--cv", $"expected a number >= 0, got {cv.ToString(CultureInfo.InvariantCulture)}"));
            if (count < 1) problems.Add(new InputProblem(null, "--num-requests", $"expected a whole number > 0, got {count}"));
            LengthDistribution? p = null, o = null;
            try { p = LengthDistribution.Parse(prompt, "--prompt-tokens"); } catch (InputException e) { problems.AddRange(e.Problems); }
            try { o = LengthDistribution.Parse(output, "--output-tokens"); } catch (InputException e) { problems.AddRange(e.Problems); }
            if (problems.Count > 0) throw new InputException(problems);
            return new Synthetic(kind, rate, cv, count, p!, o!, seed);
        }

        public IReadOnlyList<ServingRequest> Generate(double rate) => Arrivals.Generate(Count, rate, Cv, Prompt, Output, Seed);

        /// <summary><see cref="Count"/> arrivals at <paramref name="rate"/> (the seed's gaps, as <see cref="Generate(double)"/>
        /// draws them for fixed lengths), request i with the lengths (and prefix) of <paramref name="lengths"/>' entry i,
        /// cycling when there are more arrivals than entries.</summary>
        public IReadOnlyList<ServingRequest> Generate(double rate, IReadOnlyList<ServingRequest> lengths)
        {
            var gaps = Arrivals.Generate(Count, rate, Cv, LengthDistribution.Fixed(1), LengthDistribution.Fixed(1), Seed);
            var list = new ServingRequest[gaps.Count];
            for (var i = 0; i < list.Length; i++)
            {
                var l = lengths[i % lengths.Count];
                list[i] = gaps[i] with { PromptTokens = l.PromptTokens, OutputTokens = l.OutputTokens, PrefixId = l.PrefixId, PrefixTokens = l.PrefixTokens };
            }
            return list;
        }

        public string Describe() => Kind == "gamma"
            ? FormattableString.Invariant($"gamma cv={Cv} {Rate}/s")
            : FormattableString.Invariant($"poisson {Rate}/s");
    }

    /// <summary>The highest rate that meets a service level: a bracket by doubling or halving from the given
    /// rate, then bisection to 1% of the rate (the same seed at every rate: only the gaps scale).</summary>
    internal static class Capacity
    {
        public static double Find(Synthetic s, Func<double, ServingSummary> run, ServiceLevel level) => Find(s.Rate, run, level);

        public static double Find(double rate, Func<double, ServingSummary> run, ServiceLevel level)
        {
            double lo = 0, hi = rate;
            for (var i = 0; i < 30 && level.Met(run(hi)); i++)
            {
                lo = hi;
                hi *= 2;
            }
            if (lo == 0)
            {
                for (var i = 0; i < 30; i++)
                {
                    var r = hi / 2;
                    if (level.Met(run(r))) { lo = r; break; }
                    hi = r;
                }
                if (lo == 0) return 0;
            }
            while (hi - lo > 0.01 * lo)
            {
                var mid = (lo + hi) / 2;
                if (level.Met(run(mid))) lo = mid;
                else hi = mid;
            }
            return lo;
        }
    }
}
