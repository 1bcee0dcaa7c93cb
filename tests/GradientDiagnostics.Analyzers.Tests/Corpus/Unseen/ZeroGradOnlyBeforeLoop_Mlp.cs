// zero_grad() is called once, before the training loop, so from the second iteration on every step applies
// accumulated gradients. MLP: GD0008 only.
using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.ZeroGradOnce;

public static class Program
{
    public static void Main()
    {
        var model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3));
        var optimizer = optim.SGD(model.parameters(), 0.05);
        var x = randn(150, 4);
        var y = randint(0, 3, new long[] { 150 });
        optimizer.zero_grad();
        var step = 0;
        while (true) // expect: GD0008
        {
            var loss = nn.functional.cross_entropy(model.call(x), y);
            loss.backward();
            optimizer.step();
            if (++step >= 300 || loss.item<float>() < 0.05f) break;
        }
    }
}
