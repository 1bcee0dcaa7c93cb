// Word language model where the author dropped the "repackage hidden" step: the LSTM state returned by
// the model flows into the next batch, so BPTT runs back through the whole epoch. LSTM left at default init.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.WordLanguageModelNoDetach;

public sealed class LanguageModel : nn.Module<Tensor, (Tensor, Tensor), (Tensor, (Tensor, Tensor))>
{
    private readonly Embedding embed;
    private readonly LSTM lstm;
    private readonly Linear proj;

    public LanguageModel(long vocab, long dim) : base("lm")
    {
        embed = nn.Embedding(vocab, dim);
        lstm = nn.LSTM(dim, dim, numLayers: 2); // expect: GD0004
        proj = nn.Linear(dim, vocab);
        RegisterComponents();
    }

    public override (Tensor, (Tensor, Tensor)) forward(Tensor tokens, (Tensor, Tensor) state)
    {
        var (y, h, c) = lstm.call(embed.call(tokens), state);
        return (proj.call(y), (h, c));
    }
}

public static class Program
{
    public static void Main()
    {
        const long vocab = 500, dim = 128, batch = 16, bptt = 30;
        var corpus = randint(0, vocab, new long[] { 3000, batch });
        var model = new LanguageModel(vocab, dim);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        var state = (zeros(2, batch, dim), zeros(2, batch, dim));

        for (long i = 0; i + bptt + 1 < corpus.shape[0]; i += bptt)
        {
            var x = corpus[TensorIndex.Slice(i, i + bptt)];
            var y = corpus[TensorIndex.Slice(i + 1, i + 1 + bptt)];
            optimizer.zero_grad();
            var (logits, newState) = model.call(x, state);
            state = newState; // expect: GD0002
            var loss = nn.functional.cross_entropy(logits.view(-1, vocab), y.reshape(-1));
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 0.25);
            optimizer.step();
            if (i % (bptt * 20) == 0)
            {
                Console.WriteLine($"{i}: ppl {Math.Exp(loss.item<float>()):F1}");
            }
        }
    }
}
