using GradientDiagnostics.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace GradientDiagnostics.Runtime.Tests.Telemetry;

[Collection(TelemetryCollection.Name)]
public class TimestepBucketTests
{
    private static List<MetricPoint> EmitTimesteps(GradientStepReport report, string model)
    {
        var exported = new List<MetricSnapshot>();
        using (var provider = Sdk.CreateMeterProviderBuilder().AddGradientDiagnostics().AddInMemoryExporter(exported).Build())
        {
            GradientTelemetry.Emit(report, model, logger: null);
            provider.ForceFlush();
        }

        return ExportedMetrics.Points(exported, "gradient.timestep.norm", model).ToList();
    }

    private static double RootMeanSquare(IEnumerable<double> values)
    {
        var list = values.ToList();
        return Math.Sqrt(list.Sum(value => value * value) / list.Count);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(64)]
    public void Sequences_up_to_64_steps_get_one_label_per_timestep_with_its_own_norm(int length)
    {
        var model = $"timesteps-exact-{length}";
        var report = RealLstm.Step(length);
        var norms = report.Timesteps.Single().Norms;
        Assert.Equal(length, norms.Length);

        var points = EmitTimesteps(report, model);

        Assert.Equal(length, points.Count);
        var byLabel = points.ToDictionary(point => ExportedMetrics.Tag(point, "rnn.timestep")!);
        for (var t = 0; t < length; t++)
        {
            var point = byLabel[t.ToString(System.Globalization.CultureInfo.InvariantCulture)];
            Assert.Equal(RealLstm.ModuleName, ExportedMetrics.Tag(point, "rnn.module"));
            Assert.Equal(1, point.GetHistogramCount());
            Assert.Equal(norms[t], point.GetHistogramSum(), 12);
        }

        Assert.All(points, point => Assert.Equal(
            new[] { "gradient.model", "rnn.module", "rnn.timestep" },
            ExportedMetrics.Tags(point).Keys.Order()));
    }

    [Fact]
    public void A_1000_step_real_lstm_sequence_is_folded_into_63_aligned_buckets_of_16_holding_the_rms()
    {
        const string model = "timesteps-1000";
        var report = RealLstm.Step(length: 1000);
        var norms = report.Timesteps.Single().Norms;
        Assert.All(norms, norm => Assert.True(double.IsFinite(norm) && norm >= 0));
        Assert.True(norms[^1] > 0);

        var points = EmitTimesteps(report, model);

        Assert.InRange(points.Count, 1, 64);
        Assert.Equal(63, points.Count);
        var byLabel = points.ToDictionary(point => ExportedMetrics.Tag(point, "rnn.timestep")!);
        for (var bucket = 0; bucket < 63; bucket++)
        {
            var first = bucket * 16;
            var last = first + 15;
            var point = byLabel[$"{first}-{last}"];
            Assert.Equal(1, point.GetHistogramCount());
            var expected = RootMeanSquare(norms.Skip(first).Take(16));
            Assert.Equal(expected, point.GetHistogramSum(), expected * 1e-12);
        }

        // The last bucket is labelled by its aligned range even though the sequence ends at 999: labels depend on the width only.
        Assert.Contains("992-1007", byLabel.Keys);
        Assert.Equal(RootMeanSquare(norms.Skip(992)), byLabel["992-1007"].GetHistogramSum(), 1e-12);

        // Over 1000 steps the gradient of a last-step loss genuinely vanishes (float32 underflows to 0 long before t = 0);
        // the buckets keep that visible, and a zero lands in the lowest histogram bucket rather than being dropped.
        Assert.Equal(0, byLabel["0-15"].GetHistogramSum());
        Assert.Equal(1, ExportedMetrics.Buckets(byLabel["0-15"])[0].Count);
        Assert.True(byLabel["992-1007"].GetHistogramSum() > 0);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(64, 1)]
    [InlineData(65, 2)]
    [InlineData(128, 2)]
    [InlineData(129, 4)]
    [InlineData(1000, 16)]
    [InlineData(1024, 16)]
    [InlineData(1025, 32)]
    [InlineData(int.MaxValue, 1 << 25)]
    public void Width_is_the_smallest_power_of_two_needing_at_most_64_buckets(int length, int width)
    {
        Assert.Equal(width, TimestepBuckets.WidthFor(length));
        Assert.True((long)TimestepBuckets.MaxBuckets * width >= length);
    }

