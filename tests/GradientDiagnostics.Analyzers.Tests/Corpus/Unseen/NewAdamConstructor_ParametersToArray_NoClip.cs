// Optimizer constructed with `new Adam(...)` over a materialised parameter array of a GRU model; the
// recurrent training step has no clipping. The GRU is initialised.
using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.NewAdam;

public sealed class GruClassifier : nn.Module<Tensor, Tensor>
{
    private readonly GRU gru;
    private readonly Linear linear;

    public GruClassifier() : base(nameof(GruClassifier))
    {
        gru = nn.GRU(16, 48, batchFirst: true);
        linear = nn.Linear(48, 5);
        RegisterComponents();
        using (no_grad())
        {
            foreach (var p in gru.parameters())
            {
                if (p.dim() == 2) nn.init.orthogonal_(p);
                else p.zero_();
            }
        }
    }

    public override Tensor forward(Tensor x)
    {
        var (_, h) = gru.call(x);
        return linear.call(h[-1]);
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new GruClassifier();
        var parameters = model.parameters().ToArray();
        var optimizer = new Adam(parameters, 1e-3, 0.9, 0.999, 1e-8, 0, false, false);
        for (var i = 0; i < 300; i++)
        {
            var x = randn(32, 30, 16);
            var y = randint(0, 5, new long[] { 32 });
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(x), y);
            loss.backward();
            optimizer.step(); // expect: GD0001
        }
    }
}
