// WGAN-GP critic training: the gradient penalty uses torch.autograd.grad with create_graph/retain_graph, which
// is not backward(retain_graph: true); every backward in the loop frees its graph. MLPs, zero_grad present.
using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.WganGp;

public static class Program
{
    public static void Main()
    {
        var generator = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 2));
        var critic = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 1));
        var optG = optim.Adam(generator.parameters(), 1e-4, beta1: 0.5, beta2: 0.9);
        var optC = optim.Adam(critic.parameters(), 1e-4, beta1: 0.5, beta2: 0.9);
        for (var iteration = 0; iteration < 2000; iteration++)
        {
            for (var k = 0; k < 5; k++)
            {
                var real = randn(64, 2) * 0.5 + 1.0;
                var fake = generator.call(randn(64, 16)).detach();
                var alpha = rand(64, 1);
                var mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(true);
                var score = critic.call(mixed);
                var gradients = torch.autograd.grad(new List<Tensor> { score }, new List<Tensor> { mixed },
                    new List<Tensor> { ones_like(score) }, retain_graph: true, create_graph: true)[0];
                var penalty = (gradients.norm(1) - 1).pow(2).mean();
                optC.zero_grad();
                var criticLoss = critic.call(fake).mean() - critic.call(real).mean() + 10 * penalty;
                criticLoss.backward();
                optC.step();
            }

            optG.zero_grad();
            var generatorLoss = -critic.call(generator.call(randn(64, 16))).mean();
            generatorLoss.backward();
            optG.step();
        }
    }
}
