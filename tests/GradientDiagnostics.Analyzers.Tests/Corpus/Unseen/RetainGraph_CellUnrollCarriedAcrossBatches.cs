// GRUCell unrolled over each chunk with the state carried to the next chunk without detach; the resulting
using System.Linq;
// "backward through the graph a second time" error was silenced with retain_graph. Cell initialised, clipped.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.RetainCell;

public static class Program
{
    public static void Main()
    {
        var cell = nn.GRUCell(3, 30);
        var out_ = nn.Linear(30, 3);
        using (no_grad())
        {
            nn.init.orthogonal_(cell.weight_hh);
            nn.init.xavier_uniform_(cell.weight_ih);
            nn.init.zeros_(cell.bias_hh!);
            nn.init.zeros_(cell.bias_ih!);
        }

        var optimizer = optim.Adam(cell.parameters().Concat(out_.parameters()), 1e-3);
        var stream = randn(5000, 2, 3);
        var h = zeros(2, 30);
        for (var start = 0; start + 21 < stream.shape[0]; start += 20)
        {
            optimizer.zero_grad();
            var loss = zeros(1);
            for (var t = start; t < start + 20; t++)
            {
                h = cell.call(stream[t], h); // expect: GD0002
                loss += nn.functional.mse_loss(out_.call(h), stream[t + 1]);
            }

            loss.backward(retain_graph: true); // expect: GD0009
            nn.utils.clip_grad_norm_(cell.parameters().Concat(out_.parameters()), 1.0);
            optimizer.step();
        }
    }
}
