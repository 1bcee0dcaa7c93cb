namespace GradientDiagnostics.Clipping;

/// <summary>
/// AutoClip's rule: the threshold is a quantile (linear interpolation between order statistics, as numpy's and torch's
/// default) of the latest pre-clip norms. The current norm is not part of its own threshold, so a spike cannot raise the
/// bar it is measured against. History is a ring buffer plus a sorted copy: O(length) per step, no sorting.
/// </summary>
internal sealed class QuantileThresholdRule(double quantile, int historyLength) : ClipThresholdRule
{
    private readonly double[] ring = new double[historyLength];
    private readonly List<double> sorted = new(historyLength);
    private int next;

    public override double ThresholdFor(double norm)
    {
        var position = quantile * (sorted.Count - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    /// <summary>AutoClip keeps the norm before clipping, whatever the threshold was.</summary>
    public override void Observe(double norm, double? threshold)
    {
        if (sorted.Count == ring.Length)
        {
            sorted.RemoveAt(sorted.BinarySearch(ring[next]));
        }

        ring[next] = norm;
        next = (next + 1) % ring.Length;
        var at = sorted.BinarySearch(norm);
        sorted.Insert(at < 0 ? ~at : at, norm);
    }
}
