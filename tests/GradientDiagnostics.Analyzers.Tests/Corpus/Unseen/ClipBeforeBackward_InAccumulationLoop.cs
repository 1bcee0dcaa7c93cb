// Gradient accumulation where clipping was put at the top of the micro-batch, before that micro-batch's
// backward: the last backward before each step is never clipped. Initialised LSTM.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.AccumulationClipBefore;

public sealed class Model : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm = nn.LSTM(10, 40, batchFirst: true);
    private readonly Linear fc = nn.Linear(40, 3);

    public Model() : base(nameof(Model))
    {
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in lstm.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else { p.zero_(); p[TensorIndex.Slice(40, 80)].fill_(1); }
        }
    }

    public override Tensor forward(Tensor x) => fc.call(lstm.call(x).Item1.select(1, -1));
}

public static class Program
{
    public static void Main()
    {
        var model = new Model();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        const int accumulate = 4;
        optimizer.zero_grad();
        for (var i = 0; i < 1000; i++)
        {
            nn.utils.clip_grad_norm_(model.parameters(), 1.0); // expect: GD0006
            var loss = nn.functional.cross_entropy(model.call(randn(4, 30, 10)), randint(0, 3, new long[] { 4 })) / accumulate;
            loss.backward();
            if (i % accumulate == accumulate - 1)
            {
                optimizer.step();
                optimizer.zero_grad();
            }
        }
    }
}
