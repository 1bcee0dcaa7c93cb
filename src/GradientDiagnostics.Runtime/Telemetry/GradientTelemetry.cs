using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using Microsoft.Extensions.Logging;

namespace GradientDiagnostics.Telemetry;

/// <summary>
/// The OpenTelemetry face of the gradient watch: one <see cref="Meter"/> and one <see cref="ActivitySource"/>
/// named <see cref="Name"/>, and the code that turns a <see cref="GradientStepReport"/> into metrics, a span and
/// log records. Documented for users in docs/telemetry.md.
/// </summary>
internal static class GradientTelemetry
{
    public const string Name = "GradientDiagnostics";

    public const string ParameterNormInstrument = "gradient.norm";
    public const string GlobalNormInstrument = "gradient.global_norm";
    public const string TimestepNormInstrument = "gradient.timestep.norm";
    public const string AnomalyInstrument = "gradient.anomaly";
    public const string StepInstrument = "gradient.step";
    public const string MemoryHorizonInstrument = "gradient.memory_horizon";
    public const string UnprofiledInstrument = "gradient.unprofiled";

    public const string ModelAttribute = "gradient.model";
    public const string ParameterAttribute = "gradient.parameter";
    public const string ModuleAttribute = "rnn.module";
    public const string TimestepAttribute = "rnn.timestep";
    public const string AnomalyKindAttribute = "gradient.anomaly.kind";

    public const string RecordSpanName = "gradient.record";
    public const string StepTag = "gradient.step";
    public const string GlobalNormTag = "gradient.global_norm";
    public const string AnomalyCountTag = "gradient.anomaly.count";
    public const string AnomalyEventName = "gradient.anomaly";
    public const string AnomalyMessageTag = "gradient.anomaly.message";
    public const string AnomalyRemedyTag = "gradient.anomaly.remedy";

    /// <summary>The package version (informational version without build metadata), as instrumentation libraries report it.</summary>
    public static readonly string Version = PackageVersion(typeof(GradientTelemetry).Assembly);

    public static readonly Meter Meter = new(Name, Version);

    public static readonly ActivitySource ActivitySource = new(Name, Version);

    /// <summary>
    /// Powers of ten from 1e-12 to 1e6. Gradient norms are read on a log scale: a vanished gradient sits near 1e-10,
    /// a healthy one near 1, an exploding one at 1e3 and beyond. The SDK's default boundaries (0 … 10000, made for
    /// milliseconds) would put every vanished gradient into one bucket.
    /// </summary>
    public static readonly IReadOnlyList<double> NormBucketBoundaries =
        Enumerable.Range(-12, 19).Select(exponent => Math.Pow(10, exponent)).ToArray();

    /// <summary>
    /// Timestep counts at every power of two from 1 to 4096 and half-way between (0, 1, 2, 3, 4, 6, 8, 12, … 3072, 4096):
    /// the horizons of short sequences are told apart one by one, long ones within a factor of 1.5, and the boundaries
    /// (unlike the SDK's millisecond defaults) sit where sequence lengths do.
    /// </summary>
    public static readonly IReadOnlyList<int> HorizonBucketBoundaries =
        new[] { 0, 1, 2, 3 }.Concat(Enumerable.Range(2, 10).SelectMany(power => new[] { 1 << power, 3 << (power - 1) })).Append(4096).ToArray();

    private static readonly Histogram<double> ParameterNorm = CreateNormHistogram(
        ParameterNormInstrument,
        "L2 norm of one parameter's gradient after backward(), before clipping.");

    private static readonly Histogram<double> GlobalNorm = CreateNormHistogram(
        GlobalNormInstrument,
        "L2 norm of all parameter gradients together (what clip_grad_norm_ measures), before clipping.");

    private static readonly Histogram<double> TimestepNorm = CreateNormHistogram(
        TimestepNormInstrument,
        "Root mean square, over the timesteps of one rnn.timestep bucket, of the L2 norm of the gradient with respect to a recurrent module's input (or tracked state) at each timestep.");

    private static readonly Counter<long> AnomalyCount = Meter.CreateCounter<long>(
        AnomalyInstrument,
        "{anomaly}",
        "Gradient anomalies detected: non-finite, exploding or vanishing gradients.");

