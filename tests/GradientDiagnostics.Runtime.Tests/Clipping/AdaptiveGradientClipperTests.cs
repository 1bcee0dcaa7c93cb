using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientDiagnostics.Runtime.Tests.Clipping;

/// <summary>
/// The clipper step by step on gradients of chosen norms (made by a real backward pass): the norm it returns, what it
/// leaves alone, what it scales and to what, both threshold rules against their formulas, non-finite norms, options.
/// </summary>
public sealed class AdaptiveGradientClipperTests
{
    private static readonly AdaptiveClippingOptions NoWarmupCap = new() { WarmupSteps = 1, WarmupMaxNorm = null };

    [Fact]
    public void Returns_the_norm_clip_grad_norm_returns_and_clips_to_the_same_gradients()
    {
        using var scope = NewDisposeScope();
        manual_seed(61);
        using var clipped = AddingProblem.HealthyLstm(hidden: 8);
        manual_seed(61);
        using var reference = AddingProblem.HealthyLstm(hidden: 8);
        var (inputs, targets) = AddingProblem.Batch(8, 10, seed: 61);
        nn.functional.mse_loss(clipped.call(inputs), targets).backward();
        nn.functional.mse_loss(reference.call(inputs), targets).backward();

        // The default warm-up clips at 1.0, which is what clip_grad_norm_(…, 1.0) does.
        var norm = new AdaptiveGradientClipper(clipped.parameters()).Clip();
        var expected = nn.utils.clip_grad_norm_(reference.parameters(), 1.0);

        Assert.True(norm > 1.0, $"the batch's norm {norm} should be above the threshold for this test to clip");
        Assert.Equal(expected, norm, 1e-6 * expected);
        foreach (var (a, b) in clipped.parameters().Zip(reference.parameters()))
        {
            Assert.True(a.grad!.allclose(b.grad!, rtol: 1e-5, atol: 1e-8));
        }
    }

    [Fact]
    public void A_norm_at_or_below_the_threshold_leaves_every_gradient_bitwise_unchanged()
    {
        using var scope = NewDisposeScope();
        var parameters = Parameters();
        var clipper = new AdaptiveGradientClipper(parameters, NoWarmupCap);
        Backward(parameters, 2.0, seed: 5);
        var threshold = clipper.Clip();

        // The same gradients again: a norm exactly at the threshold; then one below it.
        foreach (var norm in new[] { 2.0, 1.3 })
        {
            Backward(parameters, norm, seed: 5);
            var before = parameters.Select(p => p.grad!.clone()).ToArray();

            Assert.Equal(norm, clipper.Clip(), 1e-12);

            Assert.Equal(threshold, clipper.Threshold);
            Assert.All(parameters.Zip(before), pair => Assert.True(Reference.Identical(pair.Second, pair.First.grad!)));
        }

        Assert.Equal(0, clipper.ClippedSteps);
    }

    [Fact]
    public void A_norm_above_the_threshold_is_scaled_down_to_it_keeping_the_direction()
    {
        using var scope = NewDisposeScope();
        var parameters = Parameters();
        var clipper = new AdaptiveGradientClipper(parameters, NoWarmupCap);
        Backward(parameters, 0.5);
        clipper.Clip();
        Backward(parameters, 40.0, seed: 9);
        var before = parameters.Select(p => p.grad!.clone()).ToArray();

        var norm = clipper.Clip();

        Assert.Equal(40.0, norm, 1e-12);
        Assert.Equal(0.5, clipper.Threshold!.Value, 1e-12);
        Assert.Equal(0.5, GlobalNorm(parameters), 1e-12);
        Assert.All(parameters.Zip(before), pair => Assert.True(pair.First.grad!.allclose(pair.Second * (clipper.Threshold!.Value / norm), rtol: 1e-12, atol: 0)));
        Assert.Equal(1, clipper.ClippedSteps);
    }

    [Fact]
    public void The_quantile_rule_clips_at_the_interpolated_quantile_of_the_latest_norms_without_the_current_one()
    {
        using var scope = NewDisposeScope();
        var parameters = Parameters();
        var clipper = new AdaptiveGradientClipper(parameters, new AdaptiveClippingOptions { Method = AdaptiveClippingMethod.Quantile, Quantile = 0.9, HistoryLength = 10, WarmupSteps = 1, WarmupMaxNorm = null });
        foreach (var norm in new[] { 100.0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 })
        {
            Backward(parameters, norm);
            clipper.Clip();
        }

        // History 1…10 (the first norm, 100, has left it): numpy's linear 0.9 quantile is 9.1.
        Backward(parameters, 50);
        clipper.Clip();

        Assert.Equal(9.1, clipper.Threshold!.Value, 1e-12);
        Assert.Equal(9.1, GlobalNorm(parameters), 1e-9);
    }

