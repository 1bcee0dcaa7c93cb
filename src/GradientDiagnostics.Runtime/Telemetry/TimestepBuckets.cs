using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;

namespace GradientDiagnostics.Telemetry;

/// <summary>
/// Maps the timesteps of one recurrent module call onto at most <see cref="MaxBuckets"/> <c>rnn.timestep</c> labels,
/// so the cardinality of <c>gradient.timestep.norm</c> does not grow with sequence length.
/// </summary>
/// <remarks>
/// Sequences of up to 64 steps keep one bucket per timestep, labelled by its index ("0" … "63"). Longer sequences
/// use buckets whose width is the smallest power of two that needs no more than 64 of them, aligned at multiples of
/// that width and labelled by their full range ("992-1007" for a 1000-step sequence, width 16). Aligned power-of-two
/// buckets have labels that depend only on the width, never on the exact length: a training run whose batches vary
/// in length still produces at most 64 labels per width in use, and a bucket of width 2w is exactly two of width w,
/// so runs with different lengths can be compared. A bucket's value is the root mean square of the per-timestep norms
/// it holds, which keeps it on the per-timestep scale whatever the width.
/// </remarks>
internal static class TimestepBuckets
{
    public const int MaxBuckets = 64;

    private static readonly ConcurrentDictionary<int, string[]> LabelsByWidth = new();

    /// <summary>The bucket width for a sequence of <paramref name="length"/> timesteps: 1, or a power of two.</summary>
    public static int WidthFor(int length)
    {
        if (length <= MaxBuckets)
        {
            return 1;
        }

        var timestepsPerBucket = (uint)(((long)length + MaxBuckets - 1) / MaxBuckets);
        return (int)BitOperations.RoundUpToPowerOf2(timestepsPerBucket);
    }

    /// <summary>The label of bucket <paramref name="bucket"/> (0-based) for buckets of <paramref name="width"/> timesteps.</summary>
    public static string Label(int bucket, int width) =>
        LabelsByWidth.GetOrAdd(width, CreateLabels)[bucket];

    /// <summary>
    /// Root mean square of <paramref name="norms"/>, or <see langword="null"/> when one of them is NaN or infinite:
    /// such a bucket has no meaningful aggregate, and the non-finite anomaly reports it instead.
    /// </summary>
    public static double? RootMeanSquare(ReadOnlySpan<double> norms)
    {
        if (norms.IsEmpty)
        {
            return null;
        }

        // Scaling by the largest magnitude keeps the squares from overflowing for norms above ~1e154.
        var largest = 0.0;
        foreach (var norm in norms)
        {
            if (!double.IsFinite(norm))
            {
                return null;
            }

            largest = Math.Max(largest, Math.Abs(norm));
        }

        if (largest == 0)
        {
            return 0;
        }

        var sumOfSquares = 0.0;
        foreach (var norm in norms)
        {
            var scaled = norm / largest;
            sumOfSquares += scaled * scaled;
        }

        return largest * Math.Sqrt(sumOfSquares / norms.Length);
    }

    private static string[] CreateLabels(int width)
    {
        var labels = new string[MaxBuckets];
        for (var bucket = 0; bucket < MaxBuckets; bucket++)
        {
            var first = (long)bucket * width;
            labels[bucket] = width == 1
                ? first.ToString(CultureInfo.InvariantCulture)
                : string.Create(CultureInfo.InvariantCulture, $"{first}-{first + width - 1}");
        }

        return labels;
    }
}
