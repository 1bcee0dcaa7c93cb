// Word-level language model (port of pytorch/examples word_language_model): truncated BPTT with the
// hidden state repackaged every batch, clipping at 0.25, initialised LSTM. Correct code: no diagnostics.
using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.WordLanguageModel;

public sealed class RnnLanguageModel : nn.Module<Tensor, (Tensor, Tensor), (Tensor, (Tensor, Tensor))>
{
    private readonly Embedding encoder;
    private readonly LSTM rnn;
    private readonly Linear decoder;
    private readonly Dropout drop;
    private readonly long hiddenSize;
    private readonly long layers;

    public RnnLanguageModel(long tokens, long embedding, long hidden, long layers, double dropout) : base(nameof(RnnLanguageModel))
    {
        hiddenSize = hidden;
        this.layers = layers;
        encoder = nn.Embedding(tokens, embedding);
        rnn = nn.LSTM(embedding, hidden, numLayers: layers, dropout: dropout);
        decoder = nn.Linear(hidden, tokens);
        drop = nn.Dropout(dropout);
        RegisterComponents();
        InitWeights();
    }

    private void InitWeights()
    {
        using var _ = no_grad();
        nn.init.uniform_(encoder.weight, -0.1, 0.1);
        nn.init.uniform_(decoder.weight, -0.1, 0.1);
        nn.init.zeros_(decoder.bias);
        foreach (var (name, p) in rnn.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else
            {
                p.zero_();
                p[TensorIndex.Slice(hiddenSize, 2 * hiddenSize)].fill_(1.0);
            }
        }
    }

    public (Tensor, Tensor) InitHidden(long batch) =>
        (zeros(layers, batch, hiddenSize), zeros(layers, batch, hiddenSize));

    public override (Tensor, (Tensor, Tensor)) forward(Tensor input, (Tensor, Tensor) hidden)
    {
        var emb = drop.call(encoder.call(input));
        var (output, h, c) = rnn.call(emb, hidden);
        var decoded = decoder.call(drop.call(output));
        return (decoded.view(-1, decoded.shape[2]), (h, c));
    }
}

public static class Trainer
{
    private const int Bptt = 35;

    private static (Tensor, Tensor) Repackage((Tensor, Tensor) hidden) => (hidden.Item1.detach(), hidden.Item2.detach());

    public static double TrainEpoch(RnnLanguageModel model, Tensor trainData, long tokens, int batchSize, double lr)
    {
        model.train();
        var optimizer = optim.SGD(model.parameters(), lr);
        var criterion = nn.CrossEntropyLoss();
        var hidden = model.InitHidden(batchSize);
        var total = 0.0;
        for (long i = 0; i < trainData.shape[0] - 1; i += Bptt)
        {
            using var scope = NewDisposeScope();
            var len = Math.Min(Bptt, trainData.shape[0] - 1 - i);
            var data = trainData[TensorIndex.Slice(i, i + len)];
            var targets = trainData[TensorIndex.Slice(i + 1, i + 1 + len)].reshape(-1);

            hidden = Repackage(hidden);
            optimizer.zero_grad();
            var (output, next) = model.call(data, hidden);
            hidden = next;
            var loss = criterion.call(output, targets);
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 0.25);
            optimizer.step();
            total += loss.item<float>();
            hidden.Item1.MoveToOuterDisposeScope();
            hidden.Item2.MoveToOuterDisposeScope();
        }

        return total;
    }

    public static void Main()
    {
        var tokens = 1000L;
        var data = randint(0, tokens, new long[] { 2000, 20 });
        using var model = new RnnLanguageModel(tokens, 200, 200, 2, 0.2);
        for (var epoch = 0; epoch < 3; epoch++)
        {
            Console.WriteLine($"epoch {epoch}: {TrainEpoch(model, data, tokens, 20, 20.0):F2}");
        }
    }
}
