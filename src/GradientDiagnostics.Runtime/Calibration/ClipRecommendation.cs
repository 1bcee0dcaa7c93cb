using System.Globalization;

namespace GradientDiagnostics.Calibration;

/// <summary>The clip threshold the calibration file recommends for a model (docs/runtime.md, "Calibration").</summary>
internal static class ClipRecommendation
{
    /// <summary>AutoClip's quantile: a threshold that leaves nine steps in ten untouched and tames the tenth.</summary>
    public const double Quantile = 0.9;

    private const int SignificantDigits = 3;

    /// <summary>
    /// The 0.9 quantile of the pre-clip global norm over every recorded step, a non-finite norm counting as larger than
    /// any finite one (it is an overflow, the largest norm of all), rounded to three significant digits for the code it
    /// goes into. Null when that quantile is itself non-finite — more than a tenth of the steps overflowed: the run
    /// diverged, and its norms describe the divergence rather than the model. When the quantile is 0 (most steps had no
    /// gradient) the next positive figure is taken, p99 or else the maximum: a threshold of 0 would zero every gradient.
    /// </summary>
    /// <param name="finiteNorms">The finite norms; its maximum must be positive.</param>
    /// <param name="nonFiniteSteps">Steps whose norm was NaN or infinite.</param>
    public static double? From(NormQuantileSketch finiteNorms, long nonFiniteSteps)
    {
        var rank = (long)Math.Floor(Quantile * (finiteNorms.Count + nonFiniteSteps - 1));
        if (rank >= finiteNorms.Count)
        {
            return null;
        }

        var threshold = finiteNorms.ValueAt(rank);
        if (threshold == 0)
        {
            threshold = finiteNorms.Quantile(0.99) is > 0 and var p99 ? p99 : finiteNorms.Max;
        }

        return double.Parse(threshold.ToString("G" + SignificantDigits, CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }
}
