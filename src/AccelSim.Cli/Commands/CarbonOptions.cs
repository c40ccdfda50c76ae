using System.CommandLine;
using AccelSim.Core.Config;
using AccelSim.Core.Metrics;
using AccelSim.Workloads.Configs;
using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Commands;

/// <summary>Carbon inputs of a run: the grid intensity and PUE of the site (configs/site/default.json
/// or <c>--site</c>, overridden by <c>--grid-intensity</c> and <c>--pue</c>) and the device's embodied
/// emissions and lifetime (<c>carbon.embodied_kgCO2e</c>, <c>carbon.lifetime_years</c>,
/// <c>carbon.source</c> in its hardware config).</summary>
public sealed class CarbonOptions
{
    public const string DefaultSite = "default";

    public Option<string> Site { get; } = new("--site")
    {
        Description = "Site config (bundled name in configs/site or a path) giving grid intensity and PUE for carbon figures",
        DefaultValueFactory = _ => DefaultSite,
    };

    public Option<double?> GridIntensity { get; } = new("--grid-intensity")
    {
        Description = "Grid carbon intensity, gCO2e per kWh (default: the site config's)",
    };

    public Option<double?> Pue { get; } = new("--pue") { Description = "Site power usage effectiveness, >= 1 (default: the site config's)" };

    public IEnumerable<Option> All => [Site, GridIntensity, Pue];

    public CarbonInputs Resolve(ParseResult p, HardwareConfig hardware) =>
        Build(hardware, p.GetValue(Site)!, p.GetValue(GridIntensity), p.GetValue(Pue));

    /// <summary>Carbon inputs from a hardware config and a site (name or path) with optional overrides.</summary>
    public static CarbonInputs Build(HardwareConfig hardware, string site, double? gridIntensity, double? pue)
    {
        ArgumentNullException.ThrowIfNull(hardware);
        var path = File.Exists(site) ? site : Path.Combine(BundledConfigs.Root, "site", site + ".json");
        if (!File.Exists(path)) throw new InputException(null, "--site", $"no site config '{site}' (expected a name in configs/site or a JSON file)");
        var root = JsonInput.LoadObject(path);
        CheckSiteKeys(root, path);
        var grid = gridIntensity ?? Number(root, path, "grid.intensity_gCO2e_per_kWh");
        var p = pue ?? Number(root, path, "pue");
        if (!(grid >= 0) || !double.IsFinite(grid)) throw new InputException(null, "--grid-intensity", $"expected a number >= 0 (gCO2e/kWh), got {grid}");
        if (!(p >= 1) || !double.IsFinite(p)) throw new InputException(null, "--pue", $"expected a number >= 1, got {p}");
        var gridSource = gridIntensity is null
            ? $"{Path.GetFileName(path)}: {root.SelectToken("grid.intensity_source")}" : "--grid-intensity";
        gridSource += pue is null ? $"; PUE: {root.SelectToken("pue_source")}" : "; PUE: --pue";

        double embodied = 0, years = 1;
        string embodiedSource = "no carbon.* keys in the hardware config: embodied emissions not counted";
        if (hardware.Contains("carbon.embodied_kgCO2e"))
        {
            var b = new ConfigBinder(hardware);
            embodied = b.Number("carbon.embodied_kgCO2e");
            years = b.Positive("carbon.lifetime_years");
            b.ThrowIfInvalid();
            embodiedSource = hardware.TryGet("carbon.source", out var s) && s.Text is { } text ? text : "carbon.source not given";
        }
        return new CarbonInputs(grid, p, embodied, years, gridSource, embodiedSource);
    }

    /// <summary>The keys a site config may hold; documentation fields (<c>source</c>, <c>*_source</c>,
    /// <c>_*</c>) aside, anything else is a typo and an error naming the nearest known key.</summary>
    private static readonly string[] SiteKeys = ["name", "grid", "grid.intensity_gCO2e_per_kWh", "pue"];

    private static void CheckSiteKeys(JObject root, string path)
    {
        var problems = new List<InputProblem>();
        void Walk(JObject o, string prefix)
        {
            foreach (var prop in o.Properties())
            {
                var key = prefix + prop.Name;
                if (prop.Name.StartsWith('_') || HardwareConfig.IsDocumentation(key)) continue;
                if (!SiteKeys.Contains(key, StringComparer.Ordinal))
                    problems.Add(new InputProblem(path, key, $"unknown key in a site config{NearestNames.DidYouMean(SiteKeys.Where(k => k != "grid"), key)}"));
                else if (prop.Value is JObject child) Walk(child, key + ".");
            }
        }
        Walk(root, "");
        if (problems.Count > 0) throw new InputException(problems);
    }

    private static double Number(JObject root, string path, string key) =>
        root.SelectToken(key) is { Type: JTokenType.Float or JTokenType.Integer } t
            ? JsonInput.ToDouble(t)
            : throw new InputException(path, key, "missing; expected a number");
}
