namespace GradientDiagnostics;

/// <summary>The gradient figures of one training step, as returned by <c>GradientWatch.Record</c>.</summary>
public sealed class GradientStepReport
{
    public GradientStepReport(
        long step,
        double globalNorm,
        IReadOnlyDictionary<string, double> parameterNorms,
        IReadOnlyList<TimestepProfile> timesteps,
        IReadOnlyList<GradientAnomaly> anomalies)
        : this(step, globalNorm, parameterNorms, timesteps, anomalies, Array.Empty<string>())
    {
    }

    /// <param name="unprofiled">See <see cref="Unprofiled"/>.</param>
    public GradientStepReport(
        long step,
        double globalNorm,
        IReadOnlyDictionary<string, double> parameterNorms,
        IReadOnlyList<TimestepProfile> timesteps,
        IReadOnlyList<GradientAnomaly> anomalies,
        IReadOnlyList<string> unprofiled)
    {
        ArgumentNullException.ThrowIfNull(parameterNorms);
        ArgumentNullException.ThrowIfNull(timesteps);
        ArgumentNullException.ThrowIfNull(anomalies);
        ArgumentNullException.ThrowIfNull(unprofiled);
        Step = step;
        GlobalNorm = globalNorm;
        ParameterNorms = parameterNorms;
        Timesteps = timesteps;
        Anomalies = anomalies;
        Unprofiled = unprofiled;
    }

    /// <summary>The step number passed to <c>Record</c>.</summary>
    public long Step { get; }

    /// <summary>L2 norm of all parameter gradients together (what <c>clip_grad_norm_</c> measures).</summary>
    public double GlobalNorm { get; }

    /// <summary>L2 norm of each parameter's gradient, keyed by the model's <c>named_parameters()</c> names.</summary>
    public IReadOnlyDictionary<string, double> ParameterNorms { get; }

    /// <summary>One profile per recurrent module call, tracked packed input or tracked state name.</summary>
    public IReadOnlyList<TimestepProfile> Timesteps { get; }

    public IReadOnlyList<GradientAnomaly> Anomalies { get; }

    /// <summary>
    /// The watched recurrent modules (their <c>named_modules()</c> names) whose parameters received gradients this step
    /// but that produced no profile: invoked with <c>forward()</c> instead of <c>call()</c>, or given a
    /// <c>PackedSequence</c> that was not passed through <c>GradientWatch.TrackInput</c>; or a recurrent cell in a step that
    /// registered no state with <c>GradientWatch.TrackState</c>. Empty on steps whose profiles are not due (<see cref="GradientWatchOptions.TimestepProfileInterval"/>).
    /// </summary>
    public IReadOnlyList<string> Unprofiled { get; }

    /// <summary>
    /// The threshold the <see cref="AdaptiveGradientClipper"/> given this watch applies to this step's
    /// <see cref="GlobalNorm"/> (the report is made before the clipper runs); null without one, for a non-finite norm, or
    /// during a warm-up without a threshold.
    /// </summary>
    public double? ClipThreshold { get; init; }
}
