using GradientDiagnostics.Runtime.Tests.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using static TorchSharp.torch;

namespace GradientDiagnostics.Runtime.Tests.Clipping;

/// <summary>The threshold an adaptive clipper applies, as telemetry (<c>gradient.clip.threshold</c>) and in the watch's step reports.</summary>
[Collection(TelemetryCollection.Name)]
public sealed class ClipThresholdReportingTests
{
    [Fact]
    public void Every_applied_threshold_is_recorded_with_the_watchs_model_name_and_the_method()
    {
        using var outer = NewDisposeScope();
        manual_seed(71);
        using var model = AddingProblem.HealthyLstm(hidden: 8);
        using var watch = GradientWatch.Attach(model, new GradientWatchOptions { ModelName = "clip-telemetry" });
        var clipper = new AdaptiveGradientClipper(model.parameters(), new AdaptiveClippingOptions { WarmupSteps = 3 }, watch);
        var exported = new List<MetricSnapshot>();
        var thresholds = new List<double>();
        using (var provider = Sdk.CreateMeterProviderBuilder().AddGradientDiagnostics().AddInMemoryExporter(exported).Build())
        {
            for (var step = 1; step <= 8; step++)
            {
                using var scope = NewDisposeScope();
                var (inputs, targets) = AddingProblem.Batch(8, 10, seed: step);
                model.zero_grad();
                nn.functional.mse_loss(model.call(inputs), targets).backward();
                clipper.Clip();
                thresholds.Add(clipper.Threshold!.Value);
            }

            provider.ForceFlush();
        }

        var metric = ExportedMetrics.Latest(exported, "gradient.clip.threshold");
        Assert.Equal("1", metric.Unit);
        Assert.Equal(MetricType.Histogram, metric.MetricType);
        Assert.Equal("GradientDiagnostics", metric.MeterName);
        var point = Assert.Single(ExportedMetrics.Points(exported, "gradient.clip.threshold", "clip-telemetry"));
        Assert.Equal(new Dictionary<string, object?> { ["gradient.clip.method"] = "zscore", ["gradient.model"] = "clip-telemetry" }, ExportedMetrics.Tags(point));
        Assert.Equal(8, point.GetHistogramCount());
        Assert.Equal(thresholds.Sum(), point.GetHistogramSum(), 1e-9);
        Assert.Equal(GradientTelemetryNormBuckets, ExportedMetrics.Buckets(point).Select(b => b.Bound).Where(double.IsFinite));
    }

    [Fact]
    public void The_step_report_carries_the_threshold_the_clipper_then_applies_including_on_a_spike()
    {
        using var outer = NewDisposeScope();
        manual_seed(72);
        using var model = AddingProblem.HealthyLstm(hidden: 8);
        using var watch = GradientWatch.Attach(model);
        var clipper = new AdaptiveGradientClipper(model.parameters(), new AdaptiveClippingOptions { WarmupSteps = 5, WarmupMaxNorm = null }, watch);
        for (var step = 1; step <= 12; step++)
        {
            using var scope = NewDisposeScope();
            var (inputs, targets) = AddingProblem.Batch(8, 10, seed: step);
            model.zero_grad();
            // Step 10 is a spike: the loss scaled by 1,000 multiplies every gradient by 1,000.
            (nn.functional.mse_loss(model.call(inputs), targets) * (step == 10 ? 1000 : 1)).backward();

            var report = watch.Record(step);
            var norm = clipper.Clip();

            Assert.Equal(report.GlobalNorm, norm);
            Assert.Equal(clipper.Threshold, report.ClipThreshold);
            Assert.Equal(step > 5, report.ClipThreshold is not null);
        }

        Assert.Equal(1, clipper.ClippedSteps);
    }

    [Fact]
    public void Without_a_clipper_the_report_has_no_threshold()
    {
        using var outer = NewDisposeScope();
        manual_seed(73);
        using var model = AddingProblem.HealthyLstm(hidden: 8);
        using var watch = GradientWatch.Attach(model);
        var (inputs, targets) = AddingProblem.Batch(8, 10, seed: 73);
        nn.functional.mse_loss(model.call(inputs), targets).backward();

        Assert.Null(watch.Record(1).ClipThreshold);
    }

    private static readonly double[] GradientTelemetryNormBuckets = Enumerable.Range(-12, 19).Select(exponent => Math.Pow(10, exponent)).ToArray();
}
