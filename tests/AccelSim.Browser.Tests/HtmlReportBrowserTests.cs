using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using Newtonsoft.Json.Linq;

namespace AccelSim.Browser.Tests;

/// <summary>The HTML reports of run, compare and serve, opened in headless Chromium from file:// URLs: they load
/// without errors or requests, show the JSON report's figures, draw the roofs the run used, and their timeline,
/// tooltips, zoom, sorting and run selector work.</summary>
[Collection("browser")]
public sealed class HtmlReportBrowserTests(ReportsFixture reports)
{
    [BrowserFact]
    public async Task Run_page_loads_without_errors_and_shows_the_json_reports_figures()
    {
        var (page, errors) = await reports.OpenAsync(reports.RunHtml);
        var json = reports.RunJson;
        var figures = await Figures(page, ".fig-value[data-json]");
        Assert.True(figures.Count >= 10, $"{figures.Count} key figures");
        foreach (var (pointer, value, text, _) in figures)
        {
            var token = json.SelectToken(Path(pointer));
            Assert.True(token is not null, $"{pointer} is not in the JSON report");
            Assert.Equal(token!.Value<double>(), value);
            Assert.False(string.IsNullOrWhiteSpace(text), pointer);
        }
        foreach (var key in new[] { "/latency_s", "/tokens_per_s", "/energy_j", "/utilisation/compute", "/utilisation/memory_bandwidth",
                     "/memory_wall/memory_bound_time_fraction", "/memory_wall/stall_s" })
            Assert.Contains(figures, f => f.Pointer == key);
        // The latency as shown is the JSON's, through the shared formatter (four significant digits, unit chosen).
        var latency = figures.Single(f => f.Pointer == "/latency_s");
        Assert.StartsWith(AccelSim.Reports.Quantities.Time(json.Value<double>("latency_s")), latency.Text);
        var fits = await page.GetAttributeAsync(".fig-value[data-fits]", "data-fits");
        var over = ((JObject)json["memory"]!["over_capacity_bytes"]!).Properties().Any(p => p.Value.Value<long>() > 0);
        Assert.Equal(over ? "false" : "true", fits);
        // The title names the workload and the hardware.
        var title = await page.TextContentAsync("svg.roofline .plot-title");
        Assert.Contains("llama2-7b prefill, batch 1", title);
        Assert.Contains("h100", title);
        Assert.Empty(errors);
        if (Environment.GetEnvironmentVariable(BrowserEnvironment.ScreenshotsVariable) is { Length: > 0 })
        {
            // The picture in the docs shows a tooltip: the longest op of the timeline, hovered.
            await page.SetViewportSizeAsync(1300, 1750);
            var widest = await page.EvalOnSelectorAllAsync<int>(".timeline rect.op",
                "els => { let b = 0; els.forEach((e, i) => { if (+e.getAttribute('width') > +els[b].getAttribute('width')) b = i; }); return b; }");
            await page.Locator(".timeline rect.op").Nth(widest).HoverAsync();
        }
        await Screenshot(page, "report-run.png", 1750);
        await page.CloseAsync();
    }

