using GradientDiagnostics;
using static TorchSharp.torch;

namespace AddingProblem;

/// <summary>The recommended training step: clip the gradient norm between backward() and step() (GD0001, GD0006).</summary>
public sealed class RecommendedTraining : ModelTraining
{
    private readonly RecommendedModel model;
    private readonly optim.Optimizer optimizer;
    private readonly GradientWatch watch;
    private readonly double maxNorm;

    public RecommendedTraining(int hidden, int seqLen, double learningRate, double maxNorm, GradientWatchOptions watchOptions)
    {
        this.maxNorm = maxNorm;
        model = new RecommendedModel(hidden, seqLen);
        optimizer = optim.Adam(model.parameters(), learningRate);
        watch = GradientWatch.Attach(model, watchOptions);
    }

    public override string Description =>
        "nn.LSTM with orthogonal recurrent weights, Xavier input weights and chrono forget-gate biases, gradients clipped to a norm of "
        + maxNorm.ToString("G", System.Globalization.CultureInfo.InvariantCulture) + ".";

    public override IReadOnlyList<string> Findings { get; } = new[]
    {
        "No analyzer warnings: gated cell, explicit initialisation (GD0004), clipping between backward() and step() (GD0001).",
    };

    public override double? ClipThreshold => maxNorm;

    protected override (double Loss, GradientStepReport Report) TrainStep(long step, Tensor inputs, Tensor targets)
    {
        optimizer.zero_grad();
        var loss = nn.functional.mse_loss(model.call(inputs), targets);
        loss.backward();

        // Measured before clipping, so the report shows the gradients that clipping had to tame.
        var report = watch.Record(step);
        nn.utils.clip_grad_norm_(model.parameters(), maxNorm);
        optimizer.step();
        return (loss.item<float>(), report);
    }

    protected override GradientWatch Watch => watch;

    public override void Dispose()
    {
        watch.Dispose();
        optimizer.Dispose();
        model.Dispose();
    }
}
