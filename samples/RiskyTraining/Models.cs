using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RiskyTraining;

/// <summary>Character-level language model: embedding, a vanilla RNN, and a projection back onto the vocabulary.</summary>
public sealed class CharRnn : nn.Module<Tensor, Tensor?, (Tensor Logits, Tensor Hidden)>
{
    private readonly Embedding embedding;
    private readonly RNN rnn;
    private readonly Linear head;

    public CharRnn(int vocabulary, int hidden) : base(nameof(CharRnn))
    {
        embedding = nn.Embedding(vocabulary, 16);
        // GD0003: a vanilla RNN left at its default uniform initialisation.
        // GD0005: a vanilla RNN where nn.GRU (same call shape) keeps gradients alive over long text.
        rnn = nn.RNN(16, hidden, batchFirst: true);
        head = nn.Linear(hidden, vocabulary);
        RegisterComponents();
    }

    public override (Tensor Logits, Tensor Hidden) forward(Tensor tokens, Tensor? hidden)
    {
        var (output, next) = rnn.call(embedding.call(tokens), hidden);
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
        // GD0004: an LSTM left at its default initialisation (no orthogonal weight_hh, no forget-gate bias of 1).
        lstm = nn.LSTM(16, hidden, batchFirst: true);
        head = nn.Linear(hidden, 2);
        RegisterComponents();
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
        // GD0004: a GRU cell left at its default initialisation.
        cell = nn.GRUCell(1, hidden);
        head = nn.Linear(hidden, 1);
        RegisterComponents();
    }

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