    [BrowserFact]
    public async Task Roofline_draws_exactly_the_roofs_the_run_used()
    {
        var (page, errors) = await reports.OpenAsync(reports.RunHtml);
        var json = reports.RunJson;
        var roofs = await page.EvalOnSelectorAllAsync<string[][]>("svg.roofline line.roof",
            "els => els.map(e => [e.classList.contains('roof-compute') ? 'compute' : 'memory', e.getAttribute('data-members')])");
        var memory = roofs.Where(r => r[0] == "memory").SelectMany(r => r[1].Split('|')).Order(StringComparer.Ordinal).ToArray();
        var channels = ((JObject)json["memory"]!["bytes_moved_by_channel"]!).Properties().Where(p => p.Value.Value<long>() > 0)
            .Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(channels, memory);
        Assert.True(((JObject)json["memory"]!["bytes_moved_by_channel"]!).Count > channels.Length, "the device has channels this run did not use");
        var computeMembers = roofs.Where(r => r[0] == "compute").Select(r => r[1].Split('|')).ToArray();
        var usedTypes = ((JArray)json["ops"]!).Where(o => o.Value<long>("flops") > 0).Select(o => o.Value<string>("dtype")!).Distinct().ToArray();
        Assert.All(usedTypes, d => Assert.Contains(computeMembers, m => m.Contains(d)));
        Assert.All(computeMembers, m => Assert.Contains(m, d => usedTypes.Contains(d)));
        Assert.Equal(1, await page.Locator("svg.roofline circle.ridge").CountAsync());
        var ridge = double.Parse((await page.GetAttributeAsync("svg.roofline circle.ridge", "data-ridge"))!, CultureInfo.InvariantCulture);
        Assert.Equal(json["memory_wall"]!.Value<double>("ridge_point_flop_per_byte"), ridge);
        var dots = await page.Locator("svg.roofline circle.dot").CountAsync();
        Assert.Equal(((JArray)json["ops"]!).Count(o => o.Value<long>("flops") > 0 && o.Value<double>("achieved_flops_per_s") > 0), dots);

        // Hovering a dot names the op, its intensity and its achieved FLOP/s.
        var dot = page.Locator("svg.roofline circle.dot").Last;
        await dot.HoverAsync(new LocatorHoverOptions { Force = true });
        var tip = await page.Locator("#tip").InnerTextAsync();
        Assert.Contains("intensity", tip);
        Assert.Contains("achieved", tip);
        Assert.Empty(errors);
        await page.CloseAsync();
    }

    [BrowserFact]
    public async Task Hovering_an_op_in_the_timeline_shows_its_tooltip()
    {
        var (page, errors) = await reports.OpenAsync(reports.RunHtml);
        var json = reports.RunJson;
        // The widest bar: the longest op.
        var index = await page.EvalOnSelectorAllAsync<int>(".timeline rect.op",
            "els => { let b = 0; els.forEach((e, i) => { if (+e.getAttribute('width') > +els[b].getAttribute('width')) b = i; }); return b; }");
        var bar = page.Locator(".timeline rect.op").Nth(index);
        var id = int.Parse((await bar.GetAttributeAsync("data-op"))!, CultureInfo.InvariantCulture);
        var op = ((JArray)json["ops"]!).Single(o => o.Value<int>("id") == id);
        await bar.HoverAsync();
        var tip = page.Locator("#tip");
        Assert.True(await tip.IsVisibleAsync());
        var text = await tip.InnerTextAsync();
        Assert.StartsWith(op.Value<string>("name")!, text);
        foreach (var word in new[] { "start ", "duration ", "bound " + op.Value<string>("bound"), "bytes ", "FLOPs " })
            Assert.Contains(word, text);
        Assert.Contains(AccelSim.Reports.Quantities.Time(op.Value<double>("duration_s")), text);
        // Leaving the timeline hides it.
        await page.Locator("header h1").HoverAsync();
        Assert.False(await tip.IsVisibleAsync());
        Assert.Empty(errors);
        await page.CloseAsync();
    }

    [BrowserFact]
    public async Task Zoom_and_pan_change_the_visible_range()
    {
        var (page, errors) = await reports.OpenAsync(reports.RunHtml);
        var latency = reports.RunJson.Value<double>("latency_s");
        var (t0, t1) = await Range(page);
        Assert.Equal(0, t0);
        Assert.Equal(latency, t1, 9);
        var hidden0 = await HiddenBars(page);

        await page.ClickAsync(".timeline button[data-zoom=in]");
        var (a0, a1) = await Range(page);
        Assert.Equal((t1 - t0) / 2, a1 - a0, 9);
        await page.ClickAsync(".timeline button[data-zoom=in]");
        await page.ClickAsync(".timeline button[data-zoom=in]");
        Assert.True(await HiddenBars(page) > hidden0, "zooming in hides the bars outside the range");

        // The wheel zooms around the pointer.
        var box = (await page.Locator(".timeline svg").BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + box.Width * 0.6f, box.Y + box.Height / 2);
        var (b0, b1) = await Range(page);
        await page.Mouse.WheelAsync(0, -200);
        await page.WaitForFunctionAsync($"() => +document.querySelector('.timeline .tl-range').getAttribute('data-t1') - +document.querySelector('.timeline .tl-range').getAttribute('data-t0') < {(b1 - b0).ToString("R", CultureInfo.InvariantCulture)}");
        var (c0, c1) = await Range(page);
        Assert.True(c1 - c0 < b1 - b0);

        // Dragging pans: the span stays, the start moves.
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(box.X + box.Width * 0.3f, box.Y + box.Height / 2, new MouseMoveOptions { Steps = 4 });
        await page.Mouse.UpAsync();
        var (d0, d1) = await Range(page);
        Assert.Equal(c1 - c0, d1 - d0, 9);
        Assert.True(d0 > c0, $"dragging left moves the range later ({c0} -> {d0})");

        await page.ClickAsync(".timeline button[data-zoom=reset]");
        Assert.Equal((0.0, latency), await Range(page), new RangeComparer());
        Assert.Empty(errors);
        await page.CloseAsync();
    }

