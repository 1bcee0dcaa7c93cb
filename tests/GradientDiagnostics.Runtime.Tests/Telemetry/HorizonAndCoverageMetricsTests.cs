using GradientDiagnostics.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace GradientDiagnostics.Runtime.Tests.Telemetry;

/// <summary><c>gradient.memory_horizon</c> and <c>gradient.unprofiled</c>, as docs/telemetry.md describes them.</summary>
[Collection(TelemetryCollection.Name)]
public class HorizonAndCoverageMetricsTests
{
    [Fact]
    public void Memory_horizon_is_recorded_once_per_profile_with_the_module_and_integer_buckets()
    {
        const string model = "metrics-horizon";
        var report = RealLstm.Step(length: 30);
        var second = RealLstm.Step(length: 30, step: 2, seed: 18);

        var exported = new List<MetricSnapshot>();
        using (var provider = Sdk.CreateMeterProviderBuilder().AddGradientDiagnostics().AddInMemoryExporter(exported).Build())
        {
            GradientTelemetry.Emit(report, model, logger: null);
            GradientTelemetry.Emit(second, model, logger: null);
            provider.ForceFlush();
        }

        var point = Assert.Single(ExportedMetrics.Points(exported, "gradient.memory_horizon", model));
        Assert.Equal(new Dictionary<string, object?> { ["gradient.model"] = model, ["rnn.module"] = RealLstm.ModuleName }, ExportedMetrics.Tags(point));
        Assert.Equal(2, point.GetHistogramCount());
        Assert.Equal(report.Timesteps[0].MemoryHorizon + second.Timesteps[0].MemoryHorizon, point.GetHistogramSum());

        var bounds = ExportedMetrics.Buckets(point).Select(bucket => bucket.Bound).ToList();
        Assert.Equal(new double[] { 0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48 }, bounds.Take(12));
        Assert.Equal(4096, bounds[^2]);
        Assert.Equal(double.PositiveInfinity, bounds[^1]);
    }

    [Fact]
    public void Unprofiled_modules_are_counted_per_module_and_nothing_is_counted_when_all_are_profiled()
    {
        const string model = "metrics-unprofiled";
        var exported = new List<MetricSnapshot>();
        using (var provider = Sdk.CreateMeterProviderBuilder().AddGradientDiagnostics().AddInMemoryExporter(exported).Build())
        {
            GradientTelemetry.Emit(RealLstm.Step(length: 6, unprofiled: new[] { "encoder", "decoder" }), model, logger: null);
            GradientTelemetry.Emit(RealLstm.Step(length: 6, step: 2, unprofiled: new[] { "decoder" }), model, logger: null);
            GradientTelemetry.Emit(RealLstm.Step(length: 6, step: 3), model, logger: null);
            provider.ForceFlush();
        }

        var counts = ExportedMetrics.Points(exported, "gradient.unprofiled", model)
            .ToDictionary(point => ExportedMetrics.Tag(point, "rnn.module")!, point => point.GetSumLong());
        Assert.Equal(new Dictionary<string, long> { ["encoder"] = 1, ["decoder"] = 2 }, counts);
    }
}
