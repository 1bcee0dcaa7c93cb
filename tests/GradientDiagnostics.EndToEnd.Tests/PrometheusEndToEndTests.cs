using System.Globalization;
using System.Text.Json;
using GradientDiagnostics.Tests.Shared;

namespace GradientDiagnostics.EndToEnd.Tests;

/// <summary>
/// Two demo processes serve --prometheus endpoints, a real Prometheus scrapes both, and its query API returns the
/// per-timestep gradient series of each run apart: the set-up of a team training on many machines.
/// </summary>
public sealed class PrometheusEndToEndTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("gd-prom-demo-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [SkippableFact]
    public async Task Prometheus_scrapes_per_timestep_gradients_of_two_runs_and_keeps_them_apart()
    {
        ExternalTool.Require(PrometheusServer.Executable, "prometheus");
        var ports = new[] { Demo.FreePort(), Demo.FreePort() };
        var runIds = new[] { "e2e-run-a", "e2e-run-b" };
        var demos = new List<Demo>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                demos.Add(Demo.Start(Demo.QuickTraining.Concat(new[]
                {
                    "--prometheus", ports[i].ToString(CultureInfo.InvariantCulture),
                    "--run-id", runIds[i],
                    "--hold",
                    "--report", Path.Combine(folder, runIds[i] + ".html"),
                })));
            }

            foreach (var (demo, port) in demos.Zip(ports))
            {
                await demo.WaitForLineAsync($"^Prometheus scrape endpoint: http://127\\.0\\.0\\.1:{port}/metrics$", TimeSpan.FromMinutes(2));
                await demo.WaitForLineAsync("^Training finished", TimeSpan.FromMinutes(2));
            }

            using var prometheus = PrometheusServer.Start(ports.Select(p => "127.0.0.1:" + p.ToString(CultureInfo.InvariantCulture)));

            // One series per run, model, recurrent module and timestep bucket; the run id is a label on every series.
            var perTimestep = await prometheus.WaitForAsync(
                "count by (service_instance_id, gradient_model, rnn_module, rnn_timestep) ({__name__=~\"gradient_timestep_norm.*_count\"})",
                result => runIds.All(run => result.Count(r => r.Labels.GetValueOrDefault("service_instance_id") == run) >= 3 * 8),
                TimeSpan.FromSeconds(90));

            foreach (var run in runIds)
            {
                var series = perTimestep.Where(r => r.Labels["service_instance_id"] == run).Select(r => r.Labels).ToArray();
                Assert.Equal(new[] { "RecommendedModel", "RiskyExplodingModel", "RiskyModel" }, series.Select(s => s["gradient_model"]).Distinct().Order());
                Assert.Equal(new[] { "lstm", "rnn" }, series.Select(s => s["rnn_module"]).Distinct().Order());
                // Up to 64 timesteps get one bucket each; longer sequences share bounded buckets (docs/telemetry.md).
                var buckets = series.Where(s => s["rnn_module"] == "lstm").Select(s => s["rnn_timestep"]).Order().ToArray();
                Assert.Equal(new[] { "0", "1", "2", "3", "4", "5", "6", "7" }, buckets);
            }

            // Every step was recorded: 6 steps per model and run, each with one memory horizon per profile.
            var steps = await prometheus.QueryAsync("sum by (service_instance_id, gradient_model) ({__name__=~\"gradient_global_norm.*_count\"})");
            Assert.Equal(6, steps.Count);
            Assert.All(steps, s => Assert.Equal(6, s.Value));
            var horizons = await prometheus.QueryAsync("sum by (service_instance_id, gradient_model, rnn_module) (gradient_memory_horizon_count)");
            Assert.Equal(6, horizons.Count);
            Assert.All(horizons, h => Assert.Equal(6, h.Value));

            // The dashboard's rate() queries need two scrapes of every series.
            await prometheus.WaitForAsync(
                "count_over_time(gradient_step_total[1m])",
                result => result.Count == 6 && result.All(r => r.Value >= 2),
                TimeSpan.FromSeconds(60));
            await AssertGrafanaPanelsQueryAsync(prometheus);

            foreach (var demo in demos)
            {
                demo.PressEnter();
                await demo.WaitForExitAsync(TimeSpan.FromMinutes(1));
                Assert.True(demo.ExitCode == 0, demo.Output);
            }
        }
        finally
        {
            foreach (var demo in demos)
            {
                demo.Dispose();
            }
        }
    }

    /// <summary>Every query of the shipped Grafana dashboard runs against the real data and finds its series.</summary>
    private static async Task AssertGrafanaPanelsQueryAsync(PrometheusServer prometheus)
    {
        var path = Path.Combine(Demo.RepositoryRoot, "docs", "grafana", "gradient-diagnostics.json");
        using var dashboard = JsonDocument.Parse(File.ReadAllText(path));
        var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray().ToArray();
        Assert.Contains(panels, p => p.GetProperty("type").GetString() == "heatmap");
        Assert.Contains(panels, p => p.GetProperty("targets").EnumerateArray().Any(t => t.GetProperty("expr").GetString()!.Contains("gradient_memory_horizon", StringComparison.Ordinal)));
        foreach (var panel in panels)
        {
            var title = panel.GetProperty("title").GetString()!;
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                var query = target.GetProperty("expr").GetString()!
                    .Replace("$__rate_interval", "1m", StringComparison.Ordinal)
                    .Replace("$run", ".*", StringComparison.Ordinal)
                    .Replace("$model", ".*", StringComparison.Ordinal)
                    .Replace("$module", ".*", StringComparison.Ordinal);
                var result = await prometheus.QueryAsync(query);

                // Counters of what went wrong have no series until something does: the demo profiles every module, and short
                // training may detect no anomaly. Their queries still run (Prometheus rejects a malformed one).
                if (!query.Contains("gradient_anomaly_total", StringComparison.Ordinal) && !query.Contains("gradient_unprofiled_total", StringComparison.Ordinal))
                {
                    Assert.True(result.Count > 0, $"Grafana panel '{title}' finds no series: {query}");
                }
            }
        }
    }
}
