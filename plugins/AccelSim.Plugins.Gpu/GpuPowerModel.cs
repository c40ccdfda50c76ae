using AccelSim.Core.Config;

namespace AccelSim.Plugins.Gpu;

/// <summary>The power and DVFS description of a GPU: the power limit in force, the static draw, the
/// voltage-frequency exponent and the lowest clock the limit may push the SMs to.</summary>
/// <param name="CapW">Board power limit (<c>power.cap_W</c>).</param>
/// <param name="StaticW">Power drawn whenever the device is on (<c>power.static_W</c>).</param>
/// <param name="Alpha">Dynamic energy per operation scales as (f / f_max)^alpha over the DVFS range
/// (<c>power.dvfs.alpha</c>): alpha = 2 is V proportional to f with E ~ C V^2.</param>
/// <param name="MinClockFraction">Lowest SM clock the power limit may impose, as a fraction of
/// <c>compute.clock_MHz</c> (<c>power.dvfs.min_clock_fraction</c>).</param>
/// <param name="TensorPeakClockMHz">SM clock the datasheet's tensor-core peaks are quoted at
/// (<c>compute.tensor_peak_clock_MHz</c>; defaults to <c>compute.clock_MHz</c>).</param>
/// <param name="PjPerByteHbmWrite">Dynamic energy per byte written to HBM
/// (<c>energy.pJ_per_byte.hbm_write</c>; defaults to <c>energy.pJ_per_byte.hbm</c>, the read energy).</param>
public sealed record GpuPowerSpec(
    double CapW,
    double StaticW,
    double Alpha,
    double MinClockFraction,
    double TensorPeakClockMHz,
    double PjPerByteHbmWrite)
{
    /// <summary>Binds the power keys; problems are collected by <paramref name="b"/>.</summary>
    public static GpuPowerSpec Bind(ConfigBinder b, double clockMHz, double pjPerByteHbm)
    {
        ArgumentNullException.ThrowIfNull(b);
        var cap = b.Positive("power.cap_W");
        var staticW = b.Number("power.static_W");
        if (cap > 0 && staticW >= cap)
            b.Fail("power.cap_W", $"expected a power limit above power.static_W ({staticW} W), got {cap} W: the device could not run at all");
        return new GpuPowerSpec(
            cap,
            staticW,
            b.Number("power.dvfs.alpha", 0, 4),
            b.Number("power.dvfs.min_clock_fraction", 0, 1, exclusiveMin: true),
            b.OptionalNumber("compute.tensor_peak_clock_MHz", clockMHz),
            b.OptionalNumber("energy.pJ_per_byte.hbm_write", pjPerByteHbm));
    }
}

/// <summary>The clock a kernel runs at under the power limit, and what that does to its time and
/// energy.</summary>
/// <param name="ClockFraction">SM clock over <c>compute.clock_MHz</c> (1 = not throttled).</param>
/// <param name="ComputeS">SM time at that clock: the full-clock compute time / ClockFraction, or longer
/// when the kernel is held back so that its bytes' power fits under the cap (<see cref="Held"/>).</param>
/// <param name="ComputeEnergyPj">FLOP energy at that clock: full-clock energy x ClockFraction^alpha.</param>
/// <param name="PowerW">Board power over the kernel (static + dynamic) at that clock.</param>
/// <param name="Held">The kernel would draw more than the cap even at the lowest clock (its bytes'
/// energy does not follow the SM clock), so it is held on the SMs until its power is the cap: with the
/// SMs that slow, its loads are issued no faster than that.</param>
public readonly record struct KernelPower(double ClockFraction, double ComputeS, double ComputeEnergyPj, double PowerW, bool Held = false)
{
    public bool Throttled => ClockFraction < 1;

    /// <summary>The power limit set the kernel's pace: a lower clock or a held kernel.</summary>
    public bool Capped => Throttled || Held;
}

