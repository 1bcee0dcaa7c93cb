// Transfer learning: a frozen, pretrained LSTM encoder runs under no_grad to produce features and only the
// MLP head is optimised. No gradient flows through time, so the (head's) training step needs no clipping.
using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.FrozenEncoder;

public static class Program
{
    public static void Train(Dictionary<string, Tensor> pretrainedEncoder, int steps)
    {
        var encoder = nn.LSTM(40, 256, numLayers: 2, batchFirst: true);
        encoder.load_state_dict(pretrainedEncoder);
        encoder.eval();
        var head = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 12));
        var optimizer = optim.Adam(head.parameters(), 1e-3);
        for (var i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            Tensor features;
            using (no_grad())
            {
                var (output, _, _) = encoder.call(randn(32, 100, 40));
                features = output.select(1, -1);
            }

            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(head.call(features), randint(0, 12, new long[] { 32 }));
            loss.backward();
            optimizer.step();
        }
    }
}
