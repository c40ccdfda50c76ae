using AccelSim.Core.Graph;
using AccelSim.Core.Memory;

namespace AccelSim.Plugins.Rdu;

/// <summary>Composition-of-Experts workloads on an RDU: expert models at rest in DDR, switched into HBM
/// before they serve a step (the device-independent builder is <see cref="ExpertSwitching"/>).</summary>
public static class RduWorkloads
{
    /// <summary>The RDU's switch path: DDR into HBM.</summary>
    public static readonly TierTransfer SwitchPath = new("ddr", "hbm");

    /// <summary>Bytes of the distinct weight tensors of <paramref name="graph"/>.</summary>
    public static long WeightBytes(WorkloadGraph graph) => ExpertSwitching.WeightBytes(graph);

    /// <summary><paramref name="switches"/> DDR-to-HBM expert switches followed by <paramref name="step"/>.</summary>
    public static WorkloadGraph CompositionOfExperts(WorkloadGraph step, int switches, long? expertBytes = null) =>
        ExpertSwitching.Compose(step, switches, SwitchPath, expertBytes);
}
