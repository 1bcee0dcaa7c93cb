// A project base class provides InitRecurrentWeights(), which walks named_modules() and initialises every
// LSTM/GRU it finds; derived models call it after RegisterComponents. Clipped. Correct code.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.BaseInit;

public abstract class RecurrentModelBase : nn.Module<Tensor, Tensor>
{
    protected RecurrentModelBase(string name) : base(name) { }

    protected void InitRecurrentWeights()
    {
        using var _ = no_grad();
        foreach (var (_, module) in named_modules())
        {
            if (module is not (LSTM or GRU)) continue;
            foreach (var (name, p) in module.named_parameters())
            {
                if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
                else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
                else nn.init.zeros_(p);
            }
        }
    }
}

public sealed class DualEncoder : RecurrentModelBase
{
    private readonly LSTM words;
    private readonly GRU characters;
    private readonly Linear output;

    public DualEncoder() : base(nameof(DualEncoder))
    {
        words = nn.LSTM(50, 64, batchFirst: true);
        characters = nn.GRU(20, 32, batchFirst: true);
        output = nn.Linear(96, 5);
        RegisterComponents();
        InitRecurrentWeights();
    }

    public override Tensor forward(Tensor x)
    {
        var (w, _, _) = words.call(x[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(0, 50)]);
        var (c, _) = characters.call(x[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(50, 70)]);
        return output.call(cat(new[] { w.select(1, -1), c.select(1, -1) }, 1));
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new DualEncoder();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (var i = 0; i < 100; i++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(randn(8, 12, 70)), randint(0, 5, new long[] { 8 }));
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 2.0);
            optimizer.step();
        }
    }
}
