// Hand-unrolled ReLU RNNCell with identity recurrent weights (IRNN) on sequential MNIST-like data. It is
// initialised (no GD0003) but still a vanilla cell (GD0005). Fresh state per batch, clipped.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.IrnnCell;

public sealed class PixelClassifier : nn.Module<Tensor, Tensor>
{
    private readonly RNNCell cell;
    private readonly Linear classifier;

    public PixelClassifier() : base(nameof(PixelClassifier))
    {
        cell = nn.RNNCell(1, 128, nonLinearity: nn.NonLinearities.ReLU); // expect: GD0005
        classifier = nn.Linear(128, 10);
        RegisterComponents();
        using var _ = no_grad();
        nn.init.eye_(cell.weight_hh);
        nn.init.normal_(cell.weight_ih, std: 0.001);
        nn.init.zeros_(cell.bias_hh!);
        nn.init.zeros_(cell.bias_ih!);
    }

    public override Tensor forward(Tensor pixels)
    {
        var h = zeros(pixels.shape[0], 128);
        for (long t = 0; t < pixels.shape[1]; t++)
        {
            h = cell.call(pixels[TensorIndex.Colon, t].unsqueeze(1), h);
        }

        return classifier.call(h);
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new PixelClassifier();
        var optimizer = optim.SGD(model.parameters(), 1e-8, momentum: 0.9);
        for (var i = 0; i < 100; i++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(rand(16, 784)), randint(0, 10, new long[] { 16 }));
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }
    }
}
