// Gradient accumulation written without the matching zero_grad: the conditional step applies gradients
// accumulated since the start of training. MLP, so GD0008 only.
using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.AccumulationBroken;

public static class Program
{
    public static void Main()
    {
        var model = nn.Sequential(nn.Linear(32, 128), nn.GELU(), nn.Linear(128, 3));
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        var accumulateSteps = 8;
        for (var step = 0; step < 800; step++) // expect: GD0008
        {
            var x = randn(4, 32);
            var y = randint(0, 3, new long[] { 4 });
            var loss = nn.functional.cross_entropy(model.call(x), y) / accumulateSteps;
            loss.backward();
            if (step % accumulateSteps == accumulateSteps - 1)
            {
                optimizer.step();
                Console.WriteLine($"update {step / accumulateSteps}: {loss.item<float>() * accumulateSteps:F3}");
            }
        }
    }
}