    [BrowserFact]
    public async Task Clicking_a_header_sorts_the_op_table()
    {
        var (page, errors) = await reports.OpenAsync(reports.RunHtml);
        var header = page.Locator("#op-table thead th", new PageLocatorOptions { HasTextString = "Time" }).First;
        await header.ClickAsync();
        Assert.Equal("ascending", await header.GetAttributeAsync("aria-sort"));
        var times = await Column(page, 7);
        Assert.Equal(times.Order().ToArray(), times);
        await header.ClickAsync();
        Assert.Equal("descending", await header.GetAttributeAsync("aria-sort"));
        times = await Column(page, 7);
        Assert.Equal(times.OrderDescending().ToArray(), times);
        Assert.True(times[0] > times[^1]);
        // The row that now leads is the longest op of the JSON report.
        var first = await page.Locator("#op-table tbody tr").First.GetAttributeAsync("data-op");
        Assert.NotNull(first);

        var name = page.Locator("#op-table thead th", new PageLocatorOptions { HasTextString = "Op" }).First;
        await name.ClickAsync();
        var names = await page.EvalOnSelectorAllAsync<string[]>("#op-table tbody tr td:nth-child(2)", "els => els.map(e => e.textContent)");
        Assert.Equal(names.Order(StringComparer.Ordinal).ToArray(), names);
        Assert.Equal(reports.RunJson["ops"]!.Count(), names.Length);
        Assert.Empty(errors);
        await page.CloseAsync();
    }

    [BrowserFact]
    public async Task Compare_page_renders_marks_the_best_and_switches_runs()
    {
        var (page, errors) = await reports.OpenAsync(reports.CompareHtml);
        var json = reports.CompareJson;
        var runs = (JArray)json["runs"]!;
        var cells = await Figures(page, "table.compare td[data-json]", withRun: true);
        Assert.NotEmpty(cells);
        foreach (var (pointer, value, _, run) in cells.Select(c => (c.Pointer, c.Value, c.Text, c.Run)))
        {
            var token = runs[run].SelectToken(Path(pointer));
            Assert.True(token is not null, $"{pointer} is not in run {run}");
            if (token!.Type != JTokenType.Null) Assert.Equal(token.Value<double>(), value);
        }
        // The fastest run's latency is marked best.
        var fastest = json["fastest"]!;
        var best = await page.GetAttributeAsync("table.compare td.best[data-json='/latency_s']", "data-run");
        var bestRun = runs[int.Parse(best!, CultureInfo.InvariantCulture)];
        Assert.Equal(fastest.Value<string>("hardware"), bestRun["hardware"]!.Value<string>("name"));
        Assert.Equal(fastest.Value<string>("schedule"), bestRun.Value<string>("schedule"));

        Assert.Equal(runs.Count, await page.Locator("section.run-detail").CountAsync());
        Assert.True(await page.Locator("section.run-detail[data-run='0']").IsVisibleAsync());
        Assert.False(await page.Locator("section.run-detail[data-run='1']").IsVisibleAsync());
        await page.SelectOptionAsync("#run-select", "1");
        Assert.True(await page.Locator("section.run-detail[data-run='1']").IsVisibleAsync());
        Assert.False(await page.Locator("section.run-detail[data-run='0']").IsVisibleAsync());
        // The second run's timeline zooms on its own.
        var range = page.Locator("section.run-detail[data-run='1'] .tl-range");
        var before = await range.GetAttributeAsync("data-t1");
        await page.ClickAsync("section.run-detail[data-run='1'] button[data-zoom=in]");
        Assert.NotEqual(before, await range.GetAttributeAsync("data-t1"));
        Assert.Equal(runs[0].Value<double>("latency_s").ToString("R", CultureInfo.InvariantCulture),
            await page.GetAttributeAsync("section.run-detail[data-run='0'] .tl-range", "data-t1"));
        Assert.Empty(errors);
        await page.SelectOptionAsync("#run-select", "0");
        await Screenshot(page, "report-compare.png", 1500);
        await page.CloseAsync();
    }

