using GradientDiagnostics.Tests.Shared;
using Microsoft.Playwright;

namespace GradientDiagnostics.Reporting.Tests;

/// <summary>Opens written reports in headless Chromium and checks that plotly drew every chart, offline.</summary>
public sealed class ReportInBrowserTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "gd-report-browser-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [SkippableFact]
    public async Task Every_chart_renders_without_any_network_request()
    {
        var vanishing = new GradientAnomaly(GradientAnomalyKind.Vanishing, "t=0 receives 1e-9 of the gradient at t=T-1", "gated cell — GD0005", new[] { "GD0005" });
        var risky = new GradientReportRun("risky RNN", Enumerable.Range(1, 40).Select(s => SyntheticRuns.Step(s, 30, decay: 0.5, anomalies: vanishing)).ToArray())
        {
            Losses = Enumerable.Range(1, 40).ToDictionary(s => (long)s, s => 0.2),
        };
        var recommended = new GradientReportRun("recommended LSTM", Enumerable.Range(1, 40).Select(s => SyntheticRuns.Step(s, 30, decay: 0.95)).ToArray())
        {
            ClipThreshold = 1.0,
        };
        var path = GradientHtmlReport.Write(Path.Combine(folder, "report.html"), new[] { risky, recommended });

        var (playwright, browser) = await HeadlessChromium.LaunchAsync();
        using (playwright)
        await using (browser)
        {
            var page = await browser.NewPageAsync();
            var outside = new List<string>();
            var errors = new List<string>();
            page.Request += (_, request) =>
            {
                if (!request.Url.StartsWith("file://", StringComparison.Ordinal))
                {
                    outside.Add(request.Url);
                }
            };
            page.PageError += (_, error) => errors.Add(error);
            page.Console += (_, message) =>
            {
                if (message.Type == "error")
                {
                    errors.Add(message.Text);
                }
            };

            await page.GotoAsync(new Uri(path).AbsoluteUri);
            await page.WaitForSelectorAsync("body[data-charts-ready=true]", new PageWaitForSelectorOptions { Timeout = 60_000 });

            // The comparison row, then risky: heatmap, horizon, global norm, loss, parameters; recommended: heatmap, horizon, global norm, parameters.
            var plots = await page.EvaluateAsync<string[]>(
                "() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => d.id + ':' + d._fullData.map(t => t.type).join(','))");
            Assert.Equal(
                new[]
                {
                    "run-0-compare:heatmap", "run-1-compare:heatmap",
                    "run-0-heatmap-0:heatmap", "run-0-horizon:scatter,scatter", "run-0-global:scatter,scatter", "run-0-loss:scatter", "run-0-parameters:scatter,scatter",
                    "run-1-heatmap-0:heatmap", "run-1-horizon:scatter,scatter", "run-1-global:scatter,scatter", "run-1-parameters:scatter,scatter",
                },
                plots);

            // Plotly paints a heatmap as an image inside its SVG layer; a missing or empty image means it did not draw.
            var heatmapImages = await page.EvaluateAsync<int>(
                "() => Array.from(document.querySelectorAll('.heatmap .hm image')).filter(i => (i.getAttribute('href') || i.getAttribute('xlink:href') || '').startsWith('data:image/png')).length");
            Assert.Equal(4, heatmapImages);
            Assert.Equal(4, await page.Locator(".heatmap .colorbar").CountAsync());

            // The comparison shares one colour range relative to each sequence's end: the risky run's norms fall to 0.5^29
            // (log10 -8.73) and its last tenth averages (1 + 0.5 + 0.25) / 3 (log10 -0.23), so -8.50 … 0.23. Each run's own
            // heatmap uses its own absolute range (the recommended run's norms fall only to 0.95^29).
            var ranges = await page.EvaluateAsync<string[]>(
                "() => Array.from(document.querySelectorAll('.heatmap.js-plotly-plot')).map(d => d.id + ':' + d._fullData[0].zmin.toFixed(2) + '..' + d._fullData[0].zmax.toFixed(2))");
            Assert.Equal(
                new[] { "run-0-compare:-8.50..0.23", "run-1-compare:-8.50..0.23", "run-0-heatmap-0:-8.73..0.00", "run-1-heatmap-0:-0.65..0.35" },
                ranges);
            Assert.Equal(40, await page.Locator("#run-0-anomalies tbody tr").CountAsync());
            Assert.Equal("GD0005", await page.Locator("#run-0-anomalies a.rule").First.InnerTextAsync());
            Assert.Empty(outside);
            Assert.Empty(errors);
        }
    }
}
