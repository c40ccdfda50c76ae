using System.CommandLine;
using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Workloads.Serving;
using Newtonsoft.Json;

namespace AccelSim.Cli.Commands;

/// <summary>The options of <c>accelsim serve</c> for prefix caching, swap preemption and cost (docs/serving.md),
/// kept apart from the command's own list.</summary>
internal sealed class ServeFeatureOptions
{
    public const double DefaultSwapSpaceGiB = 4;

    public Option<bool> PrefixCache { get; } = new("--prefix-cache")
    {
        Description = "Share the KV blocks of a common prompt prefix between requests with the same prefix id (automatic prefix caching)",
    };

    public Option<int?> PrefixTokens { get; } = new("--prefix-tokens")
    {
        Description = "Prefix length in tokens: of synthetic requests (with --prefix-groups), or of trace requests that give a prefix_id but no prefix_tokens",
    };

    public Option<int?> PrefixGroups { get; } = new("--prefix-groups")
    {
        Description = "Synthetic requests: draw each request's prefix id uniformly from this many groups",
    };

    public Option<string> Preemption { get; } = new("--preemption")
    {
        DefaultValueFactory = _ => "recompute",
        Description = "vllm, sarathi: preempt by recompute (drop the cache, prefill again) or swap (move the KV blocks to host memory over the host link)",
    };

    public Option<double> SwapSpace { get; } = new("--swap-space")
    {
        DefaultValueFactory = _ => DefaultSwapSpaceGiB,
        Description = "Swap preemption: host memory for swapped KV blocks, GiB (vLLM's swap_space, 4 by default)",
    };

    public Option<string> OrcaReserve { get; } = new(CliParameterNames.Flags[RequestParameter.OrcaReserve])
    {
        DefaultValueFactory = _ => "max",
        Description = "orca: KV cache reserved contiguously per request at admission: max (the model's maximum sequence length), pow2 (next power of two of prompt + output) or oracle (exactly prompt + output)",
    };

    public Option<string> OrcaIterations { get; } = new(CliParameterNames.Flags[RequestParameter.OrcaIterations])
    {
        DefaultValueFactory = _ => "mixed",
        Description = "orca: mixed (Orca's selective batching: new requests' prefills join the iteration that decodes the running ones) or prefill-first (as vLLM's original scheduler: an iteration that admits requests only prefills them)",
    };

    public IEnumerable<Option> All => [PrefixCache, PrefixTokens, PrefixGroups, Preemption, SwapSpace, OrcaReserve, OrcaIterations];

    /// <summary>The scheduler options with Orca's reservation (<c>--orca-reserve</c>), its iterations
    /// (<c>--orca-iterations</c>) and the model's maximum sequence length; the options apply to <c>--scheduler orca</c>
    /// only.</summary>
    public SchedulerOptions WithOrca(ParseResult p, SchedulerOptions options, string scheduler, int? maxPositions)
    {
        var mode = OrcaReservation.Parse(p.GetValue(OrcaReserve)!);
        var iterations = OrcaIterationPolicy.Parse(p.GetValue(OrcaIterations)!);
        if (scheduler != "orca")
        {
            if (WorkloadOptions.IsGiven(p, OrcaReserve)) throw new InputException(null, OrcaReserve.Name, $"applies to --scheduler orca; '{scheduler}' does not reserve contiguously");
            if (WorkloadOptions.IsGiven(p, OrcaIterations)) throw new InputException(null, OrcaIterations.Name, $"applies to --scheduler orca; '{scheduler}' forms its iterations its own way");
            return options;
        }
        if (mode == Workloads.Serving.OrcaReserve.Max && maxPositions is null)
            throw new InputException(null, OrcaReserve.Name, "max reserves the model's maximum sequence length, but the model gives no max_position_embeddings; use pow2 or oracle");
        var o = options with { OrcaReserve = mode, OrcaIterations = iterations, MaxSequenceTokens = maxPositions };
        o.Validate();
        return o;
    }

    /// <summary>Whether prefix caching is on (checking the prefix options' consistency).</summary>
    public bool Prefix(ParseResult p, bool trace)
    {
        var on = p.GetValue(PrefixCache);
        var problems = new List<InputProblem>();
        if (!on)
        {
            foreach (var o in new Option[] { PrefixTokens, PrefixGroups })
                if (WorkloadOptions.IsGiven(p, o)) problems.Add(new InputProblem(null, o.Name, "applies to prefix caching; give --prefix-cache as well"));
        }
        else if (trace && WorkloadOptions.IsGiven(p, PrefixGroups))
            problems.Add(new InputProblem(null, PrefixGroups.Name, "applies to synthetic requests; a trace gives its prefix_id column"));
        else if (!trace && (p.GetValue(PrefixGroups) is null || p.GetValue(PrefixTokens) is null))
            problems.Add(new InputProblem(null, "--prefix-cache", "synthetic requests need --prefix-groups G and --prefix-tokens N to share prefixes"));
        if (problems.Count > 0) throw new InputException(problems);
        return on;
    }

