// Plain MLP regression on synthetic data: no recurrence, so no clipping is required. Correct code.
using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.Mlp;

public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> layers;

    public Mlp(int inputs, int hidden) : base(nameof(Mlp))
    {
        layers = nn.Sequential(
            nn.Linear(inputs, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 1));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => layers.call(x);
}

public static class Program
{
    public static void Main()
    {
        manual_seed(0);
        var x = randn(1024, 8);
        var w = randn(8, 1);
        var y = x.matmul(w) + 0.1 * randn(1024, 1);
        var model = new Mlp(8, 64);
        var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9);
        var lossFn = nn.MSELoss();
        var epoch = 0;
        while (epoch++ < 100)
        {
            var permutation = randperm(1024);
            for (var i = 0; i < 1024; i += 64)
            {
                var idx = permutation[TensorIndex.Slice(i, i + 64)];
                optimizer.zero_grad();
                var loss = lossFn.call(model.call(x[idx]), y[idx]);
                loss.backward();
                optimizer.step();
            }
        }

        Console.WriteLine(lossFn.call(model.call(x), y).item<float>());
    }
}
