// LSTM with a cosine schedule and value clipping (clip_grad_value_ counts as clipping). The scheduler's
// step() after the optimizer's step() is not a training step. Correct code.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.CosineLstm;

public sealed class ActivityModel : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm;
    private readonly Linear output;

    public ActivityModel() : base(nameof(ActivityModel))
    {
        lstm = nn.LSTM(9, 100, numLayers: 2, batchFirst: true, dropout: 0.2);
        output = nn.Linear(100, 6);
        RegisterComponents();
        ResetParameters();
    }

    private void ResetParameters()
    {
        using var _ = no_grad();
        foreach (var (name, p) in lstm.named_parameters())
        {
            if (name.StartsWith("bias"))
            {
                p.zero_();
                p[TensorIndex.Slice(100, 200)].fill_(1);
            }
            else if (name.StartsWith("weight_hh"))
            {
                nn.init.orthogonal_(p);
            }
            else
            {
                nn.init.xavier_normal_(p);
            }
        }
    }

    public override Tensor forward(Tensor x)
    {
        var (y, _, _) = lstm.call(x);
        return output.call(y[TensorIndex.Colon, -1]);
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new ActivityModel();
        var optimizer = optim.SGD(model.parameters(), 0.1, momentum: 0.9, nesterov: true);
        var scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max: 50, eta_min: 1e-4);
        for (var epoch = 0; epoch < 50; epoch++)
        {
            for (var b = 0; b < 30; b++)
            {
                var signals = randn(64, 128, 9);
                var activity = randint(0, 6, new long[] { 64 });
                optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(model.call(signals), activity);
                loss.backward();
                nn.utils.clip_grad_value_(model.parameters(), 0.5);
                optimizer.step();
            }

            scheduler.step();
        }
    }
}
