// Stacked vanilla RNNCells kept in a ModuleList and created in a loop; default initialisation. Fresh state
// per batch, clipped, zero_grad present.
using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.RnnCellStack;

public sealed class Stack : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<RNNCell> layers = new();
    private readonly Linear head = nn.Linear(32, 1);

    public Stack(int depth) : base(nameof(Stack))
    {
        for (var i = 0; i < depth; i++)
        {
            layers.Add(nn.RNNCell(i == 0 ? 2 : 32, 32)); // expect: GD0003, GD0005
        }

        RegisterComponents();
    }

    public override Tensor forward(Tensor sequence)
    {
        var hidden = new List<Tensor>();
        foreach (var _ in layers) hidden.Add(zeros(sequence.shape[1], 32));
        for (long t = 0; t < sequence.shape[0]; t++)
        {
            var x = sequence[t];
            for (var l = 0; l < layers.Count; l++)
            {
                hidden[l] = layers[l].call(x, hidden[l]);
                x = hidden[l];
            }
        }

        return head.call(hidden[^1]);
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new Stack(3);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (var i = 0; i < 500; i++)
        {
            optimizer.zero_grad();
            var x = rand(40, 16, 2);
            var loss = nn.functional.mse_loss(model.call(x), x[TensorIndex.Colon, TensorIndex.Colon, 0].sum(0).unsqueeze(1));
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }
    }
}
