// An abstract encoder base holds the (initialised) LSTM; derived classes only add heads. The trainer takes
// the base type and runs a recurrent training step without clipping.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.AbstractBaseLstm;

public abstract class RecurrentEncoderModel : nn.Module<Tensor, Tensor>
{
    protected readonly LSTM Encoder;

    protected RecurrentEncoderModel(string name, long input, long hidden) : base(name)
    {
        Encoder = nn.LSTM(input, hidden, batchFirst: true);
        foreach (var (paramName, p) in Encoder.named_parameters())
        {
            using var _ = no_grad();
            if (paramName.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (paramName.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else p.zero_();
        }
    }

    protected Tensor Encode(Tensor x)
    {
        var (y, _, _) = Encoder.call(x);
        return y.select(1, -1);
    }
}

public sealed class ClassificationModel : RecurrentEncoderModel
{
    private readonly Linear classifier;

    public ClassificationModel(long input, long hidden, long classes) : base(nameof(ClassificationModel), input, hidden)
    {
        classifier = nn.Linear(hidden, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => classifier.call(Encode(x));
}

public static class Training
{
    public static void Run(RecurrentEncoderModel model, Func<(Tensor, Tensor)> nextBatch, int steps)
    {
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (var i = 0; i < steps; i++)
        {
            var (x, y) = nextBatch();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(x), y);
            loss.backward();
            optimizer.step(); // expect: GD0001
        }
    }

    public static void Main() =>
        Run(new ClassificationModel(10, 64, 3), () => (randn(8, 15, 10), randint(0, 3, new long[] { 8 })), 200);
}
