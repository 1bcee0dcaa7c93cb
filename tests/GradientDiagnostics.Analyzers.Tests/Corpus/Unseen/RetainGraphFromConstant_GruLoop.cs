// retain_graph passed through a constant flag ("keep the graph for the debugger") in a GRU training loop.
// The value is still the constant true. Initialised, clipped GRU; fresh state per batch.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.RetainConst;

public static class Program
{
    private const bool KeepGraphForInspection = true;

    public static void Main()
    {
        var gru = nn.GRU(3, 16, batchFirst: true);
        var head = nn.Linear(16, 3);
        using (no_grad())
        {
            foreach (var (name, p) in gru.named_parameters())
            {
                if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
                else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
                else nn.init.zeros_(p);
            }
        }

        var parameters = new System.Collections.Generic.List<Parameter>(gru.parameters());
        parameters.AddRange(head.parameters());
        var optimizer = optim.Adam(parameters, 1e-3);
        for (var i = 0; i < 300; i++)
        {
            optimizer.zero_grad();
            var x = randn(8, 20, 3);
            var (y, _) = gru.call(x);
            var loss = nn.functional.mse_loss(head.call(y), x);
            loss.backward(retain_graph: KeepGraphForInspection); // expect: GD0009
            nn.utils.clip_grad_norm_(parameters, 1.0);
            optimizer.step();
        }
    }
}
