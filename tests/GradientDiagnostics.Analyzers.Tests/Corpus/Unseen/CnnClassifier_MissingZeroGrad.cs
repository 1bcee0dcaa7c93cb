// Small CNN on synthetic 28x28 images. The author never clears gradients, so every step applies the sum of
// all previous gradients. Not recurrent: only GD0008.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.Cnn;

public sealed class ConvNet : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1 = nn.Conv2d(1, 16, 3, padding: 1);
    private readonly Conv2d conv2 = nn.Conv2d(16, 32, 3, padding: 1);
    private readonly MaxPool2d pool = nn.MaxPool2d(2);
    private readonly Linear fc = nn.Linear(32 * 7 * 7, 10);

    public ConvNet() : base(nameof(ConvNet)) => RegisterComponents();

    public override Tensor forward(Tensor x)
    {
        x = pool.call(nn.functional.relu(conv1.call(x)));
        x = pool.call(nn.functional.relu(conv2.call(x)));
        return fc.call(x.flatten(1));
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new ConvNet();
        var optimizer = optim.SGD(model.parameters(), 0.05);
        for (var epoch = 0; epoch < 3; epoch++)
        {
            for (var batch = 0; batch < 200; batch++) // expect: GD0008
            {
                using var scope = NewDisposeScope();
                var images = randn(64, 1, 28, 28);
                var labels = randint(0, 10, new long[] { 64 });
                var loss = nn.functional.cross_entropy(model.call(images), labels);
                loss.backward();
                optimizer.step();
            }
        }
    }
}
