// GAN variant where the discriminator loss is backpropagated with retain_graph: true so the generator
// loss can reuse the same fake batch; the graph is retained in every iteration of the training loop.
using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.GanRetain;

public static class Program
{
    public static void Main()
    {
        var generator = nn.Sequential(nn.Linear(16, 128), nn.ReLU(), nn.Linear(128, 784), nn.Tanh());
        var discriminator = nn.Sequential(nn.Linear(784, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1));
        var optimizerG = optim.Adam(generator.parameters(), 1e-4);
        var optimizerD = optim.Adam(discriminator.parameters(), 1e-4);
        var criterion = nn.BCEWithLogitsLoss();
        var epochs = 10;
        var epoch = 0;
        while (epoch < epochs)
        {
            for (var i = 0; i < 100; i++)
            {
                var real = rand(32, 784) * 2 - 1;
                var fake = generator.call(randn(32, 16));
                optimizerD.zero_grad();
                var lossD = criterion.call(discriminator.call(real), ones(32, 1)) + criterion.call(discriminator.call(fake), zeros(32, 1));
                lossD.backward(retain_graph: true); // expect: GD0009
                optimizerD.step();

                optimizerG.zero_grad();
                var lossG = criterion.call(discriminator.call(fake), ones(32, 1));
                lossG.backward();
                optimizerG.step();
            }

            epoch++;
        }
    }
}
