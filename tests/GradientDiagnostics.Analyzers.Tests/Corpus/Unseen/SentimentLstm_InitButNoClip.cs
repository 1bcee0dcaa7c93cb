// Sentiment classifier: embedding + bidirectional LSTM + linear, initialised properly, trained with Adam
// over padded review batches, but no gradient clipping in the recurrent step.
using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.Sentiment;

public sealed class SentimentClassifier : nn.Module<Tensor, Tensor>
{
    private readonly Embedding embedding;
    private readonly LSTM lstm;
    private readonly Dropout dropout;
    private readonly Linear classifier;

    public SentimentClassifier(long vocab, long embed, long hidden) : base(nameof(SentimentClassifier))
    {
        embedding = nn.Embedding(vocab, embed, padding_idx: 0);
        lstm = nn.LSTM(embed, hidden, batchFirst: true, bidirectional: true);
        dropout = nn.Dropout(0.3);
        classifier = nn.Linear(2 * hidden, 2);
        RegisterComponents();

        using var guard = no_grad();
        foreach (var (name, param) in lstm.named_parameters())
        {
            if (name.Contains("weight_hh")) nn.init.orthogonal_(param);
            else if (name.Contains("weight_ih")) nn.init.kaiming_uniform_(param);
            else param.fill_(0.0).narrow(0, hidden, hidden).fill_(1.0);
        }
    }

    public override Tensor forward(Tensor tokens)
    {
        var (output, _, _) = lstm.call(embedding.call(tokens));
        var pooled = output.max(1).values;
        return classifier.call(dropout.call(pooled));
    }
}

public static class SentimentTraining
{
    public static IEnumerable<(Tensor Tokens, Tensor Labels)> Batches(int count, int batch, int length, long vocab)
    {
        for (var i = 0; i < count; i++)
        {
            yield return (randint(1, vocab, new long[] { batch, length }), randint(0, 2, new long[] { batch }));
        }
    }

    public static void Main()
    {
        using var model = new SentimentClassifier(20000, 100, 128);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        var criterion = nn.CrossEntropyLoss();
        for (var epoch = 1; epoch <= 5; epoch++)
        {
            model.train();
            var correct = 0L;
            foreach (var (tokens, labels) in Batches(100, 32, 200, 20000))
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                var logits = model.call(tokens);
                var loss = criterion.call(logits, labels);
                loss.backward();
                optimizer.step(); // expect: GD0001
                correct += logits.argmax(1).eq(labels).sum().item<long>();
            }

            Console.WriteLine($"epoch {epoch} accuracy {correct / 3200.0:P1}");
        }
    }
}
