namespace GradientDiagnostics.Calibration;

/// <summary>
/// A bounded streaming quantile sketch for non-negative values that span many orders of magnitude (gradient norms run
/// from 1e-12 to 1e6 and beyond): DDSketch (Masson, Rim &amp; Lee, "DDSketch: a fast and fully-mergeable quantile sketch
/// with relative-error guarantees", VLDB 2019) with a collapsing-lowest dense store.
/// </summary>
/// <remarks>
/// <para>
/// A positive value x goes to bucket i = ⌈log_γ x⌉, γ = (1 + α) / (1 − α), which covers (γ^(i−1), γ^i]; a quantile is
/// answered with the bucket's centre 2γ^i / (γ + 1), whose relative distance to anything in the bucket is at most α.
/// Exact zeros are counted apart. <see cref="Quantile"/>(q) therefore returns a value within a relative error α of the
/// exact order statistic of rank ⌊q (n − 1)⌋ (0-based, ascending) — as long as the values recorded span less than
/// γ^<see cref="MaxBuckets"/> (with α = 1 % and 4,096 buckets, a ratio of about 1e35 between the largest and the smallest
/// positive value). Beyond that the lowest buckets are merged upwards, so only quantiles that fall in the merged range
/// lose the guarantee (they are overestimated); the maximum and the upper quantiles keep it.
/// </para>
/// <para>
/// Memory is one <see langword="long"/> per bucket between the smallest and largest bucket seen, at most
/// <see cref="MaxBuckets"/> (32 KiB), whatever the number of values. <see cref="Min"/> and <see cref="Max"/> are exact.
/// </para>
/// </remarks>
internal sealed class NormQuantileSketch
{
    /// <summary>α: the relative error bound of every quantile.</summary>
    public const double RelativeAccuracy = 0.01;

    /// <summary>The most buckets the sketch holds.</summary>
    public const int MaxBuckets = 4096;

    private const int InitialBuckets = 64;

    private static readonly double Gamma = (1 + RelativeAccuracy) / (1 - RelativeAccuracy);
    private static readonly double LogGamma = Math.Log(Gamma);

    /// <summary>Counts of buckets <c>offset</c> … <c>offset + counts.Length − 1</c>; only [lowest, highest] are in use.</summary>
    private long[] counts = Array.Empty<long>();
    private int offset;
    private int lowest;
    private int highest;
    private long zeroCount;

    /// <summary>How many values were added.</summary>
    public long Count { get; private set; }

    /// <summary>The smallest value added (exact); NaN when empty.</summary>
    public double Min { get; private set; } = double.NaN;

    /// <summary>The largest value added (exact); NaN when empty.</summary>
    public double Max { get; private set; } = double.NaN;

    /// <summary>How many buckets the sketch holds now (its memory is this many <see langword="long"/>s).</summary>
    public int BucketCapacity => counts.Length;

    /// <summary>Adds a finite, non-negative value.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is negative, NaN or infinite.</exception>
    public void Add(double value)
    {
        if (!double.IsFinite(value) || value < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "The sketch takes finite, non-negative values.");
        }

        Min = Count == 0 ? value : Math.Min(Min, value);
        Max = Count == 0 ? value : Math.Max(Max, value);
        Count++;
        if (value == 0)
        {
            zeroCount++;
            return;
        }

        var index = BucketIndex(value);
        if (counts.Length == 0)
        {
            counts = new long[InitialBuckets];
            offset = index - InitialBuckets / 2;
            lowest = highest = index;
        }
        else if (index < lowest || index > highest)
        {
            index = Extend(index);
        }

        counts[index - offset]++;
    }

    /// <summary>
    /// The value of rank ⌊q (n − 1)⌋ among the values added (0-based, ascending), within a relative error of
    /// <see cref="RelativeAccuracy"/>; NaN when nothing was added.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="q"/> is not in [0, 1].</exception>
    public double Quantile(double q)
    {
        if (!(q >= 0 && q <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, "A quantile must be in [0, 1].");
        }

        return Count == 0 ? double.NaN : ValueAt((long)Math.Floor(q * (Count - 1)));
    }

    /// <summary>The value of rank <paramref name="rank"/> (0-based, ascending), within a relative error of <see cref="RelativeAccuracy"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rank"/> is negative or not below <see cref="Count"/>.</exception>
    public double ValueAt(long rank)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, Count);
        if (rank < zeroCount)
        {
            return 0;
        }

        var seen = zeroCount;
        for (var index = lowest; index <= highest; index++)
        {
            seen += counts[index - offset];
            if (seen > rank)
            {
                // The exact value lies in [Min, Max]; clamping can only bring the estimate closer to it.
                return Math.Clamp(2 * Math.Pow(Gamma, index) / (Gamma + 1), Min, Max);
            }
        }

        throw new System.Diagnostics.UnreachableException("The bucket counts add up to Count.");
    }

    private static int BucketIndex(double value)
    {
        // log_γ of the smallest subnormal double is about −37,000 and of the largest double about +35,500: ints suffice.
        return (int)Math.Ceiling(Math.Log(value) / LogGamma);
    }

    /// <summary>Widens the range in use to take <paramref name="index"/>; returns the bucket the value now goes to.</summary>
    private int Extend(int index)
    {
        var newHighest = Math.Max(highest, index);
        // Past MaxBuckets the lowest buckets are merged into the lowest one kept (DDSketch's collapsing-lowest store).
        var newLowest = Math.Max(Math.Min(lowest, index), newHighest - MaxBuckets + 1);
        if (newLowest < offset || newHighest >= offset + counts.Length)
        {
            Reallocate(newLowest, newHighest);
        }

        lowest = newLowest;
        highest = newHighest;
        return Math.Max(index, newLowest);
    }

    private void Reallocate(int newLowest, int newHighest)
    {
        // Grow geometrically, centred on the range in use, so a drifting stream does not reallocate on every value.
        var needed = newHighest - newLowest + 1;
        var capacity = Math.Min(MaxBuckets, Math.Max(needed, 2 * counts.Length));
        var newOffset = Math.Max(newHighest - capacity + 1, newLowest - (capacity - needed) / 2);
        var grown = new long[capacity];
        for (var index = lowest; index <= highest; index++)
        {
            grown[Math.Max(index, newLowest) - newOffset] += counts[index - offset];
        }

        counts = grown;
        offset = newOffset;
    }
}
