using AccelSim.Core.Graph;
using AccelSim.Core.Simulation;

namespace AccelSim.Core.Devices;

/// <summary>What a device can do beyond costing one op at a time: the one place the optional abilities
/// of a device model are declared and looked up (<see cref="IDeviceModel.Capabilities"/>). Every member is
/// a capability object, or null when the device does not offer it, in which case callers fall back as its
/// documentation says. Ask <c>device.Capabilities.Streaming is { } s</c>; never test the device's type.
/// <para>A device derived from another (<see cref="ICopyPowerBudget.WithCopies"/>, an override of its
/// description) declares its own capabilities, whose members cost on the derived device, never on the
/// original: a wrapper forwards the capabilities it keeps and drops those it cannot honour.</para>
/// <para>The schedules and the placement transform read this object only; the plugin specification
/// suite checks that a bundled device offering a capability names an object that costs on that device.</para></summary>
public sealed record DeviceCapabilities
{
    /// <summary>A device with no optional ability: one memory tier (its main memory), costed op by op,
    /// graphs with copies costed as they are, no host model.</summary>
    public static DeviceCapabilities None { get; } = new();

    /// <summary>Tiers below main memory tensors may be placed in (host memory, NVMe, DDR) and a copy path
    /// between them. Null: the placement policies see main memory alone and have nowhere to offload to.</summary>
    public IMemoryHierarchy? MemoryHierarchy { get; init; }

    /// <summary>The device streams what does not fit in main memory by itself (a wafer from its external
    /// store). Null: the placement policies insert the copies (offload, KV swap).</summary>
    public INativeStreaming? Streaming { get; init; }

    /// <summary>The device has a host CPU that runs ops in host memory (a training optimizer step over
    /// offloaded states). Null, or <see cref="IHostCompute.HasHostCpu"/> false: training placements that
    /// need one are refused.</summary>
    public IHostCompute? HostCompute { get; init; }

    /// <summary>The device's copies share its power limit with its kernels, so a graph with copies is
    /// costed on <see cref="ICopyPowerBudget.WithCopies"/> (<see cref="Devices.CopyPowerBudget.For"/>). Null:
    /// copies draw nothing from the kernels' budget.</summary>
    public ICopyPowerBudget? CopyPowerBudget { get; init; }

    /// <summary>A host thread issues the device's ops one by one (eager execution) at a cost per call.
    /// Null: an eager launch runs as the sequential schedule, with no host cost.</summary>
    public IHostDispatchDevice? HostDispatch { get; init; }

    /// <summary>The device's op costs depend on the tier the placement put each tensor in, so the schedules
    /// cost a graph on the device bound to its placement (<see cref="IPlacementAwareDevice.ForPlacement"/>,
    /// through <see cref="Devices.CopyPowerBudget.For"/>). Null: an op's cost does not depend on the placement.</summary>
    public IPlacementAwareDevice? Placement { get; init; }

    /// <summary>The device runs a region of ops as one spatial pipeline (dataflow). Null: the dataflow
    /// schedules run its regions op by op.</summary>
    public IDataflowDevice? Dataflow { get; init; }

    /// <summary>The device runs a region's ops in sequence on the whole array reconfigured per op, with
    /// intermediates on chip (InTAR). Null: the <c>auto</c> schedule weighs only op by op and the pipeline.</summary>
    public IReconfigurableDevice? Reconfiguration { get; init; }
}

/// <summary>Capability (<see cref="DeviceCapabilities.MemoryHierarchy"/>): memory tiers below main memory
/// (host memory over PCIe, an NVMe drive, an external weight store). The device's cost model must cost
/// ops whose <see cref="Op.Transfer"/> is set: a copy between two of these tiers on its copy path.</summary>
public interface IMemoryHierarchy
{
    /// <summary>Tiers tensors may be placed in, fastest first (e.g. hbm, host, ssd).</summary>
    IReadOnlyList<string> PlacementTiers { get; }
}

/// <summary>Capability (<see cref="DeviceCapabilities.Streaming"/>): the device keeps the weights and
/// caches that do not fit in its main memory in a lower tier (<see cref="StreamTier"/>) and streams them in
/// each time they are used, as a wafer streams weights from its external store. The placement transform
/// places its graphs first fit by tier (<see cref="Memory.Placement.NativeFirstFit"/>: main memory up to
/// <see cref="ResidentBudgetBytes"/>, the rest in <see cref="StreamTier"/>) whatever the policy:
/// <c>offload</c> and <c>kv_policy=swap</c> are what it does already, <c>fit</c> fails when anything would
/// stream; expert models rest in <see cref="StreamTier"/>.</summary>
public interface INativeStreaming
{
    /// <summary>The tier what does not fit lives in and streams from.</summary>
    string StreamTier { get; }

    /// <summary>Bytes of main memory the device's own placement gives to weights and caches (the rest
    /// holds activations and buffers).</summary>
    long ResidentBudgetBytes { get; }

    /// <summary>Bytes of <paramref name="graph"/>'s resident tensors, not yet placed, that its first-fit
    /// placement (<see cref="Memory.Placement.NativeFirstFit"/>) keeps in <see cref="StreamTier"/> rather
    /// than in its main memory.</summary>
    long StreamedBytes(WorkloadGraph graph);
}

/// <summary>Capability (<see cref="DeviceCapabilities.HostCompute"/>): the device can run ops on the CPU of
/// its host, in host memory (an optimizer step over offloaded states). Such an op carries
/// <see cref="Memory.HostCompute.In"/> of its host tier as its <see cref="Op.Transfer"/>; the device costs it on
/// its host-CPU engine.</summary>
public interface IHostCompute
{
    /// <summary>True when the device's description includes a host CPU to run ops on.</summary>
    bool HasHostCpu { get; }
}
