// Training step captured in a Func lambda (the style of small experiment scripts). Initialised GRU,
using System.Linq;
// zero_grad present, no clipping.
using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.LambdaStep;

public static class Program
{
    public static void Main()
    {
        var gru = nn.GRU(6, 24, batchFirst: true);
        var readout = nn.Linear(24, 6);
        using (no_grad())
        {
            foreach (var (name, p) in gru.named_parameters())
            {
                if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
                else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
                else nn.init.zeros_(p);
            }
        }

        var optimizer = optim.AdamW(gru.parameters().Concat(readout.parameters()), 3e-4);
        Func<Tensor, float> trainStep = batch =>
        {
            optimizer.zero_grad();
            var (output, _) = gru.call(batch[TensorIndex.Colon, TensorIndex.Slice(0, -1)]);
            var loss = nn.functional.mse_loss(readout.call(output), batch[TensorIndex.Colon, TensorIndex.Slice(1, null)]);
            loss.backward();
            optimizer.step(); // expect: GD0001
            return loss.item<float>();
        };

        for (var i = 0; i < 1000; i++)
        {
            var loss = trainStep(randn(16, 30, 6));
            if (i % 100 == 0) Console.WriteLine(loss);
        }
    }
}
