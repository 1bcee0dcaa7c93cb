// Max-norm (infinity-norm) clipping: norm_type is +inf, the threshold is 1.0 — a valid clip. The clip runs
// inside a no_grad block between backward and step, which is still the right place. Initialised GRU.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.InfNorm;

public sealed class Model : nn.Module<Tensor, Tensor>
{
    private readonly GRU gru = nn.GRU(8, 32, batchFirst: true);
    private readonly Linear fc = nn.Linear(32, 8);

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

    public override Tensor forward(Tensor x) => fc.call(gru.call(x).Item1);
}

public static class Program
{
    public static void Main()
    {
        var model = new Model();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (var i = 0; i < 200; i++)
        {
            optimizer.zero_grad();
            var x = randn(8, 16, 8);
            var loss = nn.functional.mse_loss(model.call(x), x);
            loss.backward();
            using (no_grad())
            {
                var norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0, norm_type: double.PositiveInfinity);
                if (double.IsNaN(norm)) throw new InvalidOperationException("NaN gradient");
            }

            optimizer.step();
        }
    }
}
