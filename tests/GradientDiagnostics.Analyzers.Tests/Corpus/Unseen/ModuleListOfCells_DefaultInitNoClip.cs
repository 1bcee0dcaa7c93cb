// A multi-layer decoder built from a ModuleList of LSTMCells created in a loop. The cells keep their
// default initialisation and the training step has no clipping.
using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.CellList;

public sealed class StackedCells : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<LSTMCell> cells = new();
    private readonly Linear output;
    private readonly long hidden;

    public StackedCells(long input, long hidden, int layers) : base(nameof(StackedCells))
    {
        this.hidden = hidden;
        for (var i = 0; i < layers; i++)
        {
            cells.Add(nn.LSTMCell(i == 0 ? input : hidden, hidden)); // expect: GD0004
        }

        output = nn.Linear(hidden, input);
        RegisterComponents();
    }

    public override Tensor forward(Tensor sequence)
    {
        var batch = sequence.shape[1];
        var states = new List<(Tensor, Tensor)>();
        foreach (var _ in cells) states.Add((zeros(batch, hidden), zeros(batch, hidden)));
        var outputs = new List<Tensor>();
        for (long t = 0; t < sequence.shape[0]; t++)
        {
            var x = sequence[t];
            for (var layer = 0; layer < cells.Count; layer++)
            {
                states[layer] = cells[layer].call(x, states[layer]);
                x = states[layer].Item1;
            }

            outputs.Add(output.call(x));
        }

        return stack(outputs);
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new StackedCells(6, 48, 3);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (var step = 0; step < 300; step++)
        {
            var x = randn(30, 16, 6);
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.call(x), x.roll(-1, 0));
            loss.backward();
            optimizer.step(); // expect: GD0001
        }
    }
}
