// Clipping is configurable and skipped when the configured norm is 0 (the common `if grad_clip > 0` idiom).
// The user chose it deliberately; initialised LSTM. Correct code.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.ConditionalClip;

public sealed class Config
{
    public double LearningRate { get; init; } = 1e-3;
    public double GradClip { get; init; } = 1.0;
    public int Epochs { get; init; } = 5;
}

public sealed class Model : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm = nn.LSTM(3, 16, batchFirst: true);
    private readonly Linear fc = nn.Linear(16, 1);

    public Model() : base(nameof(Model))
    {
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in lstm.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else { p.zero_(); p[TensorIndex.Slice(16, 32)].fill_(1); }
        }
    }

    public override Tensor forward(Tensor x) => fc.call(lstm.call(x).Item1.select(1, -1));
}

public static class Program
{
    public static void Train(Config config)
    {
        var model = new Model();
        var optimizer = optim.Adam(model.parameters(), config.LearningRate);
        for (var epoch = 0; epoch < config.Epochs; epoch++)
        {
            for (var i = 0; i < 100; i++)
            {
                optimizer.zero_grad();
                var loss = nn.functional.mse_loss(model.call(randn(8, 20, 3)), randn(8, 1));
                loss.backward();
                if (config.GradClip > 0)
                {
                    nn.utils.clip_grad_norm_(model.parameters(), config.GradClip);
                }

                optimizer.step();
            }
        }
    }
}
