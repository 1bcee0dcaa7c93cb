namespace GradientDiagnostics;

/// <summary>How an <see cref="AdaptiveGradientClipper"/> sets its threshold from the norms it has seen.</summary>
public enum AdaptiveClippingMethod
{
    /// <summary>
    /// ZClip (Kumar et al., 2025), the default: exponential moving mean μ and variance σ² of the global norm (smoothing
    /// <see cref="AdaptiveClippingOptions.EmaAlpha"/>, default 0.97); a norm whose z-score z = (g − μ) / σ exceeds
    /// <see cref="AdaptiveClippingOptions.ZScoreThreshold"/> z_t (default 2.5) is clipped to μ + z_t² σ / z, and the
    /// statistics take the clipped norm, so a run-away optimizer cannot raise its own threshold.
    /// </summary>
    ZScore,

    /// <summary>
    /// AutoClip (Seetharaman et al., 2020): the <see cref="AdaptiveClippingOptions.Quantile"/> (default 0.9) of the last
    /// <see cref="AdaptiveClippingOptions.HistoryLength"/> (default 1,000) pre-clip global norms.
    /// </summary>
    Quantile,
}

/// <summary>
/// Settings of an <see cref="AdaptiveGradientClipper"/>. Every setter validates its value and throws an
/// <see cref="ArgumentOutOfRangeException"/> naming the option. The defaults are the published ones of AutoClip and ZClip;
/// docs/runtime.md ("Adaptive clipping") gives the runs that support them here.
/// </summary>
public sealed class AdaptiveClippingOptions
{
    private readonly double quantile = 0.9;
    private readonly int historyLength = 1000;
    private readonly double zScoreThreshold = 2.5;
    private readonly double emaAlpha = 0.97;
    private readonly int warmupSteps = 25;
    private readonly double? warmupMaxNorm = 1.0;
    private readonly string? modelName;

    /// <summary>How the threshold follows the norms. Default <see cref="AdaptiveClippingMethod.ZScore"/>.</summary>
    public AdaptiveClippingMethod Method { get; init; } = AdaptiveClippingMethod.ZScore;

    /// <summary>The quantile of the norm history used as threshold by <see cref="AdaptiveClippingMethod.Quantile"/>. Default 0.9 (AutoClip's). In (0, 1].</summary>
    public double Quantile
    {
        get => quantile;
        init => quantile = value > 0 && value <= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Quantile), value, "Quantile must be greater than 0 and at most 1.");
    }

    /// <summary>How many of the latest finite norms <see cref="AdaptiveClippingMethod.Quantile"/> keeps. Default 1,000 (AutoClip's). At least 1.</summary>
    public int HistoryLength
    {
        get => historyLength;
        init => historyLength = AtLeastOne(value, nameof(HistoryLength));
    }

    /// <summary>The z-score above which <see cref="AdaptiveClippingMethod.ZScore"/> clips. Default 2.5 (ZClip's). Finite and &gt; 0.</summary>
    public double ZScoreThreshold
    {
        get => zScoreThreshold;
        init => zScoreThreshold = double.IsFinite(value) && value > 0
            ? value
            : throw new ArgumentOutOfRangeException(nameof(ZScoreThreshold), value, "ZScoreThreshold must be a finite number greater than 0.");
    }

    /// <summary>
    /// Weight of the past in <see cref="AdaptiveClippingMethod.ZScore"/>'s moving mean and variance
    /// (μ ← α μ + (1 − α) g). Default 0.97 (ZClip's). In (0, 1).
    /// </summary>
    public double EmaAlpha
    {
        get => emaAlpha;
        init => emaAlpha = value > 0 && value < 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(EmaAlpha), value, "EmaAlpha must be greater than 0 and less than 1.");
    }

    /// <summary>
    /// Steps (with a finite norm) that only collect statistics before the adaptive threshold applies; meanwhile the
    /// clipper clips at <see cref="WarmupMaxNorm"/>. Default 25 (ZClip's). At least 1.
    /// </summary>
    public int WarmupSteps
    {
        get => warmupSteps;
        init => warmupSteps = AtLeastOne(value, nameof(WarmupSteps));
    }

    /// <summary>
    /// The fixed threshold during the warm-up, or <see langword="null"/> not to clip then. Default 1.0 (ZClip's, and the
    /// usual fixed threshold): the first steps have no history to judge a norm by, and a model can be wrecked in them.
    /// Finite and &gt; 0 when set.
    /// </summary>
    public double? WarmupMaxNorm
    {
        get => warmupMaxNorm;
        init => warmupMaxNorm = value is null || (double.IsFinite(value.Value) && value.Value > 0)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(WarmupMaxNorm), value, "WarmupMaxNorm must be a finite number greater than 0, or null.");
    }

    /// <summary>
    /// The <c>gradient.model</c> attribute of the clipper's telemetry. Default: the model name of the
    /// <see cref="GradientWatch"/> given to the clipper, if any. Must not be empty or whitespace.
    /// </summary>
    public string? ModelName
    {
        get => modelName;
        init => modelName = value is null || !string.IsNullOrWhiteSpace(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(ModelName), value, "ModelName must not be empty or whitespace; leave it null to use the watch's model name.");
    }

    private static int AtLeastOne(int value, string name) =>
        value >= 1 ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
}
