using TorchSharp;
using static TorchSharp.torch;

namespace GradientDiagnostics.Runtime.Tests;

/// <summary>
/// <c>MemoryHorizon</c> and <c>PerStepGain</c> follow their definitions (DESIGN.md, docs/runtime.md), checked against
/// norms computed by autograd on real models and on hand-made profiles at the edges.
/// </summary>
public class MemoryHorizonTests
{
    public enum Recurrence
    {
        VanishingTanhRnn,
        OrthogonalLstm,
        ExplodingReluRnn,
    }

    [Theory]
    [InlineData(Recurrence.VanishingTanhRnn, 1e-3)]
    [InlineData(Recurrence.VanishingTanhRnn, 1e-2)]
    [InlineData(Recurrence.OrthogonalLstm, 1e-3)]
    [InlineData(Recurrence.ExplodingReluRnn, 1e-3)]
    public void The_horizon_of_a_real_model_is_the_definition_applied_to_its_autograd_input_gradients(Recurrence recurrence, double vanishingRatio)
    {
        using var scope = NewDisposeScope();
        manual_seed(61);
        using var model = new SequenceRegressor(Build(recurrence), 12, batchFirst: true);
        model.to(float64);
        var x = randn(8, 60, 2, dtype: float64);

        var reference = x.clone().requires_grad_(true);
        model.call(reference).sum().backward();
        var norms = Reference.NormsOverTime(reference.grad!, 1);
        model.zero_grad();

        using var watch = GradientWatch.Attach(model, new GradientWatchOptions { VanishingRatio = vanishingRatio });
        model.call(x).sum().backward();
        var profile = Assert.Single(watch.Record(1).Timesteps);

        Assert.Equal(HorizonByDefinition(norms, vanishingRatio), profile.MemoryHorizon);
        Assert.Equal(GainByDefinition(norms), profile.PerStepGain, 1e-9);
        switch (recurrence)
        {
            case Recurrence.VanishingTanhRnn:
                Assert.InRange(profile.MemoryHorizon, 1, 30);
                Assert.True(profile.PerStepGain < 1, $"gain {profile.PerStepGain}");
                break;
            case Recurrence.ExplodingReluRnn:
                Assert.Equal(60, profile.MemoryHorizon);
                Assert.True(profile.PerStepGain > 1, $"gain {profile.PerStepGain}");
                break;
        }
    }

    [Theory]
    [InlineData(new[] { 5.0, 4.0, 3.0, 2.0, 1.0 }, 5)]                       // none falls below: the whole sequence
    [InlineData(new[] { 1.0, 1e-4, 1.0, 1.0, 1.0 }, 3)]                      // counted back from the end, the first dip stops it
    [InlineData(new[] { 1e-3, 1.0 }, 2)]                                     // exactly at the threshold still counts
    [InlineData(new[] { 0.999e-3, 1.0 }, 1)]
    [InlineData(new[] { 1.0, 0.0 }, 2)]                                      // no gradient at the end: nothing falls below 0
    [InlineData(new[] { 1.0, double.NaN, 1.0 }, 1)]                          // NaN counts as fallen below
    [InlineData(new double[0], 0)]
    public void Horizon_edges(double[] norms, int expected)
    {
        Assert.Equal(expected, new TimestepProfile("m", norms).MemoryHorizon);
    }

    [Fact]
    public void The_reference_is_the_mean_over_the_last_tenth_of_the_timesteps()
    {
        // 20 timesteps: the last two (mean 1000) set the bar at 1; a single last timestep (1) would set it at 1e-3.
        var norms = Enumerable.Repeat(0.5, 18).Concat(new[] { 1999.0, 1.0 }).ToArray();
        Assert.Equal(2, new TimestepProfile("m", norms).MemoryHorizon);
        Assert.Equal(20, new TimestepProfile("m", norms, vanishingRatio: 1e-4).MemoryHorizon);
    }

    [Theory]
    [InlineData(new[] { 8.0, 4.0, 2.0, 1.0 }, 2.0)]
    [InlineData(new[] { 1.0, 2.0, 4.0 }, 0.5)]
    [InlineData(new[] { 0.0, 0.0, 1.0, 3.0 }, 1.0 / 3.0)]                     // pairs with an underflowed norm are left out
    [InlineData(new[] { 9.0, double.PositiveInfinity, 4.0, 2.0 }, 2.0)]
    public void Per_step_gain_is_the_geometric_mean_of_consecutive_ratios(double[] norms, double expected)
    {
        Assert.Equal(expected, new TimestepProfile("m", norms).PerStepGain, 12);
    }

    [Fact]
    public void Per_step_gain_is_NaN_without_two_measurable_timesteps()
    {
        Assert.True(double.IsNaN(new TimestepProfile("m", new[] { 1.0 }).PerStepGain));
        Assert.True(double.IsNaN(new TimestepProfile("m", new[] { 0.0, 1.0 }).PerStepGain));
    }

    [Fact]
    public void An_invalid_vanishing_ratio_is_rejected_by_name()
    {
        Assert.Equal("vanishingRatio", Assert.Throws<ArgumentOutOfRangeException>(() => new TimestepProfile("m", new[] { 1.0 }, 1.0)).ParamName);
        Assert.Equal("vanishingRatio", Assert.Throws<ArgumentOutOfRangeException>(() => new TimestepProfile("m", new[] { 1.0 }, double.NaN)).ParamName);
    }

    /// <summary>DESIGN.md's words, one by one: the last tenth (at least one), the bar, the count back from the end.</summary>
    private static int HorizonByDefinition(double[] norms, double vanishingRatio)
    {
        var lastTenth = norms.TakeLast(Math.Max(1, norms.Length / 10)).Average();
        var firstBelow = Array.FindLastIndex(norms, n => !(n >= vanishingRatio * lastTenth));
        return firstBelow < 0 ? norms.Length : norms.Length - 1 - firstBelow;
    }

    private static double GainByDefinition(double[] norms)
    {
        var ratios = norms.Zip(norms.Skip(1), (earlier, later) => earlier / later).Where(r => r > 0 && double.IsFinite(r)).ToArray();
        return Math.Pow(ratios.Aggregate(1.0, (product, r) => product * r), 1.0 / ratios.Length);
    }

    private static nn.Module Build(Recurrence recurrence)
    {
        switch (recurrence)
        {
            case Recurrence.VanishingTanhRnn:
                return nn.RNN(2, 12, batchFirst: true);
            case Recurrence.OrthogonalLstm:
                var lstm = nn.LSTM(2, 12, batchFirst: true);
                using (no_grad())
                {
                    var parameters = lstm.named_parameters().ToDictionary(p => p.name, p => p.parameter);
                    nn.init.orthogonal_(parameters["weight_hh_l0"]);
                    parameters["bias_ih_l0"][TensorIndex.Slice(12, 24)].fill_(1.0);
                }

                return lstm;
            default:
                var relu = nn.RNN(2, 12, nonLinearity: nn.NonLinearities.ReLU, batchFirst: true);
                using (no_grad())
                {
                    relu.get_weight_hh(0)!.copy_(eye(12).mul(1.2));
                    relu.get_weight_ih(0)!.abs_();
                    relu.get_bias_ih(0)!.zero_();
                    relu.get_bias_hh(0)!.zero_();
                }

                return relu;
        }
    }
}
