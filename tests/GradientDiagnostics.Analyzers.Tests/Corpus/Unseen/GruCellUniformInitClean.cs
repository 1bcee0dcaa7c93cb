// Decoder built on a GRUCell initialised uniformly in ±1/sqrt(H) by iterating its parameters (an explicit
// init, even though it mirrors the default range). Fresh state per sequence, clipped. Correct code.
using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.GruCellInit;

public sealed class Decoder : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly GRUCell cell;
    private readonly Linear output;

    public Decoder(long features, long hidden) : base(nameof(Decoder))
    {
        cell = nn.GRUCell(features, hidden);
        output = nn.Linear(hidden, features);
        RegisterComponents();
        var bound = 1.0 / Math.Sqrt(hidden);
        using var _ = no_grad();
        foreach (var p in cell.parameters())
        {
            nn.init.uniform_(p, -bound, bound);
        }
    }

    public override Tensor forward(Tensor context, Tensor firstInput)
    {
        var h = context;
        var x = firstInput;
        var outputs = new List<Tensor>();
        for (var t = 0; t < 12; t++)
        {
            h = cell.call(x, h);
            x = output.call(h);
            outputs.Add(x);
        }

        return stack(outputs, 1);
    }
}

public static class Program
{
    public static void Main()
    {
        var decoder = new Decoder(3, 32);
        var optimizer = optim.Adam(decoder.parameters(), 1e-3);
        for (var i = 0; i < 400; i++)
        {
            optimizer.zero_grad();
            var target = randn(8, 12, 3);
            var loss = nn.functional.mse_loss(decoder.call(randn(8, 32), zeros(8, 3)), target);
            loss.backward();
            nn.utils.clip_grad_norm_(decoder.parameters(), 1.0);
            optimizer.step();
        }
    }
}
