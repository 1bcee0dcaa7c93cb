// The loop calls an Update helper that runs backward and step; nobody ever clears the gradients. MLP, so
// only GD0008 — reported fairly at the loop or at the step inside the helper.
using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.StepHelper;

public sealed class Regressor
{
    private readonly nn.Module<Tensor, Tensor> net = nn.Sequential(nn.Linear(3, 32), nn.Tanh(), nn.Linear(32, 1));
    private readonly optim.Optimizer optimizer;

    public Regressor() => optimizer = optim.SGD(net.parameters(), 0.01);

    private float Update(Tensor x, Tensor y)
    {
        var loss = nn.functional.mse_loss(net.call(x), y);
        loss.backward();
        optimizer.step(); // expect-alt: GD0008 #update-loop
        return loss.item<float>();
    }

    public void Fit(Tensor x, Tensor y, int epochs)
    {
        for (var epoch = 0; epoch < epochs; epoch++) // expect: GD0008 #update-loop
        {
            var loss = Update(x, y);
            if (epoch % 10 == 0) Console.WriteLine($"{epoch}: {loss}");
        }
    }
}
