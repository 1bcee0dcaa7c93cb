using System.Globalization;

namespace GradientDiagnostics.Calibration;

/// <summary>The clip threshold the calibration file recommends for a model (docs/runtime.md, "Calibration").</summary>
internal static class ClipRecommendation
{
    /// <summary>AutoClip's quantile: a threshold that leaves nine steps in ten untouched and tames the tenth.</summary>
    public const double Quantile = 0.9;

    private const int SignificantDigits = 3;

    /// <summary>
    /// The 0.9 quantile of the pre-clip global norm over every recorded step, a step the watch found exploding or
    /// non-finite counting as larger than any healthy one (its norm measures the explosion, and a threshold belongs below
    /// it), rounded to three significant digits for the code it goes into. Null when that quantile falls among those
    /// steps — more than a tenth of the run exploded or overflowed: its norms describe the explosion rather than the
    /// model. When the quantile is 0 (most steps had no gradient) the next positive figure is taken, p99 of the healthy
    /// norms or else their maximum (null if that is 0 too): a threshold of 0 would zero every gradient.
    /// </summary>
    /// <param name="healthyNorms">The finite norms of the steps without an exploding or non-finite anomaly.</param>
    /// <param name="unhealthySteps">Steps with exploding or non-finite gradients.</param>
    public static double? From(NormQuantileSketch healthyNorms, long unhealthySteps)
    {
        var rank = (long)Math.Floor(Quantile * (healthyNorms.Count + unhealthySteps - 1));
        if (rank >= healthyNorms.Count)
        {
            return null;
        }

        var threshold = healthyNorms.ValueAt(rank);
        if (threshold == 0)
        {
            threshold = healthyNorms.Quantile(0.99) is > 0 and var p99 ? p99 : healthyNorms.Max;
        }

        return threshold > 0
            ? double.Parse(threshold.ToString("G" + SignificantDigits, CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)
            : null;
    }
}