    [BrowserFact]
    public async Task Serve_page_renders_its_metrics_and_series()
    {
        var (page, errors) = await reports.OpenAsync(reports.ServeHtml);
        var json = reports.ServeJson;
        var figures = await Figures(page, "[data-json]");
        foreach (var key in new[] { "/ttft_s/p99", "/tpot_s/p50", "/itl_s/p90", "/e2e_s/mean", "/throughput_tokens_per_s", "/goodput_requests_per_s", "/energy_j_per_request" })
            Assert.Contains(figures, f => f.Pointer == key);
        foreach (var (pointer, value, _, _) in figures)
        {
            var token = json.SelectToken(Path(pointer));
            Assert.True(token is not null, $"{pointer} is not in the serve report");
            Assert.Equal(token!.Value<double>(), value);
        }
        Assert.Equal(3, await page.Locator("svg.line-chart polyline").CountAsync());
        var samples = await page.GetAttributeAsync("svg.line-chart", "data-samples");
        Assert.Equal(json.Value<long>("iterations").ToString(CultureInfo.InvariantCulture), samples);
        Assert.True(await page.Locator("table.files td.hash").CountAsync() > 0, "the provenance names the hardware files and their hashes");
        Assert.Equal(json["provenance"]!["files"]![0]!.Value<string>("sha256"), await page.GetAttributeAsync("table.files td.hash", "data-sha256"));
        Assert.Empty(errors);
        await Screenshot(page, "report-serve.png");
        await page.CloseAsync();
    }

    [BrowserFact]
    public async Task Names_that_look_like_markup_stay_text()
    {
        // A trace whose workload and op names are markup: the page shows them as text and runs none of it.
        const string script = "<script>window.__pwned = 1</script>";
        const string img = "<img src=x onerror=\"window.__pwned = 2\">";
        var trace = new JObject
        {
            ["schema"] = "accelsim.trace/1",
            ["workload"] = new JObject { ["name"] = script, ["phase"] = "decode", ["batch"] = 1, ["seq_len"] = 4, ["context"] = 2, ["tokens"] = 4 },
            ["tensors"] = JArray.Parse("""[{"id":0,"name":"x","shape":[4,16],"dtype":"bf16","role":"activation"},{"id":1,"name":"w","shape":[16,16],"dtype":"bf16","role":"weight"},{"id":2,"name":"y","shape":[4,16],"dtype":"bf16","role":"activation"},{"id":3,"name":"z","shape":[4,16],"dtype":"bf16","role":"activation"}]"""),
            ["ops"] = new JArray
            {
                new JObject { ["id"] = 0, ["name"] = img, ["kind"] = "matmul", ["layer"] = 0, ["inputs"] = new JArray(0, 1), ["outputs"] = new JArray(2), ["flops"] = 2048, ["dtype"] = "bf16",
                    ["gemm"] = new JObject { ["batch"] = 1, ["m"] = 4, ["n"] = 16, ["k"] = 16, ["weight_shared"] = true } },
                new JObject { ["id"] = 1, ["name"] = script, ["kind"] = "elementwise", ["layer"] = 0, ["inputs"] = new JArray(2), ["outputs"] = new JArray(3), ["flops"] = 64, ["dtype"] = "bf16" },
            },
        };
        var dir = System.IO.Path.Combine(reports.Folder, "markup");
        Directory.CreateDirectory(dir);
        File.WriteAllText(System.IO.Path.Combine(dir, "trace.json"), trace.ToString());
        var html = System.IO.Path.Combine(dir, "markup.html");
        var code = Cli.AccelSimApp.Run(["run", "--hardware", "h100", "--trace", System.IO.Path.Combine(dir, "trace.json"), "--html", html], new StringWriter(), new StringWriter());
        Assert.Equal(0, code);

        var (page, errors) = await reports.OpenAsync(html);
        Assert.Equal("undefined", await page.EvaluateAsync<string>("() => typeof window.__pwned"));
        Assert.Equal(0, await page.Locator("img").CountAsync());
        Assert.Equal(1, await page.Locator("script").CountAsync());
        Assert.Contains(script, await page.TextContentAsync("h1"));
        var names = await page.EvalOnSelectorAllAsync<string[]>("#op-table tbody tr td:nth-child(2)", "els => els.map(e => e.textContent)");
        Assert.Equal([img, script], names);
        await page.Locator(".timeline rect.op").Last.HoverAsync(new LocatorHoverOptions { Force = true });
        Assert.StartsWith(script, await page.Locator("#tip").InnerTextAsync());
        Assert.Empty(errors);
        await page.CloseAsync();
    }

