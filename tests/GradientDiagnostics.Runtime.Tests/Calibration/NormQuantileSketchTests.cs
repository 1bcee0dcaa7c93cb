using GradientDiagnostics.Calibration;

namespace GradientDiagnostics.Runtime.Tests.Calibration;

/// <summary>
/// The sketch against exact quantiles: every quantile within the stated relative error α of the order statistic of rank
/// ⌊q (n − 1)⌋, on the streams a watch sees (log-normal norms, heavy tails, spans of 18 decades, drifting million-step
/// runs) and on adversarial ones (constants, zeros, sorted and alternating extremes).
/// </summary>
public sealed class NormQuantileSketchTests
{
    private static readonly double[] Quantiles = { 0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1 };

    public static TheoryData<string> Streams => new() { "log-normal", "pareto-1.1", "log-uniform-1e-12..1e6", "zeros-and-norms", "sorted-ascending", "sorted-descending", "alternating-extremes", "two-clusters" };

    [Theory]
    [MemberData(nameof(Streams))]
    public void Every_quantile_is_within_the_relative_error_bound(string stream)
    {
        var values = Stream(stream, 200_000, seed: 1);

        var sketch = Fill(values);

        AssertWithinBound(values, sketch);
    }

    [Fact]
    public void A_million_drifting_steps_with_spikes_stay_within_the_bound_in_constant_memory()
    {
        var random = new Random(7);
        var values = new double[1_000_000];
        var logNorm = Math.Log(0.2);
        NormQuantileSketch sketch = new();
        var capacityAfterFirstTenth = 0;
        for (var i = 0; i < values.Length; i++)
        {
            // A training run: the typical norm drifts over decades, with a spike of 100–10,000× now and then.
            logNorm = Math.Clamp(logNorm + 0.01 * Normal(random), Math.Log(1e-6), Math.Log(1e3));
            var value = Math.Exp(logNorm + 0.5 * Normal(random));
            values[i] = random.NextDouble() < 0.001 ? value * Math.Pow(10, 2 + 2 * random.NextDouble()) : value;
            sketch.Add(values[i]);
            if (i == values.Length / 10)
            {
                capacityAfterFirstTenth = sketch.BucketCapacity;
            }
        }

        AssertWithinBound(values, sketch);
        Assert.Equal(values.Length, sketch.Count);
        Assert.True(sketch.BucketCapacity <= NormQuantileSketch.MaxBuckets);
        // Memory follows the span of the values, not their number: the last 900,000 steps added at most one doubling.
        Assert.True(sketch.BucketCapacity <= 2 * capacityAfterFirstTenth, $"{capacityAfterFirstTenth} → {sketch.BucketCapacity} buckets");
    }

    [Fact]
    public void A_constant_stream_gives_that_constant_exactly()
    {
        var sketch = Fill(Enumerable.Repeat(0.37, 10_000).ToArray());

        Assert.All(Quantiles, q => Assert.Equal(0.37, sketch.Quantile(q)));
        Assert.Equal(0.37, sketch.Min);
        Assert.Equal(0.37, sketch.Max);
    }

    [Fact]
    public void All_zeros_give_zero()
    {
        var sketch = Fill(new double[1000]);

        Assert.All(Quantiles, q => Assert.Equal(0, sketch.Quantile(q)));
    }

    [Fact]
    public void Values_spanning_more_than_the_buckets_cover_merge_the_lowest_and_keep_the_upper_quantiles()
    {
        // 1e-300 … 1e300 needs ~69,000 buckets at α = 1 %; the sketch keeps the top 4,096 (a span of about 1e35).
        var random = new Random(3);
        var values = Enumerable.Range(0, 50_000).Select(_ => Math.Pow(10, -300 + 600 * random.NextDouble())).ToArray();

        var sketch = Fill(values);

        Assert.Equal(NormQuantileSketch.MaxBuckets, sketch.BucketCapacity);
        AssertWithinBound(values, sketch, new[] { 0.95, 0.99, 0.999, 1.0 });
        Assert.Equal(values.Max(), sketch.Max);
        Assert.Equal(values.Min(), sketch.Min);
        // The merged low end is overestimated, never underestimated.
        Assert.True(sketch.Quantile(0.1) >= Exact(values, 0.1));
    }

    [Fact]
    public void An_empty_sketch_answers_NaN()
    {
        var sketch = new NormQuantileSketch();

        Assert.True(double.IsNaN(sketch.Quantile(0.5)));
        Assert.True(double.IsNaN(sketch.Max));
        Assert.Equal(0, sketch.Count);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(-1e-3)]
    public void Non_finite_and_negative_values_are_refused(double value)
    {
        var sketch = new NormQuantileSketch();

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => sketch.Add(value));
        Assert.Equal("value", error.ParamName);
        Assert.Equal(0, sketch.Count);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.1)]
    [InlineData(double.NaN)]
    public void A_quantile_outside_0_to_1_is_refused(double q)
    {
        var sketch = Fill(new[] { 1.0 });

        Assert.Equal("q", Assert.Throws<ArgumentOutOfRangeException>(() => sketch.Quantile(q)).ParamName);
    }

    internal static double Exact(double[] values, double q)
    {
        var sorted = values.Order().ToArray();
        return sorted[(long)Math.Floor(q * (sorted.Length - 1))];
    }

    private static NormQuantileSketch Fill(double[] values)
    {
        var sketch = new NormQuantileSketch();
        foreach (var value in values)
        {
            sketch.Add(value);
        }

        return sketch;
    }

    private static void AssertWithinBound(double[] values, NormQuantileSketch sketch, double[]? quantiles = null)
    {
        var sorted = values.Order().ToArray();
        foreach (var q in quantiles ?? Quantiles)
        {
            var exact = sorted[(long)Math.Floor(q * (sorted.Length - 1))];
            var estimate = sketch.Quantile(q);
            // The bound is α·x; 1e-12 absorbs the rounding of log and pow at a bucket edge.
            Assert.True(
                Math.Abs(estimate - exact) <= NormQuantileSketch.RelativeAccuracy * exact * (1 + 1e-12),
                $"q = {q}: exact {exact:G17}, sketch {estimate:G17}, relative error {Math.Abs(estimate - exact) / exact:G3}");
        }
    }

    private static double[] Stream(string name, int count, int seed)
    {
        var random = new Random(seed);
        double[] Generate(Func<int, double> value) => Enumerable.Range(0, count).Select(value).ToArray();
        return name switch
        {
            "log-normal" => Generate(_ => 0.2 * Math.Exp(Normal(random))),
            "pareto-1.1" => Generate(_ => 1e-3 * Math.Pow(1 - random.NextDouble(), -1 / 1.1)),
            "log-uniform-1e-12..1e6" => Generate(_ => Math.Pow(10, -12 + 18 * random.NextDouble())),
            "zeros-and-norms" => Generate(_ => random.NextDouble() < 0.3 ? 0 : 1e-9 * Math.Exp(3 * Normal(random))),
            "sorted-ascending" => Generate(i => Math.Pow(10, -12 + 18.0 * i / count)),
            "sorted-descending" => Generate(i => Math.Pow(10, 6 - 18.0 * i / count)),
            "alternating-extremes" => Generate(i => i % 2 == 0 ? 1e-12 * (1 + random.NextDouble()) : 1e6 * (1 + random.NextDouble())),
            "two-clusters" => Generate(_ => random.NextDouble() < 0.95 ? 0.5 + 0.01 * Normal(random) : 5e4 * (1 + random.NextDouble())),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown stream"),
        };
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
