// NER-style BiLSTM tagger whose LSTM initialisation and gradient clipping both live in helper classes
// (Initializers, Optimization) as real projects factor them. Correct code.
using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.Tagger;

internal static class Initializers
{
    public static void InitLstm(LSTM lstm, long hidden)
    {
        using var _ = no_grad();
        foreach (var (name, p) in lstm.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else SetForgetBias(p, hidden);
        }
    }

    private static void SetForgetBias(Tensor bias, long hidden)
    {
        bias.zero_();
        bias[TensorIndex.Slice(hidden, 2 * hidden)].fill_(1.0);
    }
}

internal static class Optimization
{
    public static void ClipGradients(IEnumerable<Parameter> parameters, double maxNorm) => nn.utils.clip_grad_norm_(parameters, maxNorm);
}

public sealed class BiLstmTagger : nn.Module<Tensor, Tensor>
{
    private readonly Embedding words;
    private readonly LSTM lstm;
    private readonly Linear emissions;

    public BiLstmTagger(long vocab, long dim, long hidden, long tags) : base(nameof(BiLstmTagger))
    {
        words = nn.Embedding(vocab, dim);
        lstm = nn.LSTM(dim, hidden, batchFirst: true, bidirectional: true);
        emissions = nn.Linear(2 * hidden, tags);
        RegisterComponents();
        Initializers.InitLstm(lstm, hidden);
    }

    public override Tensor forward(Tensor tokens)
    {
        var (y, _, _) = lstm.call(words.call(tokens));
        return emissions.call(y);
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new BiLstmTagger(5000, 100, 128, 9);
        var parameters = model.parameters().ToList();
        var optimizer = optim.Adam(parameters, 1e-3);
        for (var step = 0; step < 300; step++)
        {
            using var scope = NewDisposeScope();
            var tokens = randint(0, 5000, new long[] { 16, 40 });
            var tags = randint(0, 9, new long[] { 16, 40 });
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(tokens).view(-1, 9), tags.view(-1));
            loss.backward();
            Optimization.ClipGradients(parameters, 5.0);
            optimizer.step();
        }
    }
}
