// Autoencoder whose loop clears gradients at the end of the body, after the step: still between steps.
// Not recurrent. Correct code.
using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.ZeroGradEnd;

public sealed class AutoEncoder : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> encoder = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 16));
    private readonly nn.Module<Tensor, Tensor> decoder = nn.Sequential(nn.Linear(16, 128), nn.ReLU(), nn.Linear(128, 784), nn.Sigmoid());

    public AutoEncoder() : base(nameof(AutoEncoder)) => RegisterComponents();

    public override Tensor forward(Tensor x) => decoder.call(encoder.call(x));
}

public static class Program
{
    public static void Main()
    {
        var model = new AutoEncoder();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        var images = rand(2048, 784);
        for (var epoch = 0; epoch < 10; epoch++)
        {
            for (var i = 0; i < 2048; i += 128)
            {
                var batch = images[TensorIndex.Slice(i, i + 128)];
                var loss = nn.functional.binary_cross_entropy(model.call(batch), batch);
                loss.backward();
                optimizer.step();
                optimizer.zero_grad();
            }
        }
    }
}