    private static readonly Histogram<int> MemoryHorizon = Meter.CreateHistogram(
        MemoryHorizonInstrument,
        unit: "{timestep}",
        description: "How many timesteps back the gradient of a recurrent module call (or tracked input or state) still arrives: " +
            "counting back from the last timestep, the timesteps whose norm stays at or above the vanishing ratio times the mean over the last tenth.",
        tags: null,
        advice: BucketAdvice.Boundaries(HorizonBucketBoundaries));

    private static readonly Counter<long> UnprofiledCount = Meter.CreateCounter<long>(
        UnprofiledInstrument,
        "{module}",
        "Watched recurrent modules that received gradients in a profiled step but produced no timestep profile (invoked with forward(), or an untracked packed input).");

    private static readonly Counter<long> StepCount = Meter.CreateCounter<long>(
        StepInstrument,
        "{step}",
        "Training steps whose gradients were recorded.");

    /// <summary>
    /// Starts the <c>gradient.record</c> span of one step, or returns <see langword="null"/> when no listener or the
    /// user's sampler wants it. Start it before capturing gradients so the span measures what recording costs;
    /// <see cref="Emit"/> completes it.
    /// </summary>
    public static Activity? StartStep(long step, string model)
    {
        try
        {
            if (!ActivitySource.HasListeners())
            {
                return null;
            }

            // Tags given at creation are visible to the sampler.
            var tags = new ActivityTagsCollection
            {
                { StepTag, step },
                { ModelAttribute, model ?? string.Empty },
            };
            return ActivitySource.StartActivity(RecordSpanName, ActivityKind.Internal, default(ActivityContext), tags);
        }
        catch (Exception exception)
        {
            GradientTelemetryEventSource.Log.EmitFailed("trace", model, exception);
            return null;
        }
    }

    /// <summary>
    /// Emits one step's figures: metrics, the tags and anomaly events of <paramref name="activity"/> (which it then
    /// stops; disposing it again afterwards is harmless), and a warning log record per anomaly. Never throws: a
    /// failing listener, processor or logger is reported through the <c>GradientDiagnostics-Telemetry</c> event
    /// source and training goes on. Costs a few field reads when nobody listens.
    /// </summary>
    public static void Emit(GradientStepReport report, string model, ILogger? logger, Activity? activity = null)
    {
        model ??= string.Empty;
        if (report is null)
        {
            GradientTelemetryEventSource.Log.EmitFailed("report", model, new ArgumentNullException(nameof(report)));
            activity?.Stop();
            return;
        }

        try
        {
            RecordMetrics(report, model);
        }
        catch (Exception exception)
        {
            GradientTelemetryEventSource.Log.EmitFailed("metrics", model, exception);
        }

        if (activity is not null)
        {
            try
            {
                DescribeSpan(activity, report);
            }
            catch (Exception exception)
            {
                GradientTelemetryEventSource.Log.EmitFailed("trace", model, exception);
            }
        }

        // Logged while the span is still current, so the records carry its trace and span ids.
        if (logger is not null)
        {
            try
            {
                WriteLogs(logger, report, model);
            }
            catch (Exception exception)
            {
                GradientTelemetryEventSource.Log.EmitFailed("logs", model, exception);
            }
        }

        if (activity is not null)
        {
            try
            {
                activity.Stop();
            }
            catch (Exception exception)
            {
                GradientTelemetryEventSource.Log.EmitFailed("trace", model, exception);
            }
        }
    }

    /// <summary>The <c>gradient.anomaly.kind</c> value of <paramref name="kind"/>.</summary>
    public static string KindLabel(GradientAnomalyKind kind) => kind switch
    {
        GradientAnomalyKind.NonFinite => "nonfinite",
        GradientAnomalyKind.Exploding => "exploding",
        GradientAnomalyKind.Vanishing => "vanishing",
        _ => "unknown",
    };