    [Fact]
    public void The_z_score_rule_follows_ZClips_formulas()
    {
        using var scope = NewDisposeScope();
        var parameters = Parameters();
        var clipper = new AdaptiveGradientClipper(parameters, new AdaptiveClippingOptions { WarmupSteps = 3, WarmupMaxNorm = null });
        foreach (var norm in new[] { 1.0, 2, 3 })
        {
            Backward(parameters, norm);
            clipper.Clip();
        }

        double mean = 2, variance = 2.0 / 3;
        Backward(parameters, 2.5);
        clipper.Clip();
        Assert.Equal(mean + 2.5 * Math.Sqrt(variance), clipper.Threshold!.Value, 1e-12);

        mean = 0.97 * mean + 0.03 * 2.5;
        variance = 0.97 * variance + 0.03 * (2.5 - mean) * (2.5 - mean);
        Backward(parameters, 100);
        clipper.Clip();
        var z = (100 - mean) / Math.Sqrt(variance);
        var expected = mean + 2.5 * 2.5 * Math.Sqrt(variance) / z;
        Assert.Equal(expected, clipper.Threshold!.Value, 1e-12);
        Assert.Equal(expected, GlobalNorm(parameters), 1e-9);

        // The statistics took the clipped norm, not 100.
        mean = 0.97 * mean + 0.03 * expected;
        variance = 0.97 * variance + 0.03 * (expected - mean) * (expected - mean);
        Backward(parameters, 0.1);
        clipper.Clip();
        Assert.Equal(mean + 2.5 * Math.Sqrt(variance), clipper.Threshold!.Value, 1e-12);
    }

    [Fact]
    public void The_warm_up_clips_at_its_fixed_threshold_and_starts_the_statistics_from_what_it_let_through()
    {
        using var scope = NewDisposeScope();
        var parameters = Parameters();
        var clipper = new AdaptiveGradientClipper(parameters, new AdaptiveClippingOptions { WarmupSteps = 4 });
        for (var step = 0; step < 4; step++)
        {
            Backward(parameters, 30);
            clipper.Clip();
            Assert.Equal(1.0, clipper.Threshold);
            Assert.Equal(1.0, GlobalNorm(parameters), 1e-9);
        }

        // Every warm-up step entered the statistics as 1.0: μ = 1, σ = 0, so a norm of 30 is still clipped to 1.
        Backward(parameters, 30);
        clipper.Clip();

        Assert.Equal(1.0, clipper.Threshold);
        Assert.Equal(5, clipper.ClippedSteps);
    }

