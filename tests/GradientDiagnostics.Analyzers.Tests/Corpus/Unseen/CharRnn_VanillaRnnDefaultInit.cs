// Character-level RNN (Karpathy's min-char-rnn in TorchSharp): a plain tanh nn.RNN left at its default
// initialisation. Hidden state is detached per chunk and gradients are clipped at 5.
using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.CharRnn;

public sealed class CharModel : nn.Module<Tensor, Tensor, (Tensor, Tensor)>
{
    private readonly Embedding embedding;
    private readonly RNN rnn;
    private readonly Linear head;

    public CharModel(int vocabSize, int hidden) : base(nameof(CharModel))
    {
        embedding = nn.Embedding(vocabSize, 32);
        rnn = nn.RNN(32, hidden, numLayers: 1, batchFirst: true); // expect: GD0003, GD0005
        head = nn.Linear(hidden, vocabSize);
        RegisterComponents();
    }

    public override (Tensor, Tensor) forward(Tensor chars, Tensor hidden)
    {
        var (output, h) = rnn.call(embedding.call(chars), hidden);
        return (head.call(output), h);
    }
}

public static class CharRnnTraining
{
    public static void Run(string text, int epochs)
    {
        var alphabet = text.Distinct().OrderBy(c => c).ToArray();
        var index = alphabet.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (long)p.i);
        var encoded = tensor(text.Select(c => index[c]).ToArray()).unsqueeze(0);
        var model = new CharModel(alphabet.Length, 128);
        var optimizer = optim.Adam(model.parameters(), 2e-3);
        const int chunk = 64;

        for (var epoch = 0; epoch < epochs; epoch++)
        {
            var hidden = zeros(1, 1, 128);
            for (var start = 0; start + chunk + 1 < encoded.shape[1]; start += chunk)
            {
                using var scope = NewDisposeScope();
                var input = encoded[TensorIndex.Colon, TensorIndex.Slice(start, start + chunk)];
                var target = encoded[TensorIndex.Colon, TensorIndex.Slice(start + 1, start + chunk + 1)];
                optimizer.zero_grad();
                var (logits, h) = model.call(input, hidden.detach());
                var loss = nn.functional.cross_entropy(logits.reshape(-1, alphabet.Length), target.reshape(-1));
                loss.backward();
                nn.utils.clip_grad_norm_(model.parameters(), 5.0);
                optimizer.step();
                hidden = h.detach().MoveToOuterDisposeScope();
            }
        }
    }
}
