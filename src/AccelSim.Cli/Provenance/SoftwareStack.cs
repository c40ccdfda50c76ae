namespace AccelSim.Cli.Provenance;

/// <summary>The software stack and launch mode a run models, in one place. Today every run models a fused
/// serving-engine stack; kernels are launched from a CUDA graph, or one by one from a host thread under
/// the eager schedule. When <c>--stack</c>/<c>--launch</c> options exist they feed this.</summary>
public static class SoftwareStack
{
    public const string DefaultStack = "fused";

    public static (string Stack, string Launch) For(string scheduleName) =>
        (DefaultStack, scheduleName == "eager" ? "eager" : "graph");
}
