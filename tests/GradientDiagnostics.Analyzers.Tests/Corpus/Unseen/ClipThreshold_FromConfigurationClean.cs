// Clip threshold read from command-line options at run time (not a constant), plus clipping by value with
// a sensible constant. Initialised GRU. Correct code.
using System;
using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.ClipConfig;

public sealed record TrainingOptions(double LearningRate, double MaxGradNorm, int Steps)
{
    public static TrainingOptions Parse(string[] args) => new(
        args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 1e-3,
        args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 1.0,
        args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100);
}

public sealed class Model : nn.Module<Tensor, Tensor>
{
    private readonly GRU gru = nn.GRU(6, 20);
    private readonly Linear head = nn.Linear(20, 6);

    public Model() : base(nameof(Model))
    {
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in gru.named_parameters())
        {
            if (name.StartsWith("weight")) nn.init.orthogonal_(p);
            else nn.init.zeros_(p);
        }
    }

    public override Tensor forward(Tensor x) => head.call(gru.call(x).Item1);
}

public static class Program
{
    public static void Main(string[] args)
    {
        var options = TrainingOptions.Parse(args);
        var model = new Model();
        var optimizer = optim.Adam(model.parameters(), options.LearningRate);
        for (var step = 0; step < options.Steps; step++)
        {
            var x = randn(30, 4, 6);
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.call(x[TensorIndex.Slice(0, 29)]), x[TensorIndex.Slice(1, 30)]);
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), options.MaxGradNorm);
            nn.utils.clip_grad_value_(model.parameters(), 10.0);
            optimizer.step();
        }
    }
}
