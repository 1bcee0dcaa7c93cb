using System.Diagnostics.Metrics;

namespace GradientDiagnostics.Telemetry;

/// <summary>The adaptive clipper's instrument, on the shared <see cref="GradientTelemetry.Meter"/> (docs/telemetry.md).</summary>
internal static class ClipTelemetry
{
    public const string ThresholdInstrument = "gradient.clip.threshold";
    public const string MethodAttribute = "gradient.clip.method";

    /// <summary>
    /// A histogram rather than a gauge: like <c>gradient.global_norm</c> (same buckets, same unit), so a dashboard puts
    /// the mean threshold of an interval (sum / count) next to the mean norm, and every step's threshold is counted.
    /// </summary>
    private static readonly Histogram<double> Threshold = GradientTelemetry.Meter.CreateHistogram(
        ThresholdInstrument,
        unit: "1",
        description: "Clip threshold an adaptive gradient clipper applied to the global gradient norm of a step.",
        tags: null,
        advice: BucketAdvice.Boundaries(GradientTelemetry.NormBucketBoundaries));

    /// <summary>Records one step's threshold. Never throws: a failing listener is reported through the event source.</summary>
    public static void RecordThreshold(double threshold, string? model, AdaptiveClippingMethod method)
    {
        if (!Threshold.Enabled)
        {
            return;
        }

        try
        {
            var methodTag = new KeyValuePair<string, object?>(MethodAttribute, method == AdaptiveClippingMethod.ZScore ? "zscore" : "quantile");
            if (model is null)
            {
                Threshold.Record(threshold, methodTag);
            }
            else
            {
                Threshold.Record(threshold, methodTag, new KeyValuePair<string, object?>(GradientTelemetry.ModelAttribute, model));
            }
        }
        catch (Exception exception)
        {
            GradientTelemetryEventSource.Log.EmitFailed("metrics", model, exception);
        }
    }
}
