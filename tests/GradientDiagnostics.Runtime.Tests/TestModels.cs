using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientDiagnostics.Runtime.Tests;

/// <summary>A recurrent module over raw features whose last output is read out by a linear layer.</summary>
internal sealed class SequenceRegressor : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module recurrent;
    private readonly Linear head;
    private readonly bool batchFirst;

    public SequenceRegressor(nn.Module recurrent, long outputFeatures, bool batchFirst) : base(nameof(SequenceRegressor))
    {
        this.recurrent = recurrent;
        this.batchFirst = batchFirst;
        head = nn.Linear(outputFeatures, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var output = recurrent switch
        {
            LSTM lstm => lstm.call(input).Item1,
            GRU gru => gru.call(input).Item1,
            RNN rnn => rnn.call(input).Item1,
            _ => throw new InvalidOperationException(),
        };
        return head.call(output.select(batchFirst ? 1 : 0, -1));
    }
}

/// <summary>Token ids → embedding → (stacked, bidirectional) sequence-first LSTM → linear on the last output.</summary>
internal sealed class EmbeddingClassifier : nn.Module<Tensor, Tensor>
{
    private readonly Embedding embedding;
    private readonly LSTM encoder;
    private readonly Linear head;

    public EmbeddingClassifier(int vocabulary, int embeddingSize, int hidden, int layers, bool bidirectional) : base(nameof(EmbeddingClassifier))
    {
        embedding = nn.Embedding(vocabulary, embeddingSize);
        encoder = nn.LSTM(embeddingSize, hidden, numLayers: layers, bidirectional: bidirectional);
        head = nn.Linear(bidirectional ? 2 * hidden : hidden, 3);
        RegisterComponents();
    }

    /// <summary>Lets a reference computation retain the gradient of the LSTM's input without any watch.</summary>
    public Action<Tensor>? OnEncoderInput { get; set; }

    public override Tensor forward(Tensor tokens)
    {
        var embedded = embedding.call(tokens);
        OnEncoderInput?.Invoke(embedded);
        var (output, _, _) = encoder.call(embedded);
        return head.call(output.select(0, -1));
    }
}

/// <summary>One LSTM applied to two sequences in the same step (a siamese encoder).</summary>
internal sealed class SiameseEncoder : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly LSTM lstm;

    public SiameseEncoder(int inputSize, int hidden) : base(nameof(SiameseEncoder))
    {
        lstm = nn.LSTM(inputSize, hidden, batchFirst: true);
        RegisterComponents();
    }

    public override Tensor forward(Tensor left, Tensor right)
    {
        var (a, _, _) = lstm.call(left);
        var (b, _, _) = lstm.call(right);
        return (a.select(1, -1) - b.select(1, -1)).pow(2).sum();
    }
}

/// <summary>An LSTMCell unrolled by hand over a sequence-first input.</summary>
internal sealed class UnrolledCell : nn.Module<Tensor, Tensor>
{
    private readonly LSTMCell cell;
    private readonly Linear head;
    private readonly int hidden;

    public UnrolledCell(int inputSize, int hidden) : base(nameof(UnrolledCell))
    {
        this.hidden = hidden;
        cell = nn.LSTMCell(inputSize, hidden);
        head = nn.Linear(hidden, 1);
        RegisterComponents();
    }

    /// <summary>Called with every h_t the cell returns.</summary>
    public Action<Tensor, int>? OnState { get; set; }

    public override Tensor forward(Tensor input)
    {
        var batch = input.shape[1];
        var h = zeros(batch, hidden, dtype: input.dtype);
        var c = zeros(batch, hidden, dtype: input.dtype);
        for (var t = 0; t < input.shape[0]; t++)
        {
            (h, c) = cell.call(input[t], (h, c));
            OnState?.Invoke(h, t);
        }

        return head.call(h);
    }
}

/// <summary>A feed-forward model: nothing recurrent to watch.</summary>
internal sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    private readonly Linear layer;

    public FeedForward() : base(nameof(FeedForward))
    {
        layer = nn.Linear(4, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => layer.call(input);
}

internal static class Reference
{
    /// <summary>||grad[..., t, ...]|| for every t, one slice at a time (independent of the watch's vectorised reduction).</summary>
    public static double[] NormsOverTime(Tensor grad, int timeDimension)
    {
        var norms = new double[grad.shape[timeDimension]];
        for (var t = 0; t < norms.Length; t++)
        {
            using var slice = grad.select(timeDimension, t);
            using var norm = slice.norm();
            norms[t] = norm.item<double>();
        }

        return norms;
    }

    public static void AssertClose(double[] expected, double[] actual, double relativeTolerance = 1e-4)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var t = 0; t < expected.Length; t++)
        {
            var error = Math.Abs(expected[t] - actual[t]) / Math.Max(Math.Abs(expected[t]), 1e-300);
            Assert.True(error < relativeTolerance, $"timestep {t}: expected {expected[t]:G17}, watched {actual[t]:G17} (relative error {error:G3})");
        }
    }

    /// <summary>Same shape and bitwise-equal values.</summary>
    public static bool Identical(Tensor expected, Tensor actual)
    {
        using var scope = NewDisposeScope();
        return expected.shape.SequenceEqual(actual.shape) && expected.dtype == actual.dtype && expected.eq(actual).all().item<bool>();
    }

    public static Dictionary<string, Tensor> GradientsOf(nn.Module model) =>
        model.named_parameters()
            .Where(p => p.parameter.grad is not null)
            .ToDictionary(p => p.name, p => p.parameter.grad!.detach().clone().DetachFromDisposeScope());
}
