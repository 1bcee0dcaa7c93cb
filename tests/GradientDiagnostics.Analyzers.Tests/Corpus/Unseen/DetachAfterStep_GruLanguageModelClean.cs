// Truncated BPTT with the detach written at the end of the loop body, after optimizer.step() — the state
// that reaches the next iteration is detached. Initialised GRU, clipped. Correct code.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.DetachAtEnd;

public static class Program
{
    public static void Main()
    {
        var gru = nn.GRU(32, 64, numLayers: 2);
        var proj = nn.Linear(64, 32);
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
        parameters.AddRange(proj.parameters());
        var optimizer = optim.Adam(parameters, 1e-3);
        var signal = randn(20_000, 8, 32);
        var hidden = zeros(2, 8, 64);
        for (var i = 0; i + 101 < signal.shape[0]; i += 100)
        {
            optimizer.zero_grad();
            var (output, next) = gru.call(signal[TensorIndex.Slice(i, i + 100)], hidden);
            var loss = nn.functional.mse_loss(proj.call(output), signal[TensorIndex.Slice(i + 1, i + 101)]);
            loss.backward();
            nn.utils.clip_grad_norm_(parameters, 1.0);
            optimizer.step();
            hidden = next.detach();
        }
    }
}
