// Per-batch training method that clips through a utility class in another file-level class, and a GRU
// initialised through another helper. Correct code.
using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.HelperClip;

public static class GradientUtilities
{
    public static double ClipAll(nn.Module model, double maxNorm) =>
        nn.utils.clip_grad_norm_(model.parameters(), maxNorm);
}

public static class WeightInit
{
    public static void OrthogonalRecurrent(GRU gru)
    {
        using var noGrad = no_grad();
        foreach (var (name, weight) in gru.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(weight);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(weight);
            else weight.zero_();
        }
    }
}

public sealed class SensorModel : nn.Module<Tensor, Tensor>
{
    private readonly GRU gru;
    private readonly Linear head;

    public SensorModel() : base(nameof(SensorModel))
    {
        gru = nn.GRU(12, 64, numLayers: 2, batchFirst: true);
        head = nn.Linear(64, 2);
        RegisterComponents();
        WeightInit.OrthogonalRecurrent(gru);
    }

    public override Tensor forward(Tensor x)
    {
        var (y, _) = gru.call(x);
        return head.call(y.select(1, -1));
    }
}

public sealed class SensorTrainer
{
    private readonly SensorModel model = new();
    private readonly optim.Optimizer optimizer;

    public SensorTrainer() => optimizer = optim.Adam(model.parameters(), 1e-3);

    public double Step(Tensor x, Tensor y)
    {
        optimizer.zero_grad();
        var loss = nn.functional.cross_entropy(model.call(x), y);
        loss.backward();
        var norm = GradientUtilities.ClipAll(model, 2.0);
        optimizer.step();
        return norm;
    }

    public void Fit(IEnumerable<(Tensor X, Tensor Y)> data)
    {
        foreach (var (x, y) in data)
        {
            var norm = Step(x, y);
            if (double.IsNaN(norm)) throw new InvalidOperationException("gradient norm is NaN");
        }
    }
}
