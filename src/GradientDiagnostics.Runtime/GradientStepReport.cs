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
    {
        ArgumentNullException.ThrowIfNull(parameterNorms);
        ArgumentNullException.ThrowIfNull(timesteps);
        ArgumentNullException.ThrowIfNull(anomalies);
        Step = step;
        GlobalNorm = globalNorm;
        ParameterNorms = parameterNorms;
        Timesteps = timesteps;
        Anomalies = anomalies;
    }

    /// <summary>The step number passed to <c>Record</c>.</summary>
    public long Step { get; }

    /// <summary>L2 norm of all parameter gradients together (what <c>clip_grad_norm_</c> measures).</summary>
    public double GlobalNorm { get; }

    /// <summary>L2 norm of each parameter's gradient, keyed by the model's <c>named_parameters()</c> names.</summary>
    public IReadOnlyDictionary<string, double> ParameterNorms { get; }

    /// <summary>One profile per recurrent module call or tracked state name.</summary>
    public IReadOnlyList<TimestepProfile> Timesteps { get; }

    public IReadOnlyList<GradientAnomaly> Anomalies { get; }

    /// <summary>
    /// The threshold the <see cref="AdaptiveGradientClipper"/> given this watch applies to this step's
    /// <see cref="GlobalNorm"/> (the report is made before the clipper runs); null without one, for a non-finite norm, or
    /// during a warm-up without a threshold.
    /// </summary>
    public double? ClipThreshold { get; init; }
}

/// <summary>Gradient norm at every timestep of one recurrent module call (or one tracked state).</summary>
public sealed class TimestepProfile
{
    public TimestepProfile(string module, double[] norms)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(norms);
        Module = module;
        Norms = norms;
    }

    /// <summary>The module's name in the model (e.g. <c>encoder.lstm</c>), or the name given to <c>TrackState</c>.</summary>
    public string Module { get; }

    /// <summary><c>Norms[t]</c> = L2 norm over batch and features of dL/dx_t (module input) or dL/dh_t (tracked state).</summary>
    public double[] Norms { get; }
}

/// <summary>A gradient pathology found in one step.</summary>
public sealed class GradientAnomaly
{
    public GradientAnomaly(GradientAnomalyKind kind, string message, string? remedy)
    {
        ArgumentNullException.ThrowIfNull(message);
        Kind = kind;
        Message = message;
        Remedy = remedy;
    }

    public GradientAnomalyKind Kind { get; }

    public string Message { get; }

    /// <summary>What prevents it, naming the analyzer rule (e.g. "clip gradients — GD0001").</summary>
    public string? Remedy { get; }

    public override string ToString() => Remedy is null ? $"{Kind}: {Message}" : $"{Kind}: {Message} ({Remedy})";
}

public enum GradientAnomalyKind
{
    NonFinite,
    Exploding,
    Vanishing,
}
