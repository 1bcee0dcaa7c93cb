using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using TorchSharp;
using static TorchSharp.torch;

namespace GradientDiagnostics.Runtime.Tests.Telemetry;

/// <summary>The watch and the instrumentation together: what a user's MeterProvider/TracerProvider receive from Record.</summary>
[Collection(TelemetryCollection.Name)]
public class GradientWatchTelemetryTests
{
    [Fact]
    public void Record_on_a_real_training_step_exports_parameter_global_and_timestep_norms_and_one_span()
    {
        const string model = "watch-e2e";
        using var scope = NewDisposeScope();
        manual_seed(31);
        using var regressor = new SequenceRegressor(inputSize: 2, hiddenSize: 8);
        var metrics = new List<Metric>();
        var spans = new List<Activity>();
        using var meterProvider = Sdk.CreateMeterProviderBuilder().AddGradientDiagnostics().AddInMemoryExporter(metrics).Build();
        using var tracerProvider = Sdk.CreateTracerProviderBuilder().AddGradientDiagnostics().AddInMemoryExporter(spans).Build();
        using var watch = GradientWatch.Attach(regressor, new GradientWatchOptions { ModelName = model });

        var inputs = rand(4, 100, 2);
        nn.functional.mse_loss(regressor.call(inputs), ones(4, 1)).backward();
        var report = watch.Record(5);
        meterProvider.ForceFlush();
        tracerProvider.ForceFlush();

        var parameterPoints = Points(metrics, "gradient.norm", model);
        Assert.Equal(
            regressor.named_parameters().Select(p => p.name).OrderBy(n => n),
            parameterPoints.Select(p => ExportedMetrics.Tag(p, "gradient.parameter")!).OrderBy(n => n));

        var global = Assert.Single(Points(metrics, "gradient.global_norm", model));
        Assert.Equal(report.GlobalNorm, global.GetHistogramSum(), 9);

        // T = 100 > 64: the timesteps arrive bucketed, at most 64 labels for the one profiled module.
        var profile = Assert.Single(report.Timesteps);
        var timestepPoints = Points(metrics, "gradient.timestep.norm", model);
        Assert.InRange(timestepPoints.Count, 2, 64);
        Assert.All(timestepPoints, p => Assert.Equal(profile.Module, ExportedMetrics.Tag(p, "rnn.module")));

        var span = Assert.Single(spans, s => (string?)s.GetTagItem("gradient.model") == model);
        Assert.Equal(5L, span.GetTagItem("gradient.step"));
        Assert.Equal(report.Anomalies.Count, span.GetTagItem("gradient.anomaly.count"));
    }

    [Fact]
    public void Anomalies_found_by_the_watch_are_counted_by_kind_and_logged_once()
    {
        const string model = "watch-e2e-nan";
        using var scope = NewDisposeScope();
        manual_seed(32);
        using var regressor = new SequenceRegressor(inputSize: 2, hiddenSize: 8);
        using (no_grad())
        {
            regressor.named_parameters().Single(p => p.name == "head.weight").parameter[0, 0] = double.NaN;
        }

        var metrics = new List<Metric>();
        var logged = new List<string>();
        using var meterProvider = Sdk.CreateMeterProviderBuilder().AddGradientDiagnostics().AddInMemoryExporter(metrics).Build();
        using var watch = GradientWatch.Attach(regressor, new GradientWatchOptions { ModelName = model, LoggerFactory = new ListLoggerFactory(logged) });

        nn.functional.mse_loss(regressor.call(rand(4, 10, 2)), ones(4, 1)).backward();
        var report = watch.Record(1);
        meterProvider.ForceFlush();

        var anomaly = Assert.Single(report.Anomalies);
        Assert.Equal(GradientAnomalyKind.NonFinite, anomaly.Kind);
        var counted = Assert.Single(Points(metrics, "gradient.anomaly", model));
        Assert.Equal("nonfinite", ExportedMetrics.Tag(counted, "gradient.anomaly.kind"));
        Assert.Equal(1, counted.GetSumLong());
        Assert.Single(logged, line => line.Contains("'nonfinite'", StringComparison.Ordinal));
    }

    private static IReadOnlyList<MetricPoint> Points(List<Metric> exported, string instrument, string model)
    {
        var points = new List<MetricPoint>();
        foreach (var metric in exported.Where(m => m.Name == instrument))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                if (ExportedMetrics.Tag(point, "gradient.model") == model)
                {
                    points.Add(point);
                }
            }
        }

        return points;
    }
}
