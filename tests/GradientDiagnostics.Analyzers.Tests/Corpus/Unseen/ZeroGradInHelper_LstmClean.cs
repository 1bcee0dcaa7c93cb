// Gradients cleared by a small helper in a utilities class at the top of each iteration. Initialised LSTM,
// clipped. Correct code.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.ZeroGradHelper;

public static class TrainingUtilities
{
    public static void ResetGradients(optim.Optimizer optimizer) => optimizer.zero_grad();
}

public static class Program
{
    public static void Main()
    {
        var lstm = nn.LSTM(12, 24, batchFirst: true);
        using (no_grad())
        {
            foreach (var (name, p) in lstm.named_parameters())
            {
                if (name.Contains("weight_hh")) nn.init.orthogonal_(p);
                else if (name.Contains("weight_ih")) nn.init.xavier_normal_(p);
                else { p.zero_(); p[TensorIndex.Slice(24, 48)].fill_(1); }
            }
        }

        var optimizer = optim.Adam(lstm.parameters(), 1e-3);
        for (var i = 0; i < 500; i++)
        {
            TrainingUtilities.ResetGradients(optimizer);
            var (y, _, _) = lstm.call(randn(8, 15, 12));
            var loss = y.abs().mean();
            loss.backward();
            nn.utils.clip_grad_norm_(lstm.parameters(), 1.0);
            optimizer.step();
        }
    }
}