    private sealed record Figure(string Pointer, double Value, string Text, int Run);

    [BrowserFact]
    public async Task System_page_loads_without_errors_and_shows_the_json_reports_figures_and_tooltips()
    {
        var (page, errors) = await reports.OpenAsync(reports.SystemHtml);
        var json = reports.SystemJson;
        var figures = await Figures(page, "[data-json][data-value]");
        foreach (var (pointer, value, text, _) in figures)
        {
            var token = json.SelectToken(Path(pointer));
            Assert.True(token is not null, $"{pointer} is not in the JSON report");
            Assert.Equal(token!.Value<double>(), value);
            Assert.False(string.IsNullOrWhiteSpace(text), pointer);
        }
        foreach (var key in new[] { "/throughput/iteration_s", "/throughput/tokens_per_s", "/throughput/model_flops_utilisation",
                     "/network/communication/exposed_s", "/network/communication/overlapped_s", "/devices/0/memory/capacity_bytes/hbm" })
            Assert.Contains(figures, f => f.Pointer == key);
        var iteration = figures.First(f => f.Pointer == "/throughput/iteration_s");
        Assert.StartsWith(AccelSim.Reports.Quantities.Time(json["throughput"]!.Value<double>("iteration_s")), iteration.Text);
        Assert.Equal(json.Value<bool>("fits") ? "true" : "false", await page.GetAttributeAsync(".fig-value[data-fits]", "data-fits"));
        Assert.Equal(((JArray)json["devices"]!).Count, await page.Locator("table.devices tbody tr").CountAsync());
        Assert.Equal(((JArray)json["network"]!["links"]!).Count, await page.Locator("table.links tbody tr").CountAsync());

        // Hovering the longest collective shows its key and kind.
        var collectives = (JArray)json["network"]!["collectives"]!;
        Assert.Equal(collectives.Count, await page.Locator(".timeline rect.op[data-collective]").CountAsync());
        var longest = collectives.Select((c, i) => (i, t: c.Value<double>("time_s"))).MaxBy(x => x.t).i;
        await page.Locator($".timeline rect.op[data-collective='{longest}']").HoverAsync(new LocatorHoverOptions { Force = true });
        var tip = await page.Locator("#tip").InnerTextAsync();
        Assert.StartsWith(collectives[longest]!.Value<string>("key")!, tip);
        Assert.Contains(collectives[longest]!.Value<string>("kind")!, tip);
        await Screenshot(page, "report-system.png", 1700);
        // The zoom buttons work on the system timeline as on a run's.
        await page.Locator(".timeline button[data-zoom='in']").ClickAsync();
        var t1 = double.Parse((await page.GetAttributeAsync(".tl-range", "data-t1"))!, CultureInfo.InvariantCulture);
        Assert.True(t1 < json["throughput"]!.Value<double>("iteration_s"));
        Assert.Empty(errors);
        await page.CloseAsync();
    }

