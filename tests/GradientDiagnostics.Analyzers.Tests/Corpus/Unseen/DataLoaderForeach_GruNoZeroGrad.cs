// Batches enumerated from a data-loader-like IEnumerable; clipped, initialised GRU; gradients never cleared.
using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.LoaderNoZeroGrad;

public sealed class SequenceDataset
{
    public IEnumerable<(Tensor Features, Tensor Labels)> Batches(int batchSize)
    {
        for (var i = 0; i < 100; i++) yield return (randn(batchSize, 25, 9), randint(0, 4, new long[] { batchSize }));
    }
}

public static class Program
{
    public static void Main()
    {
        var gru = nn.GRU(9, 32, batchFirst: true);
        var head = nn.Linear(32, 4);
        using (no_grad())
        {
            foreach (var (name, p) in gru.named_parameters())
            {
                if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
                else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
                else nn.init.zeros_(p);
            }
        }

        var parameters = new List<Parameter>(gru.parameters());
        parameters.AddRange(head.parameters());
        var optimizer = optim.Adam(parameters, 1e-3);
        var data = new SequenceDataset();
        for (var epoch = 0; epoch < 10; epoch++)
        {
            foreach (var (features, labels) in data.Batches(32)) // expect: GD0008
            {
                var (output, _) = gru.call(features);
                var loss = nn.functional.cross_entropy(head.call(output.select(1, -1)), labels);
                loss.backward();
                nn.utils.clip_grad_norm_(parameters, 1.0);
                optimizer.step();
            }
        }
    }
}
