// The training step written as a local function inside Main, called from the epoch loop. Initialised LSTM,
// zero_grad present, no clipping.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.LocalFunction;

public static class Program
{
    public static void Main()
    {
        var lstm = nn.LSTM(8, 32, batchFirst: true);
        var head = nn.Linear(32, 2);
        using (no_grad())
        {
            foreach (var (name, p) in lstm.named_parameters())
            {
                if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
                else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
                else { p.zero_(); p[TensorIndex.Slice(32, 64)].fill_(1); }
            }
        }

        var parameters = new System.Collections.Generic.List<Parameter>(lstm.parameters());
        parameters.AddRange(head.parameters());
        var optimizer = optim.Adam(parameters, 1e-3);

        float TrainStep(Tensor x, Tensor y)
        {
            optimizer.zero_grad();
            var (output, _, _) = lstm.call(x);
            var loss = nn.functional.cross_entropy(head.call(output.select(1, -1)), y);
            loss.backward();
            optimizer.step(); // expect: GD0001
            return loss.item<float>();
        }

        for (var epoch = 0; epoch < 10; epoch++)
        {
            var total = 0f;
            for (var i = 0; i < 50; i++) total += TrainStep(randn(16, 12, 8), randint(0, 2, new long[] { 16 }));
            Console.WriteLine(total / 50);
        }
    }
}
