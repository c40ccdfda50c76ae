namespace AccelSim.Cli.Provenance;

/// <summary>The software stack and launch mode a report names, in one place (docs/stacks.md).</summary>
public static class SoftwareStack
{
    public const string DefaultStack = "fused";

    /// <summary>The stack and launch mode of a run: those the workload names (set by <c>--stack</c> and
    /// the launch decision), else the defaults for the schedule. A trace without a stack runs the kernels
    /// it recorded.</summary>
    public static (string Stack, string Launch) For(string scheduleName, Core.Graph.WorkloadInfo? info = null) =>
        (info?.Stack ?? (info?.Recorded is not null ? "as recorded" : DefaultStack),
         info?.Launch ?? (scheduleName == "eager" ? "eager" : "graph"));
}
