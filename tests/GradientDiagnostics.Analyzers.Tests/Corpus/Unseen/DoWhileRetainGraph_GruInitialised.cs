// A do-while training loop over an initialised, clipped GRU with a fresh state per batch, where
using System.Linq;
// backward(retain_graph: true) was left in from debugging.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.DoWhileRetain;

public static class Program
{
    public static void Main()
    {
        var gru = nn.GRU(4, 16, batchFirst: true);
        var head = nn.Linear(16, 1);
        using (no_grad())
        {
            foreach (var (name, p) in gru.named_parameters())
            {
                if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
                else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
                else nn.init.zeros_(p);
            }
        }

        var optimizer = optim.Adam(gru.parameters().Concat(head.parameters()), 1e-3);
        var epoch = 0;
        double loss;
        do
        {
            optimizer.zero_grad();
            var (output, _) = gru.call(randn(16, 25, 4));
            var value = nn.functional.mse_loss(head.call(output.select(1, -1)), zeros(16, 1));
            value.backward(retain_graph: true); // expect: GD0009
            nn.utils.clip_grad_norm_(gru.parameters().Concat(head.parameters()), 1.0);
            optimizer.step();
            loss = value.item<float>();
        } while (++epoch < 1000 && loss > 1e-4);
    }
}
