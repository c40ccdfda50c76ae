using System.Globalization;
using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Core.Metrics;
using AccelSim.Core.Simulation;
using AccelSim.Core.Time;

namespace AccelSim.Plugins.Gpu;

/// <summary>Dataflow on a GPU is kernel fusion within on-chip limits. A region (a decoder layer) becomes
/// one fused kernel per matmul or attention op (the anchors); the norms, rotary embeddings, activations
/// and residual adds around them run as their prologues and epilogues. An intermediate tensor stays on
/// chip (in registers and shared memory, tile by tile) when its producer and consumers are fused into
/// the same kernel, or in L2 when it fits the resident part of L2; otherwise it is written to HBM and
/// read back as before. Fused kernels still run back to back: the region lasts the sum of its kernels'
/// start latencies and of each kernel's longer of compute and memory time.</summary>
public sealed partial class GpuDeviceModel : IDataflowDevice
{
    public OpCost CostRegion(Region region)
    {
        ArgumentNullException.ThrowIfNull(region);
        var ops = region.Ops;
        var n = ops.Count;

        // Fused kernels: each anchor opens one; the ops before the first anchor are its prologue, the
        // ops after an anchor its epilogue.
        var kernelOf = new int[n];
        var kernels = 0;
        for (var i = 0; i < n; i++)
        {
            if (IsAnchor(ops[i])) kernels++;
            kernelOf[i] = Math.Max(0, kernels - 1);
        }
        kernels = Math.Max(1, kernels);

        var index = new Dictionary<int, int>(n);
        for (var i = 0; i < n; i++) index[ops[i].Id] = i;
        var producer = new Dictionary<int, int>();
        var consumers = new Dictionary<int, List<int>>();
        for (var i = 0; i < n; i++)
        {
            foreach (var t in ops[i].Outputs) producer[t.Id] = i;
            foreach (var t in ops[i].Inputs)
            {
                if (!consumers.TryGetValue(t.Id, out var list)) consumers[t.Id] = list = [];
                list.Add(i);
            }
        }

        // Bytes each op no longer moves because an intermediate stays on chip.
        var saved = new long[n];
        long onChip = 0;
        var l2Budget = Spec.L2CapacityBytes * Spec.L2ResidentFraction;
        foreach (var t in region.Internal)
        {
            if (!producer.TryGetValue(t.Id, out var p) || !consumers.TryGetValue(t.Id, out var users)) continue;
            var sameKernel = users.All(u => kernelOf[u] == kernelOf[p]);
            if (!sameKernel && t.Bytes > l2Budget) continue;
            saved[p] += t.Bytes;
            foreach (var u in users) saved[u] += t.Bytes;
            onChip += t.Bytes;
        }

        var compute = new long[kernels];
        var memory = new long[kernels];
        var latency = new long[kernels];
        var bytes = new double[Topology.Channels.Count];
        var energy = new double[Topology.Channels.Count];
        var kernelEnergy = new double[kernels];
        double computeEnergy = 0;
        // The clock the power limit left the capped kernels, weighted by their compute time.
        double cappedPs = 0, cappedClockPs = 0;
        for (var i = 0; i < n; i++)
        {
            var op = ops[i];
            var cost = Cost(op);
            if (cost.PowerLimit is { } limit && IsAnchor(op))
            {
                cappedPs += cost.ComputePs;
                cappedClockPs += cost.ComputePs * limit.ClockHz;
            }
            var k = kernelOf[i];
            var scale = op.Bytes > 0 ? Math.Max(0, (op.Bytes - saved[i]) / (double)op.Bytes) : 1.0;
            var anchor = IsAnchor(op);
            compute[k] = checked(compute[k] + (anchor ? cost.ComputePs : Ps.FromSeconds(op.Flops / SustainedFlops(DType.Fp32))));
            if (anchor || (k == 0 && latency[0] == 0)) latency[k] = Math.Max(latency[k], cost.LatencyPs);
            memory[k] = checked(memory[k] + (long)Math.Ceiling(MetricsCalculator.PartTimes(cost, Topology).MemoryPs * scale));
            computeEnergy += cost.ComputeEnergyPj;
            kernelEnergy[k] += cost.ComputeEnergyPj;
            foreach (var t in cost.Transfers)
            {
                bytes[t.Channel] += t.Bytes * scale;
                energy[t.Channel] += t.EnergyPj * scale;
                kernelEnergy[k] += t.EnergyPj * scale;
            }
        }

        // Each op was held under the power cap on its own; a fused kernel also runs its prologue and
        // epilogue ops' bytes under its main loop's time, so it could draw more. Such a kernel is held
        // on the SMs until its energy fits the cap (GpuPowerModel: E / (cap_W - static_W)).
        var budgetW = KernelPowerSpec.CapW - KernelPowerSpec.StaticW;
        var held = false;
        for (var k = 0; k < kernels; k++)
        {
            var minSpanPs = (long)Math.Ceiling(kernelEnergy[k] / budgetW); // pJ / W = ps
            if (latency[k] + Math.Max(compute[k], memory[k]) >= minSpanPs) continue;
            compute[k] = minSpanPs - latency[k];
            held = true;
        }

        long mathPs = 0, memoryPs = 0, totalPs = 0, latencyPs = 0;
        for (var k = 0; k < kernels; k++)
        {
            mathPs += compute[k];
            memoryPs += memory[k];
            totalPs += Math.Max(compute[k], memory[k]);
            latencyPs += latency[k];
        }
        // The kernels run one after another, each the longer of its math and its traffic: the SMs are
        // busy for the sum of those (the task's compute time), of which the math alone is mathPs. Each
        // channel's bytes flow at the rate the kernels' own traffic reaches (all of it in memoryPs),
        // never faster than the channel, so the traffic alone takes what it would op by op.
        var transfers = new List<TransferDemand>();
        var seconds = Ps.ToSeconds(Math.Max(memoryPs, 1));
        for (var c = 0; c < bytes.Length; c++)
        {
            var b = (long)Math.Round(bytes[c]);
            if (b <= 0) continue;
            transfers.Add(new TransferDemand(c, b, Math.Min(Topology.Channels[c].Bandwidth_Bps, b / seconds), energy[c]));
        }
        var note = string.Create(CultureInfo.InvariantCulture,
            $"fused: {n} ops in {kernels} kernel{(kernels == 1 ? "" : "s")}, {onChip} B of intermediates kept on chip{(held ? $"; held to the {KernelPowerSpec.CapW:0} W cap" : "")}");
        return new OpCost(_sm, latencyPs, totalPs, transfers, computeEnergy, note)
        {
            MathPs = mathPs,
            PowerLimit = cappedPs > 0 ? Limit(cappedClockPs / cappedPs / (Spec.ClockMHz * 1e6)) : held ? Limit(1) : null,
        };
    }

    private static bool IsAnchor(Op op) => op.Kind is OpKind.MatMul or OpKind.Attention;
}
