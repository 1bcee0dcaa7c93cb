// A trainer class holding model and optimizer in fields, with a per-batch TrainBatch method called from
// an epoch loop elsewhere. The LSTM model is initialised; the recurrent step lacks clipping.
using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.Trainer;

public sealed class SequenceRegressor : nn.Module<Tensor, Tensor>
{
    private readonly LSTM recurrent;
    private readonly Linear readout;

    public SequenceRegressor(int features, int hidden) : base(nameof(SequenceRegressor))
    {
        recurrent = nn.LSTM(features, hidden, batchFirst: true);
        readout = nn.Linear(hidden, 1);
        RegisterComponents();
        foreach (var (name, p) in recurrent.named_parameters())
        {
            using var _ = no_grad();
            if (name.Contains("weight")) nn.init.orthogonal_(p);
            else nn.init.constant_(p, 0.0);
        }
    }

    public override Tensor forward(Tensor x)
    {
        var (seq, _, _) = recurrent.call(x);
        return readout.call(seq[TensorIndex.Colon, -1]);
    }
}

public sealed class RegressionTrainer : IDisposable
{
    private readonly SequenceRegressor model;
    private readonly optim.Optimizer optimizer;
    private readonly Loss<Tensor, Tensor, Tensor> loss = nn.HuberLoss();

    public RegressionTrainer(SequenceRegressor model, double learningRate)
    {
        this.model = model;
        optimizer = optim.Adam(model.parameters(), learningRate);
    }

    public float TrainBatch(Tensor inputs, Tensor targets)
    {
        using var scope = NewDisposeScope();
        model.train();
        optimizer.zero_grad();
        var value = loss.call(model.call(inputs), targets);
        value.backward();
        optimizer.step(); // expect: GD0001
        return value.item<float>();
    }

    public void Dispose() => model.Dispose();
}

public static class Program
{
    public static void Main()
    {
        using var trainer = new RegressionTrainer(new SequenceRegressor(3, 32), 1e-3);
        var batches = new List<(Tensor, Tensor)>();
        for (var i = 0; i < 20; i++) batches.Add((randn(16, 25, 3), randn(16, 1)));
        for (var epoch = 0; epoch < 10; epoch++)
        {
            var sum = 0f;
            foreach (var (x, y) in batches) sum += trainer.TrainBatch(x, y);
            Console.WriteLine($"{epoch}: {sum / batches.Count}");
        }
    }
}
