using System.Reflection;
using GradientDiagnostics.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace GradientDiagnostics.Runtime.Tests.Telemetry;

[Collection(TelemetryCollection.Name)]
public class GradientMetricsTests
{
    private static (MeterProvider Provider, List<MetricSnapshot> Exported) Listen()
    {
        var exported = new List<MetricSnapshot>();
        var provider = Sdk.CreateMeterProviderBuilder()
            .AddGradientDiagnostics()
            .AddInMemoryExporter(exported)
            .Build();
        return (provider, exported);
    }

    [Fact]
    public void Every_instrument_has_its_contract_name_unit_description_and_meter()
    {
        const string model = "metrics-contract";
        var report = RealLstm.Step(
            length: 12,
            anomalies: new[] { new GradientAnomaly(GradientAnomalyKind.Exploding, "global norm above threshold", "clip gradients — GD0001") },
            unprofiled: new[] { "decoder" });
        var (provider, exported) = Listen();
        using (provider)
        {
            GradientTelemetry.Emit(report, model, logger: null);
            provider.ForceFlush();
        }

        var expected = new Dictionary<string, (string Unit, MetricType Type)>
        {
            ["gradient.norm"] = ("1", MetricType.Histogram),
            ["gradient.global_norm"] = ("1", MetricType.Histogram),
            ["gradient.timestep.norm"] = ("1", MetricType.Histogram),
            ["gradient.memory_horizon"] = ("{timestep}", MetricType.Histogram),
            ["gradient.anomaly"] = ("{anomaly}", MetricType.LongSum),
            ["gradient.unprofiled"] = ("{module}", MetricType.LongSum),
            ["gradient.step"] = ("{step}", MetricType.LongSum),
        };
        Assert.Equal(expected.Keys.Order(), exported.Select(metric => metric.Name).Distinct().Order());
        foreach (var (name, (unit, type)) in expected)
        {
            var metric = ExportedMetrics.Latest(exported, name);
            Assert.Equal(unit, metric.Unit);
            Assert.Equal(type, metric.MetricType);
            Assert.False(string.IsNullOrWhiteSpace(metric.Description), name);
            Assert.Equal("GradientDiagnostics", metric.MeterName);
        }
    }

    [Fact]
    public void Meter_and_activity_source_share_the_name_and_report_the_package_version()
    {
        var informational = typeof(GradientStepReport).Assembly
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        var packageVersion = informational.Split('+')[0];

        Assert.Equal("GradientDiagnostics", GradientTelemetry.Meter.Name);
        Assert.Equal("GradientDiagnostics", GradientTelemetry.ActivitySource.Name);
        Assert.Equal(packageVersion, GradientTelemetry.Meter.Version);
        Assert.Equal(packageVersion, GradientTelemetry.ActivitySource.Version);
        Assert.DoesNotContain("+", GradientTelemetry.Version);
    }

    [Fact]
    public void Parameter_norms_of_a_real_lstm_are_recorded_once_per_named_parameter()
    {
        const string model = "metrics-parameters";
        var report = RealLstm.Step(length: 20);
        Assert.Contains("lstm.weight_hh_l0", report.ParameterNorms.Keys);
        Assert.Contains("head.weight", report.ParameterNorms.Keys);

        var (provider, exported) = Listen();
        using (provider)
        {
            GradientTelemetry.Emit(report, model, logger: null);
            provider.ForceFlush();
        }

        var points = ExportedMetrics.Points(exported, "gradient.norm", model);
        Assert.Equal(report.ParameterNorms.Count, points.Count);
        foreach (var point in points)
        {
            var tags = ExportedMetrics.Tags(point);
            Assert.Equal(new[] { "gradient.model", "gradient.parameter" }, tags.Keys.Order());
            var parameter = (string)tags["gradient.parameter"]!;
            Assert.Equal(1, point.GetHistogramCount());
            Assert.Equal(report.ParameterNorms[parameter], point.GetHistogramSum());
            Assert.True(point.GetHistogramSum() > 0, parameter);
        }

        var global = Assert.Single(ExportedMetrics.Points(exported, "gradient.global_norm", model));
        Assert.Equal(new[] { "gradient.model" }, ExportedMetrics.Tags(global).Keys);
        Assert.Equal(report.GlobalNorm, global.GetHistogramSum());

        var steps = Assert.Single(ExportedMetrics.Points(exported, "gradient.step", model));
        Assert.Equal(1, steps.GetSumLong());
    }

