// Evaluation of a saved LSTM classifier: no optimizer, no backward, weights loaded from disk. Nothing to
// report (no training step, and loading weights is explicit initialisation).
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.Evaluation;

public sealed class Classifier : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm = nn.LSTM(13, 64, batchFirst: true);
    private readonly Linear fc = nn.Linear(64, 4);

    public Classifier(string weightsPath) : base(nameof(Classifier))
    {
        RegisterComponents();
        this.load(weightsPath);
    }

    public override Tensor forward(Tensor x) => fc.call(lstm.call(x).Item1.select(1, -1));
}

public static class Program
{
    public static double Accuracy(string weightsPath, Tensor features, Tensor labels)
    {
        using var model = new Classifier(weightsPath);
        model.eval();
        using var _ = no_grad();
        var correct = 0L;
        for (long i = 0; i < features.shape[0]; i += 256)
        {
            var x = features[TensorIndex.Slice(i, i + 256)];
            var y = labels[TensorIndex.Slice(i, i + 256)];
            correct += model.call(x).argmax(1).eq(y).sum().item<long>();
        }

        return (double)correct / features.shape[0];
    }
}
