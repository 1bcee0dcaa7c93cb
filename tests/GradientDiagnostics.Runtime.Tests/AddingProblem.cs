using static TorchSharp.torch;

namespace GradientDiagnostics.Runtime.Tests;

/// <summary>Hochreiter &amp; Schmidhuber's adding problem and the recurrent models the tests train on it.</summary>
internal static class AddingProblem
{
    public static (Tensor Inputs, Tensor Targets) Batch(int batch, int seqLen, int seed)
    {
        using var generator = new Generator((ulong)seed);
        return Batch(batch, seqLen, generator);
    }

    /// <summary>(value, marker) per timestep, batch first; the target is the sum of the two marked values.</summary>
    public static (Tensor Inputs, Tensor Targets) Batch(int batch, int seqLen, Generator generator)
    {
        var values = rand(new long[] { batch, seqLen }, generator: generator);
        var first = randint(0, seqLen / 2, new long[] { batch, 1 }, generator: generator);
        var second = randint(seqLen / 2, seqLen, new long[] { batch, 1 }, generator: generator);
        var markers = zeros(batch, seqLen);
        markers.scatter_(1, first, ones(batch, 1));
        markers.scatter_(1, second, ones(batch, 1));
        return (stack(new[] { values, markers }, dim: 2), (values * markers).sum(1, keepdim: true));
    }

    /// <summary>An LSTM with orthogonal recurrent weights, Xavier input weights and forget-gate bias 1: trains well.</summary>
    public static SequenceRegressor HealthyLstm(int hidden)
    {
        var lstm = nn.LSTM(2, hidden, batchFirst: true);
        Initialise(lstm, recurrentScale: 1, forgetBias: true, hidden);
        return new SequenceRegressor(lstm, hidden, batchFirst: true);
    }

    /// <summary>
    /// A tanh RNN whose recurrent weights are twice an orthogonal matrix: its chaotic regime, where the loss surface has
    /// cliffs. Trained with SGD at 0.2 and no clipping its gradients overflow within a few dozen steps.
    /// </summary>
    public static SequenceRegressor ChaoticRnn(int hidden)
    {
        var rnn = nn.RNN(2, hidden, batchFirst: true);
        Initialise(rnn, recurrentScale: 2, forgetBias: false, hidden);
        return new SequenceRegressor(rnn, hidden, batchFirst: true);
    }

    private static void Initialise(nn.Module recurrent, double recurrentScale, bool forgetBias, int hidden)
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in recurrent.named_parameters())
        {
            if (name.StartsWith("weight_hh", StringComparison.Ordinal))
            {
                nn.init.orthogonal_(parameter);
                parameter.mul_(recurrentScale);
            }
            else if (name.StartsWith("weight_ih", StringComparison.Ordinal))
            {
                nn.init.xavier_uniform_(parameter);
            }
            else
            {
                parameter.zero_();
                if (forgetBias)
                {
                    parameter[TensorIndex.Slice(hidden, 2 * hidden)].fill_(1.0);
                }
            }
        }
    }
}