    [Fact]
    public void Histogram_buckets_are_powers_of_ten_covering_1e_minus12_to_1e6()
    {
        const string model = "metrics-buckets";
        var extremes = new Dictionary<string, double>
        {
            ["vanished"] = 1e-12,
            ["tiny"] = 3e-7,
            ["healthy"] = 2.5,
            ["exploded"] = 1e6,
        };
        var report = new GradientStepReport(1, 1e6, extremes, Array.Empty<TimestepProfile>(), Array.Empty<GradientAnomaly>());

        var (provider, exported) = Listen();
        using (provider)
        {
            GradientTelemetry.Emit(report, model, logger: null);
            provider.ForceFlush();
        }

        var points = ExportedMetrics.Points(exported, "gradient.norm", model);
        var bounds = ExportedMetrics.Buckets(points[0]).Select(bucket => bucket.Bound).ToList();
        Assert.Equal(double.PositiveInfinity, bounds[^1]);
        var finite = bounds.Take(bounds.Count - 1).ToList();
        Assert.Equal(19, finite.Count);
        Assert.Equal(1e-12, finite[0], 1e-24);
        Assert.Equal(1e6, finite[^1], 1e-6);
        for (var i = 1; i < finite.Count; i++)
        {
            Assert.Equal(10.0, finite[i] / finite[i - 1], 9);
        }

        // Explicit buckets are (previous, bound]: every value from 1e-12 to 1e6 lands in a finite bucket, each in its own decade.
        var landedIn = points.ToDictionary(
            point => ExportedMetrics.Tag(point, "gradient.parameter")!,
            point => ExportedMetrics.Buckets(point).Single(bucket => bucket.Count == 1).Bound);
        Assert.Equal(1e-12, landedIn["vanished"], 1e-24);
        Assert.Equal(1e-6, landedIn["tiny"], 1e-18);
        Assert.Equal(10, landedIn["healthy"], 9);
        Assert.Equal(1e6, landedIn["exploded"], 1e-6);
    }

    [Fact]
    public void Anomalies_are_counted_by_kind_with_the_contract_labels()
    {
        const string model = "metrics-anomalies";
        var report = RealLstm.Step(length: 8, anomalies: new[]
        {
            new GradientAnomaly(GradientAnomalyKind.NonFinite, "NaN in lstm.weight_hh_l0", "clip gradients — GD0001"),
            new GradientAnomaly(GradientAnomalyKind.Exploding, "global norm 1e4", "clip gradients — GD0001"),
            new GradientAnomaly(GradientAnomalyKind.Exploding, "lstm timestep 0 norm 1e5", "clip gradients — GD0001"),
            new GradientAnomaly(GradientAnomalyKind.Vanishing, "lstm timestep 0 / timestep 7 below 1e-6", "initialise recurrent weights — GD0004"),
        });

        var (provider, exported) = Listen();
        using (provider)
        {
            GradientTelemetry.Emit(report, model, logger: null);
            provider.ForceFlush();
        }

        var counts = ExportedMetrics.Points(exported, "gradient.anomaly", model).ToDictionary(
            point => ExportedMetrics.Tag(point, "gradient.anomaly.kind")!,
            point => point.GetSumLong());
        Assert.Equal(new Dictionary<string, long> { ["nonfinite"] = 1, ["exploding"] = 2, ["vanishing"] = 1 }, counts);
        Assert.All(
            ExportedMetrics.Points(exported, "gradient.anomaly", model),
            point => Assert.Equal(new[] { "gradient.anomaly.kind", "gradient.model" }, ExportedMetrics.Tags(point).Keys.Order()));
    }