    /// <summary>The requests with their prefixes: drawn for synthetic requests, completed from
    /// <c>--prefix-tokens</c> for trace requests that name a prefix without its length.</summary>
    public IReadOnlyList<ServingRequest> WithPrefixes(ParseResult p, IReadOnlyList<ServingRequest> list, bool trace, int seed)
    {
        if (!p.GetValue(PrefixCache)) return list;
        if (!trace)
        {
            var groups = p.GetValue(PrefixGroups)!.Value;
            var tokens = p.GetValue(PrefixTokens)!.Value;
            if (groups < 1) throw new InputException(null, PrefixGroups.Name, $"expected a whole number > 0, got {groups}");
            if (tokens < 1) throw new InputException(null, PrefixTokens.Name, $"expected a whole number of tokens > 0, got {tokens}");
            return Arrivals.WithPrefixes(list, groups, tokens, seed);
        }
        if (p.GetValue(PrefixTokens) is not { } n) return list;
        if (n < 1) throw new InputException(null, PrefixTokens.Name, $"expected a whole number of tokens > 0, got {n}");
        return list.Select(r => r.PrefixId is not null && r.PrefixTokens == 0 ? r with { PrefixTokens = Math.Min(n, r.PromptTokens) } : r).ToArray();
    }

    /// <summary>The scheduler options with swap preemption when <c>--preemption swap</c>: the swap space in blocks of
    /// the cache, over the device's host link (<c>host.pcie.bandwidth_Bps</c>).</summary>
    public SchedulerOptions WithSwap(ParseResult p, SchedulerOptions options, string scheduler, HardwareConfig device, KvCapacity kv)
    {
        var mode = p.GetValue(Preemption);
        if (mode is not ("recompute" or "swap")) throw new InputException(null, Preemption.Name, $"expected recompute or swap, got '{mode}'");
        var gib = p.GetValue(SwapSpace);
        if (mode == "recompute")
        {
            if (WorkloadOptions.IsGiven(p, SwapSpace)) throw new InputException(null, SwapSpace.Name, "applies to --preemption swap");
            return options;
        }
        if (scheduler is not ("vllm" or "sarathi"))
            throw new InputException(null, Preemption.Name, $"applies to the paged schedulers vllm and sarathi; '{scheduler}' never preempts");
        if (!(gib >= 0) || double.IsInfinity(gib)) throw new InputException(null, SwapSpace.Name, $"expected GiB >= 0, got {gib.ToString(CultureInfo.InvariantCulture)}");
        if (!device.TryGet("host.pcie.bandwidth_Bps", out var bw) || bw.Number is not { } bps || !(bps > 0))
            throw new InputException(device.File, "host.pcie.bandwidth_Bps",
                $"swap preemption moves KV blocks over the host link, but '{device.Name}' gives no host link bandwidth; add host.pcie.bandwidth_Bps (bytes per second) to its description or use --preemption recompute");
        var bytesPerBlock = kv.BytesPerToken * kv.BlockTokens;
        var blocks = (long)Math.Floor(gib * (1L << 30) / bytesPerBlock);
        return options with { Swap = new SwapSpace(blocks, bytesPerBlock, bps) };
    }
}

/// <summary>A device's price per hour (<c>cost.usd_per_hour</c>, docs/hardware-config.md); null when its description
/// gives none.</summary>
internal static class DevicePrice
{
    public const string Path = "cost.usd_per_hour";

    public static double? UsdPerHour(HardwareConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!config.TryGet(Path, out var v)) return null;
        if (v.Number is not { } usd || !(usd >= 0) || double.IsInfinity(usd))
            throw new InputException(config.OriginOf(Path), Path, $"expected US dollars per hour >= 0, got {v}");
        return usd;
    }
}

/// <summary>What a serving run costs at the devices' hourly prices: every device the run holds (replicas, both pools
/// of a disaggregated server) for the run's duration.</summary>
internal sealed record ServeCost(double UsdPerHour, int Devices, double RunUsd, double UsdPerRequest, double UsdPerMillionOutputTokens, double UsdPerMillionTokens)
{
    public static ServeCost? Of(IReadOnlyList<double?> prices, ServingSummary s)
    {
        ArgumentNullException.ThrowIfNull(prices);
        ArgumentNullException.ThrowIfNull(s);
        if (prices.Count == 0 || prices.Any(x => x is null)) return null;
        var perHour = prices.Sum(x => x!.Value);
        var run = perHour * s.DurationS / 3600;
        long output = 0, total = 0;
        foreach (var r in s.PerRequest)
        {
            output += r.OutputTokens;
            total += r.PromptTokens + r.OutputTokens;
        }
        return new ServeCost(perHour, prices.Count, run, s.Requests == 0 ? 0 : run / s.Requests,
            output == 0 ? 0 : run / output * 1e6, total == 0 ? 0 : run / total * 1e6);
    }

    public void Write(JsonTextWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.WritePropertyName("cost");
        w.WriteStartObject();
        w.WritePropertyName("usd_per_hour"); w.WriteValue(UsdPerHour);
        w.WritePropertyName("devices"); w.WriteValue(Devices);
        w.WritePropertyName("run_usd"); w.WriteValue(RunUsd);
        w.WritePropertyName("usd_per_request"); w.WriteValue(UsdPerRequest);
        w.WritePropertyName("usd_per_million_output_tokens"); w.WriteValue(UsdPerMillionOutputTokens);
        w.WritePropertyName("usd_per_million_tokens"); w.WriteValue(UsdPerMillionTokens);
        w.WriteEndObject();
    }
}