    [Theory]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NaN)]
    public void A_non_finite_norm_zeroes_the_gradients_and_stays_out_of_the_statistics(double poison)
    {
        using var scope = NewDisposeScope();
        var parameters = Parameters();
        var clipper = new AdaptiveGradientClipper(parameters, new AdaptiveClippingOptions { Method = AdaptiveClippingMethod.Quantile, WarmupSteps = 1, WarmupMaxNorm = null });
        Backward(parameters, 3);
        clipper.Clip();
        Backward(parameters, 3);
        clipper.Clip();

        Backward(parameters, poison);
        var norm = clipper.Clip();

        Assert.False(double.IsFinite(norm));
        Assert.All(parameters, p => Assert.Equal(0.0, p.grad!.abs().max().item<double>()));
        Assert.Equal(1, clipper.NonFiniteSteps);
        Assert.Equal(3, clipper.Steps);
        Backward(parameters, 10);
        clipper.Clip();
        Assert.Equal(3.0, clipper.Threshold!.Value, 1e-12);
    }

    [Theory]
    [InlineData(AdaptiveClippingMethod.ZScore)]
    [InlineData(AdaptiveClippingMethod.Quantile)]
    public void Zero_gradients_carry_no_scale_so_a_frozen_start_does_not_clip_the_training_to_nothing(AdaptiveClippingMethod method)
    {
        // E.g. a frozen encoder or a masked loss for the first steps: every gradient exists but is zero.
        using var scope = NewDisposeScope();
        var parameters = Parameters();
        var options = new AdaptiveClippingOptions { Method = method, WarmupSteps = 3 };
        var clipper = new AdaptiveGradientClipper(parameters, options);
        for (var step = 0; step < 10; step++)
        {
            Backward(parameters, 0);
            Assert.Equal(0, clipper.Clip());
        }

        // The warm-up has not started: the first real norms are clipped at WarmupMaxNorm, not at a threshold of zero.
        Backward(parameters, 0.5);
        Assert.Equal(0.5, clipper.Clip(), 1e-12);
        Assert.Equal(0.5, GlobalNorm(parameters), 1e-12);
        Assert.Equal(options.WarmupMaxNorm, clipper.Threshold);
        for (var step = 0; step < 5; step++)
        {
            Backward(parameters, 0.5);
            clipper.Clip();
        }

        Assert.True(clipper.Threshold > 0, $"threshold {clipper.Threshold} after the warm-up on norms of 0.5");
        Assert.Equal(0.5, GlobalNorm(parameters), 1e-12);
        Assert.Equal(16, clipper.Steps);
    }

    [Fact]
    public void Parameters_without_gradients_are_skipped_and_none_at_all_is_a_no_op()
    {
        using var scope = NewDisposeScope();
        var parameters = Parameters();
        var clipper = new AdaptiveGradientClipper(parameters);

        Assert.Equal(0, clipper.Clip());
        Assert.Equal(0, clipper.Steps);
        Assert.Null(clipper.Threshold);

        (parameters[0] * 3).sum().backward();
        Assert.Equal(3 * Math.Sqrt(3), clipper.Clip(), 1e-12);
    }

    public static TheoryData<string, Func<AdaptiveClippingOptions>> BadOptions => new()
    {
        { nameof(AdaptiveClippingOptions.Quantile), () => new AdaptiveClippingOptions { Quantile = 0 } },
        { nameof(AdaptiveClippingOptions.Quantile), () => new AdaptiveClippingOptions { Quantile = 1.5 } },
        { nameof(AdaptiveClippingOptions.Quantile), () => new AdaptiveClippingOptions { Quantile = double.NaN } },
        { nameof(AdaptiveClippingOptions.HistoryLength), () => new AdaptiveClippingOptions { HistoryLength = 0 } },
        { nameof(AdaptiveClippingOptions.ZScoreThreshold), () => new AdaptiveClippingOptions { ZScoreThreshold = 0 } },
        { nameof(AdaptiveClippingOptions.ZScoreThreshold), () => new AdaptiveClippingOptions { ZScoreThreshold = double.PositiveInfinity } },
        { nameof(AdaptiveClippingOptions.EmaAlpha), () => new AdaptiveClippingOptions { EmaAlpha = 1 } },
        { nameof(AdaptiveClippingOptions.EmaAlpha), () => new AdaptiveClippingOptions { EmaAlpha = 0 } },
        { nameof(AdaptiveClippingOptions.WarmupSteps), () => new AdaptiveClippingOptions { WarmupSteps = 0 } },
        { nameof(AdaptiveClippingOptions.WarmupMaxNorm), () => new AdaptiveClippingOptions { WarmupMaxNorm = 0 } },
        { nameof(AdaptiveClippingOptions.WarmupMaxNorm), () => new AdaptiveClippingOptions { WarmupMaxNorm = double.NaN } },
        { nameof(AdaptiveClippingOptions.ModelName), () => new AdaptiveClippingOptions { ModelName = " " } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void A_bad_option_is_refused_by_name(string option, Func<AdaptiveClippingOptions> create)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(create);

        Assert.Equal(option, error.ParamName);
        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_defaults_are_ZClips_and_AutoClips()
    {
        var options = new AdaptiveClippingOptions();

        Assert.Equal(AdaptiveClippingMethod.ZScore, options.Method);
        Assert.Equal((2.5, 0.97, 25, 1.0), (options.ZScoreThreshold, options.EmaAlpha, options.WarmupSteps, options.WarmupMaxNorm));
        Assert.Equal((0.9, 1000), (options.Quantile, options.HistoryLength));
    }

    [Fact]
    public void Missing_parameters_are_refused_by_name()
    {
        Assert.Equal("parameters", Assert.Throws<ArgumentNullException>(() => new AdaptiveGradientClipper(null!)).ParamName);
        Assert.Equal("parameters", Assert.Throws<ArgumentException>(() => new AdaptiveGradientClipper(Array.Empty<Parameter>())).ParamName);
    }

    [Fact]
    public void Disposed_parameters_are_refused_by_name_and_a_parameter_disposed_later_is_named_by_Clip()
    {
        var parameters = Parameters();
        parameters[1].Dispose();
        var refused = Assert.Throws<ArgumentException>(() => new AdaptiveGradientClipper(parameters));
        Assert.Equal("parameters", refused.ParamName);
        Assert.Contains("disposed", refused.Message, StringComparison.Ordinal);

        var live = Parameters();
        var clipper = new AdaptiveGradientClipper(live);
        Backward(live, 3.0);
        clipper.Clip();
        live[0].Dispose();
        var later = Assert.Throws<ObjectDisposedException>(() => clipper.Clip());
        Assert.Contains("parameter 0", later.Message, StringComparison.Ordinal);
    }

    /// <summary>Two float64 parameters (7 values), so norms are exact to rounding.</summary>
    internal static Parameter[] Parameters() => new[] { new Parameter(zeros(3, dtype: float64)), new Parameter(zeros(2, 2, dtype: float64)) };

    /// <summary>Sets the gradients, by a real backward pass, to a random direction of global norm <paramref name="norm"/>.</summary>
    internal static void Backward(Parameter[] parameters, double norm, int seed = 1)
    {
        using var scope = NewDisposeScope();
        foreach (var parameter in parameters)
        {
            parameter.grad?.zero_();
        }

        using var generator = new Generator((ulong)seed);
        var directions = parameters.Select(p => randn(p.shape, dtype: float64, generator: generator)).ToArray();
        var length = Math.Sqrt(directions.Sum(d => d.square().sum().item<double>()));
        var loss = parameters.Zip(directions).Select(pair => (pair.First * pair.Second).sum()).Aggregate((a, b) => a + b);
        (loss * (norm / length)).backward();
    }

    internal static double GlobalNorm(Parameter[] parameters) =>
        Math.Sqrt(parameters.Sum(p => p.grad!.square().sum().item<double>()));
}
