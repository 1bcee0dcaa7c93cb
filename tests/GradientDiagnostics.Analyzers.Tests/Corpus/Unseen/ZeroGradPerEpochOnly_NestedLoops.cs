// zero_grad() sits in the epoch loop, not the batch loop, so within an epoch every step applies the sum of all
// earlier batch gradients. Initialised, clipped LSTM.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.ZeroGradPerEpoch;

public static class Program
{
    public static void Main()
    {
        var lstm = nn.LSTM(7, 30, batchFirst: true);
        var head = nn.Linear(30, 1);
        using (no_grad())
        {
            foreach (var (name, p) in lstm.named_parameters())
            {
                if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
                else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
                else { p.zero_(); p[TensorIndex.Slice(30, 60)].fill_(1); }
            }
        }

        var parameters = new System.Collections.Generic.List<Parameter>(lstm.parameters());
        parameters.AddRange(head.parameters());
        var optimizer = optim.Adam(parameters, 1e-3);
        for (var epoch = 0; epoch < 20; epoch++)
        {
            optimizer.zero_grad();
            for (var batch = 0; batch < 50; batch++) // expect: GD0008
            {
                var (y, _, _) = lstm.call(randn(16, 24, 7));
                var loss = nn.functional.mse_loss(head.call(y.select(1, -1)), randn(16, 1));
                loss.backward();
                nn.utils.clip_grad_norm_(parameters, 1.0);
                optimizer.step();
            }
        }
    }
}
