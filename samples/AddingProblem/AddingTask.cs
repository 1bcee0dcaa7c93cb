using static TorchSharp.torch;

namespace AddingProblem;

/// <summary>
/// Hochreiter &amp; Schmidhuber's adding problem: each timestep carries a value in [0, 1) and a marker;
/// exactly two markers are 1 and the target is the sum of the two marked values. Predicting the mean (1.0)
/// scores an MSE of 1/6 ≈ 0.167; beating that needs information carried across the whole sequence.
/// </summary>
public static class AddingTask
{
    public const double MeanPredictorLoss = 1.0 / 6.0;

    /// <summary>Inputs [batch, seqLen, 2] (value, marker) and targets [batch, 1].</summary>
    public static (Tensor Inputs, Tensor Targets) Batch(int batch, int seqLen, Generator generator)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(seqLen, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        using var scope = NewDisposeScope();
        var values = rand(new long[] { batch, seqLen }, generator: generator);

        // One marker in the first half and one in the second, as in the original formulation.
        var half = seqLen / 2;
        var first = randint(0, half, new long[] { batch, 1 }, generator: generator);
        var second = randint(half, seqLen, new long[] { batch, 1 }, generator: generator);
        var markers = zeros(batch, seqLen);
        markers.scatter_(1, first, ones(batch, 1));
        markers.scatter_(1, second, ones(batch, 1));

        var inputs = stack(new[] { values, markers }, dim: 2);
        var targets = (values * markers).sum(1, keepdim: true);
        return (inputs.MoveToOuterDisposeScope(), targets.MoveToOuterDisposeScope());
    }
}
