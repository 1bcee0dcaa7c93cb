using System.Globalization;
using GradientDiagnostics;
using static TorchSharp.torch;

namespace AddingProblem;

/// <summary>
/// The exploding baseline's training step, deliberately without gradient clipping (the analyzer reports GD0001 here):
/// nothing bounds the gradients that the scaled recurrent weights blow up. A non-finite step is recorded, not fatal.
/// </summary>
public sealed class RiskyExplodingTraining : ModelTraining
{
    private readonly RiskyExplodingModel model;
    private readonly optim.Optimizer optimizer;
    private readonly GradientWatch watch;

    public RiskyExplodingTraining(int hidden, double learningRate, GradientWatchOptions watchOptions)
    {
        model = new RiskyExplodingModel(hidden);
        optimizer = optim.Adam(model.parameters(), learningRate);
        watch = GradientWatch.Attach(model, watchOptions);
    }

    public override string Description => string.Create(
        CultureInfo.InvariantCulture,
        $"Vanilla nn.RNN (ReLU) whose recurrent weights start at {RiskyExplodingModel.RecurrentScale}·I (the IRNN identity initialisation scaled past 1), trained without gradient clipping: the exploding baseline.");

    public override IReadOnlyList<string> Findings { get; } = new[]
    {
        "GD0001: no gradient clipping between backward() and step().",
        "GD0005: vanilla RNN where a gated cell (GRU/LSTM) is the standard remedy.",
        "Explicit initialisation satisfies GD0003, but at a scale (1.5) that no rule judges: the runtime watch is what catches it.",
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
