// Two clipping thresholds that cannot act: double.NaN in a debug path, and a "safety" constant of 1e9
// that no gradient norm will ever reach. LSTM initialised.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.ClipNaN;

public sealed class Model : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm = nn.LSTM(4, 32, batchFirst: true);
    private readonly Linear fc = nn.Linear(32, 2);

    public Model() : base(nameof(Model))
    {
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in lstm.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else { nn.init.zeros_(p); p[TensorIndex.Slice(32, 64)].fill_(1.0); }
        }
    }

    public override Tensor forward(Tensor x)
    {
        var (y, _, _) = lstm.call(x);
        return fc.call(y.select(1, -1));
    }
}

public static class Program
{
    private const double SafetyMaxNorm = 1e9;

    public static void Train(bool debug)
    {
        var model = new Model();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (var i = 0; i < 100; i++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(randn(8, 10, 4)), randint(0, 2, new long[] { 8 }));
            loss.backward();
            if (debug)
            {
                nn.utils.clip_grad_norm_(model.parameters(), double.NaN); // expect: GD0007
            }
            else
            {
                nn.utils.clip_grad_norm_(model.parameters(), SafetyMaxNorm); // expect: GD0007
            }

            optimizer.step();
        }
    }
}
