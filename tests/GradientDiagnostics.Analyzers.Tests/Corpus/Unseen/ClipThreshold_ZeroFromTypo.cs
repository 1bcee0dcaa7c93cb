// Clipping with max_norm 0 (meant 1.0, typed 0): scales every gradient to zero, so training stops.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.ClipZero;

public sealed class Model : nn.Module<Tensor, Tensor>
{
    private readonly GRU gru = nn.GRU(3, 16, batchFirst: true);
    private readonly Linear fc = nn.Linear(16, 1);

    public Model() : base(nameof(Model))
    {
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in gru.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else nn.init.zeros_(p);
        }
    }

    public override Tensor forward(Tensor x)
    {
        var (y, _) = gru.call(x);
        return fc.call(y.select(1, -1));
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new Model();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (var i = 0; i < 100; i++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.call(randn(8, 10, 3)), randn(8, 1));
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 0); // expect: GD0007
            optimizer.step();
        }
    }
}
