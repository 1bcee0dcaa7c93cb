using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SafeTraining;

/// <summary>Character-level language model: embedding, a GRU, and a projection back onto the vocabulary.</summary>
public sealed class CharRnn : nn.Module<Tensor, Tensor?, (Tensor Logits, Tensor Hidden)>
{
    private readonly Embedding embedding;
    private readonly GRU gru;
    private readonly Linear head;

    public CharRnn(int vocabulary, int hidden) : base(nameof(CharRnn))
    {
        embedding = nn.Embedding(vocabulary, 16);
        gru = nn.GRU(16, hidden, batchFirst: true);
        head = nn.Linear(hidden, vocabulary);
        RegisterComponents();
        RecurrentInit.Apply(gru, hidden, lstmForgetGateBias: false);
    }

    public override (Tensor Logits, Tensor Hidden) forward(Tensor tokens, Tensor? hidden)
    {
        var (output, next) = gru.call(embedding.call(tokens), hidden);
        return (head.call(output), next);
    }
}

/// <summary>Sentence classifier: embedding, an LSTM, and a linear read-out of the last timestep.</summary>
public sealed class SentimentLstm : nn.Module<Tensor, Tensor>
{
    private readonly Embedding embedding;
    private readonly LSTM lstm;
    private readonly Linear head;

    public SentimentLstm(int vocabulary, int hidden) : base(nameof(SentimentLstm))
    {
        embedding = nn.Embedding(vocabulary, 16);
        lstm = nn.LSTM(16, hidden, batchFirst: true);
        head = nn.Linear(hidden, 2);
        RegisterComponents();
        RecurrentInit.Apply(lstm, hidden, lstmForgetGateBias: true);
    }

    public override Tensor forward(Tensor tokens)
    {
        var (output, _, _) = lstm.call(embedding.call(tokens));
        return head.call(output.select(1, -1));
    }
}

/// <summary>One-step-ahead forecaster: a GRU cell unrolled by hand over the series, then a linear read-out.</summary>
public sealed class SeriesForecaster : nn.Module<Tensor, Tensor>
{
    private readonly GRUCell cell;
    private readonly Linear head;
    private readonly int hidden;

    public SeriesForecaster(int hidden) : base(nameof(SeriesForecaster))
    {
        this.hidden = hidden;
        cell = nn.GRUCell(1, hidden);
        head = nn.Linear(hidden, 1);
        RegisterComponents();
        RecurrentInit.Apply(cell, hidden, lstmForgetGateBias: false);
    }

    // Backpropagating through the whole series inside one forward() is ordinary BPTT over a bounded length;
    // only state carried from one training step to the next needs detaching.
    public override Tensor forward(Tensor series)
    {
        var state = zeros(series.shape[0], hidden);
        for (var t = 0; t < series.shape[1]; t++)
        {
            state = cell.call(series.select(1, t), state);
        }

        return head.call(state);
    }
}

/// <summary>The initialisation that keeps recurrent gradients near norm 1 early in training.</summary>
public static class RecurrentInit
{
    /// <summary>
    /// Orthogonal recurrent weights, Xavier input weights, zero biases and, for an LSTM, a forget-gate bias of 1
    /// (gate order i, f, g, o: the slice [hidden, 2·hidden) of each bias).
    /// </summary>
    public static void Apply(nn.Module recurrent, long hidden, bool lstmForgetGateBias)
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in recurrent.named_parameters())
        {
            if (name.StartsWith("weight_hh", StringComparison.Ordinal))
            {
                nn.init.orthogonal_(parameter);
            }
            else if (name.StartsWith("weight_ih", StringComparison.Ordinal))
            {
                nn.init.xavier_uniform_(parameter);
            }
            else if (name.StartsWith("bias", StringComparison.Ordinal))
            {
                parameter.zero_();
                if (lstmForgetGateBias)
                {
                    parameter[TensorIndex.Slice(hidden, 2 * hidden)].fill_(1.0);
                }
            }
        }
    }
}
