using AccelSim.Core.Simulation;
using AccelSim.Core.Config;
using AccelSim.Workloads.Configs;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Stacks;

/// <summary>Reads a software-stack file (<c>configs/stacks/*.json</c>, schema in docs/stacks.md). Every
/// key is known: an unknown key or value is an error naming the file and the JSON path, and every
/// problem is reported at once. Keys ending in <c>source</c> or starting with <c>comment</c> are
/// documentation.</summary>
public static class StackLoader
{
    /// <summary>Loads a bundled stack name (<c>fused</c>, <c>pytorch</c>) or a path.</summary>
    public static SoftwareStack LoadNamed(string nameOrPath) =>
        Load(BundledConfigs.Resolve(nameOrPath, BundledConfigs.StacksDir, RequestParameter.Stack));

    public static SoftwareStack Load(string path)
    {
        var root = JsonInput.LoadObject(path);
        var problems = new List<InputProblem>();
        var r = new Reader(path, problems);
        r.Known(root, "", ["name", "launch", "host_cost_factor", "lowering", "attention", "gemm"]);
        var name = r.Text(root, "name", null);
        var stack = new SoftwareStack { Name = name ?? Path.GetFileNameWithoutExtension(path), Source = (string?)root["source"] };
        if (name is null) problems.Add(new InputProblem(path, "name", "missing; expected the stack's name"));
        stack = stack with { Launch = r.Choice(root, "launch", "", LaunchMode.Graph, ("graph", LaunchMode.Graph), ("eager", LaunchMode.Eager)) };
        if (root["host_cost_factor"] is { } factor)
        {
            if (factor.Type is JTokenType.Float or JTokenType.Integer && JsonInput.ToDouble(factor) is var f && f > 0 && f <= 100)
                stack = stack with { HostCostFactor = f };
            else
                problems.Add(new InputProblem(path, "host_cost_factor", $"expected a number in (0, 100], got {factor.ToString(Newtonsoft.Json.Formatting.None)}"));
        }

        if (r.Section(root, "lowering") is { } l)
        {
            r.Known(l, "lowering.", ["norm", "rotary", "activation_gate", "residual", "kv_cache_write", "logits", "final_norm",
                "qkv_projection", "gate_up_projection", "host_calls", "dropout"]);
            const string p = "lowering.";
            stack = stack with
            {
                Norm = r.Choice(l, "norm", p, NormLowering.Fused, ("fused", NormLowering.Fused), ("unfused_fp32", NormLowering.UnfusedFp32)),
                Rotary = r.Choice(l, "rotary", p, RotaryLowering.Fused, ("fused", RotaryLowering.Fused), ("unfused", RotaryLowering.Unfused)),
                ActivationGate = r.Choice(l, "activation_gate", p, GateLowering.Fused, ("fused", GateLowering.Fused), ("unfused", GateLowering.Unfused)),
                KvCacheWrite = r.Choice(l, "kv_cache_write", p, KvWriteLowering.Fused, ("fused", KvWriteLowering.Fused), ("slice_copy", KvWriteLowering.SliceCopy)),
                Logits = r.Choice(l, "logits", p, RowsLowering.LastToken, ("last_token", RowsLowering.LastToken), ("all_tokens", RowsLowering.AllTokens)),
                FinalNorm = r.Choice(l, "final_norm", p, RowsLowering.AllTokens, ("all_tokens", RowsLowering.AllTokens), ("last_token", RowsLowering.LastToken)),
                Qkv = r.Choice(l, "qkv_projection", p, ProjectionLowering.Fused, ("fused", ProjectionLowering.Fused), ("separate", ProjectionLowering.Separate)),
                GateUp = r.Choice(l, "gate_up_projection", p, ProjectionLowering.Fused, ("fused", ProjectionLowering.Fused), ("separate", ProjectionLowering.Separate)),
                HostCalls = r.Choice(l, "host_calls", p, HostCallsLowering.PerKernel, ("per_kernel", HostCallsLowering.PerKernel), ("aten", HostCallsLowering.Aten)),
                Dropout = r.Choice(l, "dropout", p, DropoutLowering.None, ("none", DropoutLowering.None), ("masked", DropoutLowering.Masked)),
            };
            // A residual add fused into the GEMM epilogue is not modelled: both bundled stacks launch it separately.
            stack = stack with { Residual = r.Choice(l, "residual", p, ResidualLowering.Separate, ("separate", ResidualLowering.Separate), ("framework_add", ResidualLowering.FrameworkAdd)) };
        }
        if (r.Section(root, "attention") is { } a)
        {
            r.Known(a, "attention.", ["family"]);
            stack = stack with { AttentionFamily = r.Choice(a, "family", "attention.", "flash", ("flash", "flash"), ("unfused", "unfused")) };
        }
        if (r.Section(root, "gemm") is { } g)
        {
            r.Known(g, "gemm.", ["library"]);
            stack = stack with { GemmLibrary = r.Text(g, "library", "gemm.") ?? "cublas" };
        }
        if (stack.Logits == RowsLowering.AllTokens && stack.FinalNorm == RowsLowering.LastToken)
            problems.Add(new InputProblem(path, "lowering.final_norm", "\"last_token\" needs lowering.logits \"last_token\" (logits over every token need every token normalised)"));
        if (problems.Count > 0) throw new InputException(problems);
        return stack;
    }

    private sealed class Reader(string file, List<InputProblem> problems)
    {
        private static bool IsDoc(string key) =>
            key.EndsWith("source", StringComparison.Ordinal) || key.StartsWith("comment", StringComparison.Ordinal) || key.StartsWith('_');

        public void Known(JObject o, string prefix, string[] keys)
        {
            foreach (var prop in o.Properties())
            {
                if (IsDoc(prop.Name) || keys.Contains(prop.Name)) continue;
                problems.Add(new InputProblem(file, prefix + prop.Name, $"unknown key; expected one of {string.Join(", ", keys)} (or a *source / comment field)"));
            }
        }

        public JObject? Section(JObject o, string key)
        {
            if (o[key] is not { } t) return null;
            if (t is JObject j) return j;
            problems.Add(new InputProblem(file, key, $"expected an object, got {t.Type}"));
            return null;
        }

        public string? Text(JObject o, string key, string? prefix)
        {
            if (o[key] is not { } t) return null;
            if (t.Type == JTokenType.String && !string.IsNullOrWhiteSpace((string?)t)) return (string)t!;
            problems.Add(new InputProblem(file, prefix + key, $"expected a non-empty string, got {t.Type}"));
            return null;
        }

        public T Choice<T>(JObject o, string key, string prefix, T fallback, params (string Name, T Value)[] choices)
        {
            if (o[key] is not { } t) return fallback;
            var text = t.Type == JTokenType.String ? (string?)t : null;
            foreach (var (n, v) in choices)
            {
                if (n == text) return v;
            }
            var expected = string.Join(" or ", choices.Select(c => $"\"{c.Name}\""));
            problems.Add(new InputProblem(file, prefix + key, $"expected {expected}, got {t.ToString(Newtonsoft.Json.Formatting.None)}"));
            return fallback;
        }
    }
}