/// <summary>The GPU power model. A kernel's board power at clock fraction r = f / f_max is
/// <code>P(r) = static_W + (E_flop x r^alpha + E_bytes) / d(r),   d(r) = fixed + max(compute / r, min_busy, memory)</code>
/// where E_flop is the FLOP energy at f_max (pJ per FLOP x FLOPs), E_bytes the energy of its bytes
/// (memory clocks do not follow the SM clock), compute its SM time at f_max and memory its isolated
/// transfer time. P rises with r. When P(1) exceeds <c>power.cap_W</c> the SMs run at the r where
/// P(r) = cap (found by bisection, no lower than <c>power.dvfs.min_clock_fraction</c>), so a
/// compute-bound kernel is slower and draws the cap, while a memory-bound kernel (P(1) under the
/// cap) is untouched. When even the lowest clock leaves P above the cap (a kernel whose bytes alone
/// draw more: a memory-bound kernel on a device with more bandwidth than its cap can feed), the kernel
/// is held on the SMs for <c>d = (E_flop x r^alpha + E_bytes) / (cap_W - static_W)</c>, so it draws
/// exactly the cap: the power limit, not the clock alone, sets its pace. A kernel never draws more
/// than the cap. Time and energy follow from the same r. Pure and deterministic.</summary>
public static class GpuPowerModel
{
    private const int Iterations = 64;

    /// <summary>Applies the power limit to one kernel.</summary>
    /// <param name="spec">The device's power description.</param>
    /// <param name="computeS">SM time at the full clock, s.</param>
    /// <param name="computeEnergyPj">FLOP energy at the full clock, pJ.</param>
    /// <param name="byteEnergyPj">Energy of the kernel's bytes, pJ (not clock-dependent).</param>
    /// <param name="memoryS">Isolated time of the kernel's transfers, s.</param>
    /// <param name="fixedS">Time that no clock changes (kernel start), s.</param>
    /// <param name="minBusyS">Shortest SM occupancy (launch and tail), s.</param>
    public static KernelPower Apply(GpuPowerSpec spec, double computeS, double computeEnergyPj, double byteEnergyPj,
        double memoryS, double fixedS, double minBusyS)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var full = Power(spec, 1, computeS, computeEnergyPj, byteEnergyPj, memoryS, fixedS, minBusyS);
        if (full <= spec.CapW) return new KernelPower(1, computeS, computeEnergyPj, full);

        var r = 1.0;
        if (computeS > 0 && computeEnergyPj > 0)
        {
            var lo = spec.MinClockFraction;
            var hi = 1.0;
            if (Power(spec, lo, computeS, computeEnergyPj, byteEnergyPj, memoryS, fixedS, minBusyS) < spec.CapW)
            {
                for (var i = 0; i < Iterations; i++)
                {
                    var mid = 0.5 * (lo + hi);
                    if (Power(spec, mid, computeS, computeEnergyPj, byteEnergyPj, memoryS, fixedS, minBusyS) <= spec.CapW) lo = mid;
                    else hi = mid;
                }
            }
            r = lo;
        }
        var energyPj = computeEnergyPj * Math.Pow(r, spec.Alpha);
        var busyS = computeS / r;
        var power = Power(spec, 1, busyS, energyPj, byteEnergyPj, memoryS, fixedS, minBusyS);
        if (power <= spec.CapW) return new KernelPower(r, busyS, energyPj, power);

        // Still over the cap at the lowest clock: hold the kernel until its energy fits the budget.
        var spanS = (energyPj + byteEnergyPj) * 1e-12 / (spec.CapW - spec.StaticW);
        busyS = Math.Max(busyS, spanS - fixedS);
        return new KernelPower(r, busyS, energyPj, Power(spec, 1, busyS, energyPj, byteEnergyPj, memoryS, fixedS, minBusyS), Held: true);
    }

    /// <summary>Board power of the kernel at clock fraction <paramref name="r"/>, W.</summary>
    public static double Power(GpuPowerSpec spec, double r, double computeS, double computeEnergyPj, double byteEnergyPj,
        double memoryS, double fixedS, double minBusyS)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var d = fixedS + Math.Max(Math.Max(computeS / r, minBusyS), memoryS);
        if (d <= 0) return spec.StaticW;
        return spec.StaticW + (computeEnergyPj * Math.Pow(r, spec.Alpha) + byteEnergyPj) * 1e-12 / d;
    }
}