    private static async Task<List<Figure>> Figures(IPage page, string selector, bool withRun = false)
    {
        var raw = await page.EvalOnSelectorAllAsync<JsonElement>(selector,
            "els => els.map(e => [e.getAttribute('data-json'), e.getAttribute('data-value'), e.textContent, e.getAttribute('data-run') || '0'])");
        var list = new List<Figure>();
        foreach (var e in raw.EnumerateArray())
        {
            var value = e[1].GetString();
            if (string.IsNullOrEmpty(value)) continue;
            list.Add(new Figure(e[0].GetString()!, double.Parse(value, CultureInfo.InvariantCulture), e[2].GetString()!,
                int.Parse(e[3].GetString()!, CultureInfo.InvariantCulture)));
        }
        return list;
    }

    private static async Task<(double, double)> Range(IPage page)
    {
        var r = page.Locator(".timeline .tl-range").First;
        return (double.Parse((await r.GetAttributeAsync("data-t0"))!, CultureInfo.InvariantCulture),
                double.Parse((await r.GetAttributeAsync("data-t1"))!, CultureInfo.InvariantCulture));
    }

    private static Task<int> HiddenBars(IPage page) =>
        page.EvalOnSelectorAllAsync<int>(".timeline rect.op", "els => els.filter(e => e.getAttribute('display') === 'none').length");

    private static async Task<double[]> Column(IPage page, int column) =>
        (await page.EvalOnSelectorAllAsync<string[]>($"#op-table tbody tr td:nth-child({column})", "els => els.map(e => e.getAttribute('data-v'))"))
        .Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();

    /// <summary>A JSON pointer (/a/b) as a JSONPath with bracketed names.</summary>
    private static string Path(string pointer) =>
        "$" + string.Concat(pointer.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(p => p.All(char.IsAsciiDigit) ? "[" + p + "]" : "['" + p + "']"));

    /// <summary>With <c>ACCELSIM_SCREENSHOTS=docs/img</c>, the page as the docs show it.</summary>
    private static async Task Screenshot(IPage page, string name, float height = 1700)
    {
        if (Environment.GetEnvironmentVariable(BrowserEnvironment.ScreenshotsVariable) is not { Length: > 0 } folder) return;
        var dir = System.IO.Path.IsPathRooted(folder) ? folder : System.IO.Path.Combine(ReportsFixture.RepoRoot(), folder);
        Directory.CreateDirectory(dir);
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        var full = await page.EvaluateAsync<float>("() => document.documentElement.scrollHeight");
        await page.ScreenshotAsync(new PageScreenshotOptions
        {
            Path = System.IO.Path.Combine(dir, name),
            FullPage = true,
            Clip = new Clip { X = 0, Y = 0, Width = 1300, Height = Math.Min(height, full) },
        });
    }

    private sealed class RangeComparer : IEqualityComparer<(double, double)>
    {
        public bool Equals((double, double) x, (double, double) y) => Math.Abs(x.Item1 - y.Item1) < 1e-12 && Math.Abs(x.Item2 - y.Item2) < 1e-12;
        public int GetHashCode((double, double) obj) => 0;
    }
}

public sealed class BrowserEnvironmentTests
{
    [Fact]
    public void A_missing_browser_skips_with_a_clear_message_unless_it_is_required()
    {
        Assert.Null(BrowserEnvironment.SkipReasonFor(chromiumExists: true, require: null));
        Assert.Null(BrowserEnvironment.SkipReasonFor(chromiumExists: false, require: "1"));
        var reason = BrowserEnvironment.SkipReasonFor(chromiumExists: false, require: null);
        Assert.NotNull(reason);
        Assert.Contains("/usr/bin/chromium", reason);
        Assert.Contains("ACCELSIM_REQUIRE_BROWSER=1", reason);
    }
}