    private static void RecordMetrics(GradientStepReport report, string model)
    {
        var modelTag = new KeyValuePair<string, object?>(ModelAttribute, model);

        if (StepCount.Enabled)
        {
            StepCount.Add(1, modelTag);
        }

        // Histograms receive finite values only: NaN or infinity would poison the sum (and every mean derived from
        // it) for the rest of the run. Non-finite gradients are counted by gradient.anomaly{kind=nonfinite} instead.
        if (GlobalNorm.Enabled && double.IsFinite(report.GlobalNorm))
        {
            GlobalNorm.Record(report.GlobalNorm, modelTag);
        }

        if (ParameterNorm.Enabled)
        {
            foreach (var (parameter, norm) in report.ParameterNorms)
            {
                if (double.IsFinite(norm))
                {
                    ParameterNorm.Record(norm, modelTag, new KeyValuePair<string, object?>(ParameterAttribute, parameter));
                }
            }
        }

        if (TimestepNorm.Enabled)
        {
            foreach (var profile in report.Timesteps)
            {
                if (profile is not null)
                {
                    RecordTimesteps(profile, modelTag);
                }
            }
        }

        if (MemoryHorizon.Enabled)
        {
            foreach (var profile in report.Timesteps)
            {
                if (profile is not null)
                {
                    MemoryHorizon.Record(profile.MemoryHorizon, modelTag, new KeyValuePair<string, object?>(ModuleAttribute, profile.Module));
                }
            }
        }

        if (UnprofiledCount.Enabled)
        {
            foreach (var module in report.Unprofiled)
            {
                if (module is not null)
                {
                    UnprofiledCount.Add(1, modelTag, new KeyValuePair<string, object?>(ModuleAttribute, module));
                }
            }
        }

        if (AnomalyCount.Enabled)
        {
            foreach (var anomaly in report.Anomalies)
            {
                if (anomaly is not null)
                {
                    AnomalyCount.Add(1, modelTag, new KeyValuePair<string, object?>(AnomalyKindAttribute, KindLabel(anomaly.Kind)));
                }
            }
        }
    }

    private static void RecordTimesteps(TimestepProfile profile, KeyValuePair<string, object?> modelTag)
    {
        var norms = profile.Norms;
        var width = TimestepBuckets.WidthFor(norms.Length);
        var moduleTag = new KeyValuePair<string, object?>(ModuleAttribute, profile.Module);
        for (int bucket = 0, first = 0; first < norms.Length; bucket++, first += width)
        {
            var value = TimestepBuckets.RootMeanSquare(norms.AsSpan(first, Math.Min(width, norms.Length - first)));
            if (value is { } rms)
            {
                TimestepNorm.Record(
                    rms,
                    modelTag,
                    moduleTag,
                    new KeyValuePair<string, object?>(TimestepAttribute, TimestepBuckets.Label(bucket, width)));
            }
        }
    }

    private static void DescribeSpan(Activity activity, GradientStepReport report)
    {
        if (activity.IsAllDataRequested)
        {
            activity.SetTag(GlobalNormTag, report.GlobalNorm);
            activity.SetTag(AnomalyCountTag, report.Anomalies.Count);
            foreach (var anomaly in report.Anomalies)
            {
                if (anomaly is null)
                {
                    continue;
                }

                var tags = new ActivityTagsCollection
                {
                    { AnomalyKindAttribute, KindLabel(anomaly.Kind) },
                    { AnomalyMessageTag, anomaly.Message },
                };
                if (anomaly.Remedy is not null)
                {
                    tags.Add(AnomalyRemedyTag, anomaly.Remedy);
                }

                activity.AddEvent(new ActivityEvent(AnomalyEventName, tags: tags));
            }
        }
    }

    private static void WriteLogs(ILogger logger, GradientStepReport report, string model)
    {
        GradientTelemetryLog.StepRecorded(logger, report.Step, model, report.GlobalNorm, report.Anomalies.Count);
        foreach (var anomaly in report.Anomalies)
        {
            if (anomaly is not null)
            {
                GradientTelemetryLog.AnomalyDetected(
                    logger, KindLabel(anomaly.Kind), model, report.Step, anomaly.Message, anomaly.Remedy ?? "none");
            }
        }
    }

    private static Histogram<double> CreateNormHistogram(string name, string description) =>
        Meter.CreateHistogram(
            name,
            unit: "1",
            description: description,
            tags: null,
            advice: BucketAdvice.Boundaries(NormBucketBoundaries));

    private static string PackageVersion(Assembly assembly)
    {
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(informational))
        {
            return assembly.GetName().Version?.ToString() ?? "0.0.0";
        }

        var metadata = informational.IndexOf('+', StringComparison.Ordinal);
        return metadata < 0 ? informational : informational[..metadata];
    }
}
