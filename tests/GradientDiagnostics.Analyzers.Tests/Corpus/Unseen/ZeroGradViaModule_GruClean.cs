// Clears gradients through the module (model.zero_grad()) rather than the optimizer, which is equivalent
// here because the optimizer owns exactly the model's parameters. Initialised GRU, clipped. Correct code.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.ModuleZeroGrad;

public sealed class Model : nn.Module<Tensor, Tensor>
{
    private readonly GRU gru = nn.GRU(10, 32, numLayers: 2, batchFirst: true, dropout: 0.1);
    private readonly Linear fc = nn.Linear(32, 10);

    public Model() : base(nameof(Model))
    {
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in gru.named_parameters())
        {
            if (name.Contains("weight_hh")) nn.init.orthogonal_(p);
            else if (name.Contains("weight_ih")) nn.init.xavier_uniform_(p);
            else nn.init.zeros_(p);
        }
    }

    public override Tensor forward(Tensor x)
    {
        var (y, _) = gru.call(x);
        return fc.call(y);
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new Model();
        var optimizer = optim.SGD(model.parameters(), 0.05);
        for (var i = 0; i < 1000; i++)
        {
            model.zero_grad();
            var x = randn(16, 12, 10);
            var loss = nn.functional.mse_loss(model.call(x), x.roll(1, 1));
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 3.0);
            optimizer.step();
        }
    }
}
