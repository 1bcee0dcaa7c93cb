// "Just in case" clipping at 500: gradient norms of this model never reach it, so the clip never acts
// (above the default 100 ceiling). Initialised LSTM.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.ClipCeiling;

public sealed class Model : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm = nn.LSTM(4, 32, batchFirst: true);
    private readonly Linear fc = nn.Linear(32, 1);

    public Model() : base(nameof(Model))
    {
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in lstm.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else { p.zero_(); p[TensorIndex.Slice(32, 64)].fill_(1); }
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
        for (var i = 0; i < 500; i++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.call(randn(16, 40, 4)), randn(16, 1));
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 500.0); // expect: GD0007
            optimizer.step();
        }
    }
}
