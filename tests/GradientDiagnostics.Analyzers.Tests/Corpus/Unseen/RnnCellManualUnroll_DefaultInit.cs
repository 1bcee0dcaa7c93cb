// Hand-unrolled tanh RNNCell over each (bounded) sequence, fresh state per batch, clipped; the cell keeps its
// default initialisation and is a vanilla cell.
using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.RnnCell;

public sealed class Unrolled : nn.Module<Tensor, Tensor>
{
    private readonly RNNCell cell;
    private readonly Linear head;
    private readonly long hidden;

    public Unrolled(long input, long hidden) : base(nameof(Unrolled))
    {
        this.hidden = hidden;
        cell = nn.RNNCell(input, hidden); // expect: GD0003, GD0005
        head = nn.Linear(hidden, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor sequence)
    {
        var h = zeros(sequence.shape[1], hidden);
        for (long t = 0; t < sequence.shape[0]; t++)
        {
            h = cell.call(sequence[t], h);
        }

        return head.call(h);
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new Unrolled(2, 64);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (var step = 0; step < 2000; step++)
        {
            using var scope = NewDisposeScope();
            var x = rand(50, 32, 2);
            var y = x[TensorIndex.Colon, TensorIndex.Colon, 0].sum(0).unsqueeze(1);
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.call(x), y);
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }
    }
}
