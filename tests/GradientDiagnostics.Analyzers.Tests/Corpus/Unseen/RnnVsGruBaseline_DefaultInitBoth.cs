// Ablation script comparing a vanilla RNN baseline against a GRU on the same copy task. Both keep default
// initialisation; the training function clips and clears gradients correctly.
using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.Ablation;

public sealed class CopyModel : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor, (Tensor, Tensor)> recurrent;
    private readonly TorchSharp.Modules.Linear head;

    public CopyModel(string cell, long symbols, long hidden) : base($"copy-{cell}")
    {
        recurrent = cell == "gru"
            ? nn.GRU(symbols, hidden, batchFirst: true) // expect: GD0004
            : nn.RNN(symbols, hidden, batchFirst: true); // expect: GD0003, GD0005
        head = nn.Linear(hidden, symbols);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => head.call(recurrent.call(x, null).Item1);
}

public static class Ablation
{
    private static double Train(CopyModel model, int steps)
    {
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        var last = 0.0;
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var symbols = randint(0, 8, new long[] { 32, 20 });
            var x = nn.functional.one_hot(symbols, 8).to_type(ScalarType.Float32);
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(x).reshape(-1, 8), symbols.reshape(-1));
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
            last = loss.item<float>();
        }

        return last;
    }

    public static void Main()
    {
        var results = new Dictionary<string, double>();
        foreach (var cell in new[] { "rnn", "gru" })
        {
            results[cell] = Train(new CopyModel(cell, 8, 64), 2000);
        }

        foreach (var (cell, loss) in results) Console.WriteLine($"{cell}: {loss:F4}");
    }
}
