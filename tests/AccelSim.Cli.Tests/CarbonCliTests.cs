using Newtonsoft.Json.Linq;

namespace AccelSim.Cli.Tests;

public class CarbonCliTests
{
    private static JObject Run(params string[] extra)
    {
        var args = new[] { "run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--batch", "8", "--context", "512", "--format", "json" }
            .Concat(extra).ToArray();
        var r = CliHarness.Run(args);
        Assert.True(r.ExitCode == 0, r.Error);
        return JObject.Parse(r.Out);
    }

    [Fact]
    public void TheReportCarriesPowerTokensPerJouleAndCarbon()
    {
        var j = Run();
        var energy = j["energy_j"]!.Value<double>();
        var latency = j["latency_s"]!.Value<double>();
        Assert.Equal(energy / latency, j["power_w"]!["average"]!.Value<double>(), 6);
        Assert.InRange(j["power_w"]!["peak"]!.Value<double>(), energy / latency, 700.001);
        Assert.Equal(8 / energy, j["tokens_per_j"]!.Value<double>(), 6);
        var c = j["carbon"]!;
        // Defaults from configs/site/default.json and the h100 carbon keys.
        Assert.Equal(480, c["inputs"]!["grid_intensity_g_per_kwh"]!.Value<double>());
        Assert.Equal(1.58, c["inputs"]!["pue"]!.Value<double>());
        Assert.Equal(energy / 3.6e6 * 1.58 * 480, c["operational_g"]!.Value<double>(), 12);
        Assert.Equal(200e3 * latency / (5 * 365.25 * 86400), c["embodied_g"]!.Value<double>(), 12);
    }

    [Fact]
    public void GridIntensityOverridesTheSite()
    {
        var dflt = Run()["carbon"]!;
        var clean = Run("--grid-intensity", "48")["carbon"]!;
        Assert.Equal(dflt["operational_g"]!.Value<double>() / 10, clean["operational_g"]!.Value<double>(), 12);
        Assert.Equal(dflt["embodied_g"]!.Value<double>(), clean["embodied_g"]!.Value<double>());
    }

    [Fact]
    public void ANegativeGridIntensityIsBadInput()
    {
        var r = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--grid-intensity", "-5");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--grid-intensity", r.Error);
    }

    [Fact]
    public void AMisspeltSiteKeyIsAnErrorNamingTheNearestKey()
    {
        using var dir = new CliHarness.TempDir();
        var site = dir.File("site.json");
        File.WriteAllText(site, """{ "name": "x", "grid": { "intensity_gCO2e_per_kwh": 100 }, "pue": 1.2, "pue_source": "a note" }""");
        var o = CliHarness.Run("run", "--hardware", "h100", "--model", "llama2-7b", "--phase", "decode", "--site", site);
        Assert.Equal(2, o.ExitCode);
        Assert.Contains("grid.intensity_gCO2e_per_kwh", o.Error);
        Assert.Contains("did you mean grid.intensity_gCO2e_per_kWh", o.Error);
        Assert.DoesNotContain("   at ", o.Error);
    }
}
