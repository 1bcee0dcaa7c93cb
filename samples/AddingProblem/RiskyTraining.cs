using GradientDiagnostics;
using static TorchSharp.torch;

namespace AddingProblem;

/// <summary>
/// The baseline's training step, deliberately without gradient clipping (the analyzer reports GD0001 here) so the
/// demo can show the unbounded gradients that the warning is about.
/// </summary>
public sealed class RiskyTraining : ModelTraining
{
    private readonly RiskyModel model;
    private readonly optim.Optimizer optimizer;
    private readonly GradientWatch watch;

    public RiskyTraining(int hidden, double learningRate, GradientWatchOptions watchOptions)
    {
        model = new RiskyModel(hidden);
        optimizer = optim.Adam(model.parameters(), learningRate);
        watch = GradientWatch.Attach(model, watchOptions);
    }

    public override string Description =>
        "Vanilla nn.RNN (tanh) with TorchSharp's default initialisation, trained without gradient clipping: the baseline the analyzer warns about.";

    public override IReadOnlyList<string> Findings { get; } = new[]
    {
        "GD0001: no gradient clipping between backward() and step().",
        "GD0003: vanilla RNN weights left at their default initialisation.",
        "GD0005: vanilla RNN where a gated cell (GRU/LSTM) is the standard remedy.",
    };

    public override double? ClipThreshold => null;

    protected override (double Loss, GradientStepReport Report) TrainStep(long step, Tensor inputs, Tensor targets)
    {
        optimizer.zero_grad();
        var loss = nn.functional.mse_loss(model.call(inputs), targets);
        loss.backward();
        var report = watch.Record(step);
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
