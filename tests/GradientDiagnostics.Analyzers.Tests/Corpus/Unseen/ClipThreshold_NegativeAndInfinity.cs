// Two training entry points with clipping thresholds that cannot act: a negative norm (sign slip in a
// refactor) and double.PositiveInfinity used as "no limit". Initialised GRU.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.ClipNegative;

public sealed class Model : nn.Module<Tensor, Tensor>
{
    private readonly GRU gru = nn.GRU(2, 12, batchFirst: true);
    private readonly Linear fc = nn.Linear(12, 1);

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

    public override Tensor forward(Tensor x) => fc.call(gru.call(x).Item1.select(1, -1));
}

public static class Program
{
    public static void TrainA(Model model, int steps)
    {
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (var i = 0; i < steps; i++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.call(randn(4, 10, 2)), randn(4, 1));
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), -1.0); // expect: GD0007
            optimizer.step();
        }
    }

    public static void TrainB(Model model, int steps)
    {
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (var i = 0; i < steps; i++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.call(randn(4, 10, 2)), randn(4, 1));
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), max_norm: double.PositiveInfinity); // expect: GD0007
            optimizer.step();
        }
    }
}
