// Gradient accumulation over 4 micro-batches for an LSTM tagger: backward every micro-batch, and only
// every 4th iteration clip, step and clear. Deliberate accumulation, initialised LSTM: no diagnostics.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.Accumulation;

public sealed class Tagger : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm;
    private readonly Linear tags;

    public Tagger(long features, long hidden, long tagCount) : base(nameof(Tagger))
    {
        lstm = nn.LSTM(features, hidden, batchFirst: true);
        tags = nn.Linear(hidden, tagCount);
        RegisterComponents();
        using var _ = no_grad();
        nn.init.orthogonal_(lstm.get_parameter("weight_hh_l0"));
        nn.init.xavier_uniform_(lstm.get_parameter("weight_ih_l0"));
        nn.init.zeros_(lstm.get_parameter("bias_ih_l0"));
        nn.init.zeros_(lstm.get_parameter("bias_hh_l0"));
        lstm.get_parameter("bias_ih_l0")[TensorIndex.Slice(hidden, 2 * hidden)].fill_(1.0);
    }

    public override Tensor forward(Tensor x)
    {
        var (y, _, _) = lstm.call(x);
        return tags.call(y);
    }
}

public static class Program
{
    public static void Main()
    {
        const int accumulation = 4;
        var model = new Tagger(20, 64, 9);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        optimizer.zero_grad();
        for (var i = 0; i < 400; i++)
        {
            using var scope = NewDisposeScope();
            var x = randn(8, 40, 20);
            var y = randint(0, 9, new long[] { 8, 40 });
            var loss = nn.functional.cross_entropy(model.call(x).reshape(-1, 9), y.reshape(-1)) / accumulation;
            loss.backward();
            if ((i + 1) % accumulation == 0)
            {
                nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                optimizer.step();
                optimizer.zero_grad();
            }
        }
    }
}
