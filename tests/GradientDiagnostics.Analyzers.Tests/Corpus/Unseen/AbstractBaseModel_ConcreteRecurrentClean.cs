// Models typed by an abstract base: the training code only sees SequenceModel, the LSTM lives in a derived
// class that initialises it, and the trainer clips. Correct code.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.AbstractBase;

public abstract class SequenceModel : nn.Module<Tensor, Tensor>
{
    protected SequenceModel(string name) : base(name) { }

    public abstract int HiddenSize { get; }
}

public sealed class LstmSequenceModel : SequenceModel
{
    private readonly LSTM lstm;
    private readonly Linear head;

    public LstmSequenceModel(int input, int hidden) : base(nameof(LstmSequenceModel))
    {
        HiddenSize = hidden;
        lstm = nn.LSTM(input, hidden, batchFirst: true);
        head = nn.Linear(hidden, 1);
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in lstm.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else { nn.init.zeros_(p); p.narrow(0, hidden, hidden).fill_(1); }
        }
    }

    public override int HiddenSize { get; }

    public override Tensor forward(Tensor x)
    {
        var (y, _, _) = lstm.call(x);
        return head.call(y[TensorIndex.Colon, -1]);
    }
}

public static class ModelTrainer
{
    public static void Train(SequenceModel model, int steps)
    {
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var x = randn(16, 20, 4);
            var y = x.sum(new long[] { 1, 2 }).unsqueeze(1);
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.call(x), y);
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }
    }

    public static void Main() => Train(new LstmSequenceModel(4, 32), 500);
}
