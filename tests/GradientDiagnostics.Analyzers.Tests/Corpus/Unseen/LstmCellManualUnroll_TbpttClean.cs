// Hand-unrolled LSTMCell over a long sequence cut into chunks of 25 steps: the state is carried from chunk
// to chunk but detached at every chunk boundary (truncated BPTT); inside a chunk it flows freely, which is
// what BPTT is. Initialised cell, clipping present. Correct code.
using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.CellUnroll;

public sealed class CellModel : nn.Module
{
    public readonly LSTMCell Cell;
    public readonly Linear Out;

    public CellModel(int input, int hidden) : base(nameof(CellModel))
    {
        Cell = nn.LSTMCell(input, hidden);
        Out = nn.Linear(hidden, input);
        RegisterComponents();
        using var _ = no_grad();
        nn.init.orthogonal_(Cell.weight_hh);
        nn.init.xavier_uniform_(Cell.weight_ih);
        nn.init.zeros_(Cell.bias_hh!);
        nn.init.zeros_(Cell.bias_ih!);
        Cell.bias_hh![TensorIndex.Slice(hidden, 2 * hidden)].fill_(1.0);
    }
}

public static class Program
{
    public static void Main()
    {
        const int hidden = 40, chunk = 25;
        var model = new CellModel(2, hidden);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        var sequence = randn(1000, 8, 2);
        var h = zeros(8, hidden);
        var c = zeros(8, hidden);
        for (var start = 0; start + chunk + 1 < sequence.shape[0]; start += chunk)
        {
            h = h.detach();
            c = c.detach();
            optimizer.zero_grad();
            var losses = new List<Tensor>();
            for (var t = start; t < start + chunk; t++)
            {
                (h, c) = model.Cell.call(sequence[t], (h, c));
                losses.Add(nn.functional.mse_loss(model.Out.call(h), sequence[t + 1]));
            }

            var loss = stack(losses).mean();
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }
    }
}