    [Fact]
    public void Label_cardinality_stays_bounded_when_sequence_lengths_vary_from_batch_to_batch()
    {
        var labels = new HashSet<string>();
        for (var length = 1; length <= 4096; length++)
        {
            var width = TimestepBuckets.WidthFor(length);
            var buckets = (length + width - 1) / width;
            Assert.InRange(buckets, 1, TimestepBuckets.MaxBuckets);
            for (var bucket = 0; bucket < buckets; bucket++)
            {
                labels.Add(TimestepBuckets.Label(bucket, width));
            }
        }

        // Widths 1, 2, 4, ..., 64 are in use up to 4096 steps; each contributes at most 64 labels, however many lengths occur.
        Assert.True(labels.Count <= 7 * TimestepBuckets.MaxBuckets, $"{labels.Count} labels");
        Assert.Contains("0", labels);
        Assert.Contains("4032-4095", labels);
    }

    [Fact]
    public void A_bucket_holding_a_non_finite_norm_is_not_recorded_and_its_neighbours_are()
    {
        const string model = "timesteps-nonfinite";
        var poisoned = RealLstm.Step(length: 200, nanGradientTimestep: 150);
        var norms = poisoned.Timesteps.Single().Norms;
        Assert.True(double.IsNaN(norms[150]));
        Assert.Equal(199, norms.Count(double.IsFinite));

        var points = EmitTimesteps(poisoned, model);

        // Width 4 for 200 steps: 50 buckets, of which "148-151" holds the NaN.
        var labels = points.Select(point => ExportedMetrics.Tag(point, "rnn.timestep")!).ToList();
        Assert.Equal(49, labels.Count);
        Assert.DoesNotContain("148-151", labels);
        Assert.Contains("144-147", labels);
        Assert.Contains("152-155", labels);
        Assert.All(points, point => Assert.True(double.IsFinite(point.GetHistogramSum())));
    }

    [Fact]
    public void Root_mean_square_neither_overflows_nor_underflows_at_the_extremes()
    {
        Assert.Equal(1e200, TimestepBuckets.RootMeanSquare(new[] { 1e200, 1e200 })!.Value, 1e188);
        Assert.Equal(1e-200, TimestepBuckets.RootMeanSquare(new[] { 1e-200, 1e-200 })!.Value, 1e-212);
        Assert.Equal(Math.Sqrt(12.5), TimestepBuckets.RootMeanSquare(new[] { 3.0, 4.0 })!.Value, 12);
        Assert.Equal(0, TimestepBuckets.RootMeanSquare(new[] { 0.0, 0.0 }));
        Assert.Null(TimestepBuckets.RootMeanSquare(new[] { 1.0, double.PositiveInfinity }));
        Assert.Null(TimestepBuckets.RootMeanSquare(ReadOnlySpan<double>.Empty));
    }

    [Fact]
    public void Each_module_call_gets_its_own_series_and_an_empty_profile_records_nothing()
    {
        const string model = "timesteps-modules";
        var report = new GradientStepReport(
            3,
            1.0,
            new Dictionary<string, double>(),
            new[]
            {
                new TimestepProfile("encoder.lstm", new[] { 0.5, 0.25, 0.125 }),
                new TimestepProfile("decoder.h", new[] { 2.0, 4.0 }),
                new TimestepProfile("unused", Array.Empty<double>()),
            },
            Array.Empty<GradientAnomaly>());

        var points = EmitTimesteps(report, model);

        var series = points
            .Select(point => (ExportedMetrics.Tag(point, "rnn.module")!, ExportedMetrics.Tag(point, "rnn.timestep")!, point.GetHistogramSum()))
            .Order()
            .ToList();
        Assert.Equal(
            new[] { ("decoder.h", "0", 2.0), ("decoder.h", "1", 4.0), ("encoder.lstm", "0", 0.5), ("encoder.lstm", "1", 0.25), ("encoder.lstm", "2", 0.125) },
            series);
    }
}
