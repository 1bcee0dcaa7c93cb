// Minimal GAN on a 2-D Gaussian mixture: generator and discriminator with their own Adam optimizers,
// each cleared before its own backward. Fake samples are detached for the discriminator step. Correct code.
using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.Gan;

public sealed class Generator : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> net = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 2));

    public Generator() : base(nameof(Generator)) => RegisterComponents();

    public override Tensor forward(Tensor z) => net.call(z);
}

public sealed class Discriminator : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> net = nn.Sequential(nn.Linear(2, 64), nn.LeakyReLU(0.2), nn.Linear(64, 1));

    public Discriminator() : base(nameof(Discriminator)) => RegisterComponents();

    public override Tensor forward(Tensor x) => net.call(x);
}

public static class Program
{
    private static Tensor RealBatch(int n)
    {
        var centers = tensor(new float[,] { { 2, 0 }, { -2, 0 }, { 0, 2 }, { 0, -2 } });
        return centers[randint(0, 4, new long[] { n })] + 0.1 * randn(n, 2);
    }

    public static void Main()
    {
        var generator = new Generator();
        var discriminator = new Discriminator();
        var optG = optim.Adam(generator.parameters(), 2e-4, beta1: 0.5);
        var optD = optim.Adam(discriminator.parameters(), 2e-4, beta1: 0.5);
        var bce = nn.BCEWithLogitsLoss();
        for (var iteration = 0; iteration < 5000; iteration++)
        {
            using var scope = NewDisposeScope();
            var real = RealBatch(128);
            var fake = generator.call(randn(128, 8));

            optD.zero_grad();
            var dLoss = bce.call(discriminator.call(real), ones(128, 1)) + bce.call(discriminator.call(fake.detach()), zeros(128, 1));
            dLoss.backward();
            optD.step();

            optG.zero_grad();
            var gLoss = bce.call(discriminator.call(fake), ones(128, 1));
            gLoss.backward();
            optG.step();

            if (iteration % 500 == 0) Console.WriteLine($"{iteration}: D {dLoss.item<float>():F3} G {gLoss.item<float>():F3}");
        }
    }
}
