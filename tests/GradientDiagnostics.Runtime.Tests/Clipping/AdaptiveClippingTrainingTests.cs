using static TorchSharp.torch;

namespace GradientDiagnostics.Runtime.Tests.Clipping;

/// <summary>
/// The default adaptive clipper in real training on the adding problem: it keeps the chaotic tanh RNN that overflows
/// unclipped finite, and on a healthy LSTM it trains as well as a fixed clip at 1.0. docs/runtime.md ("Adaptive
/// clipping") has the full-size runs behind these lean versions.
/// </summary>
public sealed class AdaptiveClippingTrainingTests
{
    private const int Hidden = 32;
    private const int Batch = 32;

    [Fact]
    public void The_chaotic_RNN_that_overflows_unclipped_stays_finite_and_bounded_under_the_default_adaptive_clipper()
    {
        var unclipped = Train(AddingProblem.ChaoticRnn, Sgd, seqLen: 30, seed: 41, steps: 60, clip: null);
        var adaptive = Train(AddingProblem.ChaoticRnn, Sgd, seqLen: 30, seed: 41, steps: 150, clip: Adaptive);
        var fixedClip = Train(AddingProblem.ChaoticRnn, Sgd, seqLen: 30, seed: 41, steps: 150, clip: FixedAtOne);

        // The scenario is real: without clipping the loss overflows within a few dozen steps.
        Assert.Contains(unclipped, loss => !double.IsFinite(loss));
        Assert.All(adaptive, loss => Assert.True(double.IsFinite(loss), "a loss went non-finite under adaptive clipping"));
        // Finite and of the same order as fixed clipping's, not merely below float.MaxValue (AutoClip's quantile rule
        // reaches 1e33 here, docs/runtime.md).
        Assert.True(Final(adaptive) < 3 * Final(fixedClip), $"adaptive {Final(adaptive):G3} vs fixed {Final(fixedClip):G3}");
    }

    /// <summary>
    /// Tolerance: over seeds 1–5 of this configuration the final loss under adaptive clipping was 0.70–1.01 times that
    /// of the fixed clip, and without clipping 2.2–3.5 times (seed 1 learned under none of them). Within 1.5× of the fixed
    /// clip therefore means "trains like the fixed clip", and the unclipped run shows the check can fail.
    /// </summary>
    [Fact]
    public void On_a_healthy_LSTM_the_default_adaptive_clipper_reaches_the_loss_of_a_fixed_clip_at_one()
    {
        var fixedClip = Final(Train(AddingProblem.HealthyLstm, Adam, seqLen: 20, seed: 2, steps: 300, clip: FixedAtOne));
        var adaptive = Final(Train(AddingProblem.HealthyLstm, Adam, seqLen: 20, seed: 2, steps: 300, clip: Adaptive));
        var unclipped = Final(Train(AddingProblem.HealthyLstm, Adam, seqLen: 20, seed: 2, steps: 300, clip: null));

        Assert.True(fixedClip < 0.05, $"the LSTM should learn the task (mean predictor 0.167), reached {fixedClip:G3}");
        Assert.True(adaptive < 1.5 * fixedClip, $"adaptive {adaptive:G3} vs fixed {fixedClip:G3}");
        Assert.True(unclipped > 1.5 * fixedClip, $"unclipped {unclipped:G3} vs fixed {fixedClip:G3}");
    }

    private static Func<double> Adaptive(SequenceRegressor model) => new AdaptiveGradientClipper(model.parameters()).Clip;

    private static Func<double> FixedAtOne(SequenceRegressor model) => () => nn.utils.clip_grad_norm_(model.parameters(), 1.0);

    private static optim.Optimizer Sgd(SequenceRegressor model) => optim.SGD(model.parameters(), 0.2);

    private static optim.Optimizer Adam(SequenceRegressor model) => optim.Adam(model.parameters(), 1e-2);

    /// <summary>Mean loss of the last 50 steps.</summary>
    private static double Final(List<double> losses) => losses.TakeLast(50).Average();

    private static List<double> Train(
        Func<int, SequenceRegressor> create,
        Func<SequenceRegressor, optim.Optimizer> optimizerFor,
        int seqLen,
        int seed,
        int steps,
        Func<SequenceRegressor, Func<double>>? clip)
    {
        using var outer = NewDisposeScope();
        manual_seed(seed);
        using var model = create(Hidden);
        using var optimizer = optimizerFor(model);
        using var generator = new Generator((ulong)seed);
        var clipStep = clip?.Invoke(model);
        var losses = new List<double>();
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var (inputs, targets) = AddingProblem.Batch(Batch, seqLen, generator);
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.call(inputs), targets);
            loss.backward();
            clipStep?.Invoke();
            optimizer.step();
            losses.Add(loss.item<float>());
        }

        return losses;
    }
}
