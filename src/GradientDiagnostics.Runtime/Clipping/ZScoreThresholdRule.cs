namespace GradientDiagnostics.Clipping;

/// <summary>
/// ZClip's rule ("zscore" mode, adaptive scaling): mean μ and variance σ² of the norm as exponential moving averages,
/// started from the mean and variance of the warm-up norms. A norm g with z = (g − μ) / σ above z_t is clipped to
/// μ + z_t² σ / z — the further out, the harder — and the statistics take the clipped value, so a spike does not widen
/// the band it is judged by. Otherwise the threshold in effect is the band's edge μ + z_t σ.
/// </summary>
/// <remarks>
/// Two departures from ZClip's code, both for the same reason — the statistics describe the gradients the optimizer
/// actually received: the warm-up norms enter as clipped by the warm-up threshold (ZClip takes them raw, so a model whose
/// first steps are already too large starts from a band that lets them through), and σ = 0 clips anything above μ to μ
/// (ZClip divides by σ + 1e-6, which makes the rule depend on the scale of the norms).
/// </remarks>
internal sealed class ZScoreThresholdRule(double zThreshold, double alpha, int warmupSteps) : ClipThresholdRule
{
    private readonly List<double> warmup = new(warmupSteps);
    private double mean;
    private double variance;

    public override double ThresholdFor(double norm)
    {
        var deviation = Math.Sqrt(variance);
        var edge = mean + zThreshold * deviation;
        if (norm <= edge)
        {
            return edge;
        }

        return deviation == 0 ? mean : mean + zThreshold * zThreshold * deviation / ((norm - mean) / deviation);
    }

    public override void Observe(double norm, double? threshold)
    {
        var effective = threshold is { } applied ? Math.Min(norm, applied) : norm;
        if (warmup.Count < warmupSteps)
        {
            warmup.Add(effective);
            if (warmup.Count == warmupSteps)
            {
                mean = warmup.Average();
                variance = warmup.Average(value => (value - mean) * (value - mean));
            }

            return;
        }

        mean = alpha * mean + (1 - alpha) * effective;
        variance = alpha * variance + (1 - alpha) * (effective - mean) * (effective - mean);
    }
}
