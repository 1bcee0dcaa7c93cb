// The same hand-unrolled LSTMCell trainer, but the chunk loop never detaches the state: the graph of
// every previous chunk stays attached. The cell also keeps its default initialisation.
using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.CellUnrollNoDetach;

public static class Program
{
    public static void Main()
    {
        const int hidden = 40, chunk = 25;
        var cell = nn.LSTMCell(2, hidden); // expect: GD0004
        var readout = nn.Linear(hidden, 2);
        var parameters = new List<TorchSharp.Modules.Parameter>();
        parameters.AddRange(cell.parameters());
        parameters.AddRange(readout.parameters());
        var optimizer = optim.Adam(parameters, 1e-3);
        var sequence = randn(1000, 8, 2);
        var h = zeros(8, hidden);
        var c = zeros(8, hidden);
        for (var start = 0; start + chunk + 1 < sequence.shape[0]; start += chunk)
        {
            optimizer.zero_grad();
            var loss = zeros(1);
            for (var t = start; t < start + chunk; t++)
            {
                (h, c) = cell.call(sequence[t], (h, c)); // expect: GD0002
                loss = loss + nn.functional.mse_loss(readout.call(h), sequence[t + 1]);
            }

            loss.backward();
            nn.utils.clip_grad_norm_(parameters, 1.0);
            optimizer.step();
        }
    }
}