    [Fact]
    public void Non_finite_gradients_of_a_real_lstm_are_kept_out_of_histograms_and_counted_as_anomalies()
    {
        const string model = "metrics-nonfinite";
        var poisoned = RealLstm.Step(length: 16, poisonTimestep: 5);
        var nonFinite = poisoned.ParameterNorms.Where(pair => !double.IsFinite(pair.Value)).Select(pair => pair.Key).ToList();
        Assert.NotEmpty(nonFinite);
        Assert.False(double.IsFinite(poisoned.GlobalNorm));
        var report = new GradientStepReport(
            poisoned.Step,
            poisoned.GlobalNorm,
            poisoned.ParameterNorms,
            poisoned.Timesteps,
            nonFinite.Select(name => new GradientAnomaly(GradientAnomalyKind.NonFinite, $"{name} has a NaN gradient", "clip gradients — GD0001")).ToList());

        var (provider, exported) = Listen();
        using (provider)
        {
            GradientTelemetry.Emit(report, model, logger: null);
            provider.ForceFlush();
        }

        // A NaN in the batch makes every parameter's gradient NaN: nothing reaches the histograms, the step still counts.
        Assert.Equal(poisoned.ParameterNorms.Count, nonFinite.Count);
        Assert.Empty(ExportedMetrics.Points(exported, "gradient.norm", model));
        Assert.Empty(ExportedMetrics.Points(exported, "gradient.global_norm", model));
        Assert.Empty(ExportedMetrics.Points(exported, "gradient.timestep.norm", model));
        Assert.Equal(1, Assert.Single(ExportedMetrics.Points(exported, "gradient.step", model)).GetSumLong());

        var anomalies = Assert.Single(ExportedMetrics.Points(exported, "gradient.anomaly", model));
        Assert.Equal("nonfinite", ExportedMetrics.Tag(anomalies, "gradient.anomaly.kind"));
        Assert.Equal(nonFinite.Count, anomalies.GetSumLong());
    }

    [Fact]
    public void Every_measurement_carries_at_most_three_attributes()
    {
        const string model = "metrics-attribute-count";
        var report = RealLstm.Step(
            length: 100,
            anomalies: new[] { new GradientAnomaly(GradientAnomalyKind.Vanishing, "early timesteps vanish", "initialise recurrent weights — GD0004") },
            unprofiled: new[] { "decoder" });

        var (provider, exported) = Listen();
        using (provider)
        {
            GradientTelemetry.Emit(report, model, logger: null);
            provider.ForceFlush();
        }

        foreach (var name in exported.Select(metric => metric.Name).Distinct())
        {
            var points = ExportedMetrics.Points(exported, name, model);
            Assert.NotEmpty(points);
            Assert.All(points, point => Assert.InRange(ExportedMetrics.Tags(point).Count, 1, 3));
        }
    }

    [Fact]
    public void Exponential_histogram_view_from_the_docs_applies_to_every_norm_histogram()
    {
        const string model = "metrics-exponential";
        var report = RealLstm.Step(length: 10);
        var exported = new List<MetricSnapshot>();
        using (var provider = Sdk.CreateMeterProviderBuilder()
            .AddGradientDiagnostics()
            .AddView("gradient.*", new Base2ExponentialBucketHistogramConfiguration { MaxSize = 160 })
            .AddInMemoryExporter(exported)
            .Build())
        {
            GradientTelemetry.Emit(report, model, logger: null);
            provider.ForceFlush();
        }

        foreach (var name in new[] { "gradient.norm", "gradient.global_norm", "gradient.timestep.norm" })
        {
            Assert.Equal(MetricType.ExponentialHistogram, ExportedMetrics.Latest(exported, name).MetricType);
        }

        Assert.Equal(MetricType.LongSum, ExportedMetrics.Latest(exported, "gradient.step").MetricType);
    }

    [Fact]
    public void A_meter_provider_without_AddGradientDiagnostics_receives_nothing()
    {
        const string model = "metrics-not-subscribed";
        var exported = new List<MetricSnapshot>();
        using (var provider = Sdk.CreateMeterProviderBuilder().AddMeter("SomeOtherLibrary").AddInMemoryExporter(exported).Build())
        {
            GradientTelemetry.Emit(RealLstm.Step(length: 6), model, logger: null);
            provider.ForceFlush();
        }

        Assert.DoesNotContain(exported, metric => metric.MeterName == GradientTelemetry.Name);
    }
}
