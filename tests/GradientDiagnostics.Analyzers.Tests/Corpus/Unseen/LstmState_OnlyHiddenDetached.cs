// Truncated BPTT done halfway: h is detached between batches but the cell state c is carried as is, so
using System.Linq;
// the graph still reaches back through every batch via c.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.HalfDetached;

public static class Program
{
    public static void Main()
    {
        var lstm = nn.LSTM(3, 20, numLayers: 2);
        var head = nn.Linear(20, 3);
        using (no_grad())
        {
            foreach (var (name, p) in lstm.named_parameters())
            {
                if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
                else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
                else { p.zero_(); p[TensorIndex.Slice(20, 40)].fill_(1.0); }
            }
        }

        var optimizer = optim.Adam(lstm.parameters().Concat(head.parameters()), 1e-3);
        var stream = randn(10_000, 4, 3);
        var h = zeros(2, 4, 20);
        var c = zeros(2, 4, 20);
        for (var i = 0; i + 51 < stream.shape[0]; i += 50)
        {
            optimizer.zero_grad();
            var x = stream[TensorIndex.Slice(i, i + 50)];
            var y = stream[TensorIndex.Slice(i + 1, i + 51)];
            var (output, hn, cn) = lstm.call(x, (h.detach(), c));
            h = hn;
            c = cn; // expect: GD0002
            var loss = nn.functional.mse_loss(head.call(output), y);
            loss.backward();
            nn.utils.clip_grad_norm_(lstm.parameters().Concat(head.parameters()), 1.0);
            optimizer.step();
        }
    }
}
