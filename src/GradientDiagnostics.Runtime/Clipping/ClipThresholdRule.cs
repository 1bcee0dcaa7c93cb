namespace GradientDiagnostics.Clipping;

/// <summary>How an adaptive clipper turns the finite norms it has seen into the threshold of the next step.</summary>
internal abstract class ClipThresholdRule
{
    public static ClipThresholdRule For(AdaptiveClippingOptions options) => options.Method switch
    {
        AdaptiveClippingMethod.Quantile => new QuantileThresholdRule(options.Quantile, options.HistoryLength),
        _ => new ZScoreThresholdRule(options.ZScoreThreshold, options.EmaAlpha, options.WarmupSteps),
    };

    /// <summary>The threshold for a step whose pre-clip norm is <paramref name="norm"/> (finite); the state is not changed.</summary>
    public abstract double ThresholdFor(double norm);

    /// <summary>
    /// Takes a step's finite pre-clip norm into the statistics, with the threshold that was applied to it (during the
    /// warm-up the fixed one, or null when nothing was applied).
    /// </summary>
    public abstract void Observe(double norm, double? threshold);
}
