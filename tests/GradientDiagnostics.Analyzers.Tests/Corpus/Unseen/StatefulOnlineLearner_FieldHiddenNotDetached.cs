// Online anomaly scorer that learns from a stream: the GRU hidden state lives in a field and is carried
// from one Observe call to the next without detaching, so every update backpropagates through the stream.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.OnlineLearner;

public sealed class StreamPredictor : nn.Module<Tensor, Tensor, (Tensor, Tensor)>
{
    private readonly GRU gru;
    private readonly Linear next;

    public StreamPredictor(int features, int hidden) : base(nameof(StreamPredictor))
    {
        gru = nn.GRU(features, hidden, batchFirst: true);
        next = nn.Linear(hidden, features);
        RegisterComponents();
        using var _ = no_grad();
        nn.init.orthogonal_(gru.get_parameter("weight_hh_l0"));
        nn.init.xavier_uniform_(gru.get_parameter("weight_ih_l0"));
        gru.get_parameter("bias_hh_l0").zero_();
        gru.get_parameter("bias_ih_l0").zero_();
    }

    public override (Tensor, Tensor) forward(Tensor x, Tensor h)
    {
        var (y, hn) = gru.call(x, h);
        return (next.call(y), hn);
    }
}

public sealed class OnlineLearner
{
    private readonly StreamPredictor model = new(4, 32);
    private readonly optim.Optimizer optimizer;
    private Tensor hidden = zeros(1, 1, 32);
    private Tensor? previous;

    public OnlineLearner() => optimizer = optim.SGD(model.parameters(), 0.01);

    public double Observe(Tensor sample)
    {
        if (previous is null)
        {
            previous = sample;
            return 0;
        }

        optimizer.zero_grad();
        var (prediction, newHidden) = model.call(previous.view(1, 1, -1), hidden);
        hidden = newHidden; // expect: GD0002
        var loss = nn.functional.mse_loss(prediction.view(-1), sample);
        loss.backward();
        nn.utils.clip_grad_norm_(model.parameters(), 1.0);
        optimizer.step();
        previous = sample;
        return loss.item<float>();
    }
}

public static class Program
{
    public static void Main()
    {
        var learner = new OnlineLearner();
        for (var t = 0; t < 10_000; t++)
        {
            var score = learner.Observe(randn(4));
            if (score > 5) Console.WriteLine($"anomaly at {t}: {score:F2}");
        }
    }
}
