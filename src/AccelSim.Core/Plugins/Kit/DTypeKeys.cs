using System.Globalization;
using AccelSim.Core.Config;
using AccelSim.Core.Graph;

namespace AccelSim.Core.Plugins.Kit;

/// <summary>A config key a device family gives once per data type (<c>compute.bf16.peak_flops</c>,
/// <c>energy.pJ_per_flop.bf16</c>): its path with <c>{0}</c> where the type's name goes, its range, and
/// the one type, if any, whose value must be positive (the rate every device has).</summary>
/// <param name="Path">The key, <c>{0}</c> standing for the data type's name.</param>
/// <param name="Min">Smallest value accepted.</param>
/// <param name="Max">Largest value accepted.</param>
/// <param name="ExclusiveMin">Whether <paramref name="Min"/> itself is refused.</param>
/// <param name="Required">A data type whose value must be &gt; 0 (any size).</param>
public sealed record DTypeKey(string Path, double Min = 0, double Max = double.MaxValue, bool ExclusiveMin = false, DType? Required = null)
{
    /// <summary>The key of <paramref name="dtype"/>.</summary>
    public string For(DType dtype) => string.Format(CultureInfo.InvariantCulture, Path, dtype.Name());

    /// <summary>Dense peak arithmetic rate, FLOP/s (<c>compute.{0}.peak_flops</c>); 0 means unsupported.</summary>
    public static DTypeKey PeakFlops(DType required) => new("compute.{0}.peak_flops", Required: required);

    /// <summary>Dynamic energy per FLOP, pJ (<c>energy.pJ_per_flop.{0}</c>).</summary>
    public static DTypeKey PjPerFlop { get; } = new("energy.pJ_per_flop.{0}");
}

/// <summary>Binding and listing of per-data-type keys, the same in every device family.</summary>
public static class DTypeKeys
{
    /// <summary>Binds every key of <paramref name="keys"/> for every type of <paramref name="dtypes"/>, type by
    /// type (a type's keys in the order given), so problems are reported in config order. Returns one table
    /// per key, in the order of <paramref name="keys"/>.</summary>
    public static Dictionary<DType, double>[] PerDType(this ConfigBinder b, IReadOnlyList<DType> dtypes, params DTypeKey[] keys)
    {
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(dtypes);
        ArgumentNullException.ThrowIfNull(keys);
        var tables = keys.Select(_ => new Dictionary<DType, double>()).ToArray();
        foreach (var d in dtypes)
        {
            for (var k = 0; k < keys.Length; k++)
            {
                var key = keys[k];
                var path = key.For(d);
                tables[k][d] = key.Required == d ? b.Positive(path) : b.Number(path, key.Min, key.Max, key.ExclusiveMin);
            }
        }
        return tables;
    }

    /// <summary>One parameter per type for <c>accelsim list plugins</c>: <paramref name="path"/> and
    /// <paramref name="description"/> with <c>{0}</c> where the type's name goes.</summary>
    public static IEnumerable<PluginParameter> Parameters(IEnumerable<DType> dtypes, string path, string unit, string description)
    {
        ArgumentNullException.ThrowIfNull(dtypes);
        foreach (var d in dtypes)
        {
            var n = d.Name();
            yield return new PluginParameter(string.Format(CultureInfo.InvariantCulture, path, n), unit,
                string.Format(CultureInfo.InvariantCulture, description, n));
        }
    }
}
